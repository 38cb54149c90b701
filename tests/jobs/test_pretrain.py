"""Phase A at smoke scale: the model learns, SDM ends exactly at its target per layer, outputs are complete."""

from __future__ import annotations

from pathlib import Path

import pytest
from job_helpers import options, read_events, read_json

from mamba_sdm.jobs.common import SMOKE_OVERLAY
from mamba_sdm.models.masking import zeros_for
from mamba_sdm.spec import Spec
from sdmspec.checkpoint.load import checkpoint_sparsity
from sdmspec.errors import SdmspecError


@pytest.mark.parametrize("variant", ["mamba-130m-dense", "mamba-130m-sdm"])
def test_smoke_pretrain_learns(pretrained: dict[str, Path], variant: str) -> None:
    result = read_json(pretrained[variant] / "result.json")
    train = [e for e in read_events(pretrained[variant] / "metrics.jsonl") if e["event"] == "train"]
    assert len(train) == result["steps"] == result["schedule"]["total_steps"] > 0
    first, last = train[0]["loss"], train[-1]["loss"]
    assert last < first - 1.0, (first, last)
    evals = [e for e in read_events(pretrained[variant] / "metrics.jsonl") if e["event"] == "eval"]
    assert len(evals) == result["metrics"]["epochs"] == SMOKE_OVERLAY["training.pretrain.max_epochs"]
    assert evals[-1]["val_ppl"] < evals[0]["val_ppl"]
    assert result["metrics"]["val_ppl"] == pytest.approx(evals[-1]["val_ppl"])


def test_result_records_smoke_settings_and_outputs(pretrained: dict[str, Path]) -> None:
    out = pretrained["mamba-130m-sdm"]
    result = read_json(out / "result.json")
    assert result["job"] == "pretrain" and result["smoke"] is True and result["variant"] == "mamba-130m-sdm"
    settings = result["settings"]
    assert settings["training.pretrain.seq_len"] == {"value": 32, "origin": "smoke"}
    assert settings["training.pretrain.optimizer"]["origin"].endswith(".yaml")
    assert result["schedule"]["accumulation"] == 8 // 4
    for name in ("model/config.json", "model/model.safetensors", "model/tokenizer.json", "masks.safetensors"):
        assert (out / name).is_file(), name
    assert (out / "checkpoints" / "latest").is_file()


def test_lr_warms_up_then_decays_linearly_to_zero(pretrained: dict[str, Path]) -> None:
    out = pretrained["mamba-130m-dense"]
    result = read_json(out / "result.json")
    peak = result["settings"]["training.pretrain.learning_rate"]["value"]
    lrs = [e["lr"] for e in read_events(out / "metrics.jsonl") if e["event"] == "train"]
    total, warmup = result["schedule"]["total_steps"], result["schedule"]["warmup_steps"]
    assert warmup == int(0.1 * total)
    expected = [peak * min(step / max(warmup, 1), (total - step) / (total - warmup)) for step in range(1, total + 1)]
    assert lrs == pytest.approx(expected)


def test_sdm_reaches_its_target_exactly_in_every_layer(pretrained: dict[str, Path], spec: Spec) -> None:
    from safetensors.torch import load_file

    out = pretrained["mamba-130m-sdm"]
    count, _ = checkpoint_sparsity(out / "model", spec.sparsity)
    target = spec.variant("mamba-130m-sdm").target_sparsity
    assert count.layers and all(layer.zeros == zeros_for(layer.numel, target) for layer in count.layers)
    masks = load_file(str(out / "masks.safetensors"))
    weights = load_file(str(out / "model" / "model.safetensors"))
    assert set(masks) == {f"{layer.name}.weight" for layer in count.layers}
    for name, keep in masks.items():
        assert bool(((weights[name] == 0) == ~keep).all()), name
    # The ramp is cubic over all of Phase A's steps: sparsity grows every step and ends at the target.
    sparsity = [e["sparsity"] for e in read_events(out / "metrics.jsonl") if e["event"] == "train"]
    assert sparsity == sorted(sparsity) and sparsity[-1] == pytest.approx(target, abs=1e-3)


def test_dense_stays_dense(pretrained: dict[str, Path], spec: Spec) -> None:
    count, _ = checkpoint_sparsity(pretrained["mamba-130m-dense"] / "model", spec.sparsity)
    assert count.zeros == 0
    assert not (pretrained["mamba-130m-dense"] / "masks.safetensors").exists()


def test_pretrain_refuses_baseline_variants(tmp_path: Path, smoke_data: Path) -> None:
    from mamba_sdm.jobs.pretrain import run_pretrain

    with pytest.raises(SdmspecError, match="does not build challenge variants"):
        run_pretrain(options("mamba-130m-challenge", tmp_path, smoke_data))
    assert not (tmp_path / "result.json").exists()
