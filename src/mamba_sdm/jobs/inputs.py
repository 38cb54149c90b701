"""Each job's inputs as data: *what* it computes and *how* it runs, as `sdmspec job NAME --config stage.json` reads
them and as the job's command-line flags build them (one model, so the two ways cannot drift).

``what`` is everything the result depends on: the variant, the task, the spec and configs (whose settings the job
reads, see below), the seed, the data and tokenizer, the starting weights or upstream model folders, ``smoke``,
``max_steps`` and the precision when one is asked for. ``how`` is everything that must not change the result: the
output folder, the device, the scan implementation, activation checkpointing, how often to log and checkpoint, the
experiment trackers, the progress display. :meth:`JobInputs.what_digest` is the sha256 of ``what`` alone.

A stage.json holds one inputs model as JSON: ``{"job": "pretrain", "what": {...}, "how": {...}}``; unknown keys are
refused (a misspelt field must not be silently ignored), ``job`` must be the command's.

What each training stage reads of the settings is declared here once: the job records the keys of
:func:`pretrain_settings` / :func:`finetune_settings` in its result.json, and the stage graph fingerprints the
prefixes of :func:`pretrain_reads` / :func:`finetune_reads`, both built from the same section and key lists.

Light: pydantic and the standard library only (the stage graph imports this without torch).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from mamba_sdm.jobs.bounded_json import read_model

if TYPE_CHECKING:
    from mamba_sdm.jobs.common import JobOptions

# A stage.json is a handful of paths and flags; anything larger is not one.
MAX_STAGE_BYTES = 1 << 20

# --- What each training job reads of the settings -------------------------------------------------------------------

# Settings every training job reads besides its own section.
TRAINING_SETTINGS = ("training.precision",)
PRETRAIN_SECTION = "training.pretrain."
PRETRAIN_KEYS = (
    "init",
    "batch_size",
    "micro_batch_size",
    "max_epochs",
    "learning_rate",
    "warmup_steps_ratio",
    "optimizer",
    "weight_decay",
    "seq_len",
    "max_grad_norm",
)
FINETUNE_SECTION = "training.finetune."
FINETUNE_KEYS = (
    "learning_rate",
    "batch_size",
    "micro_batch_size",
    "optimizer",
    "warmup_steps_ratio",
    "weight_decay",
    "max_seq_len",
    "early_stopping.metric",
    "early_stopping.patience",
    "max_grad_norm",
)


def _epochs(task: str) -> str:
    return f"epochs.{task}"


def pretrain_settings() -> list[str]:
    """The setting keys Phase A reads, in the order its result.json records them."""
    return [PRETRAIN_SECTION + key for key in PRETRAIN_KEYS] + list(TRAINING_SETTINGS)


def finetune_settings(task: str | None = None) -> list[str]:
    """The setting keys Phase B reads (with ``epochs.<task>`` when a task is given), in result.json's order."""
    keys = [FINETUNE_SECTION + key for key in FINETUNE_KEYS] + list(TRAINING_SETTINGS)
    return keys if task is None else [*keys, _epochs(task)]


def pretrain_reads() -> tuple[str, ...]:
    """The key prefixes a pre-training stage's fingerprint covers: its whole section (a setting added there reruns
    it too) and the shared training settings."""
    return (PRETRAIN_SECTION, *TRAINING_SETTINGS)


def finetune_reads(task: str) -> tuple[str, ...]:
    """The key prefixes a fine-tuning stage's fingerprint covers (the order fingerprints have always had)."""
    return (FINETUNE_SECTION, _epochs(task), *TRAINING_SETTINGS)


# --- The inputs models ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ByDigest:
    """Marks a field of ``what`` that a stage's fingerprint holds in another form, so its value (a path) is left out
    of :meth:`JobInputs.fingerprint_what`: moving a repository, a cache or a run folder must not rerun anything."""

    holds: str  # what the fingerprint holds instead


_SPEC = ByDigest("the spec's digest")
_SETTINGS = ByDigest("the values of the settings the job reads")
_WEIGHTS = ByDigest("the starting weights' sha256")
_UPSTREAM = ByDigest("the upstream stage's fingerprint")


class _Strict(BaseModel):
    # Frozen: the inputs of a running job do not change. forbid: a misspelt key in a stage.json is an error.
    model_config = ConfigDict(extra="forbid", frozen=True)


class JobWhat(_Strict):
    """What every job computes from."""

    variant: str
    spec_path: Annotated[Path | None, _SPEC] = None
    smoke: bool = False
    seed: int = 0


class TrainingWhat(JobWhat):
    """What a training job (pre-training, fine-tuning) computes from."""

    configs: Annotated[Path, _SETTINGS] = Path("configs")
    data_dir: Path | None = None
    tokenizer: Path | None = None
    # auto, bf16 or fp32; None: the spec setting training.precision decides. Checked by the job (check_precision),
    # as --precision always was, so a flag and a stage.json are refused in the same words.
    precision: str | None = None
    max_steps: int | None = None


class PretrainWhat(TrainingWhat):
    max_steps: Annotated[int, Field(ge=0)] | None = None  # 0: export the starting weights
    # The folder Phase A starts from (None: the spec's checkpoint from the cache, or the smoke one).
    init_from: Annotated[Path | None, _WEIGHTS] = None


class FinetuneWhat(TrainingWhat):
    max_steps: Annotated[int, Field(ge=1)] | None = None
    task: str
    checkpoint: Annotated[Path, _UPSTREAM]


class ChallengeWhat(JobWhat):
    dense: Annotated[Path, _UPSTREAM]
    sdm: Annotated[Path, _UPSTREAM]
    # The build reads no settings; configs given are still held to lint.
    configs: Annotated[Path | None, _SETTINGS] = None


class JobHow(_Strict):
    """How every job runs; none of it may change the result."""

    out: Path
    device: str = "auto"
    quiet: bool = False
    report_to: tuple[str, ...] = ()


class ChallengeHow(JobHow):
    device: str = "cpu"  # pruning takes seconds on the CPU


class TrainingHow(JobHow):
    scan: str = "auto"
    activation_checkpointing: str = "auto"
    log_every: Annotated[int, Field(ge=1)] | None = None
    checkpoint_every: Annotated[int, Field(ge=0)] | None = None


class JobInputs(_Strict):
    """One job's inputs; subclasses fix ``job`` and the types of ``what`` and ``how``."""

    job: str
    what: JobWhat
    how: JobHow

    def what_digest(self) -> str:
        """sha256 of the job's name and ``what`` as canonical JSON: equal exactly when the result should be."""
        body = {"job": self.job, "what": self.what.model_dump(mode="json")}
        return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()).hexdigest()

    def fingerprint_what(self) -> dict[str, object]:
        """What a stage running this job computes, as its fingerprint declares it (``Stage.what``): the job and
        ``what`` without the fields marked :class:`ByDigest`, whose values the fingerprint holds in another form."""
        fields = type(self.what).model_fields
        elsewhere = {name for name, info in fields.items() if any(isinstance(m, ByDigest) for m in info.metadata)}
        return {"job": self.job, "what": self.what.model_dump(mode="json", exclude=elsewhere)}

    def job_options(self) -> JobOptions:
        """The options the job functions take, filled from this model only."""
        from mamba_sdm.jobs.common import JobOptions

        what = self.what.model_dump(exclude={"dense", "sdm", "task", "checkpoint"})
        how = self.how.model_dump(exclude={"out", "quiet", "report_to"})
        return JobOptions(out=self.how.out, **what, **how)

    def to_json(self) -> str:
        return self.model_dump_json(indent=2) + "\n"


class PretrainInputs(JobInputs):
    job: Literal["pretrain"] = "pretrain"
    what: PretrainWhat
    how: TrainingHow


class FinetuneInputs(JobInputs):
    job: Literal["finetune"] = "finetune"
    what: FinetuneWhat
    how: TrainingHow


class ChallengeInputs(JobInputs):
    job: Literal["challenge"] = "challenge"
    what: ChallengeWhat
    how: ChallengeHow


Inputs = TypeVar("Inputs", bound=JobInputs)


def read_inputs(path: Path, model: type[Inputs]) -> Inputs:
    """A stage.json, validated as ``model``; a bad file is one line naming it (exit 2)."""
    return read_model(path, model, MAX_STAGE_BYTES, "stage file")
