"""``result.json``, the record every job writes last (the runner takes its existence as "this stage is done"), as
one model the jobs write and the readers (``sdmspec eval``, the run report, the runner's precision column) read.

The JSON keys and values are those the jobs have always written, so run folders from before this model still read.
Every field is optional: a record holds the fields of the job that wrote it (a challenge build has no settings, a
pre-training no task), and an old or hand-made one may hold fewer. Unknown keys are kept (``extra="allow"``) and
written back unchanged: a newer sdmspec's result.json still reads here, and nothing it recorded is dropped.

Light: pydantic and the standard library only.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

from mamba_sdm.jobs.bounded_json import read_model
from sdmspec.io import atomic_write_json

RESULT_FILE = "result.json"
# A result holds a few hundred per-layer counts at most; a larger file is not one.
MAX_RESULT_BYTES = 16 << 20

# A metric or a setting-derived number: pydantic's smart union keeps the input's own type (1 stays 1, 1.0 stays 1.0),
# so a value reads and writes back exactly as the job recorded it.
Number = float | int


class _Record(BaseModel):
    model_config = ConfigDict(extra="allow")


class SettingRecord(_Record):
    """One setting the job read: its value and where it came from (a config file, the spec, or "smoke")."""

    value: Any = None
    origin: str = ""


class DataRecord(_Record):
    data_dir: str | None = None
    tokenizer: str | None = None
    generated: bool | None = None


class InitRecord(_Record):
    """Where Phase A started (mamba_sdm.models.pretrained.InitialWeights.record)."""

    size: str | None = None
    init: str | None = None
    hf_name: str | None = None
    origin: str | None = None
    path: str | None = None
    digest: str | None = None


class PrecisionRecord(_Record):
    """What the job computed in (mamba_sdm.jobs.precision.Precision.record)."""

    requested: str | None = None
    autocast: str | None = None
    tf32: bool | None = None
    reason: str | None = None


class Result(_Record):
    """A job's result.json."""

    job: str | None = None
    variant: str | None = None
    method: str | None = None
    task: str | None = None
    pruning: str | None = None
    smoke: bool = False
    spec_digest: str | None = None
    settings: dict[str, SettingRecord] | None = None
    data: DataRecord | None = None
    init: InitRecord | None = None
    checkpoint: str | None = None
    inputs: dict[str, str] | None = None
    world_size: int | None = None
    device: str | None = None
    scan: str | None = None
    scan_requested: str | None = None
    scan_reason: str | None = None
    activation_checkpointing: Any = None
    precision: PrecisionRecord | None = None
    # Records from before --precision: bf16 autocast or not.
    bf16: bool | None = None
    throughput: dict[str, Any] | None = None
    seed: int | None = None
    steps: int = 0
    schedule: dict[str, Any] | None = None
    best_epoch: int | None = None
    stopped_early: bool | None = None
    sparsity: dict[str, Any] | None = None
    reference_sparsity: dict[str, Any] | None = None
    verdict: str | None = None
    warnings: list[str] | None = None
    metrics: dict[str, Number | None] | None = None
    resumed_from_step: int | None = None
    max_grad_norm: Number | None = None
    skipped_steps: int | None = None
    outputs: dict[str, str] | None = None
    wall_s: Number | None = None

    @property
    def autocast(self) -> str | None:
        """The autocast dtype the job trained and evaluated under ("bf16" or None)."""
        if self.precision is not None:
            return self.precision.autocast
        return "bf16" if self.bf16 else None

    def setting(self, key: str) -> Any:
        """The recorded value of setting ``key`` (None when not recorded)."""
        entry = (self.settings or {}).get(key)
        return entry.value if entry is not None else None

    def number_metrics(self) -> dict[str, Number]:
        """The metrics that are numbers (a skipped step's loss is null)."""
        return {k: v for k, v in (self.metrics or {}).items() if isinstance(v, int | float) and not isinstance(v, bool)}

    def to_json(self) -> Any:
        """The JSON the file holds: the keys the job set, in standard JSON (a non-finite number, such as the loss of a
        skipped last step, is null, as in metrics.jsonl)."""
        from mamba_sdm.jobs.metrics import plain_json

        return plain_json(self.model_dump(mode="python", exclude_unset=True))


def write_result(path: Path, result: Result) -> Path:
    """Write ``result`` to ``path`` atomically (a reader never sees half a record); the jobs write it last."""
    atomic_write_json(path, result.to_json())
    return path


def read_result(path: Path) -> Result:
    """``path`` as a Result: bounded in size, validated, any problem one line naming the file (exit 2)."""
    return read_model(path, Result, MAX_RESULT_BYTES, "job result")
