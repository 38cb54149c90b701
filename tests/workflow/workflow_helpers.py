"""Shared by the workflow tests: run the real `sdmspec` CLI in a subprocess, offline."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import sdmspec_cli

REPO = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent

CLI = Callable[..., subprocess.CompletedProcess[str]]


def run_sdmspec(*args: str, cwd: Path = REPO, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """``sdmspec ARGS`` as users run it, offline, with a wide terminal for rich tables."""
    return sdmspec_cli.run_sdmspec(*args, cwd=cwd, env={"COLUMNS": "200"}, timeout=timeout)
