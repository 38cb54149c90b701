"""Tokens per second and the projected time to finish, from the optimizer steps a job has taken so far.

The first steps of a process are excluded from the rate: they pay for the allocator's growth, cuDNN/cuBLAS
autotuning and first-call overheads. Only the optimizer steps are timed (data collation included, evaluation not),
so the projection is of the training steps left; evaluations add their own time once per epoch.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from sdmspec.runner.progress import format_duration

# Steps of this process not timed, then steps timed before the projection is announced.
WARMUP_STEPS = 1
PROJECT_AFTER = 3


@dataclass
class Throughput:
    """Counts tokens and seconds of the timed steps; ``total_steps``/``done`` are global optimizer steps."""

    total_steps: int
    clock: Callable[[], float] = time.perf_counter
    warmup: int = WARMUP_STEPS
    _seen: int = 0
    _tokens: int = 0
    _seconds: float = 0.0
    _waited: float = 0.0
    _timed: int = 0
    _started: float | None = field(default=None, repr=False)

    def start_step(self) -> None:
        self._started = self.clock()

    def end_step(self, tokens: int, waited: float = 0.0) -> None:
        """Close the step begun by :meth:`start_step` that processed ``tokens`` tokens (all ranks together) and
        waited ``waited`` seconds of it for data."""
        if self._started is None:
            raise RuntimeError("end_step() without start_step()")
        elapsed = self.clock() - self._started
        self._started = None
        self._seen += 1
        if self._seen > self.warmup:
            self._tokens += tokens
            self._seconds += elapsed
            self._waited += waited
            self._timed += 1

    @property
    def timed_steps(self) -> int:
        return self._timed

    @property
    def tokens_per_s(self) -> float | None:
        return self._tokens / self._seconds if self._timed and self._seconds > 0 else None

    @property
    def step_s(self) -> float | None:
        return self._seconds / self._timed if self._timed else None

    @property
    def data_wait_share(self) -> float | None:
        """The fraction of the timed steps' time spent waiting for data."""
        return round(self._waited / self._seconds, 6) if self._timed and self._seconds > 0 else None

    def eta_s(self, done: int) -> float | None:
        """Seconds the remaining ``total_steps - done`` steps take at the measured rate."""
        step = self.step_s
        return None if step is None else step * max(self.total_steps - done, 0)

    def ready_to_project(self) -> bool:
        """True once, when enough steps were timed to announce the projection."""
        return self._timed == PROJECT_AFTER

    def fields(self, done: int) -> dict[str, float]:
        """``tokens_per_s`` and ``eta_s`` for a metrics event (empty until a step was timed)."""
        rate, eta = self.tokens_per_s, self.eta_s(done)
        if rate is None or eta is None:
            return {}
        return {"tokens_per_s": round(rate, 1), "eta_s": round(eta, 3)}

    def summary(self, done: int) -> str:
        """One line: the measured rate and the projection."""
        rate, eta, step = self.tokens_per_s, self.eta_s(done), self.step_s
        if rate is None or eta is None or step is None:
            return "throughput not measured yet"
        left = max(self.total_steps - done, 0)
        return (
            f"{rate:,.0f} tokens/s ({step:.3g} s a step over {self._timed} timed steps); {left:,} steps left: "
            f"~{format_duration(eta)} to finish training (evaluation not included)"
        )
