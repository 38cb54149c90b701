"""Fixtures for the workflow commands' tests."""

from __future__ import annotations

import pytest
from workflow_helpers import CLI, run_sdmspec


@pytest.fixture(scope="session")
def sdmspec() -> CLI:
    """``sdmspec(*args, cwd=...)``: the command in a subprocess, with its exit code and output."""
    return run_sdmspec
