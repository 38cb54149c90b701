"""Fault injection for the tests: a crash, a slow step, a NaN loss, put into a real job from outside.

Production code has no test hooks; these wrap the seams the training loop has anyway: :meth:`Trainer.run_step` (one
optimizer step, checkpoint included) and the phase's loss (:attr:`Trainer.hooks`). In-process tests call
:func:`install` through a fixture; a test that starts a job in a child process passes :func:`environment`, which
puts ``fault_hooks/`` on ``PYTHONPATH`` (its ``sitecustomize`` installs the faults named there in every process started
with it, torchrun's workers included).
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

HOOKS = Path(__file__).resolve().parent / "fault_hooks"
# A process exits abruptly (no checkpoint, no cleanup, like SIGKILL) after this many optimizer steps it took.
CRASH_AFTER = "SDMSPEC_FAULT_CRASH_AFTER_STEPS"
CRASH_EXIT_CODE = 75
# Sleep this many seconds before every optimizer step, so a test can signal a smoke job mid-epoch.
STEP_DELAY = "SDMSPEC_FAULT_STEP_DELAY_S"
# "4,5" or "6-": the loss of those optimizer steps (1-based) is NaN, hence the gradients too, as a bad batch's.
NAN_AT_STEPS = "SDMSPEC_FAULT_NAN_AT_STEPS"


def environment(*, crash_after: int = 0, step_delay: float = 0.0, nan_at: str = "") -> dict[str, str]:
    """The variables that give a child process these faults (to merge into its environment)."""
    env = {"PYTHONPATH": os.pathsep.join(p for p in (str(HOOKS), os.environ.get("PYTHONPATH", "")) if p)}
    if crash_after:
        env[CRASH_AFTER] = str(crash_after)
    if step_delay:
        env[STEP_DELAY] = str(step_delay)
    if nan_at:
        env[NAN_AT_STEPS] = nan_at
    return env


def _poisoned_steps(raw: str) -> Callable[[int], bool]:
    if raw.endswith("-"):
        first = int(raw[:-1])
        return lambda step: step >= first
    chosen = {int(part) for part in raw.split(",") if part.strip()}
    return lambda step: step in chosen


def install(*, crash_after: int = 0, step_delay: float = 0.0, nan_at: str = "") -> Callable[[], None]:
    """Wrap the loop's seams with the faults asked for; returns the function that undoes it."""
    from mamba_sdm.jobs import loop

    original_step = loop.Trainer.run_step
    original_init = loop.Trainer.__init__
    taken = {"steps": 0}

    def run_step(self: loop.Trainer, feeder: Any) -> None:
        if step_delay:
            time.sleep(step_delay)
        original_step(self, feeder)
        taken["steps"] += 1
        if crash_after and taken["steps"] >= crash_after:
            os._exit(CRASH_EXIT_CODE)

    def init(self: loop.Trainer, *args: Any, **kwargs: Any) -> None:
        original_init(self, *args, **kwargs)
        if nan_at:
            poisoned, loss = _poisoned_steps(nan_at), self.hooks.loss

            def nan_loss(model: Any, batch: Any) -> Any:
                value = loss(model, batch)
                # The step being taken is the one after those done (outcome is replaced on resume: read it now).
                return value * float("nan") if poisoned(self.outcome.steps + 1) else value

            self.hooks = dataclasses.replace(self.hooks, loss=nan_loss)

    loop.Trainer.run_step = run_step  # type: ignore[method-assign]
    loop.Trainer.__init__ = init  # type: ignore[method-assign]

    def undo() -> None:
        loop.Trainer.run_step = original_step  # type: ignore[method-assign]
        loop.Trainer.__init__ = original_init  # type: ignore[method-assign]

    return undo


@contextmanager
def injected(**faults: Any) -> Iterator[None]:
    undo = install(**faults)
    try:
        yield
    finally:
        undo()


def install_from_environment() -> None:
    crash_after = int(os.environ.get(CRASH_AFTER, "0") or 0)
    step_delay = float(os.environ.get(STEP_DELAY, "0") or 0)
    nan_at = os.environ.get(NAN_AT_STEPS, "").strip()
    if crash_after or step_delay or nan_at:
        install(crash_after=crash_after, step_delay=step_delay, nan_at=nan_at)
