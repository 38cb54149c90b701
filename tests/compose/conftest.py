from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from compose_helpers import APP


@pytest.fixture
def app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the app in a temporary folder, which is the current folder (files are named relative to it)."""
    target = tmp_path / "app"
    shutil.copytree(APP, target)
    monkeypatch.chdir(target)
    monkeypatch.delenv("SDMSPEC_TEST_DATA_ROOT", raising=False)
    monkeypatch.setenv("SDMSPEC_CACHE", str(tmp_path / "cache"))  # compositions kept between runs
    monkeypatch.delenv("SDMSPEC_TEST_RUN_NAME", raising=False)
    return target
