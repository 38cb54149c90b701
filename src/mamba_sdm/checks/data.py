"""Do WikiText-103 and the GLUE tasks load here, from the Hugging Face cache or a local folder (--data-dir)?

The jobs' own loaders (:mod:`mamba_sdm.jobs.data`) do the loading, so this checks what a job would see. The hub is
never contacted (the runner keeps the Hugging Face libraries offline). Only the validation splits are loaded, to
stay fast; the train splits are read by the jobs themselves.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from mamba_sdm.spec import Spec
from sdmspec.errors import JobError
from sdmspec.validate.report import CheckResult, CheckStatus, ValidateOptions

if TYPE_CHECKING:
    from mamba_sdm.jobs.data import DataSource


def _unavailable(options: ValidateOptions, name: str, err: JobError, where: str) -> CheckResult:
    # Data that is not here is not a broken setup: skip, with the loader's instructions. A folder the user pointed
    # at that lacks the data is a failure.
    status = CheckStatus.FAIL if options.data_dir is not None else CheckStatus.SKIP
    return CheckResult(name, status, str(err), {"where": where})


def _load(
    source: DataSource, options: ValidateOptions, what: str, folder: str, hub: tuple[str, str | None],
    splits: Sequence[str], fields: Sequence[str],
) -> CheckResult:  # fmt: skip
    name = f"data: {hub[0]}/{hub[1]}" if hub[1] else f"data: {hub[0]}"
    from mamba_sdm.jobs.data import load_split

    where = str(options.data_dir / folder) if options.data_dir is not None else f"the Hugging Face cache ({hub[0]})"
    rows: dict[str, int] = {}
    try:
        for split in splits:
            dataset = load_split(source, folder, hub, split, what)
            missing = [field for field in fields if field not in dataset.column_names]
            if missing:
                detail = f"{split} split from {where} lacks field(s) {', '.join(missing)} (has {dataset.column_names})"
                return CheckResult(name, CheckStatus.FAIL, detail, {"where": where})
            rows[split] = dataset.num_rows
    except JobError as err:
        return _unavailable(options, name, err, where)
    counts = ", ".join(f"{split} {count:,} rows" for split, count in rows.items())
    data = {"where": where, "rows": rows}
    if _generated(options):
        real = name.removeprefix("data: ")
        detail = f"loaded from {where} ({counts}), but it is sdmspec's generated smoke data, not {real}"
        return CheckResult(name, CheckStatus.WARN, detail, data)
    return CheckResult(name, CheckStatus.PASS, f"loaded from {where}: {counts}", data)


def _generated(options: ValidateOptions) -> bool:
    """Whether --data-dir holds the generated smoke set (the real schema, toy content): it loads but proves little."""
    from mamba_sdm.jobs.smoke_data import MARKER

    return options.data_dir is not None and (options.data_dir / MARKER).is_file()


def check_data(spec: Spec, options: ValidateOptions) -> Iterator[CheckResult]:
    """One result for the pre-training corpus, one per fine-tuning task, and one for the tokenizer."""
    from mamba_sdm.jobs.data import GLUE_FOLDER, PRETRAIN_FOLDER, resolve_source

    if options.data_dir is not None and not options.data_dir.is_dir():
        yield CheckResult("data", CheckStatus.FAIL, f"--data-dir {options.data_dir}: no such folder")
        return
    source = resolve_source(spec, smoke=False, data_dir=options.data_dir, tokenizer=None)
    pretrain = spec.data.pretrain
    yield _load(
        source, options, "the pre-training corpus", PRETRAIN_FOLDER, (pretrain.path, pretrain.name),
        (pretrain.validation_split,), (pretrain.text_field,),
    )  # fmt: skip
    for task_name, task in spec.data.finetune.items():
        fields = (*task.text_fields, task.label_field)
        yield _load(
            source, options, f"fine-tuning task {task_name}", f"{GLUE_FOLDER}/{task_name}", (task.path, task.name),
            task.validation_splits, fields,
        )  # fmt: skip
    yield _tokenizer(source, spec)


def _tokenizer(source: DataSource, spec: Spec) -> CheckResult:
    from mamba_sdm.jobs.data import load_tokenizer
    from mamba_sdm.jobs.smoke_data import MARKER

    name, data = "data: tokenizer", {"tokenizer": source.tokenizer}
    try:
        tokenizer = load_tokenizer(source)
    except JobError as err:
        local = Path(source.tokenizer).is_dir()  # a local tokenizer folder that does not load is broken
        return CheckResult(name, CheckStatus.FAIL if local else CheckStatus.SKIP, str(err), data)
    if Path(source.tokenizer).is_dir() and source.root is not None and (source.root / MARKER).is_file():
        detail = f"{source.tokenizer} loaded, but it is the smoke set's toy tokenizer, not {spec.data.tokenizer}"
        return CheckResult(name, CheckStatus.WARN, detail, data)
    size = len(tokenizer)
    embeddings = min(model.vocab_size for model in spec.models.values())
    detail = f"{source.tokenizer} loaded: {type(tokenizer).__name__} with {size:,} tokens"
    if size > embeddings:
        detail += f", more than the models' {embeddings:,} embeddings: token ids would fall outside the table"
        return CheckResult(name, CheckStatus.FAIL, detail, {**data, "tokens": size})
    return CheckResult(name, CheckStatus.PASS, f"{detail} (the models embed {embeddings:,})", {**data, "tokens": size})
