"""How a training run ended (or stands, in a checkpoint): a typed record the loop updates and the jobs report.

It is saved in every checkpoint (:meth:`Outcome.snapshot`) and read back validated (:meth:`Outcome.from_snapshot`):
a checkpoint is untrusted input, and a field added later must not make an older checkpoint unreadable (unknown keys
are ignored, missing ones take their defaults).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from sdmspec.errors import JobError


class Outcome(BaseModel):
    """Optimizer steps taken, the best epoch's metrics, the first and last training loss, and the step guard's and
    throughput's counters."""

    model_config = ConfigDict(extra="ignore")

    steps: int = 0
    epochs_done: int = 0
    best: dict[str, float] = Field(default_factory=dict)
    best_epoch: int | None = None
    stale_epochs: int = 0
    stopped_early: bool = False
    last_loss: float | None = None
    first_loss: float | None = None
    # The step a resumed process started from; not saved (each process sets it from the checkpoint it read).
    resumed_from: int | None = None
    # Optimizer steps skipped for a non-finite loss or gradient: in all, and in a row up to the last step.
    skipped_steps: int = 0
    skipped_in_a_row: int = 0
    # Measured in this process (a resumed run measures anew): tokens/s over the timed steps, seconds a step.
    tokens_per_s: float | None = None
    step_s: float | None = None
    # The share of the timed steps' time spent waiting for data (mamba_sdm.jobs.feeding).
    data_wait_share: float | None = None

    def snapshot(self) -> dict[str, Any]:
        """What a checkpoint stores: plain numbers and strings (``torch.load(weights_only=True)`` reads them)."""
        return self.model_dump(exclude={"resumed_from"})

    @classmethod
    def from_snapshot(cls, saved: object) -> Outcome:
        try:
            return cls.model_validate(saved)
        except ValidationError as err:
            first = err.errors()[0]
            where = ".".join(str(part) for part in first["loc"]) or "outcome"
            raise JobError(f"the checkpoint's progress record is not valid ({where}: {first['msg']})") from None
