"""The iso-sparsity baselines reproduce M_SDM's per-layer zero counts exactly, magnitude and random."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import pytest

from mamba_sdm.models.challenge import prune_to_match
from mamba_sdm.spec import Spec
from sdmspec.checkpoint.sparsity import LayerCount, SparsityCount, model_sparsity
from sdmspec.errors import SdmspecError

if TYPE_CHECKING:
    from transformers import MambaForCausalLM


def _sdm_reference(spec: Spec, model: MambaForCausalLM) -> SparsityCount:
    """M_SDM's count, with a different sparsity in every layer so a global match alone would not pass."""
    from mamba_sdm.models.masking import get_strategy, masked_weights

    strategy = get_strategy("sdm")
    strategy.attach(model, spec.sparsity)
    for index, masked in enumerate(masked_weights(model)):
        masked.parametrization.set_sparsity(0.2 + 0.07 * index)
    strategy.export(model)
    return model_sparsity(model, spec.sparsity)


def _zeros(count: SparsityCount) -> dict[str, int]:
    return {layer.name: layer.zeros for layer in count.layers}


@pytest.mark.parametrize("method", ["magnitude", "random"])
def test_pruning_reproduces_the_reference_zeros_per_layer(
    spec: Spec, tiny: MambaForCausalLM, tiny_dense: MambaForCausalLM, method: str, caplog: pytest.LogCaptureFixture
) -> None:
    reference = _sdm_reference(spec, tiny)
    assert len(set(_zeros(reference).values())) == len(reference.layers)

    with caplog.at_level(logging.INFO, logger="mamba_sdm.models.challenge"):
        masks = prune_to_match(tiny_dense, reference, spec, method=method, seed=3)

    assert _zeros(model_sparsity(tiny_dense, spec.sparsity)) == _zeros(reference)
    state = tiny_dense.state_dict()
    assert not any(key.endswith(("_orig", "_mask")) for key in state)
    for name, keep in masks.items():
        assert bool((state[name][~keep] == 0).all())
        assert int((~keep).sum()) == reference.by_name()[name.removesuffix(".weight")].zeros
    assert "pruned sparsity" in caplog.text


def test_magnitude_prunes_the_smallest_weights(
    spec: Spec, tiny: MambaForCausalLM, tiny_dense: MambaForCausalLM
) -> None:
    reference = _sdm_reference(spec, tiny)
    dense = {name: param.detach().clone() for name, param in tiny_dense.named_parameters()}

    masks = prune_to_match(tiny_dense, reference, spec, method="magnitude")

    for name, keep in masks.items():
        magnitude = dense[name].abs()
        assert magnitude[~keep].max() <= magnitude[keep].min()


def test_random_pruning_is_seeded_and_differs_from_magnitude(spec: Spec, tiny: MambaForCausalLM) -> None:
    import torch

    from mamba_sdm.models.build import build_model

    reference = _sdm_reference(spec, tiny)

    def pruned(method: str, seed: int) -> dict[str, torch.Tensor]:
        return prune_to_match(build_model(spec, "130m", smoke=True, seed=1), reference, spec, method=method, seed=seed)

    first, again, other_seed, magnitude = (
        pruned("random", 3),
        pruned("random", 3),
        pruned("random", 4),
        pruned("magnitude", 3),
    )
    assert all(torch.equal(first[name], again[name]) for name in first)
    assert not all(torch.equal(first[name], other_seed[name]) for name in first)
    assert not all(torch.equal(first[name], magnitude[name]) for name in first)


@pytest.mark.parametrize("method", ["magnitude", "random"])
def test_existing_zeros_count_towards_the_amount(
    spec: Spec, tiny: MambaForCausalLM, tiny_dense: MambaForCausalLM, method: str
) -> None:
    import torch

    reference = _sdm_reference(spec, tiny)
    planted = {}
    with torch.no_grad():
        for name, param in tiny_dense.named_parameters():
            if spec.sparsity.is_prunable(name):
                # Zeros among the largest weights too: random pruning would otherwise add its picks to them.
                flat = param.view(-1)
                positions = torch.cat([flat.abs().argsort()[-5:], torch.arange(0, flat.numel(), 17)])
                flat[positions] = 0.0
                planted[name] = positions

    masks = prune_to_match(tiny_dense, reference, spec, method=method, seed=0)

    assert _zeros(model_sparsity(tiny_dense, spec.sparsity)) == _zeros(reference)
    for name, positions in planted.items():
        assert not bool(masks[name].view(-1)[positions].any()), "planted zeros are among the pruned"


def test_more_existing_zeros_than_the_reference_is_refused(
    spec: Spec, tiny: MambaForCausalLM, tiny_dense: MambaForCausalLM
) -> None:
    import torch

    reference = _sdm_reference(spec, tiny)
    with torch.no_grad():
        tiny_dense.backbone.layers[1].mixer.x_proj.weight.zero_()

    with pytest.raises(SdmspecError, match=r"backbone\.layers\.1\.mixer\.x_proj.*already hold"):
        prune_to_match(tiny_dense, reference, spec)


def test_a_layer_missing_from_the_reference_is_named(
    spec: Spec, tiny: MambaForCausalLM, tiny_dense: MambaForCausalLM
) -> None:
    reference = _sdm_reference(spec, tiny)
    partial = SparsityCount(layers=tuple(layer for layer in reference.layers if "out_proj" not in layer.name))

    with pytest.raises(SdmspecError, match=r"backbone\.layers\.0\.mixer\.out_proj"):
        prune_to_match(tiny_dense, partial, spec)


def test_a_shape_mismatch_is_named(spec: Spec, tiny: MambaForCausalLM, tiny_dense: MambaForCausalLM) -> None:
    reference = _sdm_reference(spec, tiny)
    layers = [
        LayerCount(layer.name, (3, 3), 9, 4) if layer.name.endswith("0.mixer.dt_proj") else layer
        for layer in reference.layers
    ]

    with pytest.raises(SdmspecError, match=r"backbone\.layers\.0\.mixer\.dt_proj.*shape"):
        prune_to_match(tiny_dense, SparsityCount(layers=tuple(layers)), spec)


def test_unknown_pruning_method_is_refused(spec: Spec, tiny: MambaForCausalLM) -> None:
    with pytest.raises(SdmspecError, match="magnitude, random"):
        prune_to_match(tiny, SparsityCount(layers=()), spec, method="movement")
