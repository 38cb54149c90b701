"""Gradient clipping and the guard against non-finite steps.

Every optimizer step clips the global gradient norm to ``training.<phase>.max_grad_norm`` (transformers' Trainer
default, 1.0; 0 turns clipping off but the norm is still measured and logged). A step whose loss or gradient norm is
not finite (NaN or infinite) is *skipped*: the gradients are dropped, the optimizer does not step, so the weights and
AdamW's moments stay exactly as they were. The step still consumes its batch and its place in the learning-rate
schedule (the data order and the schedule stay those of an uninterrupted run, so resume stays exact). After
``MAX_SKIPPED_IN_A_ROW`` skipped steps in a row the job stops with one line (exit 1): the run has diverged and
skipping more would only burn GPU hours; the last checkpoint, saved before the divergence, is left intact.

Under DDP the gradients are all-reduced before clipping, so every rank measures the same norm and takes the same
decision.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sdmspec.errors import JobError

if TYPE_CHECKING:
    import torch

# Skipped steps in a row that end the job: a transient bad batch is skipped, a divergence is not waited out.
MAX_SKIPPED_IN_A_ROW = 5


def clip_gradients(model: torch.nn.Module, max_norm: float) -> float:
    """The global L2 norm of ``model``'s gradients before clipping (clipped to ``max_norm`` when positive).

    No gradient scaler is used (bf16 needs none), so there is nothing to unscale first."""
    import torch

    parameters = [p for p in model.parameters() if p.grad is not None]
    if not parameters:
        return 0.0
    # An infinite bound measures the norm without scaling anything.
    bound = max_norm if max_norm > 0 else math.inf
    return float(torch.nn.utils.clip_grad_norm_(parameters, bound, error_if_nonfinite=False))


def all_finite(model: torch.nn.Module) -> bool:
    """Whether every parameter of ``model`` is finite (checked before a checkpoint is written)."""
    import torch

    flags = [torch.isfinite(p.detach()).all() for p in model.parameters()]
    return bool(torch.stack(flags).all()) if flags else True


@dataclass
class StepGuard:
    """Counts skipped steps; raises once ``limit`` were skipped in a row."""

    label: str
    limit: int = MAX_SKIPPED_IN_A_ROW
    skipped: int = 0
    in_a_row: int = 0

    def judge(self, step: int, loss: float, grad_norm: float, last_checkpoint: Callable[[], str | None]) -> bool:
        """True when optimizer step ``step`` (1-based) may update the weights; counts and, past the limit, stops.

        ``last_checkpoint`` names the checkpoint the stop line points at; it is asked only then (it reads a file, and
        this runs every step on every rank, where the checkpoint folder may be on a shared filesystem)."""
        if math.isfinite(loss) and math.isfinite(grad_norm):
            self.in_a_row = 0
            return True
        self.skipped += 1
        self.in_a_row += 1
        if self.in_a_row >= self.limit:
            latest = last_checkpoint()
            kept = f"the last good checkpoint is {latest}" if latest else "no checkpoint was saved"
            raise JobError(
                f"{self.label}: {self.in_a_row} optimizer steps in a row (up to step {step}) had a non-finite loss "
                f"or gradient (loss {loss}, grad norm {grad_norm}); stopped: the run diverged. The weights were not "
                f"updated by those steps; {kept}. Lower the learning rate or max_grad_norm, or check the data"
            )
        return False
