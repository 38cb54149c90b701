"""Where a running stage stands, read from its ``metrics.jsonl``: the last ``train`` event (step, total, loss, tokens/s,
ETA, data wait, gradient norm), for the live display of ``sdmspec run`` and for ``sdmspec status``.

Only the end of the file is read (a multi-day stage logs millions of lines). A line cut by a crash or garbled is
skipped; missing fields are shown as unknown. Nothing here imports torch or rich.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

METRICS_FILE = "metrics.jsonl"
_TAIL_BYTES = 64 * 1024


def format_duration(seconds: float) -> str:
    """A duration as a person reads it (an ETA, a stage's age), the same in every display: ``3d 4h``, ``2h 05m``,
    ``4m 10s``, ``12s``."""
    whole = round(seconds)
    days, rest = divmod(whole, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes:02d}m"
    if minutes:
        return f"{minutes}m {secs:02d}s"
    return f"{secs}s"


@dataclass(frozen=True)
class StageProgress:
    step: int | None = None
    total_steps: int | None = None
    epoch: float | None = None
    loss: float | None = None
    tokens_per_s: float | None = None
    eta_s: float | None = None
    data_wait_s: float | None = None
    grad_norm: float | None = None
    # Seconds since the metrics file was last written (a stage that stopped logging shows its age).
    age_s: float | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def fraction(self) -> float | None:
        if self.step is None or not self.total_steps:
            return None
        return min(1.0, self.step / self.total_steps)


def _number(event: dict[str, Any], key: str) -> float | None:
    value = event.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return float(value)


def _integer(event: dict[str, Any], key: str) -> int | None:
    value = _number(event, key)
    return int(value) if value is not None else None


def _tail_lines(path: Path) -> list[str]:
    with path.open("rb") as handle:
        handle.seek(0, 2)
        size = handle.tell()
        handle.seek(max(0, size - _TAIL_BYTES))
        lines = handle.read().decode("utf-8", errors="replace").splitlines()
    return lines[1:] if size > _TAIL_BYTES else lines  # the first may start mid-line


def read_progress(folder: Path) -> StageProgress | None:
    """The last ``train`` event in ``folder/metrics.jsonl``, or None when there is none (yet) or it cannot be read."""
    path = folder / METRICS_FILE
    try:
        lines = _tail_lines(path)
        age = max(0.0, time.time() - path.stat().st_mtime)
    except OSError:
        return None
    for line in reversed(lines):
        try:
            event = json.loads(line)
        except ValueError:
            continue  # cut or garbled: the one before it still says where the stage stands
        if not isinstance(event, dict) or event.get("event") != "train":
            continue
        return StageProgress(
            step=_integer(event, "step"),
            total_steps=_integer(event, "total_steps"),
            epoch=_number(event, "epoch"),
            loss=_number(event, "loss"),
            tokens_per_s=_number(event, "tokens_per_s"),
            eta_s=_number(event, "eta_s"),
            data_wait_s=_number(event, "data_wait_s"),
            grad_norm=_number(event, "grad_norm"),
            age_s=round(age, 1),
        )
    return None


def duration(seconds: float | None) -> str:
    """A job's own ETA format (``2h 05m``), ``?`` when unknown: the runner shows what the stage's log says."""
    return "?" if seconds is None else format_duration(seconds)


def describe(progress: StageProgress | None) -> str:
    """One line: ``step 120/1,000 (12%), loss 3.21, 8,865 tokens/s, ETA 12m03s``."""
    if progress is None:
        return "starting (no training step logged yet)"
    parts = []
    if progress.step is not None:
        total = f"/{progress.total_steps:,}" if progress.total_steps else ""
        share = f" ({progress.fraction:.0%})" if progress.fraction is not None else ""
        parts.append(f"step {progress.step:,}{total}{share}")
    if progress.loss is not None:
        parts.append(f"loss {progress.loss:.4g}")
    if progress.tokens_per_s is not None:
        parts.append(f"{progress.tokens_per_s:,.0f} tokens/s")
    parts.append(f"ETA {duration(progress.eta_s)}")
    return ", ".join(parts)
