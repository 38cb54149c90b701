"""SDM, the reference strategy: a learnable score per prunable weight, top-(1 - s) of each layer kept.

Forward: ``weight * hard_mask`` where the hard mask keeps, in each layer, the ``numel - zeros_for(numel, s)``
weights with the highest scores (ties at the threshold: the lower flat index is pruned first, so the count is exact
and the same on every run). Backward: the straight-through estimator of movement pruning (Sanh et al. 2020,
arXiv:2005.07683): the mask is treated as identity with respect to the scores, so ``dL/dscore = dL/dw' * w`` and
``dL/dw = dL/dw' * mask``. Scores start at ``|w|``, so the first mask is the magnitude mask.

This is our formulation; the paper's exact one can be registered under another name (see ``registry``).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn
from torch.nn.utils import parametrize

from mamba_sdm.models.masking.base import MaskingStrategy, MaskParametrization, prunable_weights
from mamba_sdm.models.masking.registry import register_strategy
from mamba_sdm.models.masking.schedule import zeros_for
from sdmspec.errors import SdmspecError
from sdmspec.schema import SparsitySpec


def keep_top(scores: torch.Tensor, zeros: int) -> torch.Tensor:
    """A boolean mask keeping all but the ``zeros`` lowest scores, exactly; ties pruned lowest flat index first."""
    flat = scores.reshape(-1)
    if zeros <= 0:
        return torch.ones_like(scores, dtype=torch.bool)
    if zeros >= flat.numel():
        return torch.zeros_like(scores, dtype=torch.bool)
    threshold = flat.kthvalue(zeros).values
    below = flat < threshold
    tied = flat == threshold
    # Fewer than `zeros` lie strictly below the zeros-th smallest value; fill up from the ties, in index order.
    # Kept as tensors so no device sync happens in the forward pass.
    missing = zeros - below.sum()
    pruned = below | (tied & (tied.cumsum(0) <= missing))
    return (~pruned).reshape(scores.shape)


class SdmMask(MaskParametrization):
    """One layer's scores and current sparsity. The sparsity is a buffer, so it is saved and resumed with the model."""

    sparsity: torch.Tensor

    def __init__(self, weight: torch.Tensor) -> None:
        super().__init__()
        # float32 scores whatever the weight's dtype: a bf16 ranking would tie far more often.
        self.scores = nn.Parameter(weight.detach().abs().to(torch.float32).clone())
        self.register_buffer("sparsity", torch.zeros((), dtype=torch.float64, device=weight.device))
        # A Python copy for the forward pass: reading the buffer would sync the GPU at every layer.
        self._sparsity = 0.0
        self._cached_mask: torch.Tensor | None = None
        self._cache_key: tuple[int, int, float] | None = None
        self.register_load_state_dict_post_hook(_reload_sparsity)  # type: ignore[no-untyped-call]

    def set_sparsity(self, sparsity: float) -> None:
        if not 0.0 <= sparsity < 1.0:
            raise SdmspecError(f"sparsity must lie in [0, 1), got {sparsity}")
        self._sparsity = float(sparsity)
        self.sparsity.fill_(sparsity)

    def mask(self) -> torch.Tensor:
        """The keep-mask; recomputed only when the scores or the sparsity changed.

        Gradient accumulation runs many forward passes per optimizer step; the scores' version counter (bumped by
        every in-place update: optimizer steps, ``load_state_dict``) says when the top-k must be taken again.
        Edits made through ``scores.data`` bypass that counter: call :meth:`forget_mask` after them.
        """
        key = (self.scores._version, self.scores.data_ptr(), self._sparsity)
        if self._cached_mask is None or key != self._cache_key:
            self._cached_mask = keep_top(self.scores.detach(), zeros_for(self.scores.numel(), self._sparsity))
            self._cache_key = key
        return self._cached_mask

    def forget_mask(self) -> None:
        """Drop the cached mask, so the next forward pass ranks the scores again."""
        self._cached_mask = None

    def forward(self, weight: torch.Tensor) -> torch.Tensor:
        hard = self.mask().to(self.scores.dtype)
        # Equal to `hard` in value (s - s == 0 exactly); its gradient reaches the scores as if the mask were soft.
        straight_through = hard + (self.scores - self.scores.detach())
        return weight * straight_through.to(weight.dtype)


def _reload_sparsity(module: nn.Module, _incompatible: Any) -> None:
    assert isinstance(module, SdmMask)
    module._sparsity = float(module.sparsity)


@register_strategy("sdm")
class SdmStrategy(MaskingStrategy):
    """Sparse differentiable masking with per-layer top-k scores and a straight-through estimator."""

    def attach(self, model: nn.Module, sparsity: SparsitySpec) -> None:
        for _name, module, attribute in prunable_weights(model, sparsity):
            parametrize.register_parametrization(module, attribute, SdmMask(getattr(module, attribute)))
