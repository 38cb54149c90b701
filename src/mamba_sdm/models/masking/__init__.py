"""Masking strategies (a named registry), the sparsity schedule, fixed masks for fine-tuning, and mask export.

Typical Phase A use::

    strategy = get_strategy("sdm")
    strategy.attach(model, spec.sparsity)
    for step in ...:
        strategy.set_sparsity(model, cubic_sparsity(step, total_steps, target))
        ...
    masks = strategy.export(model)  # zeros baked into the weights; keep-masks by canonical name

Optimizer groups: see :mod:`mamba_sdm.models.masking.base` (``weight_parameters`` / ``score_parameters``).
"""

from __future__ import annotations

from mamba_sdm.models.masking.base import (
    MaskedWeight,
    MaskingStrategy,
    MaskParametrization,
    current_masks,
    export_masks,
    masked_weights,
    score_parameters,
    weight_parameters,
)
from mamba_sdm.models.masking.fixed import FixedMask, apply_fixed_masks
from mamba_sdm.models.masking.registry import STRATEGIES, get_strategy, register_strategy
from mamba_sdm.models.masking.schedule import cubic_sparsity, zeros_for
from mamba_sdm.models.masking.sdm import SdmMask, SdmStrategy, keep_top

__all__ = [
    "STRATEGIES",
    "FixedMask",
    "MaskParametrization",
    "MaskedWeight",
    "MaskingStrategy",
    "SdmMask",
    "SdmStrategy",
    "apply_fixed_masks",
    "cubic_sparsity",
    "current_masks",
    "export_masks",
    "get_strategy",
    "keep_top",
    "masked_weights",
    "register_strategy",
    "score_parameters",
    "weight_parameters",
    "zeros_for",
]
