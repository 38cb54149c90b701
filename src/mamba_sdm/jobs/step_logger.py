"""The training loop's reporting: which optimizer steps are logged, what a step's events hold, and the lines and
progress display a person watches.

Events go to ``metrics.jsonl`` and the experiment trackers through :class:`~mamba_sdm.jobs.metrics.MetricsLog` (rank 0
only); a ``train`` event every ``every`` steps, at the last step and at a stop; a ``throughput`` event and one line
on stderr once the step time can be projected; a ``skipped`` event and a line for each step the guard skipped.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from mamba_sdm.jobs.guard import StepGuard
from mamba_sdm.jobs.metrics import MetricsLog, Progress
from mamba_sdm.jobs.throughput import Throughput


@dataclass(frozen=True)
class StepRecord:
    """One optimizer step as the log sees it."""

    step: int
    epoch: int
    loss: float
    lr: float
    grad_norm: float
    data_wait_s: float


class StepLogger:
    """Owns the logging interval and the throughput projection of one training run."""

    def __init__(
        self,
        log: MetricsLog,
        progress: Progress,
        *,
        every: int,
        total_steps: int,
        label: str,
        is_main: bool,
        extra_fields: Callable[[], dict[str, Any]] = dict,
    ) -> None:
        self.log = log
        self.progress = progress
        self.every = every
        self.total_steps = total_steps
        self.label = label
        self.is_main = is_main
        self.extra_fields = extra_fields
        self.speed = Throughput(total_steps)

    def due(self, step: int, *, stopping: bool) -> bool:
        return step % self.every == 0 or step == self.total_steps or stopping

    def timed(self, step: int) -> None:
        """After a step's time was recorded: the throughput event and line, once a projection is possible."""
        if self.speed.ready_to_project() and self.is_main:
            step_s = round(self.speed.step_s or 0.0, 6)
            self.log.log("throughput", step=step, **self.speed.fields(step), step_s=step_s)
            print(f"{self.label}: {self.speed.summary(step)}", file=sys.stderr, flush=True)

    def step(self, record: StepRecord, skipped_steps: int) -> None:
        speed = self.speed.fields(record.step)
        self.log.log(
            "train", step=record.step, total_steps=self.total_steps, epoch=record.epoch, loss=record.loss,
            lr=record.lr, grad_norm=record.grad_norm, skipped_steps=skipped_steps,
            data_wait_s=round(record.data_wait_s, 6), **speed, **self.extra_fields(),
        )  # fmt: skip
        self.progress.advance(record.step, {"loss": record.loss, "epoch": record.epoch, **speed})

    def skipped(self, guard: StepGuard, step: int, loss: float, grad_norm: float) -> None:
        if not self.is_main:
            return
        self.log.log("skipped", step=step, loss=loss, grad_norm=grad_norm)
        print(
            f"{guard.label}: step {step} skipped (loss {loss}, grad norm {grad_norm}); {guard.in_a_row} in a row, "
            f"{guard.skipped} in all",
            file=sys.stderr,
            flush=True,
        )

    def evaluated(self, step: int, epoch: int, metrics: dict[str, float]) -> None:
        self.log.log("eval", step=step, epoch=epoch, **metrics, **self.extra_fields())
