"""The spec's 7 variants: full-size counts on the meta device, tiny-size forward and backward, the CLI table."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from mamba_sdm.spec import Spec
from sdmspec.errors import SdmspecError

# The issue's acceptance figures (also in spec/models.yaml, which the other assertions use).
ISSUE_PARAMS = {"130m": 129_135_360, "370m": 371_516_416}


def test_variant_table_counts_full_size_parameters_on_meta(spec: Spec) -> None:
    from mamba_sdm.models.variants import variant_table

    table = variant_table(spec)

    assert [info.name for info in table] == [variant.name for variant in spec.variants]
    assert len(table) == 7
    for info in table:
        assert info.params == spec.models[info.size].params
        assert info.params == ISSUE_PARAMS[info.size]
        assert (info.d_model, info.n_layer) == (spec.models[info.size].d_model, spec.models[info.size].n_layer)
        assert info.method == spec.variant(info.name).method.value


def test_full_size_build_is_on_meta_and_has_the_spec_shapes(spec: Spec) -> None:
    from mamba_sdm.models.build import count_parameters
    from mamba_sdm.models.variants import build_variant

    model = build_variant(spec, "mamba-370m-challenge", device="meta")

    assert all(param.is_meta for param in model.parameters())
    assert count_parameters(model) == ISSUE_PARAMS["370m"]
    assert model.config.hidden_size == 1024
    assert model.config.num_hidden_layers == 48
    assert model.config.vocab_size == 50280


def test_unknown_variant_names_the_known_ones(spec: Spec) -> None:
    from mamba_sdm.models.variants import build_variant

    with pytest.raises(SdmspecError) as caught:
        build_variant(spec, "mamba-130m-sparse", smoke=True)

    message = str(caught.value)
    assert "\n" not in message
    assert "mamba-130m-sparse" in message
    assert all(variant.name in message for variant in spec.variants)


@pytest.mark.parametrize(
    "name",
    [
        "mamba-130m-dense",
        "mamba-130m-sdm",
        "mamba-130m-challenge",
        "mamba-130m-random",
        "mamba-370m-dense",
        "mamba-370m-sdm",
        "mamba-370m-challenge",
    ],
)
def test_every_variant_runs_forward_and_backward_at_tiny_size(spec: Spec, name: str) -> None:
    import torch

    from mamba_sdm.models.masking import get_strategy, score_parameters
    from mamba_sdm.models.variants import build_variant

    assert name in {variant.name for variant in spec.variants}
    model = build_variant(spec, name, smoke=True, seed=0)
    is_sdm = spec.variant(name).method.value == "sdm"
    if is_sdm:
        strategy = get_strategy("sdm")
        strategy.attach(model, spec.sparsity)
        strategy.set_sparsity(model, spec.variant(name).target_sparsity)
    tokens = torch.randint(0, model.config.vocab_size, (2, 16), generator=torch.Generator().manual_seed(0))

    output = model(input_ids=tokens, labels=tokens)
    output.loss.backward()

    assert output.logits.shape == (2, 16, model.config.vocab_size)
    assert torch.isfinite(output.loss)
    in_proj = model.backbone.layers[0].mixer.in_proj
    weight = in_proj.parametrizations.weight.original if is_sdm else in_proj.weight
    assert weight.grad is not None and weight.grad.abs().sum() > 0
    if is_sdm:
        assert all(score.grad is not None and score.grad.abs().sum() > 0 for score in score_parameters(model))


def test_variants_json_through_the_cli(spec: Spec) -> None:
    from sdmspec.cli.app import app

    result = CliRunner().invoke(app, ["variants", "--format", "json"])

    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert [row["name"] for row in rows] == [variant.name for variant in spec.variants]
    for row in rows:
        assert row["params"] == spec.models[row["size"]].params
        assert row["method"] == spec.variant(row["name"]).method.value
        assert row["target_sparsity"] == spec.variant(row["name"]).target_sparsity
        assert {"match_sparsity_of", "init_from", "assumption", "source"} <= set(row)


def test_variants_text_table_through_the_cli(spec: Spec) -> None:
    from sdmspec.cli.app import app

    result = CliRunner().invoke(app, ["variants"])

    assert result.exit_code == 0, result.output
    for variant in spec.variants:
        assert variant.name in result.stdout
    assert f"{spec.models['370m'].params:,}" in result.stdout
