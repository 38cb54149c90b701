"""Fixtures for the model tests: tiny (smoke-size) Mamba models and a masked SDM model."""

from __future__ import annotations

import os

# Before transformers is imported: nothing may wait on hub retries (see FIELD_NOTES).
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")

from typing import TYPE_CHECKING

import pytest

from mamba_sdm.spec import Spec

if TYPE_CHECKING:
    from transformers import MambaForCausalLM


@pytest.fixture
def tiny(spec: Spec) -> MambaForCausalLM:
    """A smoke-size Mamba-130m (2 layers, d_model 64), seeded."""
    from mamba_sdm.models.build import build_model

    return build_model(spec, "130m", smoke=True, seed=0)


@pytest.fixture
def tiny_dense(spec: Spec) -> MambaForCausalLM:
    """Another smoke-size model with different weights (the dense model of a challenge)."""
    from mamba_sdm.models.build import build_model

    return build_model(spec, "130m", smoke=True, seed=1)
