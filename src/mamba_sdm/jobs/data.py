"""Where the jobs' data and tokenizer come from: the Hugging Face cache, a local folder, or the generated smoke set.

The real loaders are ``datasets.load_dataset("wikitext", "wikitext-103-raw-v1")``, ``load_dataset("glue", task)``
and ``AutoTokenizer.from_pretrained("EleutherAI/gpt-neox-20b")`` (names from spec/data.yaml). Without a hub they
work from the local cache, or from files in the same schema passed as ``--data-dir DIR``::

    DIR/wikitext-103/{train,validation}.jsonl      one {"text": ...} per line (or .json, .parquet,
                                                   or the hub's <split>-00000-of-0000N.parquet shards, any depth)
    DIR/glue/<task>/<split>.jsonl                  GLUE's fields: sst2 {sentence,label,idx}; mnli {premise,
                                                   hypothesis,label,idx} with validation_matched and
                                                   validation_mismatched; qnli {question,sentence,label,idx};
                                                   mrpc {sentence1,sentence2,label,idx}
    DIR/tokenizer/                                 optional: a tokenizer folder (tokenizer.json, ...)

``hf download Salesforce/wikitext --repo-type dataset --include "wikitext-103-raw-v1/*" --local-dir DIR/wikitext-103``
and ``hf download nyu-mll/glue --repo-type dataset --include "sst2/*" --local-dir DIR/glue`` produce this layout.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mamba_sdm.jobs.smoke_data import default_smoke_root, ensure_smoke_data, is_smoke_data
from mamba_sdm.spec import Spec
from sdmspec.errors import JobError

if TYPE_CHECKING:
    from datasets import Dataset
    from transformers import PreTrainedTokenizerBase

PRETRAIN_FOLDER = "wikitext-103"
GLUE_FOLDER = "glue"
TOKENIZER_FOLDER = "tokenizer"
_OFFLINE_VARIABLES = ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE")
_HUB = ("huggingface.co", 443)
_QUIET = {
    "TRANSFORMERS_VERBOSITY": "error",
    "HF_HUB_DISABLE_PROGRESS_BARS": "1",
    "HF_DATASETS_DISABLE_PROGRESS_BARS": "1",
}


@dataclass(frozen=True)
class DataSource:
    """The data's root folder (None: the hub or its cache), the tokenizer (folder or hub name), whether generated."""

    root: Path | None
    tokenizer: str
    generated: bool

    def describe(self) -> dict[str, Any]:
        return {
            "data_dir": str(self.root) if self.root else None,
            "tokenizer": self.tokenizer,
            "generated": self.generated,
        }


def resolve_source(spec: Spec, *, smoke: bool, data_dir: Path | None, tokenizer: Path | None) -> DataSource:
    """Decide where data comes from; ``--smoke`` generates its data (into ``data_dir`` when given) unless the folder
    already holds data in the documented layout. Switches the hub libraries to offline mode where no hub is needed."""
    generate = smoke and (data_dir is None or not (data_dir / PRETRAIN_FOLDER).exists() or is_smoke_data(data_dir))
    if generate:
        data_dir = data_dir if data_dir is not None else default_smoke_root()
    elif data_dir is not None and not data_dir.is_dir():
        raise JobError(f"--data-dir {data_dir}: no such folder")
    if tokenizer is not None and not tokenizer.is_dir():
        raise JobError(f"--tokenizer {tokenizer}: no such folder (give a folder holding tokenizer.json)")
    local_tokenizer = tokenizer or (data_dir / TOKENIZER_FOLDER if data_dir is not None else None)
    # Before anything imports datasets or transformers (generating the smoke tokenizer does).
    configure_offline(needs_hub=data_dir is None or not (generate or (local_tokenizer and local_tokenizer.is_dir())))
    if generate:
        assert data_dir is not None
        ensure_smoke_data(data_dir)
    if tokenizer is not None:
        name = str(tokenizer)
    elif data_dir is not None and (data_dir / TOKENIZER_FOLDER).is_dir():
        name = str(data_dir / TOKENIZER_FOLDER)
    else:
        name = spec.data.tokenizer
    return DataSource(root=data_dir, tokenizer=name, generated=generate)


def configure_offline(*, needs_hub: bool) -> None:
    """Set HF_HUB_OFFLINE/HF_DATASETS_OFFLINE before datasets or transformers is imported (both read them at import;
    set later, a hub call retries for about 25 s before failing). Respect values the user set.

    Also quiets the libraries' own progress bars and info logs (the job has its own), unless the user set them.
    """
    for variable, value in _QUIET.items():
        os.environ.setdefault(variable, value)
    if any(os.environ.get(variable) for variable in _OFFLINE_VARIABLES):
        return
    if needs_hub and _hub_reachable():
        return
    for variable in _OFFLINE_VARIABLES:
        os.environ[variable] = "1"


def _hub_reachable(timeout: float = 2.0) -> bool:
    try:
        with socket.create_connection(_HUB, timeout=timeout):
            return True
    except OSError:
        return False


def load_tokenizer(source: DataSource) -> PreTrainedTokenizerBase:
    """The tokenizer, with a padding token (GPT-NeoX's ``<|padding|>`` when it has one, else its EOS)."""
    from transformers import AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(source.tokenizer)
    except (OSError, ValueError) as err:
        raise JobError(
            f"tokenizer {source.tokenizer!r} is not available offline ({_first_line(err)}); on a machine with network "
            f"run `hf download {source.tokenizer} tokenizer.json tokenizer_config.json special_tokens_map.json "
            f"--local-dir DIR/{TOKENIZER_FOLDER}` and pass --tokenizer DIR/{TOKENIZER_FOLDER} (or use --smoke)"
        ) from err
    if tokenizer.pad_token is None:
        tokenizer.pad_token = "<|padding|>" if "<|padding|>" in tokenizer.get_vocab() else tokenizer.eos_token
    return tokenizer


def load_split(source: DataSource, folder: str, hub: tuple[str, str | None], split: str, what: str) -> Dataset:
    """One split, from ``source.root/folder`` when there is a root, else from the hub's cache."""
    import datasets

    datasets.disable_progress_bars()
    datasets.logging.set_verbosity_error()
    if source.root is not None:
        files = _split_files(source.root / folder, split)
        if not files:
            raise JobError(
                f"{what}: no {split!r} split under {source.root / folder} (expected {split}.jsonl, {split}.json, "
                f"{split}.parquet or {split}-*.parquet; see `sdmspec job --help`), or run with --smoke"
            )
        builder = "parquet" if files[0].suffix == ".parquet" else "json"
        loaded = datasets.load_dataset(builder, data_files={split: [str(f) for f in files]}, split=split)
        assert isinstance(loaded, datasets.Dataset)
        return loaded
    path, name = hub
    try:
        loaded = datasets.load_dataset(path, name, split=split)
    except (ConnectionError, OSError, ValueError, FileNotFoundError) as err:
        # The hub repositories keep one folder per configuration: wikitext-103-raw-v1/, sst2/, mnli/, ...
        parent = folder.split("/")[0]
        repo = _HUB_REPOS.get(path, path)
        command = f"hf download {repo} --repo-type dataset --include '{name}/*' --local-dir DIR/{parent}"
        raise JobError(
            f"{what} ({path}/{name}) is not in the local Hugging Face cache and the hub is unreachable "
            f"({_first_line(err)}): on a machine with network run `{command}`, copy DIR here and pass --data-dir DIR, "
            "or run with --smoke"
        ) from err
    assert isinstance(loaded, datasets.Dataset)
    return loaded


# The hub repositories behind the canonical data set names, for the download hint.
_HUB_REPOS = {"wikitext": "Salesforce/wikitext", "glue": "nyu-mll/glue"}


def _split_files(folder: Path, split: str) -> list[Path]:
    for pattern in (f"{split}.jsonl", f"{split}.json", f"{split}.parquet"):
        if (folder / pattern).is_file():
            return [folder / pattern]
    return sorted(folder.rglob(f"{split}-*.parquet")) if folder.is_dir() else []


def _first_line(err: BaseException) -> str:
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__
