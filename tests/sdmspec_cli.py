"""Run the real ``sdmspec`` CLI in a subprocess, offline, as users and the runner do (``python -m sdmspec``)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# No test may wait on a hub: datasets/transformers read these when they are imported in the child.
OFFLINE = {"HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}


def run_sdmspec(
    *args: str, cwd: Path = REPO, env: dict[str, str] | None = None, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """``python -m sdmspec ARGS`` in ``cwd`` with the hub libraries offline and ``env`` added."""
    return subprocess.run(
        [sys.executable, "-m", "sdmspec", *args],
        cwd=cwd,
        env={**os.environ, **OFFLINE, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
