"""Where Phase A starts: each size's released checkpoint (spec/models.yaml ``hf_name``) or random weights.

The spec's ``training.pretrain.init`` is ``pretrained`` or ``scratch``. A pretrained start is a folder that
``save_pretrained`` (or ``hf download --local-dir``) wrote: ``config.json`` and ``model.safetensors``, sharded with
``model.safetensors.index.json``, or ``pytorch_model.bin`` (read weights-only). It is, in this order of preference:

- the folder given as ``--init-from DIR``;
- with ``--smoke``, a smoke-size checkpoint generated once, deterministically
  (:mod:`mamba_sdm.models.smoke_checkpoint`);
- the size's checkpoint in the local Hugging Face cache, looked up offline: nothing is downloaded, and an error
  says which ``hf download`` command fetches it.

Its ``config.json`` must describe the spec's size (the smoke dimensions under ``--smoke``): a mismatch is refused on
one line naming the fields (exit 2). Tensors are read through :mod:`sdmspec.checkpoint` (safetensors, or
``torch.load(weights_only=True)``): nothing in a checkpoint is ever unpickled beyond tensors.

The digest is what the runner fingerprints and the job records: sha256 over the weight files the loader reads (each
file's name and sha256), so a changed checkpoint reruns Phase A and everything after it, wherever it lies.
Nothing here imports torch at module level.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mamba_sdm.models.build import Dimensions, dimensions
from mamba_sdm.spec import Spec
from sdmspec.checkpoint.folders import find_layout, weight_files
from sdmspec.checkpoint.sources import first_line
from sdmspec.errors import CheckpointError, ConfigError, JobError
from sdmspec.io import sha256_file

if TYPE_CHECKING:
    from transformers import MambaForCausalLM

INIT_SETTING = "training.pretrain.init"
PRETRAINED = "pretrained"
SCRATCH = "scratch"
INIT_CHOICES = (PRETRAINED, SCRATCH)
# Where the weights were found, as records and reports say it.
FROM_FLAG = "--init-from"
FROM_CACHE = "Hugging Face cache"
FROM_SMOKE = "generated smoke checkpoint"
# The spec's dimension -> its name in a Hugging Face MambaConfig's config.json.
CONFIG_FIELDS = {
    "d_model": "hidden_size",
    "n_layer": "num_hidden_layers",
    "vocab_size": "vocab_size",
    "d_state": "state_size",
    "expand": "expand",
    "d_conv": "conv_kernel",
}
# What a stage's fingerprint keeps of an initialization: the choice and the weights' content, not where they lie.
FINGERPRINT_KEYS = ("init", "hf_name", "digest")


class InitNotFoundError(JobError):
    """The released weights are neither given nor in the local cache (a missing input, like missing data: exit 1)."""


@dataclass(frozen=True)
class InitialWeights:
    """How one size's Phase A starts. ``folder`` and ``origin`` only for ``pretrained``; ``digest`` once computed."""

    size: str
    init: str
    hf_name: str
    folder: Path | None = None
    origin: str | None = None
    digest: str | None = None

    @property
    def pretrained(self) -> bool:
        return self.init == PRETRAINED

    def record(self) -> dict[str, Any]:
        """The JSON record result.json and the manifest keep."""
        return {
            "size": self.size,
            "init": self.init,
            "hf_name": self.hf_name if self.pretrained else None,
            "origin": self.origin,
            "path": str(self.folder) if self.folder is not None else None,
            "digest": self.digest,
        }


def init_fingerprint(record: Mapping[str, Any]) -> dict[str, Any]:
    """The part of an initialization record a stage's fingerprint holds."""
    return {key: record.get(key) for key in FINGERPRINT_KEYS}


def init_choice(values: Mapping[str, Any]) -> str:
    """The resolved ``training.pretrain.init``; a spec without the setting keeps random initialization."""
    value = values.get(INIT_SETTING, SCRATCH)
    if value not in INIT_CHOICES:
        raise ConfigError(f"{INIT_SETTING} is {value!r}; choose {PRETRAINED} (the released checkpoint) or {SCRATCH}")
    return str(value)


def resolve_initial_weights(
    spec: Spec,
    size: str,
    init: str,
    *,
    smoke: bool,
    init_from: Path | None,
    size_prefix: str = "",
) -> InitialWeights:
    """Find and check the folder Phase A of ``size`` starts from (nothing is loaded yet).

    ``size_prefix`` is how ``--init-from`` names the size in hints (the runner's ``--init-from 130m=DIR``).
    """
    if size not in spec.models:
        raise ConfigError(f"unknown model size {size!r}; the spec has {', '.join(spec.models)}")
    model = spec.models[size]
    if init == SCRATCH:
        if init_from is not None:
            raise ConfigError(
                f"{FROM_FLAG} {size_prefix}{init_from}: {INIT_SETTING} is {SCRATCH}, so Phase A starts from random "
                f"weights; drop {FROM_FLAG} or set {INIT_SETTING}: {PRETRAINED}"
            )
        return InitialWeights(size, SCRATCH, model.hf_name)
    if init_from is not None:
        if not init_from.is_dir():
            raise CheckpointError(
                f"{FROM_FLAG} {size_prefix}{init_from}: no such folder (give the folder that save_pretrained or "
                "`hf download --local-dir` wrote)"
            )
        folder, origin = init_from, FROM_FLAG
    elif smoke:
        from mamba_sdm.models.smoke_checkpoint import ensure_smoke_checkpoint

        folder, origin = ensure_smoke_checkpoint(spec, size), FROM_SMOKE
    else:
        cached = find_in_cache(model.hf_name)
        if cached is None:
            local = f"checkpoints/{model.hf_name.rsplit('/', 1)[-1]}"
            raise InitNotFoundError(
                f"{model.hf_name} (Phase A's start for {size}) is not in the local Hugging Face cache and is never "
                f"downloaded here: on a machine with network run `hf download {model.hf_name} --local-dir {local}`, "
                f"copy that folder here and pass {FROM_FLAG} {size_prefix}{local}"
            )
        folder, origin = cached, FROM_CACHE
    expected = dimensions(model, smoke=smoke)
    check_config(folder, expected, f"the spec's {size}" + (" smoke model" if smoke else " model"))
    return InitialWeights(size, PRETRAINED, model.hf_name, folder, origin, weights_digest(weight_files(folder)))


def find_in_cache(hf_name: str) -> Path | None:
    """The snapshot folder of ``hf_name`` in the local Hugging Face cache when its config and weights are there."""
    from huggingface_hub import try_to_load_from_cache

    found = try_to_load_from_cache(hf_name, "config.json")
    if not isinstance(found, str):
        return None  # not cached, or cached as known to be absent
    folder = Path(found).parent
    return folder if find_layout(folder) is not None else None


def read_config(folder: Path) -> dict[str, Any]:
    """A checkpoint folder's config.json (untrusted: plain JSON, a mapping)."""
    path = folder / "config.json"
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CheckpointError(
            f"{folder}: no config.json (expected a folder that save_pretrained or `hf download --local-dir` wrote)"
        ) from None
    except (OSError, UnicodeDecodeError, ValueError) as err:
        raise CheckpointError(f"{path}: not readable JSON ({first_line(err)})") from None
    if not isinstance(config, dict):
        raise CheckpointError(f"{path}: not a JSON object")
    return config


def check_config(folder: Path, expected: Dimensions, what: str) -> None:
    """Refuse a checkpoint whose config.json is not a Mamba of ``expected``'s dimensions, naming every field off."""
    config = read_config(folder)
    wrong = []
    if config.get("model_type") != "mamba":
        wrong.append(f"model_type {config.get('model_type')!r}, expected 'mamba'")
    for name, key in CONFIG_FIELDS.items():
        found, want = config.get(key), getattr(expected, name)
        if isinstance(found, bool) or found != want:
            wrong.append(f"{name} ({key}) {'missing' if found is None else found}, expected {want}")
    if wrong:
        raise CheckpointError(f"{folder / 'config.json'} does not describe {what}: {'; '.join(wrong)}")


def weights_digest(files: list[Path]) -> str:
    """``sha256:`` over each weight file's name and sha256 (symlinks, as in the Hugging Face cache, are followed)."""
    digest = hashlib.sha256()
    for path in files:
        digest.update(f"{path.name}\0{sha256_file(path)}\n".encode())
    return f"sha256:{digest.hexdigest()}"


def load_initial_weights(model: MambaForCausalLM, weights: InitialWeights) -> None:
    """Copy the checkpoint's tensors into ``model`` (built with the same dimensions), refusing any mismatch.

    Every tensor of the model must be in the checkpoint and every tensor of the checkpoint in the model, with the
    same shape; a tied LM head may be absent, and where present must equal the embeddings it is tied to.
    """
    import torch

    from sdmspec.checkpoint.load import open_checkpoint

    if weights.folder is None:
        return
    folder = weights.folder
    targets = model.state_dict(keep_vars=True)
    tied = bool(getattr(model.config, "tie_word_embeddings", False))
    head = "lm_head.weight"
    with open_checkpoint(folder) as reader:
        names = reader.names()
        missing = [name for name in targets if name not in reader and not (tied and name == head)]
        unexpected = [name for name in names if name not in targets]
        if missing or unexpected:
            parts = [f"{label} {', '.join(found[:3])}" + (" ..." if len(found) > 3 else "")
                     for label, found in (("missing", missing), ("unexpected", unexpected)) if found]  # fmt: skip
            raise CheckpointError(f"{folder}: its tensors are not the model's: {'; '.join(parts)}")
        for name in names:
            shape, want = tuple(reader.shape(name)), tuple(targets[name].shape)
            if shape != want:
                raise CheckpointError(f"{folder}: {name} has shape {shape}, the model's is {want}")
        with torch.no_grad():
            for name, tensor in reader.items([name for name in names if not (tied and name == head)]):
                targets[name].copy_(tensor)
            if tied and head in reader:
                embeddings = targets[head]  # the embeddings' parameter itself, loaded above
                # On the embeddings' device: torch.equal refuses a CPU tensor beside CUDA weights.
                if not torch.equal(reader.get(head).to(embeddings.device, embeddings.dtype), embeddings):
                    raise CheckpointError(
                        f"{folder}: {head} differs from the embeddings, but the spec's Mamba ties them"
                    )
