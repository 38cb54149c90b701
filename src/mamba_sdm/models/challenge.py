"""The iso-sparsity baselines: prune the dense model to M_SDM's per-layer zero counts (magnitude or random).

Each prunable layer gets exactly the reference's number of zeros, so iso-sparsity holds by construction (and is
checked again here, and by verify-sparsity in the challenge job). Pruning goes through ``torch.nn.utils.prune``'s
``l1_unstructured`` with an integer ``amount``; zeros already present in the dense weights are ranked first, so they
count towards the amount instead of adding to it. The random baseline ranks by seeded uniform noise through the same
call: ``random_unstructured`` draws from the global RNG and cannot rank existing zeros first.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from mamba_sdm.spec import Spec
from sdmspec.checkpoint.sparsity import SparsityCount, count_zeros, layer_name, model_sparsity
from sdmspec.errors import SdmspecError

if TYPE_CHECKING:
    import torch
    from torch import nn

logger = logging.getLogger(__name__)

PRUNING_METHODS = ("magnitude", "random")
# The spec's baseline methods and the pruning each one means.
METHOD_OF_VARIANT = {"challenge": "magnitude", "random": "random"}


def prune_to_match(
    dense: nn.Module,
    reference: SparsityCount,
    spec: Spec,
    *,
    method: str = "magnitude",
    seed: int = 0,
) -> dict[str, torch.Tensor]:
    """Prune ``dense`` in place so each prunable layer holds exactly ``reference``'s zeros; return the keep-masks
    (True = kept) by canonical weight name. The pruning is made permanent (plain weights, no prune hooks)."""
    import torch
    from torch.nn.utils import prune

    from mamba_sdm.models.masking.base import prunable_weights

    if method not in PRUNING_METHODS:
        raise SdmspecError(f"unknown pruning method {method!r}; known: {', '.join(PRUNING_METHODS)}")
    targets = prunable_weights(dense, spec.sparsity)
    amounts = _zero_counts(targets, reference)
    logger.info("dense sparsity before pruning: %.6f", model_sparsity(dense, spec.sparsity).sparsity)
    generator = torch.Generator().manual_seed(seed)
    masks = {}
    for name, module, attribute in targets:
        weight = getattr(module, attribute).detach()
        if method == "magnitude":
            importance = weight.abs()
        else:
            importance = torch.rand(weight.shape, generator=generator).to(weight.device) + 1.0
        # Existing zeros rank lowest, so they are among the `amount` pruned, never on top of it.
        importance = importance.masked_fill(weight == 0, 0.0)
        prune.l1_unstructured(module, attribute, amount=amounts[name], importance_scores=importance)  # type: ignore[no-untyped-call]
        keep = getattr(module, f"{attribute}_mask").detach().to(torch.bool).clone()
        prune.remove(module, attribute)  # type: ignore[no-untyped-call]
        with torch.no_grad():
            getattr(module, attribute).masked_fill_(~keep, 0.0)  # plain zeros, not -0.0
        masks[name] = keep
    _check_counts(dense, reference, spec)
    return masks


def _zero_counts(targets: list[tuple[str, nn.Module, str]], reference: SparsityCount) -> dict[str, int]:
    """Each target's zero count from ``reference``; a layer missing there, with another shape, or already holding
    more zeros than that count, raises SdmspecError naming it."""
    by_layer = reference.by_name()
    target_layers = {layer_name(name) for name, _, _ in targets}
    extra = sorted(set(by_layer) - target_layers)
    if extra:
        raise SdmspecError(f"the reference counts layers the model lacks: {', '.join(extra[:5])}")
    amounts = {}
    for name, module, attribute in targets:
        layer = by_layer.get(layer_name(name))
        weight = getattr(module, attribute)
        if layer is None:
            raise SdmspecError(f"layer {layer_name(name)} is prunable but missing from the reference sparsity count")
        if layer.shape != tuple(weight.shape):
            raise SdmspecError(
                f"layer {layer.name}: the reference counts shape {layer.shape}, the model has {tuple(weight.shape)}"
            )
        existing = count_zeros(weight.detach())
        if existing > layer.zeros:
            raise SdmspecError(
                f"layer {layer.name}: the dense weights already hold {existing} zeros, more than the "
                f"{layer.zeros} to match"
            )
        amounts[name] = layer.zeros
    return amounts


def _check_counts(model: nn.Module, reference: SparsityCount, spec: Spec) -> None:
    pruned = model_sparsity(model, spec.sparsity)
    logger.info("pruned sparsity: %.6f (reference %.6f)", pruned.sparsity, reference.sparsity)
    expected = reference.by_name()
    wrong = [layer.name for layer in pruned.layers if layer.zeros != expected[layer.name].zeros]
    if wrong:
        raise SdmspecError(f"pruning missed the reference zero counts in {', '.join(wrong[:5])}")
