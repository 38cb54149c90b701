"""A stop is a checkpoint: the signals a user or a scheduler sends ask the training loop to stop after the current
optimizer step, save a checkpoint and exit with :data:`sdmspec.errors.EXIT_INTERRUPTED`.

The signals are SIGTERM (``kill``, ``scancel``, the runner forwarding its own stop), SIGINT (Ctrl-C) and SIGUSR1
(SLURM's ``--signal=USR1@SECONDS``, sent that long before the time limit); ``SDMSPEC_STOP_SIGNALS`` replaces the list
("TERM,USR2", names with or without "SIG"). A second signal means "now": the process exits at once, with the same
code, and the last checkpoint written before stays (every checkpoint is written atomically). Under DDP the flag is
all-reduced with the step's loss, so every rank stops after the same step and they save together.
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Callable
from types import FrameType, TracebackType
from typing import Any

from sdmspec.errors import EXIT_INTERRUPTED, JobError

STOP_SIGNALS_ENV = "SDMSPEC_STOP_SIGNALS"
DEFAULT_STOP_SIGNALS = ("SIGTERM", "SIGINT", "SIGUSR1")


def stop_signals() -> list[signal.Signals]:
    """The signals that stop a job: ``SDMSPEC_STOP_SIGNALS`` when set, else SIGTERM, SIGINT and SIGUSR1."""
    raw = os.environ.get(STOP_SIGNALS_ENV, "").strip()
    names = [part.strip().upper() for part in raw.split(",") if part.strip()] if raw else list(DEFAULT_STOP_SIGNALS)
    chosen = []
    for name in names:
        full = name if name.startswith("SIG") else f"SIG{name}"
        try:
            chosen.append(signal.Signals[full])
        except KeyError:
            raise JobError(f"{STOP_SIGNALS_ENV}={raw!r}: {name!r} is not a signal name (e.g. TERM,INT,USR1)") from None
    return chosen


class StopRequest:
    """Installs the stop handlers for the duration of a ``with`` block (main thread only; elsewhere a no-op) and
    remembers the first signal received."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.received: str | None = None
        self._previous: dict[signal.Signals, Callable[[int, FrameType | None], Any] | int | None] = {}

    def __enter__(self) -> StopRequest:
        if threading.current_thread() is threading.main_thread():
            for number in stop_signals():
                self._previous[number] = signal.signal(number, self._handle)
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        for number, handler in self._previous.items():
            signal.signal(number, handler)
        self._previous.clear()

    def _handle(self, number: int, frame: FrameType | None) -> None:
        name = signal.Signals(number).name
        if self.received is not None:
            # Only async-signal-safe calls here: the main thread may be inside a write.
            os.write(2, f"sdmspec: {self.label}: second signal ({name}): exiting now\n".encode())
            os._exit(EXIT_INTERRUPTED)
        self.received = name

    @property
    def flag(self) -> float:
        """1.0 once a stop was asked for (summed over ranks with the step's loss)."""
        return 1.0 if self.received is not None else 0.0

    def what(self) -> str:
        """The signal's name for the one line, or what the other rank got."""
        return self.received or "a stop signal (received by another rank)"
