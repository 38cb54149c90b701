"""The training loop's checkpoint policy: when to save, what a save holds, and resuming on every rank.

:mod:`mamba_sdm.jobs.checkpoints` is the file format (atomic folders, ``latest``, rotation, moving an unreadable
checkpoint aside); this module decides *when*: every ``every`` optimizer steps and at the end of every epoch, never
right after a skipped step (rotation would delete the last checkpoint from before the trouble), never of weights that
are not finite, and on every rank together (rank 0 writes, the others wait at a barrier).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mamba_sdm.jobs.checkpoints import latest_name, load_latest, save_checkpoint
from mamba_sdm.jobs.guard import all_finite
from mamba_sdm.jobs.outcome import Outcome
from mamba_sdm.jobs.runtime import Runtime
from sdmspec.errors import JobError

if TYPE_CHECKING:
    import torch


@dataclass(frozen=True)
class Position:
    """Where the loop stands: the epoch, optimizer steps done in it, and metrics events logged so far."""

    epoch: int = 0
    step_in_epoch: int = 0
    events: int = 0


@dataclass(frozen=True)
class Resumed:
    """What a checkpoint restored besides the tensors: the loop's position and the outcome so far."""

    position: Position
    outcome: Outcome


class CheckpointManager:
    """Saves and restores one job's resume state under ``folder`` (``OUT/checkpoints``)."""

    def __init__(
        self,
        folder: Path,
        runtime: Runtime,
        model: torch.nn.Module,
        optimizer: torch.optim.Optimizer,
        scheduler: torch.optim.lr_scheduler.LRScheduler,
        *,
        every: int,
        label: str,
    ) -> None:
        self.folder = folder
        self.runtime = runtime
        self.model = model
        self.optimizer = optimizer
        self.scheduler = scheduler
        self.every = every
        self.label = label

    def latest(self) -> str | None:
        """The newest complete checkpoint's name (read from disk: ask only when a line needs it)."""
        return latest_name(self.folder)

    def due(self, steps: int, *, skipping: bool) -> bool:
        """Whether the step interval asks for a checkpoint after optimizer step ``steps``."""
        return bool(self.every) and steps % self.every == 0 and not skipping

    def save(self, position: Position, outcome: Outcome) -> None:
        """Save after ``outcome.steps`` optimizer steps, on every rank together.

        Weights are never updated by a non-finite step, but an overflow inside AdamW could still reach them: a
        checkpoint must never hold what it cannot resume from (every rank checks, so all raise together)."""
        if not all_finite(self.model):
            raise JobError(
                f"{self.label}: the weights are not finite after step {outcome.steps}; not saving a checkpoint "
                f"over the last good one ({self.latest() or 'none'})"
            )
        if self.runtime.is_main:
            progress: dict[str, Any] = {
                "epoch": position.epoch,
                "step_in_epoch": position.step_in_epoch,
                "events": position.events,
                "outcome": outcome.snapshot(),
            }
            save_checkpoint(self.folder, outcome.steps, self.model, self.optimizer, self.scheduler, progress)
        self.runtime.barrier()

    def resume(self, warn: Callable[[str], None]) -> Resumed | None:
        """The checkpoint to resume from, loaded on every rank. Rank 0 first: it alone moves an unreadable
        checkpoint aside; the others then load the one it resumed from. After each turn whether it failed is
        all-reduced, so when one rank fails the others stop with it rather than wait for it in a collective it
        never joins."""
        runtime = self.runtime

        def first() -> dict[str, Any] | None:
            return load_latest(self.folder, self.model, self.optimizer, self.scheduler, warn)

        if not runtime.distributed:
            saved = first()
        else:

            def then() -> dict[str, Any] | None:
                return load_latest(self.folder, self.model, self.optimizer, self.scheduler, warn, repair=False)

            main = _together(runtime, runtime.is_main, first, f"rank 0 could not resume from {self.folder}")
            other = _together(
                runtime, not runtime.is_main, then, f"a rank could not load the checkpoint under {self.folder}"
            )
            saved = main if runtime.is_main else other
        if saved is None:
            return None
        position = Position(int(saved["epoch"]), int(saved["step_in_epoch"]), int(saved["events"]))
        outcome = Outcome.from_snapshot(saved["outcome"])
        outcome.resumed_from = outcome.steps
        return Resumed(position, outcome)


def _together(
    runtime: Runtime, mine: bool, load: Callable[[], dict[str, Any] | None], failed: str
) -> dict[str, Any] | None:
    """``load()`` where ``mine``, then every rank learns whether it failed anywhere (one all-reduce)."""
    import torch

    result, failure = None, None
    if mine:
        try:
            result = load()
        except Exception as err:
            failure = err
    flag = runtime.all_reduce_sum(torch.tensor([0.0 if failure is None else 1.0], device=runtime.device))
    if failure is not None:
        raise failure
    if flag.item():
        raise JobError(f"{failed} (its error says why); rank {runtime.rank} stops too")
    return result
