"""What every masking strategy shares: a mask parametrization, and export and optimizer groups built on it.

A strategy registers a :class:`MaskParametrization` on each prunable weight with ``torch.nn.utils.parametrize``, so
the model computes with ``weight * mask`` while the dense weight stays in ``parametrizations.weight.original``.
:func:`sdmspec.checkpoint.sparsity.model_sparsity` counts such a model as it runs.

Optimizer groups: a parametrization's learnable tensors (SDM's scores) are ``nn.Parameter``s inside the
parametrization modules, so ``model.parameters()`` includes them. Give AdamW two groups,
``weight_parameters(model)`` (the spec's weight decay) and ``score_parameters(model)`` (no weight decay: scores rank
weights, they are not weights).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import nn
from torch.nn.utils import parametrize

from sdmspec.checkpoint.sparsity import canonical_name
from sdmspec.errors import SdmspecError
from sdmspec.schema import SparsitySpec


class MaskParametrization(nn.Module, ABC):
    """``weight -> weight * mask``; subclasses say how the boolean keep-mask is chosen."""

    @abstractmethod
    def mask(self) -> torch.Tensor:
        """The current boolean keep-mask (True = kept), shaped like the weight."""

    def set_sparsity(self, sparsity: float) -> None:
        """Change the fraction of zeros; masks that are not learned refuse."""
        raise SdmspecError(f"{type(self).__name__} masks are fixed; their sparsity cannot change")


@dataclass(frozen=True)
class MaskedWeight:
    """One parametrized weight: its canonical name, owning module, attribute and mask parametrization."""

    name: str
    module: nn.Module
    attribute: str
    parametrization: MaskParametrization


def masked_weights(model: nn.Module) -> Iterator[MaskedWeight]:
    """Every weight of ``model`` carrying a mask parametrization, in module order."""
    for module_name, module in model.named_modules():
        if not parametrize.is_parametrized(module):
            continue
        for attribute, chain in module.parametrizations.items():
            for parametrization in chain:
                if isinstance(parametrization, MaskParametrization):
                    name = canonical_name(f"{module_name}.{attribute}" if module_name else attribute)
                    yield MaskedWeight(name, module, attribute, parametrization)


def named_weights(model: nn.Module) -> Iterator[tuple[str, nn.Module, str]]:
    """(canonical name, module, attribute) of every parameter, parametrized ones under their plain name."""
    for module_name, module in model.named_modules():
        attributes = [attribute for attribute, _ in module.named_parameters(recurse=False)]
        if parametrize.is_parametrized(module):
            attributes.extend(module.parametrizations.keys())
        for attribute in attributes:
            yield canonical_name(f"{module_name}.{attribute}" if module_name else attribute), module, attribute


def prunable_weights(model: nn.Module, sparsity: SparsitySpec) -> list[tuple[str, nn.Module, str]]:
    """(canonical name, module, attribute) of every prunable weight, decided by ``sparsity.is_prunable``; weights
    that already carry a parametrization raise SdmspecError."""
    found = [
        (name, module, attribute) for name, module, attribute in named_weights(model) if sparsity.is_prunable(name)
    ]
    if not found:
        raise SdmspecError(f"the model has no prunable weight (patterns: {', '.join(sparsity.prunable)})")
    already = [name for name, module, attribute in found if parametrize.is_parametrized(module, attribute)]
    if already:
        raise SdmspecError(f"weights already carry masks: {', '.join(already[:3])}; export or remove them first")
    return found


def current_masks(model: nn.Module) -> dict[str, torch.Tensor]:
    """The boolean keep-masks in effect, by canonical weight name (the parametrizations stay)."""
    with torch.no_grad():
        return {masked.name: masked.parametrization.mask().detach().clone() for masked in masked_weights(model)}


def export_masks(model: nn.Module) -> dict[str, torch.Tensor]:
    """Bake the zeros into the plain weights, remove the parametrizations, and return the keep-masks by canonical
    name (on the weights' device). A model without masks returns an empty dict."""
    masks = {}
    for masked in list(masked_weights(model)):
        with torch.no_grad():
            keep = masked.parametrization.mask().detach().clone()
        parametrize.remove_parametrizations(masked.module, masked.attribute, leave_parametrized=True)
        with torch.no_grad():
            # w * 0 is -0.0 for negative w; store plain zeros.
            getattr(masked.module, masked.attribute).masked_fill_(~keep, 0.0)
        masks[masked.name] = keep
    return masks


def score_parameters(model: nn.Module) -> list[nn.Parameter]:
    """The masks' learnable tensors (SDM's scores): the parameters living inside mask parametrizations."""
    return [param for masked in masked_weights(model) for param in masked.parametrization.parameters()]


def weight_parameters(model: nn.Module) -> list[nn.Parameter]:
    """Every other parameter of ``model``, the dense weights under the masks included."""
    scores = {id(param) for param in score_parameters(model)}
    return [param for param in model.parameters() if id(param) not in scores]


class MaskingStrategy(ABC):
    """A named way to learn masks. Subclasses implement ``attach``; the rest works on any MaskParametrization."""

    name: ClassVar[str] = ""

    @abstractmethod
    def attach(self, model: nn.Module, sparsity: SparsitySpec) -> None:
        """Register a mask parametrization on every prunable weight of ``model`` (sparsity 0 to start)."""

    def set_sparsity(self, model: nn.Module, sparsity: float) -> None:
        """Make the fraction of zeros ``sparsity`` in each masked layer (floor rule: ``zeros_for``)."""
        masked = list(masked_weights(model))
        if not masked:
            raise SdmspecError(f"no {self.name} masks are attached to the model; call attach() first")
        for weight in masked:
            weight.parametrization.set_sparsity(sparsity)

    def export(self, model: nn.Module) -> dict[str, torch.Tensor]:
        """Bake the zeros into the weights, drop the parametrizations, return the keep-masks (see export_masks)."""
        return export_masks(model)
