"""Helpers for the job tests: job options on generated data, reading outputs, running the CLI as the runner does."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import sdmspec_cli

REPO = Path(__file__).resolve().parents[2]
CONFIGS = REPO / "configs"


def options(variant: str, out: Path, data: Path, **extra: Any) -> Any:
    from sdmspec.jobs.common import JobOptions

    return JobOptions(variant=variant, out=out, configs=CONFIGS, smoke=True, data_dir=data, **extra)


def read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def read_events(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def run_cli(*args: str, env: dict[str, str] | None = None, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """``python -m sdmspec ARGS`` in the repo, offline, as the runner launches jobs."""
    return sdmspec_cli.run_sdmspec(*args, env=env, timeout=timeout)
