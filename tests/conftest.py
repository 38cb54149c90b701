"""Shared fixtures: the repo's spec and paths to the seed's broken configs."""

from __future__ import annotations

from pathlib import Path

import pytest

from mamba_sdm.spec import Spec
from sdmspec.schema import load_spec

REPO = Path(__file__).resolve().parent.parent
SEED_CONFIGS = REPO / "tests" / "fixtures" / "seed"


@pytest.fixture(scope="session")
def repo() -> Path:
    return REPO


@pytest.fixture(scope="session")
def spec() -> Spec:
    return load_spec(REPO / "spec")


@pytest.fixture(scope="session")
def seed_configs() -> Path:
    return SEED_CONFIGS


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """GPU tests run only where CUDA is available; elsewhere they are skipped with the reason."""
    try:
        import torch

        has_gpu = torch.cuda.is_available()
    except ImportError:
        has_gpu = False
    if has_gpu:
        return
    skip = pytest.mark.skip(reason="needs a CUDA GPU")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)
