"""Metrics as JSON lines (one object per event, rank 0 only) and the progress reporting hook.

Every event carries ``event`` ("train", "eval", "sparsity", ...) and ``step`` (optimizer steps done). On resume
the log is cut back to the events the checkpoint had seen, so the steps an interruption redid are not logged twice.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, Protocol

from sdmspec.io import atomic_write_text
from sdmspec.tracking import open_trackers


class Progress(Protocol):
    """What a job tells its progress display; the CLI passes a rich bar, tests pass nothing."""

    def start(self, total: int, done: int, description: str) -> None: ...

    def advance(self, done: int, fields: dict[str, Any]) -> None: ...

    def stop(self) -> None: ...


class NoProgress:
    """The silent default (other ranks, --quiet, no TTY)."""

    def start(self, total: int, done: int, description: str) -> None:
        pass

    def advance(self, done: int, fields: dict[str, Any]) -> None:
        pass

    def stop(self) -> None:
        pass


def plain_json(value: Any) -> Any:
    """``value`` with every non-finite float (in nested dicts and lists too) as None: JSON has no NaN or infinity,
    and an exploding loss (or a skipped step's) is written as null rather than breaking the file for strict readers."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: plain_json(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain_json(item) for item in value]
    return value


class MetricsLog:
    """Append-only JSON-lines log; a no-op on ranks other than 0. Every event also goes to the experiment trackers
    the process is reporting to (``--report-to``, :mod:`sdmspec.tracking`), from rank 0 only."""

    def __init__(self, path: Path, *, enabled: bool) -> None:
        self.path = path
        self.enabled = enabled
        self.events: list[dict[str, Any]] = []
        self.trackers = open_trackers(path.parent) if enabled else None

    def rewind(self, count: int, last_step: int | None = None) -> int:
        """Keep the first ``count`` valid events (those a checkpoint had seen, up to optimizer step ``last_step``);
        drop what an interrupted run logged after them. A line that is not a JSON object (cut by a kill, garbled on
        disk) is skipped, not a reason to drop the valid events after it; returns how many such lines were skipped.
        With a skipped line among the first ``count``, an event of a later step than ``last_step`` still ends what
        is kept: it was logged after the checkpoint."""
        if not self.enabled:
            return 0
        kept: list[dict[str, Any]] = []
        bad = 0
        if count > 0 and self.path.is_file():
            for line in self.path.read_text(encoding="utf-8", errors="replace").splitlines():
                if len(kept) == count:
                    break
                try:
                    event = json.loads(line)
                except ValueError:
                    event = None
                if isinstance(event, dict):
                    if last_step is not None and isinstance(event.get("step"), int) and event["step"] > last_step:
                        break
                    kept.append(event)
                else:
                    bad += 1
        self.events = kept
        atomic_write_text(self.path, "".join(json.dumps(event) + "\n" for event in kept))
        return bad

    def log(self, event: str, **fields: Any) -> None:
        if not self.enabled:
            return
        record = {"event": event, **{key: plain_json(value) for key, value in fields.items()}}
        self.events.append(record)
        with self.path.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(record) + "\n")
        if self.trackers is not None:
            self.trackers.log(record, self.events)

    def close(self, status: str = "FINISHED") -> None:
        """Close the trackers (flushing their files, ending their runs with ``status``); the log itself needs none."""
        if self.trackers is not None:
            self.trackers.close(status)
