"""Shared smoke runs for the job tests: generated data, and dense and SDM pre-trainings run once per session.

The jobs run in-process here (imports are paid once); the CLI, torchrun and interruption tests run them as
subprocesses, the way the runner does.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from job_helpers import options

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")


@pytest.fixture(scope="session", autouse=True)
def smoke_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The smoke cache (generated starting checkpoints) of this session, not the user's: jobs in-process and the CLI
    in subprocesses (which inherit the environment) share it."""
    folder = tmp_path_factory.mktemp("sdmspec-cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SDMSPEC_CACHE", str(folder))
        yield folder


@pytest.fixture(scope="session")
def smoke_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from mamba_sdm.jobs.smoke_data import ensure_smoke_data

    return ensure_smoke_data(tmp_path_factory.mktemp("data") / "smoke")


@pytest.fixture(scope="session")
def pretrained(tmp_path_factory: pytest.TempPathFactory, smoke_data: Path) -> dict[str, Path]:
    """Output folders of the smoke pre-training of mamba-130m-dense and mamba-130m-sdm."""
    from mamba_sdm.jobs.pretrain import run_pretrain

    root = tmp_path_factory.mktemp("pretrain")
    folders = {}
    for variant in ("mamba-130m-dense", "mamba-130m-sdm"):
        run_pretrain(options(variant, root / variant, smoke_data))
        folders[variant] = root / variant
    return folders
