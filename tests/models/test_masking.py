"""SDM masking: the schedule, exact per-layer counts, the straight-through estimator, export and fixed masks."""

from __future__ import annotations

import itertools
import math
from typing import TYPE_CHECKING

import pytest

from mamba_sdm.models.masking.schedule import cubic_sparsity, zeros_for
from mamba_sdm.spec import SparsityRule, Spec
from sdmspec.checkpoint.sparsity import model_sparsity
from sdmspec.errors import SdmspecError
from sdmspec.schema import SparsitySpec

if TYPE_CHECKING:
    from transformers import MambaForCausalLM


def _tokens(model: MambaForCausalLM, seed: int = 0) -> object:
    import torch

    return torch.randint(0, model.config.vocab_size, (2, 12), generator=torch.Generator().manual_seed(seed))


# --- the rounding rule and the schedule (no torch) ---


@pytest.mark.parametrize(
    ("numel", "sparsity", "zeros"),
    [(100, 0.29, 29), (10, 0.5, 5), (7, 0.5, 3), (3, 0.999, 2), (8192, 0.0, 0), (1000, 0.0015, 1), (5, 1.0, 5)],
)
def test_zeros_for_is_floor_with_float_noise_absorbed(numel: int, sparsity: float, zeros: int) -> None:
    assert zeros_for(numel, sparsity) == zeros


def test_zeros_for_refuses_sparsity_outside_the_unit_interval() -> None:
    with pytest.raises(SdmspecError):
        zeros_for(10, 1.5)


def test_cubic_schedule_follows_zhu_and_gupta() -> None:
    total, target = 1000, 0.5

    assert cubic_sparsity(0, total, target) == 0.0
    assert cubic_sparsity(total, total, target) == target
    assert cubic_sparsity(total + 7, total, target) == target
    for step in (1, 100, 250, 500, 999):
        assert cubic_sparsity(step, total, target) == pytest.approx(target * (1 - (1 - step / total) ** 3))
    values = [cubic_sparsity(step, total, target) for step in range(total + 1)]
    assert all(later >= earlier for earlier, later in itertools.pairwise(values))


def test_cubic_schedule_with_start_and_end_steps() -> None:
    assert cubic_sparsity(50, 1000, 0.6, start_step=100, end_step=600) == 0.0
    assert cubic_sparsity(350, 1000, 0.6, start_step=100, end_step=600) == pytest.approx(0.6 * (1 - 0.5**3))
    assert cubic_sparsity(600, 1000, 0.6, start_step=100, end_step=600) == 0.6
    assert cubic_sparsity(900, 1000, 0.6, start_step=100, end_step=600) == 0.6
    with pytest.raises(SdmspecError):
        cubic_sparsity(10, 100, 0.5, start_step=50, end_step=20)


# --- the registry ---


def test_registry_knows_sdm_and_names_the_registered_on_a_miss() -> None:
    from mamba_sdm.models.masking import STRATEGIES, get_strategy

    assert get_strategy("sdm") is STRATEGIES["sdm"]
    assert get_strategy("sdm").name == "sdm"
    with pytest.raises(SdmspecError, match=r"registered: .*sdm"):
        get_strategy("movement")


def test_a_new_strategy_registers_by_name(spec: Spec, tiny: MambaForCausalLM) -> None:
    from torch.nn.utils import parametrize

    from mamba_sdm.models.masking import STRATEGIES, FixedMask, MaskingStrategy, get_strategy, register_strategy
    from mamba_sdm.models.masking.base import prunable_weights

    try:

        @register_strategy("test-all-kept")
        class AllKept(MaskingStrategy):
            def attach(self, model: object, sparsity: SparsitySpec) -> None:
                import torch

                for _, module, attribute in prunable_weights(model, sparsity):  # type: ignore[arg-type]
                    keep = torch.ones_like(getattr(module, attribute), dtype=torch.bool)
                    parametrize.register_parametrization(module, attribute, FixedMask(keep))

        strategy = get_strategy("test-all-kept")
        strategy.attach(tiny, spec.sparsity)
        masks = strategy.export(tiny)
        assert isinstance(strategy, AllKept)
        assert len(masks) == 4 * tiny.config.num_hidden_layers
        with pytest.raises(SdmspecError, match="twice"):
            register_strategy("test-all-kept")(AllKept)
    finally:
        STRATEGIES.pop("test-all-kept", None)


# --- SDM on a Mamba model ---


def test_sdm_reaches_the_target_exactly_in_every_layer(spec: Spec, tiny: MambaForCausalLM) -> None:
    from mamba_sdm.models.masking import get_strategy

    strategy = get_strategy("sdm")
    strategy.attach(tiny, spec.sparsity)
    strategy.set_sparsity(tiny, spec.sparsity.target)

    count = model_sparsity(tiny, spec.sparsity)
    assert len(count.layers) == 4 * tiny.config.num_hidden_layers
    for layer in count.layers:
        assert layer.zeros == zeros_for(layer.numel, spec.sparsity.target)
    assert count.sparsity == pytest.approx(spec.sparsity.target, abs=1e-9)


def test_sdm_follows_the_cubic_schedule_step_by_step(spec: Spec, tiny: MambaForCausalLM) -> None:
    import torch

    from mamba_sdm.models.masking import get_strategy, score_parameters, weight_parameters

    strategy = get_strategy("sdm")
    strategy.attach(tiny, spec.sparsity)
    optimizer = torch.optim.AdamW(
        [
            {"params": weight_parameters(tiny), "weight_decay": 0.01},
            {"params": score_parameters(tiny), "weight_decay": 0.0},
        ],
        lr=1e-2,
    )
    total = 6
    for step in range(total + 1):
        target = cubic_sparsity(step, total, 0.7)
        strategy.set_sparsity(tiny, target)
        for layer in model_sparsity(tiny, spec.sparsity).layers:
            assert layer.zeros == zeros_for(layer.numel, target), (step, layer.name)
        tokens = _tokens(tiny, seed=step)
        tiny(input_ids=tokens, labels=tokens).loss.backward()
        optimizer.step()
        optimizer.zero_grad()
    assert target == 0.7


def test_keep_top_breaks_ties_by_index_and_keeps_an_exact_count() -> None:
    import torch

    from mamba_sdm.models.masking import keep_top

    scores = torch.tensor([[1.0, 1.0, 1.0], [1.0, 0.5, 2.0]])

    keep = keep_top(scores, 3)

    # 0.5 goes first, then the two lowest-index ties of 1.0.
    assert keep.tolist() == [[False, False, True], [True, False, True]]
    assert int((~keep_top(torch.ones(4, 5), 7)).sum()) == 7
    assert bool(keep_top(scores, 0).all())
    assert not bool(keep_top(scores, 6).any())


def test_straight_through_estimator_reaches_the_scores() -> None:
    import torch
    from torch import nn

    from mamba_sdm.models.masking import SdmMask, get_strategy, score_parameters

    layer_spec = SparsitySpec(
        prunable=(r"^lin\.weight$",), target=0.5, target_source="test", rule=SparsityRule(source="test"), source="test"
    )
    torch.manual_seed(0)
    model = nn.Sequential()
    model.add_module("lin", nn.Linear(6, 4, bias=False))
    dense = model.lin.weight.detach().clone()
    strategy = get_strategy("sdm")
    strategy.attach(model, layer_spec)
    strategy.set_sparsity(model, 0.5)
    inputs = torch.randn(3, 6)

    model(inputs).pow(2).sum().backward()

    mask = model.lin.parametrizations.weight[0]
    assert isinstance(mask, SdmMask)
    keep = mask.mask()
    assert int((~keep).sum()) == 12
    # The pruned weights are the 12 smallest |w| (scores start at |w|).
    assert dense.abs()[~keep].max() <= dense.abs()[keep].min()
    effective = dense * keep
    grad_effective = 2 * (inputs @ effective.T).T @ inputs  # d/dW' of sum((x W'^T)^2)
    (scores,) = score_parameters(model)
    assert scores.grad is not None
    torch.testing.assert_close(scores.grad, grad_effective * dense)
    assert bool((scores.grad[~keep] != 0).any()), "pruned weights' scores must get gradients too"
    torch.testing.assert_close(model.lin.parametrizations.weight.original.grad, grad_effective * keep)


def test_export_bakes_zeros_and_returns_the_masks(spec: Spec, tiny: MambaForCausalLM) -> None:
    import torch
    from torch.nn.utils import parametrize

    from mamba_sdm.models.masking import current_masks, get_strategy

    strategy = get_strategy("sdm")
    strategy.attach(tiny, spec.sparsity)
    strategy.set_sparsity(tiny, 0.5)
    tokens = _tokens(tiny)
    with torch.no_grad():
        before = tiny(input_ids=tokens).logits
    live = current_masks(tiny)

    masks = strategy.export(tiny)

    assert not any(parametrize.is_parametrized(module) for module in tiny.modules())
    state = tiny.state_dict()
    assert not any("parametrizations" in key for key in state)
    assert set(masks) == {name for name in state if spec.sparsity.is_prunable(name)}
    for name, keep in masks.items():
        assert keep.dtype == torch.bool
        assert torch.equal(keep, live[name])
        assert bool((state[name][~keep] == 0).all())
        assert int((state[name] == 0).sum()) == zeros_for(keep.numel(), 0.5)
        assert not bool(torch.signbit(state[name][~keep]).any()), "baked zeros are +0.0"
    with torch.no_grad():
        torch.testing.assert_close(tiny(input_ids=tokens).logits, before)
    assert strategy.export(tiny) == {}


def test_sdm_sparsity_survives_a_state_dict_round_trip(spec: Spec, tiny: MambaForCausalLM) -> None:
    import torch

    from mamba_sdm.models.build import build_model
    from mamba_sdm.models.masking import current_masks, get_strategy

    strategy = get_strategy("sdm")
    strategy.attach(tiny, spec.sparsity)
    strategy.set_sparsity(tiny, 0.35)
    resumed = build_model(spec, "130m", smoke=True, seed=5)
    strategy.attach(resumed, spec.sparsity)

    resumed.load_state_dict(tiny.state_dict())

    original, restored = current_masks(tiny), current_masks(resumed)
    assert original.keys() == restored.keys()
    assert all(torch.equal(original[name], restored[name]) for name in original)


def test_attach_twice_and_set_sparsity_without_masks_are_refused(spec: Spec, tiny: MambaForCausalLM) -> None:
    from mamba_sdm.models.masking import get_strategy

    strategy = get_strategy("sdm")
    with pytest.raises(SdmspecError, match="attach"):
        strategy.set_sparsity(tiny, 0.5)
    strategy.attach(tiny, spec.sparsity)
    with pytest.raises(SdmspecError, match="already carry masks"):
        strategy.attach(tiny, spec.sparsity)
    with pytest.raises(SdmspecError):
        strategy.set_sparsity(tiny, 1.0)


# --- fixed masks for fine-tuning ---


def test_fixed_masks_keep_sparsity_through_fine_tuning(spec: Spec, tiny: MambaForCausalLM) -> None:
    import torch

    from mamba_sdm.models.masking import apply_fixed_masks, export_masks, get_strategy

    strategy = get_strategy("sdm")
    strategy.attach(tiny, spec.sparsity)
    strategy.set_sparsity(tiny, 0.5)
    masks = strategy.export(tiny)
    before = model_sparsity(tiny, spec.sparsity)
    apply_fixed_masks(tiny, masks)
    optimizer = torch.optim.AdamW(tiny.parameters(), lr=0.05, weight_decay=0.1)

    for step in range(3):
        tokens = _tokens(tiny, seed=step)
        tiny(input_ids=tokens, labels=tokens).loss.backward()
        optimizer.step()
        optimizer.zero_grad()

    during = model_sparsity(tiny, spec.sparsity)
    assert [layer.zeros for layer in during.layers] == [layer.zeros for layer in before.layers]
    exported = export_masks(tiny)
    assert all(torch.equal(exported[name], masks[name]) for name in masks)
    state = tiny.state_dict()
    assert all(bool((state[name][~keep] == 0).all()) for name, keep in masks.items())
    assert model_sparsity(tiny, spec.sparsity).zeros == before.zeros


def test_fixed_masks_match_a_wrapped_model_by_suffix(spec: Spec, tiny: MambaForCausalLM) -> None:
    import torch
    from torch import nn

    from mamba_sdm.models.masking import apply_fixed_masks, masked_weights

    masks = {
        name: torch.rand(param.shape, generator=torch.Generator().manual_seed(0)) > 0.5
        for name, param in tiny.named_parameters()
        if spec.sparsity.is_prunable(name)
    }
    classifier = nn.Module()
    classifier.add_module("language_model", tiny)

    apply_fixed_masks(classifier, masks)

    assert {masked.name for masked in masked_weights(classifier)} == {f"language_model.{name}" for name in masks}


def test_fixed_masks_refuse_unknown_names_and_wrong_shapes(tiny: MambaForCausalLM) -> None:
    import torch

    from mamba_sdm.models.masking import apply_fixed_masks

    with pytest.raises(SdmspecError, match=r"backbone\.layers\.9\.mixer\.in_proj\.weight"):
        apply_fixed_masks(tiny, {"backbone.layers.9.mixer.in_proj.weight": torch.ones(2, 2, dtype=torch.bool)})
    with pytest.raises(SdmspecError, match="shape"):
        apply_fixed_masks(tiny, {"backbone.layers.0.mixer.in_proj.weight": torch.ones(2, 2, dtype=torch.bool)})


def test_zeros_for_matches_what_the_masks_hold_at_odd_sizes() -> None:
    import torch
    from torch import nn

    from mamba_sdm.models.masking import get_strategy

    layer_spec = SparsitySpec(
        prunable=(r"weight$",), target=0.5, target_source="test", rule=SparsityRule(source="test"), source="test"
    )
    model = nn.Sequential(nn.Linear(7, 3, bias=False), nn.Linear(3, 11, bias=False))
    strategy = get_strategy("sdm")
    strategy.attach(model, layer_spec)
    for sparsity in (0.29, 0.5, 0.61):
        strategy.set_sparsity(model, sparsity)
        for layer in model_sparsity(model, layer_spec).layers:
            assert layer.zeros == math.floor(sparsity * layer.numel + 1e-9)
    assert torch.isfinite(model(torch.randn(2, 7))).all()


def test_fixed_masks_refuse_a_weight_that_already_carries_masks(spec: Spec, tiny: MambaForCausalLM) -> None:
    from mamba_sdm.models.masking import apply_fixed_masks, current_masks, get_strategy

    get_strategy("sdm").attach(tiny, spec.sparsity)

    with pytest.raises(SdmspecError, match="already carries"):
        apply_fixed_masks(tiny, current_masks(tiny))


def test_the_mask_is_reused_until_scores_or_sparsity_change() -> None:
    import torch

    from mamba_sdm.models.masking import SdmMask

    torch.manual_seed(0)
    mask = SdmMask(torch.randn(8, 8))
    mask.set_sparsity(0.5)
    first = mask.mask()

    assert mask.mask() is first, "no change, no new top-k (gradient accumulation)"
    with torch.no_grad():
        mask.scores.neg_()  # an optimizer step reversing the ranking
    flipped = mask.mask()
    assert flipped is not first
    assert torch.equal(flipped, ~first)
    mask.set_sparsity(0.25)
    assert int((~mask.mask()).sum()) == 16
    with torch.no_grad():
        mask.scores.data.neg_()  # bypasses the version counter
    mask.forget_mask()
    assert int((~mask.mask()).sum()) == 16
    assert torch.equal(mask.mask(), keep_top_reference(mask.scores.detach(), 16))


def keep_top_reference(scores: object, zeros: int) -> object:
    """A plain sort-based reference for keep_top (ties broken by index, as keep_top documents)."""
    import torch

    assert isinstance(scores, torch.Tensor)
    order = torch.argsort(scores.reshape(-1), stable=True)
    keep = torch.ones(scores.numel(), dtype=torch.bool)
    keep[order[:zeros]] = False
    return keep.reshape(scores.shape)
