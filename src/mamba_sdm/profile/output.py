"""profile.json and profile.csv, written atomically."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from mamba_sdm.profile.records import CSV_COLUMNS, ProfileResult
from sdmspec.io import atomic_write_json, atomic_write_text


def write_json(path: Path, document: dict[str, Any]) -> None:
    atomic_write_json(path, document)


def write_csv(path: Path, results: Sequence[ProfileResult]) -> None:
    """One row per result, the columns of :data:`CSV_COLUMNS` (units in the names: ``*_ms``, ``*_macs``)."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for result in results:
        writer.writerow(result.csv_row())
    atomic_write_text(path, buffer.getvalue())
