"""The iso-sparsity baselines reproduce M_SDM's per-layer zero counts and say so in a verified verdict."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from job_helpers import options, read_json

from mamba_sdm.jobs.challenge import run_challenge
from mamba_sdm.spec import Spec
from sdmspec.checkpoint.load import checkpoint_sparsity
from sdmspec.errors import JobError


@pytest.mark.parametrize("variant", ["mamba-130m-challenge", "mamba-130m-random"])
def test_baseline_matches_sdm_per_layer(
    pretrained: dict[str, Path], smoke_data: Path, tmp_path: Path, spec: Spec, variant: str
) -> None:
    out = tmp_path / variant
    record = run_challenge(
        options(variant, out, smoke_data), dense=pretrained["mamba-130m-dense"], sdm=pretrained["mamba-130m-sdm"]
    )
    sdm, _ = checkpoint_sparsity(pretrained["mamba-130m-sdm"] / "model", spec.sparsity)
    built, _ = checkpoint_sparsity(out / "model", spec.sparsity)
    assert [(layer.name, layer.zeros) for layer in built.layers] == [(layer.name, layer.zeros) for layer in sdm.layers]
    verdict = read_json(out / "iso_sparsity.json")
    assert verdict["verdict"] == "match" and verdict["rule"]["per_layer"] is True
    assert record["verdict"] == "match" and read_json(out / "result.json")["variant"] == variant
    assert (out / "masks.safetensors").is_file()


def test_magnitude_and_random_prune_different_weights(
    pretrained: dict[str, Path], smoke_data: Path, tmp_path: Path
) -> None:
    from safetensors.torch import load_file

    masks = {}
    for variant in ("mamba-130m-challenge", "mamba-130m-random"):
        run_challenge(
            options(variant, tmp_path / variant, smoke_data),
            dense=pretrained["mamba-130m-dense"],
            sdm=pretrained["mamba-130m-sdm"],
        )
        masks[variant] = load_file(str(tmp_path / variant / "masks.safetensors"))
    name = next(iter(masks["mamba-130m-challenge"]))
    assert not bool((masks["mamba-130m-challenge"][name] == masks["mamba-130m-random"][name]).all())


def test_a_mismatch_fails_loudly_and_writes_no_result(
    pretrained: dict[str, Path], smoke_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A builder that misses by one weight must be caught by the verify step on the written files."""
    import torch

    import mamba_sdm.models.challenge as challenge

    real = challenge.prune_to_match

    def off_by_one(dense: Any, reference: Any, spec: Any, **kwargs: Any) -> dict[str, torch.Tensor]:
        masks = real(dense, reference, spec, **kwargs)
        with torch.no_grad():
            weight = dense.backbone.layers[0].mixer.in_proj.weight
            weight.view(-1)[int(torch.nonzero(weight.view(-1))[0])] = 0.0
        return masks

    monkeypatch.setattr(challenge, "prune_to_match", off_by_one)
    out = tmp_path / "bad"
    with pytest.raises(JobError, match="iso-sparsity check failed"):
        run_challenge(
            options("mamba-130m-challenge", out, smoke_data),
            dense=pretrained["mamba-130m-dense"],
            sdm=pretrained["mamba-130m-sdm"],
        )
    assert read_json(out / "iso_sparsity.json")["verdict"] == "mismatch"
    assert not (out / "result.json").exists()


def test_inputs_must_be_the_variants_the_spec_names(
    pretrained: dict[str, Path], smoke_data: Path, tmp_path: Path
) -> None:
    with pytest.raises(JobError, match="needs mamba-130m-sdm"):
        run_challenge(
            options("mamba-130m-challenge", tmp_path, smoke_data),
            dense=pretrained["mamba-130m-dense"],
            sdm=pretrained["mamba-130m-dense"],
        )
