"""Every model a stage writes loads back with one call, and `sdmspec eval` measures exactly what the stage recorded."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from job_helpers import options, read_json, run_cli

from mamba_sdm.jobs.challenge import run_challenge
from mamba_sdm.jobs.evaluate import EvalRequest, evaluate
from mamba_sdm.jobs.finetune import run_finetune
from mamba_sdm.models import load_model
from mamba_sdm.spec import Spec
from sdmspec.checkpoint.sparsity import model_sparsity
from sdmspec.errors import CheckpointError


@pytest.fixture(scope="module")
def mrpc_sdm(pretrained: dict[str, Path], smoke_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A whole smoke fine-tune (early stopping, best epoch exported) on the task that also reports F1."""
    out = tmp_path_factory.mktemp("eval") / "mrpc"
    run_finetune(options("mamba-130m-sdm", out, smoke_data), task="mrpc", checkpoint=pretrained["mamba-130m-sdm"])
    return out


def test_finetuned_model_is_a_transformers_model(mrpc_sdm: Path, spec: Spec) -> None:
    from transformers import AutoModelForSequenceClassification

    from mamba_sdm.models.classifier import MambaForSequenceClassification

    model = load_model(mrpc_sdm)
    assert isinstance(model, MambaForSequenceClassification)
    assert model.config.finetuning_task == "mrpc" and model.config.num_labels == 2
    assert model.config.architectures == ["MambaForSequenceClassification"]
    # The masks are baked in: the loaded model has the zeros the job recorded, layer by layer.
    recorded = read_json(mrpc_sdm / "result.json")["sparsity"]
    count = model_sparsity(model, spec.sparsity)
    assert count.zeros == recorded["zeros"] > 0
    assert {layer.name: layer.zeros for layer in count.layers} == {
        name: layer["zeros"] for name, layer in recorded["layers"].items()
    }
    # transformers' own Auto class finds it from config.json too, and computes the same logits.
    auto = AutoModelForSequenceClassification.from_pretrained(str(mrpc_sdm / "model"))
    import torch

    ids = torch.tensor([[5, 6, 7, 8], [9, 10, 0, 0]])
    mask = torch.tensor([[1, 1, 1, 1], [1, 1, 0, 0]])
    with torch.no_grad():
        assert torch.equal(model(ids, attention_mask=mask).logits, auto(ids, attention_mask=mask).logits)


def test_eval_cli_prints_the_recorded_metrics_exactly(mrpc_sdm: Path, smoke_data: Path) -> None:
    done = run_cli("eval", str(mrpc_sdm), "--data-dir", str(smoke_data), "--format", "json", "--device", "cpu")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    recorded = read_json(mrpc_sdm / "result.json")["metrics"]
    assert set(report["metrics"]) == {"val_accuracy", "val_f1"}
    assert report["metrics"] == {name: recorded[name] for name in report["metrics"]}
    assert report["matches_recorded"] is True and report["task"] == "mrpc" and report["smoke"] is True


def test_eval_text_says_each_metric_is_as_recorded(mrpc_sdm: Path, smoke_data: Path) -> None:
    done = run_cli("eval", str(mrpc_sdm / "model"), "--data-dir", str(smoke_data))
    assert done.returncode == 0, done.stderr
    accuracy = read_json(mrpc_sdm / "result.json")["metrics"]["val_accuracy"]
    assert f"val_accuracy                 {accuracy!r}  (as recorded)" in done.stdout
    assert "MambaForSequenceClassification, task mrpc" in done.stdout


def test_eval_refuses_figures_that_differ_from_the_record(mrpc_sdm: Path, smoke_data: Path, tmp_path: Path) -> None:
    copy = tmp_path / "mrpc"
    shutil.copytree(mrpc_sdm, copy)
    record = read_json(copy / "result.json")
    record["metrics"]["val_accuracy"] = 0.25
    (copy / "result.json").write_text(json.dumps(record), encoding="utf-8")
    done = run_cli("eval", str(copy), "--data-dir", str(smoke_data))
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        f"sdmspec: error: differs from the stage's result.json: val_accuracy: "
        f"{read_json(mrpc_sdm / 'result.json')['metrics']['val_accuracy']!r} now, 0.25 in result.json"
    ]


def test_eval_reads_the_data_folder_the_stage_read(mrpc_sdm: Path, smoke_data: Path) -> None:
    report = evaluate(EvalRequest(mrpc_sdm, device="cpu"))  # no --data-dir: result.json's data.data_dir
    assert report.data["data_dir"] == str(smoke_data) == read_json(mrpc_sdm / "result.json")["data"]["data_dir"]
    recorded = read_json(mrpc_sdm / "result.json")["metrics"]
    assert report.metrics == {name: recorded[name] for name in ("val_accuracy", "val_f1")}


def test_eval_of_every_validation_split(pretrained: dict[str, Path], smoke_data: Path, tmp_path: Path) -> None:
    """MNLI: matched and mismatched, as the job named them."""
    out = tmp_path / "mnli"
    dense = pretrained["mamba-130m-dense"]
    record = run_finetune(options("mamba-130m-dense", out, smoke_data, max_steps=3), task="mnli", checkpoint=dense)
    report = evaluate(EvalRequest(out, data_dir=smoke_data, device="cpu"))
    assert set(report.metrics) == {"val_accuracy", "val_accuracy_matched", "val_accuracy_mismatched"}
    assert report.metrics == {name: record["metrics"][name] for name in report.metrics}
    assert not report.differences


def test_pretrained_model_loads_with_transformers_and_evaluates_as_recorded(
    pretrained: dict[str, Path], smoke_data: Path, spec: Spec
) -> None:
    from transformers import MambaForCausalLM

    folder = pretrained["mamba-130m-sdm"]
    model = MambaForCausalLM.from_pretrained(str(folder / "model"))
    assert model_sparsity(model, spec.sparsity).zeros == read_json(folder / "result.json")["sparsity"]["zeros"] > 0
    assert isinstance(load_model(folder), MambaForCausalLM)
    report = evaluate(EvalRequest(folder, data_dir=smoke_data, device="cpu"))
    recorded = read_json(folder / "result.json")["metrics"]
    assert report.metrics == {"val_loss": recorded["val_loss"], "val_ppl": recorded["val_ppl"]}
    assert report.recorded == report.metrics


def test_baseline_model_loads_with_transformers(
    pretrained: dict[str, Path], smoke_data: Path, tmp_path: Path, spec: Spec
) -> None:
    from transformers import MambaForCausalLM

    out = tmp_path / "challenge"
    record = run_challenge(
        options("mamba-130m-challenge", out, smoke_data),
        dense=pretrained["mamba-130m-dense"],
        sdm=pretrained["mamba-130m-sdm"],
    )
    model = MambaForCausalLM.from_pretrained(str(out / "model"))
    assert model_sparsity(model, spec.sparsity).zeros == record["sparsity"]["zeros"] > 0
    # No metric recorded for a baseline: eval measures it and has nothing to compare with.
    report = evaluate(EvalRequest(out, data_dir=smoke_data, device="cpu"))
    assert set(report.metrics) == {"val_loss", "val_ppl"} and report.recorded == {} and not report.differences


def test_not_a_model_folder_is_one_line(tmp_path: Path) -> None:
    legacy = tmp_path / "old" / "model"
    legacy.mkdir(parents=True)
    (legacy / "classifier.json").write_text("{}", encoding="utf-8")
    with pytest.raises(CheckpointError, match=r"from before config\.json was written"):
        load_model(legacy.parent)
    done = run_cli("eval", str(tmp_path / "missing"))
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [f"sdmspec: error: {tmp_path / 'missing'}: no such file or folder"]


def test_a_bf16_stage_evaluated_on_the_cpu_says_so(mrpc_sdm: Path, smoke_data: Path, tmp_path: Path) -> None:
    copy = tmp_path / "mrpc"
    shutil.copytree(mrpc_sdm, copy)
    record = read_json(copy / "result.json")
    record["precision"] = {"requested": "auto", "autocast": "bf16", "tf32": True, "reason": "a bf16 GPU"}
    (copy / "result.json").write_text(json.dumps(record), encoding="utf-8")
    report = evaluate(EvalRequest(copy, data_dir=smoke_data, device="cpu"))
    assert report.notes == ["the stage ran under bf16 autocast, this evaluation runs in fp32 (no bf16 GPU here)"]
    assert report.to_json()["notes"] == report.notes and set(report.metrics) == {"val_accuracy", "val_f1"}


@pytest.mark.gpu
def test_eval_on_cuda(mrpc_sdm: Path, smoke_data: Path) -> None:
    """The loaded model on the GPU computes the CPU's logits (to float tolerance) and eval runs there."""
    import torch

    cpu, gpu = load_model(mrpc_sdm), load_model(mrpc_sdm, device="cuda")
    assert next(gpu.parameters()).device.type == "cuda"
    ids = torch.tensor([[5, 6, 7, 8], [9, 10, 0, 0]])
    mask = torch.tensor([[1, 1, 1, 1], [1, 1, 0, 0]])
    with torch.no_grad():
        expected = cpu(ids, attention_mask=mask).logits
        got = gpu(ids.cuda(), attention_mask=mask.cuda()).logits.cpu()
    torch.testing.assert_close(got, expected, rtol=1e-3, atol=1e-3)
    report = evaluate(EvalRequest(mrpc_sdm, data_dir=smoke_data, device="cuda"))
    assert report.device.startswith("cuda") and set(report.metrics) == {"val_accuracy", "val_f1"}
