"""Fixed masks for fine-tuning: the pruned weights stay zero whatever the optimizer does, so sparsity cannot change.

A parametrization (not ``torch.nn.utils.prune``) so a fine-tuned model exports through the same path as SDM and
its masks come back by the same canonical names.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import nn
from torch.nn.utils import parametrize

from mamba_sdm.models.masking.base import MaskParametrization, named_weights
from sdmspec.errors import SdmspecError


class FixedMask(MaskParametrization):
    """``weight * keep`` with a constant boolean buffer ``keep`` (saved with the model)."""

    keep: torch.Tensor

    def __init__(self, keep: torch.Tensor) -> None:
        super().__init__()
        self.register_buffer("keep", keep.detach().to(torch.bool).clone())

    def mask(self) -> torch.Tensor:
        return self.keep

    def forward(self, weight: torch.Tensor) -> torch.Tensor:
        return weight * self.keep.to(weight.dtype)


def apply_fixed_masks(model: nn.Module, masks: Mapping[str, torch.Tensor]) -> None:
    """Fix each weight named in ``masks`` (canonical names, True = kept) to ``weight * mask``.

    A mask's name matches the model's parameter of that canonical name, or one ending in ``.<name>`` (a classifier
    that wraps the language model under a prefix). A mask matching no parameter, or several, or of the wrong shape,
    raises SdmspecError naming it.
    """
    targets = {name: (module, attribute) for name, module, attribute in named_weights(model)}
    plan = []
    for name, keep in masks.items():
        matches = [full for full in targets if full == name or full.endswith(f".{name}")]
        if len(matches) != 1:
            found = "no parameter" if not matches else f"{len(matches)} parameters ({', '.join(matches[:3])})"
            raise SdmspecError(f"mask {name!r} matches {found} of the model")
        module, attribute = targets[matches[0]]
        weight = getattr(module, attribute)
        if tuple(keep.shape) != tuple(weight.shape):
            raise SdmspecError(f"mask {name!r} has shape {tuple(keep.shape)}, the weight {tuple(weight.shape)}")
        if parametrize.is_parametrized(module, attribute):
            raise SdmspecError(f"{name} already carries a parametrization; export it before fixing masks")
        plan.append((module, attribute, keep.to(weight.device)))
    for module, attribute, keep in plan:
        parametrize.register_parametrization(module, attribute, FixedMask(keep))
