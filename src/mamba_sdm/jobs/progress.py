"""Progress as plain lines on stderr, for a job whose stderr is a file (a SLURM log, a stage's log under
``sdmspec run``): where a terminal shows a progress bar, the log gets one line at most every ``interval_s`` seconds
(``SDMSPEC_PROGRESS_EVERY_S``; 0: every ``--log-every`` steps), and one at the last step::

    pretrain mamba-130m-sdm: step 1,200/46,880 (2.6%) epoch 0 loss 3.4121 41,950 tokens/s ETA 1d 2h
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from typing import Any, TextIO

from sdmspec.errors import JobError
from sdmspec.runner.progress import format_duration

PROGRESS_EVERY_ENV = "SDMSPEC_PROGRESS_EVERY_S"
DEFAULT_INTERVAL_S = 30.0


def progress_interval() -> float:
    raw = os.environ.get(PROGRESS_EVERY_ENV, "").strip()
    if not raw:
        return DEFAULT_INTERVAL_S
    try:
        return max(float(raw), 0.0)
    except ValueError:
        raise JobError(f"{PROGRESS_EVERY_ENV}={raw!r} is not a number of seconds") from None


class PlainProgress:
    """The :class:`~mamba_sdm.jobs.metrics.Progress` of a job without a terminal."""

    def __init__(
        self,
        interval_s: float | None = None,
        stream: TextIO | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.interval_s = progress_interval() if interval_s is None else interval_s
        self._stream = stream
        self._clock = clock
        self._label, self._total = "training", 0
        self._last: float | None = None

    def start(self, total: int, done: int, description: str) -> None:
        self._label, self._total, self._last = description, total, None

    def advance(self, done: int, fields: dict[str, Any]) -> None:
        now = self._clock()
        due = self._last is None or now - self._last >= self.interval_s or done >= self._total
        if not due:
            return
        self._last = now
        print(self.line(done, fields), file=self._stream or sys.stderr, flush=True)

    def line(self, done: int, fields: dict[str, Any]) -> str:
        share = f" ({done / self._total:.1%})" if self._total else ""
        parts = [f"{self._label}: step {done:,}/{self._total:,}{share}"]
        if fields.get("epoch") is not None:
            parts.append(f"epoch {fields['epoch']}")
        loss = fields.get("loss")
        parts.append(f"loss {loss:.4f}" if isinstance(loss, float) else "loss n/a")
        if fields.get("tokens_per_s") is not None:
            parts.append(f"{fields['tokens_per_s']:,.0f} tokens/s")
        if fields.get("eta_s") is not None:
            parts.append(f"ETA {format_duration(fields['eta_s'])}")
        return " ".join(parts)

    def stop(self) -> None:
        pass
