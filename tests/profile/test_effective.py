"""Effective FLOPs: read from checkpoints through the project's sparsity count; iso-sparse models cost the same."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from mamba_sdm.profile.analytic import analytic_flops, effective_flops, weight_terms
from mamba_sdm.profile.loading import load_variant
from mamba_sdm.spec import Spec
from sdmspec.errors import CheckpointError

TOKENS = 2 * 32


def _pruned(spec: Spec, choose: str) -> Any:
    """A tiny model with exactly half of every prunable weight zeroed: the first half ("first") or a seeded random
    half ("random") of its elements. Same per-layer counts, different positions."""
    import torch

    from mamba_sdm.models.build import build_model

    model = build_model(spec, "130m", smoke=True, seed=0)
    generator = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for name, param in model.named_parameters():
            if spec.sparsity.is_prunable(name):
                flat = param.view(-1)
                order = (
                    torch.arange(flat.numel())
                    if choose == "first"
                    else torch.randperm(flat.numel(), generator=generator)
                )
                flat[order[: flat.numel() // 2]] = 0.0
    return model


@pytest.fixture(scope="module")
def iso_sparse_checkpoints(spec: Spec, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """M_SDM as a save_pretrained folder, its iso-sparse challenger as a bare safetensors file."""
    from safetensors.torch import save_file

    root = tmp_path_factory.mktemp("ckpt")
    folder = root / "sdm"
    _pruned(spec, "first").save_pretrained(folder)
    challenger = _pruned(spec, "random")
    state = {k: v.contiguous() for k, v in challenger.state_dict().items() if k != "lm_head.weight"}
    save_file(state, str(root / "challenge.safetensors"))
    return folder, root / "challenge.safetensors"


def test_iso_sparse_checkpoints_get_equal_effective_flops_below_dense(
    spec: Spec, iso_sparse_checkpoints: tuple[Path, Path]
) -> None:
    folder, file = iso_sparse_checkpoints
    sdm = load_variant(spec, spec.variant("mamba-130m-sdm"), folder, smoke=True, device="cpu")
    challenge = load_variant(spec, spec.variant("mamba-130m-challenge"), file, smoke=True, device="cpu")
    assert sdm.sparsity_source == challenge.sparsity_source == "checkpoint"
    assert sdm.sparsity == challenge.sparsity == 0.5
    # The weights really are the checkpoints' (zeros in different places), not fresh models.
    a = sdm.model.backbone.layers[0].mixer.in_proj.weight
    b = challenge.model.backbone.layers[0].mixer.in_proj.weight
    assert int((a == 0).sum()) == int((b == 0).sum()) == a.numel() // 2
    assert not bool(((a == 0) == (b == 0)).all())

    effective_sdm = effective_flops(sdm.shape, TOKENS, sdm.density)
    effective_challenge = effective_flops(challenge.shape, TOKENS, challenge.density)
    dense = analytic_flops(sdm.shape, TOKENS).total_flops
    assert effective_sdm == effective_challenge < dense
    # Exactly the prunable weights' halves are saved: 2 FLOPs per removed element per token.
    prunable = sum(t.macs_per_token for t in weight_terms(sdm.shape) if spec.sparsity.is_prunable(t.name))
    assert dense - effective_sdm == 2 * TOKENS * (prunable // 2)


def test_without_a_checkpoint_the_target_sparsity_scales_prunable_weights(spec: Spec) -> None:
    variant = spec.variant("mamba-130m-sdm")
    loaded = load_variant(spec, variant, None, smoke=True, device="cpu")
    assert loaded.sparsity_source == "target"
    prunable = sum(t.macs_per_token for t in weight_terms(loaded.shape) if spec.sparsity.is_prunable(t.name))
    removed = round(2 * TOKENS * prunable * variant.target_sparsity)
    dense = analytic_flops(loaded.shape, TOKENS).total_flops
    assert effective_flops(loaded.shape, TOKENS, loaded.density) == dense - removed
    dense_variant = load_variant(spec, spec.variant("mamba-130m-dense"), None, smoke=True, device="cpu")
    assert effective_flops(dense_variant.shape, TOKENS, dense_variant.density) == dense


def test_a_folder_of_another_architecture_is_refused(spec: Spec, tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "llama"}))
    with pytest.raises(CheckpointError, match="not Mamba"):
        load_variant(spec, spec.variant("mamba-130m-sdm"), tmp_path, smoke=True, device="cpu")


def test_a_missing_checkpoint_is_refused(spec: Spec, tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="not found"):
        load_variant(spec, spec.variant("mamba-130m-sdm"), tmp_path / "nope.pt", smoke=True, device="cpu")
