"""What every job does before and after training: options, the lint gate, settings (with the smoke overlay),
variant lookup and the result record.

``--smoke`` is an overlay on the resolved settings with origin "smoke": tiny models, small batches that still go
through gradient accumulation (and divide among 2 processes), short sequences, a few epochs (two of pre-training,
three of fine-tuning), generated data. Every code path of a real run is kept, and result.json says
``"smoke": true``.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mamba_sdm.jobs.result import RESULT_FILE, Result, read_result
from mamba_sdm.jobs.result import write_result as write_result_file
from mamba_sdm.spec import Method, Spec, Variant, load_mamba_spec
from sdmspec.checkpoint.sparsity import SparsityCount
from sdmspec.errors import JobError, SdmspecError
from sdmspec.schema.setting import Scalar
from sdmspec.settings import ExperimentSettings, resolve_settings

MASKS_FILE = "masks.safetensors"
SMOKE_OVERLAY: dict[str, Scalar] = {
    "training.pretrain.batch_size": 8,
    "training.pretrain.micro_batch_size": 4,
    "training.pretrain.max_epochs": 2,
    # Short sequences keep the 40-stage smoke run in minutes on two cores (the toy model learns nothing from longer).
    "training.pretrain.seq_len": 32,
    # A toy model learns in a few dozen steps only with a larger step size than the paper's 2e-4.
    "training.pretrain.learning_rate": 3.0e-3,
    # 96 steps over the generated tasks' 512 examples: fewer (12 steps of 8 at 1e-3, measured) left every variant at
    # the majority class. Micro-batch 8: accumulation 2 on one process, 1 on two.
    "training.finetune.batch_size": 16,
    "training.finetune.micro_batch_size": 8,
    "training.finetune.max_seq_len": 64,
    "training.finetune.learning_rate": 3.0e-3,
    "training.finetune.early_stopping.patience": 1,
    "epochs.sst2": 3,
    "epochs.mnli": 3,
    "epochs.qnli": 3,
    "epochs.mrpc": 3,
}
# The first diagnostics a lint refusal lists.
_SHOWN = 3


# How often a training job logs and checkpoints when --log-every / --checkpoint-every are not given (`--help` shows
# these): every step at smoke scale, where a job takes a few dozen steps; a checkpoint also ends every epoch.
LOG_EVERY = 10
SMOKE_LOG_EVERY = 1
CHECKPOINT_EVERY = 500


@dataclass(frozen=True)
class JobOptions:
    """Options every job shares (the CLI fills them)."""

    variant: str
    out: Path
    configs: Path | None = Path("configs")
    spec_path: Path | None = None
    smoke: bool = False
    seed: int = 0
    device: str = "auto"
    # auto, bf16 or fp32; None: the spec setting training.precision (mamba_sdm.jobs.precision).
    precision: str | None = None
    max_steps: int | None = None
    log_every: int | None = None
    checkpoint_every: int | None = None
    data_dir: Path | None = None
    tokenizer: Path | None = None
    # Which selective-scan implementation the model runs (mamba_sdm.models.scan): auto, kernels, parallel, reference.
    scan: str = "auto"
    # Recompute each layer's activations in the backward pass: auto (when the estimate says the micro-batch would
    # not fit the GPU otherwise), on, off.
    activation_checkpointing: str = "auto"
    # Pre-training: the folder Phase A starts from (default: the spec's checkpoint from the Hugging Face cache).
    init_from: Path | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def every_log(self) -> int:
        """Optimizer steps between ``train`` events: ``--log-every``, else the default for the scale."""
        return self.log_every or (SMOKE_LOG_EVERY if self.smoke else LOG_EVERY)

    @property
    def every_checkpoint(self) -> int:
        """Optimizer steps between checkpoints (0: only at epoch ends): ``--checkpoint-every``, else the default."""
        return CHECKPOINT_EVERY if self.checkpoint_every is None else self.checkpoint_every


def load_checked_settings(options: JobOptions) -> tuple[Spec, ExperimentSettings]:
    """The spec and the settings a job runs with; refuses configs that fail lint (smoke applies its overlay)."""
    spec = load_mamba_spec(options.spec_path)
    spec.require("models", "variants", "sparsity")  # every job builds a variant: refuse another paper's spec first
    configs = options.configs or Path("configs")
    lint_gate(configs, spec)
    settings = resolve_settings([configs], spec)
    if options.smoke:
        settings = settings.overlay(SMOKE_OVERLAY, "smoke")
    return spec, settings


def requested_precision(options: JobOptions, settings: ExperimentSettings) -> str:
    """``--precision`` when given, else the setting ``training.precision`` (checked: auto, bf16 or fp32)."""
    from mamba_sdm.jobs.precision import check_precision

    return check_precision(options.precision or settings.get_str("training.precision"))


def lint_gate(configs: Path, spec: Spec) -> None:
    """Refuse to train from configs that disagree with the spec, listing the first diagnostics on one line."""
    if not configs.exists():
        raise SdmspecError(f"--configs {configs}: no such file or folder")
    try:
        from sdmspec.lint.engine import lint_paths
    except ImportError as err:
        raise JobError(f"cannot check {configs} against the spec: the lint engine is not available ({err})") from err

    result = lint_paths([configs], spec)
    if result.errors:
        errors = [d for d in result.diagnostics if str(getattr(d.severity, "value", d.severity)) == "error"]
        shown = "; ".join(_describe(d) for d in errors[:_SHOWN])
        raise JobError(f"{configs} fails lint with {result.errors} error(s), refusing to train: {shown}")


def _describe(diagnostic: Any) -> str:
    where = f"{getattr(diagnostic, 'file', '')}:{getattr(diagnostic, 'line', '')}"
    return f"{where} {getattr(diagnostic, 'code', '')} {getattr(diagnostic, 'message', '')}".strip()


def find_variant(spec: Spec, name: str, methods: tuple[Method, ...], job: str) -> Variant:
    """The variant called ``name``, refused unless its method is one this job trains (a usage error: exit 2)."""
    known = {v.name: v for v in spec.variants}
    if name not in known:
        raise SdmspecError(f"unknown variant {name!r}; known variants: {', '.join(known)}")
    variant = known[name]
    if variant.method not in methods:
        allowed = ", ".join(v.name for v in spec.variants if v.method in methods)
        raise SdmspecError(
            f"`sdmspec job {job}` does not build {variant.method.value} variants ({name}); it builds {allowed}"
        )
    return variant


def settings_record(settings: ExperimentSettings, keys: list[str]) -> dict[str, dict[str, Any]]:
    """Each setting a job used, with its value and where it came from (a config file, the spec, or "smoke")."""
    return {key: {"value": settings.get(key), "origin": settings.origins.get(key, "")} for key in keys}


def write_result(out: Path, record: dict[str, Any]) -> Path:
    """Write ``out/result.json`` atomically; the runner takes its existence as "this stage is done", so it is last.
    The record goes through :class:`~mamba_sdm.jobs.result.Result` first, so a job cannot write a field its readers
    would refuse."""
    return write_result_file(out / RESULT_FILE, Result.model_validate(record))


def start_output(out: Path) -> None:
    """Create the job's folder, hold its lock (one writer; a second job there exits 2 naming the holder's pid), and
    forget a previous run's result, so a crash cannot leave a stale "done" marker."""
    from sdmspec import stage_lock

    if out.exists() and not out.is_dir():
        raise SdmspecError(f"--out {out}: is a file, not a folder")
    out.mkdir(parents=True, exist_ok=True)
    stage_lock.hold(out)
    (out / RESULT_FILE).unlink(missing_ok=True)


@contextmanager
def atomic_folder(path: Path) -> Iterator[Path]:
    """Yield a temporary sibling folder to fill; on success it replaces ``path`` (a half-written model folder never
    sits under the final name)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
    try:
        yield staging
        if path.exists():
            shutil.rmtree(path)
        staging.rename(path)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def sparsity_record(count: SparsityCount, target: float | None) -> dict[str, Any]:
    """Sparsity over the prunable set, total and per layer, as the project's one count gives it."""
    return {
        "sparsity": count.sparsity,
        "zeros": count.zeros,
        "numel": count.numel,
        "target": target,
        "layers": {layer.name: {"zeros": layer.zeros, "numel": layer.numel} for layer in count.layers},
    }


def model_folder(path: Path, role: str) -> Path:
    """A job's ``model/`` folder, given either the job's output folder or the model folder itself: the folder
    ``sdmspec eval`` and ``mamba_sdm.models.load_model`` would read (one rule, theirs), named for option ``--role``."""
    from mamba_sdm.models.loading import find_model_folder
    from sdmspec.errors import CheckpointError

    try:
        return find_model_folder(path)
    except CheckpointError:
        raise JobError(
            f"--{role} {path}: no Hugging Face model folder there (expected {path}/model/config.json)"
        ) from None


def check_origin(path: Path, expected: str, role: str) -> None:
    """When the folder is a job's output, its result.json must name the variant the spec says it should be."""
    result = path / RESULT_FILE
    if not result.is_file():
        return
    try:
        variant = read_result(result).variant
    except SdmspecError:
        return  # not a job's record: the folder is taken as a plain model folder, checked when it is loaded
    if variant is not None and variant != expected:
        raise JobError(f"--{role} {path} holds the {variant} model; this job needs {expected}")
