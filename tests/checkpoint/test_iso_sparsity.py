"""verify_iso_sparsity: the spec's rule applied to two checkpoints, state dicts, models or counts."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from ckpt_factory import mamba_state, prunable_names, save, unzero, zero_fraction, zero_more
from safetensors.torch import save_file

from mamba_sdm.spec import Spec
from sdmspec.checkpoint.sparsity import count_sparsity
from sdmspec.checkpoint.verify import IsoSparsityResult, verify_iso_sparsity

IN_PROJ_0 = "backbone.layers.0.mixer.in_proj.weight"
OUT_PROJ_1 = "backbone.layers.1.mixer.out_proj.weight"


@pytest.fixture(scope="module")
def sdm() -> dict[str, torch.Tensor]:
    return zero_fraction(mamba_state(seed=1), 0.5, seed=10)


@pytest.fixture(scope="module")
def challenge() -> dict[str, torch.Tensor]:
    # Other weights, the same number of zeros per layer, at other positions.
    return zero_fraction(mamba_state(seed=2), 0.5, seed=20)


def _files(tmp_path: Path, a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> tuple[Path, Path]:
    return save(a, tmp_path / "sdm.pt"), save(b, tmp_path / "challenge.pt")


def test_equal_counts_at_different_positions_match(tmp_path: Path, spec: Spec, sdm, challenge) -> None:
    assert not torch.equal(sdm[IN_PROJ_0] == 0, challenge[IN_PROJ_0] == 0)
    result = verify_iso_sparsity(*_files(tmp_path, sdm, challenge), spec)
    assert result.passed and result.verdict == "match" and result.reasons == ()
    expected = count_sparsity(sdm.items(), spec.sparsity)
    assert [side.zeros for side in result.checkpoints] == [expected.zeros, expected.zeros]
    assert result.checkpoints[0].prunable_numel == sum(sdm[name].numel() for name in prunable_names(sdm))
    assert all(layer.match for layer in result.layers)
    assert result.warnings == ()  # both at the target 0.5 (within 0.005)


def test_one_zero_more_is_a_mismatch_that_names_the_layer(tmp_path: Path, spec: Spec, sdm, challenge) -> None:
    result = verify_iso_sparsity(*_files(tmp_path, sdm, zero_more(challenge, OUT_PROJ_1)), spec)
    assert result.verdict == "mismatch"
    assert result.checkpoints[1].zeros - result.checkpoints[0].zeros == 1
    (reason,) = result.reasons
    assert "differ by 1" in reason and "backbone.layers.1.mixer.out_proj" in reason
    assert [layer.name for layer in result.layers if not layer.match] == ["backbone.layers.1.mixer.out_proj"]


def test_same_global_count_spread_differently(tmp_path: Path, spec: Spec, sdm, challenge) -> None:
    moved = unzero(zero_more(challenge, IN_PROJ_0, 3), OUT_PROJ_1, 3)
    files = _files(tmp_path, sdm, moved)
    assert verify_iso_sparsity(*files, spec).passed
    per_layer = verify_iso_sparsity(*files, spec, per_layer=True)
    assert not per_layer.passed and per_layer.per_layer
    assert {reason.split(":")[0] for reason in per_layer.reasons} == {
        "backbone.layers.0.mixer.in_proj",
        "backbone.layers.1.mixer.out_proj",
    }
    strict_spec = spec.model_copy(
        update={
            "sparsity": spec.sparsity.model_copy(
                update={"rule": spec.sparsity.rule.model_copy(update={"per_layer": True})}
            )
        }
    )
    assert not verify_iso_sparsity(*files, strict_spec).passed  # the spec's rule decides when not overridden


def test_tolerance_from_the_spec(spec: Spec, sdm, challenge) -> None:
    loose = spec.model_copy(
        update={
            "sparsity": spec.sparsity.model_copy(
                update={"rule": spec.sparsity.rule.model_copy(update={"tolerance": 2})}
            )
        }
    )
    assert verify_iso_sparsity(sdm, zero_more(challenge, OUT_PROJ_1, 2), loose).passed
    assert not verify_iso_sparsity(sdm, zero_more(challenge, OUT_PROJ_1, 3), loose).passed


def test_zeros_outside_the_prunable_set_are_ignored(spec: Spec, sdm, challenge) -> None:
    noisy = dict(challenge)
    for name in (
        "backbone.embeddings.weight",
        "backbone.layers.0.mixer.conv1d.weight",
        "backbone.layers.0.mixer.A_log",
    ):
        noisy[name] = torch.zeros_like(challenge[name])
    result = verify_iso_sparsity(sdm, noisy, spec)
    assert result.passed
    assert result.checkpoints[1].zeros == result.checkpoints[0].zeros


def test_formats_mix_safetensors_against_wrapped_ddp_torch(tmp_path: Path, spec: Spec, sdm, challenge) -> None:
    st = tmp_path / "sdm.safetensors"
    save_file(sdm, str(st))
    wrapped = save({"model": {f"module.{name}": t for name, t in challenge.items()}}, tmp_path / "c.pth")
    result = verify_iso_sparsity(st, wrapped, spec)
    assert result.passed, result.reasons
    assert [side.label for side in result.checkpoints] == [str(st), str(wrapped)]


def test_bf16_negative_zeros_match_positive_zeros(spec: Spec, sdm) -> None:
    bf16 = {name: t.to(torch.bfloat16) for name, t in sdm.items()}
    negative = {name: torch.where(t == 0, torch.tensor(-0.0, dtype=torch.bfloat16), t) for name, t in bf16.items()}
    assert torch.signbit(negative[IN_PROJ_0]).any()
    assert verify_iso_sparsity(bf16, negative, spec).passed
    assert verify_iso_sparsity(sdm, negative, spec).passed  # fp32 against bf16: the same zeros


def test_prune_reparametrized_against_plain(spec: Spec, sdm) -> None:
    reparam = dict(mamba_state(seed=1))
    for name in prunable_names(sdm):
        dense = reparam.pop(name)
        reparam[f"{name}_orig"] = dense
        reparam[f"{name}_mask"] = (sdm[name] != 0).to(dense.dtype)
    assert verify_iso_sparsity(reparam, sdm, spec).passed
    assert not verify_iso_sparsity(reparam, zero_more(sdm, IN_PROJ_0), spec).passed


def test_a_missing_layer_is_named(spec: Spec, sdm, challenge) -> None:
    short = {name: t for name, t in challenge.items() if name != OUT_PROJ_1}
    result = verify_iso_sparsity(sdm, short, spec)
    assert not result.passed
    assert "backbone.layers.1.mixer.out_proj: missing from challenge" in result.reasons
    row = next(layer for layer in result.layers if layer.name == "backbone.layers.1.mixer.out_proj")
    assert row.zeros[1] is None and not row.match
    (entry,) = [entry for entry in result.to_json()["layers"] if entry["zeros"][1] is None]
    assert entry["name"] == "backbone.layers.1.mixer.out_proj" and entry["numel"] == 64 * 128


def test_a_layer_only_the_challenge_has_is_named(spec: Spec, sdm, challenge) -> None:
    bigger = zero_fraction(mamba_state(seed=2, n_layer=3), 0.5, seed=20)
    result = verify_iso_sparsity(sdm, bigger, spec)
    assert not result.passed
    assert any(
        reason.startswith("backbone.layers.2.mixer.") and "missing from sdm" in reason for reason in result.reasons
    )


def test_a_shape_differing_is_named(spec: Spec, sdm, challenge) -> None:
    reshaped = dict(challenge)
    reshaped[OUT_PROJ_1] = torch.zeros(64, 64)
    result = verify_iso_sparsity(sdm, reshaped, spec)
    assert not result.passed
    assert any(reason.startswith("backbone.layers.1.mixer.out_proj: shape (64, 128)") for reason in result.reasons)


def test_no_prunable_parameter_is_a_mismatch(spec: Spec) -> None:
    unrelated = {"encoder.weight": torch.zeros(4, 4)}
    result = verify_iso_sparsity(unrelated, unrelated, spec)
    assert not result.passed
    assert all("nothing to compare" in reason for reason in result.reasons)


def test_off_target_is_a_warning_not_a_failure(spec: Spec) -> None:
    light = zero_fraction(mamba_state(seed=1), 0.3, seed=1)
    result = verify_iso_sparsity(light, zero_fraction(mamba_state(seed=2), 0.3, seed=2), spec)
    assert result.passed
    assert all(side.off_target for side in result.checkpoints)
    assert len(result.warnings) == 2 and "off the spec's target 0.5" in result.warnings[0]


def test_live_model_and_counts_are_accepted(spec: Spec) -> None:
    from torch.nn.utils import prune

    from mamba_sdm.models.build import build_model
    from sdmspec.checkpoint.sparsity import model_sparsity

    model = build_model(spec, "130m", smoke=True, seed=0)
    for layer in model.backbone.layers:
        for proj in ("in_proj", "x_proj", "dt_proj", "out_proj"):
            prune.random_unstructured(getattr(layer.mixer, proj), "weight", amount=0.5)
    state = {name: t.clone() for name, t in model.state_dict().items()}
    result = verify_iso_sparsity(model, state, spec, labels=("live", "saved"))
    assert result.passed and [side.label for side in result.checkpoints] == ["live", "saved"]
    assert verify_iso_sparsity(model_sparsity(model, spec.sparsity), model, spec).passed


def test_json_contract(spec: Spec, sdm, challenge) -> None:
    data = verify_iso_sparsity(sdm, zero_more(challenge, OUT_PROJ_1), spec).to_json()
    assert data["verdict"] == "mismatch"
    assert {"tolerance", "per_layer"} <= set(data["rule"])
    assert [set(side) >= {"path", "prunable_numel", "zeros", "sparsity"} for side in data["checkpoints"]] == [True] * 2
    layer = next(entry for entry in data["layers"] if entry["name"] == "backbone.layers.1.mixer.out_proj")
    assert layer["numel"] == 64 * 128
    assert layer["zeros"][1] - layer["zeros"][0] == 1 and layer["match"] is False
    assert layer["sparsity"] == [layer["zeros"][0] / layer["numel"], layer["zeros"][1] / layer["numel"]]


def test_result_is_frozen(spec: Spec, sdm) -> None:
    result = verify_iso_sparsity(sdm, sdm, spec)
    assert isinstance(result, IsoSparsityResult)
    with pytest.raises(AttributeError):
        result.verdict = "mismatch"  # type: ignore[misc]
