"""``<out>/tracking.json``: the run ids trackers gave this job, so a resumed job continues the same runs."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

from sdmspec.io import atomic_write_json

RUN_FILE = "tracking.json"


def read_run(folder: Path, tracker: str) -> dict[str, object]:
    """What ``tracker`` recorded for the job in ``folder`` (empty when nothing, or the file is unreadable)."""
    try:
        loaded = json.loads((folder / RUN_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    entry = loaded.get(tracker) if isinstance(loaded, dict) else None
    return entry if isinstance(entry, dict) else {}


def remember_run(folder: Path, tracker: str, entry: Mapping[str, object]) -> None:
    try:
        known = json.loads((folder / RUN_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        known = {}
    if not isinstance(known, dict):
        known = {}
    known[tracker] = entry
    atomic_write_json(folder / RUN_FILE, known)
