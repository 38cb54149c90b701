"""The closed formula against the model's own weights and against torch's FlopCounterMode, on the reference loop and
on the parallel scan (the path the profile counts on).

Margin: FlopCounterMode counts matmuls, convolutions and the scan's per-step read-out (a bmm); it does not count
elementwise ops. Like with like, the projections and the LM head agree exactly; the conv differs by the K-1 padded
outputs the reference path computes and discards per sequence (explained exactly below); the total of the parts both
count agrees within MARGIN.
"""

from __future__ import annotations

import pytest

from mamba_sdm.profile.analytic import MambaShape, analytic_flops, block_macs_per_token, weight_terms
from mamba_sdm.profile.counters import count_torch
from mamba_sdm.spec import Spec

MARGIN = 0.005  # relative; the padded conv outputs are the only difference, well under 0.5% of the total

CASES = [
    pytest.param("130m", True, 1, 16, "reference", id="tiny-b1-s16-reference"),
    pytest.param("130m", True, 1, 16, "parallel", id="tiny-b1-s16-parallel"),
    pytest.param("370m", True, 2, 32, "reference", id="tiny-b2-s32-reference"),
    pytest.param("370m", True, 2, 30, "parallel", id="tiny-b2-s30-parallel"),
    pytest.param("130m", False, 1, 128, "parallel", id="130m-meta-s128-parallel"),
    pytest.param("370m", False, 1, 64, "reference", id="370m-meta-s64-reference"),
    pytest.param("370m", False, 1, 2048, "parallel", id="370m-meta-s2048-parallel"),
]


def _config(spec: Spec, size: str, smoke: bool) -> object:
    from mamba_sdm.models.build import dimensions, mamba_config

    return mamba_config(dimensions(spec.models[size], smoke=smoke))


@pytest.mark.parametrize(("size", "smoke"), [("130m", True), ("130m", False), ("370m", False)])
def test_formula_is_the_sum_of_the_weights_of_a_real_model(spec: Spec, size: str, smoke: bool) -> None:
    """3*E*d^2 + E*d*(K + 2R + 2N) per layer (+ d*vocab) equals the element count of every weight the model uses
    once per token, taken from a model built on the meta device."""
    from mamba_sdm.models.build import build_model

    model = build_model(spec, size, smoke=smoke, device="meta")
    shape = MambaShape.from_config(model.config)
    used = {
        name: p.numel()
        for name, p in model.named_parameters()
        if name.endswith(("proj.weight", "conv1d.weight")) or name == "backbone.embeddings.weight"
    }
    assert shape.n_layer * block_macs_per_token(shape) + shape.d_model * shape.vocab_size == sum(used.values())
    terms = {term.name: term.macs_per_token for term in weight_terms(shape)}
    assert terms.pop("lm_head.weight") == used.pop("backbone.embeddings.weight")  # the tied head
    assert terms == used


@pytest.mark.parametrize(("size", "smoke", "batch", "seq_len", "path"), CASES)
def test_analytic_matches_flop_counter_mode(
    spec: Spec, size: str, smoke: bool, batch: int, seq_len: int, path: str
) -> None:
    from mamba_sdm.models.scan import Scan, ScanChoice

    config = _config(spec, size, smoke)
    shape = MambaShape.from_config(config)
    tokens = batch * seq_len
    analytic = analytic_flops(shape, tokens)
    counted = count_torch(config, batch, seq_len, ScanChoice(Scan(path), Scan(path), "test"))
    assert counted.scan == path
    ops = counted.by_operator

    # Projections and LM head: Linear layers and dt_proj's `weight @ x`, all lowered to aten.mm: exact.
    assert ops["aten.mm"] == 2 * (analytic.projection_macs + analytic.lm_head_macs)
    # Depthwise conv: the reference path pads K-1 on both sides and keeps the first L outputs of L+K-1.
    padded = seq_len + shape.d_conv - 1
    assert ops["aten.convolution"] * seq_len == 2 * analytic.conv_macs * padded
    # The scan's read-out y = C h: 2*D_in*N FLOPs per layer and token, 2 of the scan's 9*D_in*N (the loop's L
    # per-position bmm and the parallel path's one `all_states @ C` are the same FLOPs).
    readout = 2 * shape.n_layer * shape.d_inner * shape.d_state * tokens
    assert ops["aten.bmm"] == readout
    assert set(ops) == {"aten.mm", "aten.convolution", "aten.bmm"}

    like_for_like = 2 * analytic.weight_macs + readout
    assert abs(counted.flops - like_for_like) / like_for_like < MARGIN
    # The analytic total adds the scan's elementwise FLOPs that FlopCounterMode does not see: it is the larger.
    assert analytic.total_flops > like_for_like
