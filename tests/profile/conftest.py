"""Fixtures for the profile tests: offline hub, one intra-op thread (the 2-core CI box is shared), tiny models."""

from __future__ import annotations

import os

# Before transformers is imported: nothing may wait on hub retries (see FIELD_NOTES).
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")

from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True)
def one_thread() -> Iterator[None]:
    """Tiny models gain nothing from threads, and on a loaded 2-core machine OpenMP spinning makes them 50x slower."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
