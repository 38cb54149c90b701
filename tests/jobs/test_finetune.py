"""Phase B at smoke scale: the classifier learns, masks stay fixed, the task's metrics are reported."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from job_helpers import options, read_events, read_json

from mamba_sdm.jobs.common import SMOKE_OVERLAY
from mamba_sdm.jobs.data import GLUE_FOLDER
from mamba_sdm.jobs.finetune import run_finetune
from mamba_sdm.jobs.loop import Hooks, LoopOptions, Outcome, _early_stopping
from mamba_sdm.spec import Spec
from sdmspec.checkpoint.load import checkpoint_sparsity
from sdmspec.checkpoint.sparsity import count_sparsity


@pytest.fixture(scope="module")
def sst2_sdm(pretrained: dict[str, Path], smoke_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("finetune") / "sst2"
    run_finetune(options("mamba-130m-sdm", out, smoke_data), task="sst2", checkpoint=pretrained["mamba-130m-sdm"])
    return out


def test_finetune_learns(sst2_sdm: Path) -> None:
    result = read_json(sst2_sdm / "result.json")
    train = [e["loss"] for e in read_events(sst2_sdm / "metrics.jsonl") if e["event"] == "train"]
    assert len(train) == result["steps"] > 0
    # Mean of the last epoch's losses below the first epoch's: noisy per step at batch 8, clear per epoch.
    per_epoch = result["schedule"]["steps_per_epoch"]
    assert sum(train[-per_epoch:]) / per_epoch < sum(train[:per_epoch]) / per_epoch
    assert result["task"] == "sst2" and result["smoke"] is True
    assert 0.0 <= result["metrics"]["val_accuracy"] <= 1.0
    assert result["settings"]["epochs.sst2"] == {"value": SMOKE_OVERLAY["epochs.sst2"], "origin": "smoke"}


def test_finetune_beats_the_majority_class(sst2_sdm: Path, smoke_data: Path) -> None:
    """The smoke fine-tune learns the generated task: validation accuracy clearly above always answering the
    validation split's most frequent label (which a classifier that learned nothing scores)."""
    lines = (smoke_data / GLUE_FOLDER / "sst2" / "validation.jsonl").read_text(encoding="utf-8").splitlines()
    labels = [json.loads(line)["label"] for line in lines]
    majority = max(labels.count(label) for label in set(labels)) / len(labels)
    accuracy = read_json(sst2_sdm / "result.json")["metrics"]["val_accuracy"]
    assert accuracy >= majority + 0.15, (accuracy, majority)


def test_masks_stay_fixed(sst2_sdm: Path, pretrained: dict[str, Path], spec: Spec) -> None:
    from safetensors.torch import load_file

    before, _ = checkpoint_sparsity(pretrained["mamba-130m-sdm"] / "model", spec.sparsity)
    after = count_sparsity(load_file(str(sst2_sdm / "model" / "model.safetensors")).items(), spec.sparsity)
    assert [(layer.name, layer.zeros) for layer in after.layers] == [
        (layer.name, layer.zeros) for layer in before.layers
    ]
    assert before.zeros > 0
    original = load_file(str(pretrained["mamba-130m-sdm"] / "masks.safetensors"))
    kept = load_file(str(sst2_sdm / "masks.safetensors"))
    assert all(bool((original[name] == kept[name]).all()) for name in original)
    events = [e for e in read_events(sst2_sdm / "metrics.jsonl") if "sparsity" in e and e["event"] != "sparsity"]
    assert {e["sparsity"] for e in events} == {before.sparsity}


@pytest.mark.parametrize(
    ("task", "metrics"),
    [
        ("mnli", {"val_accuracy", "val_accuracy_matched", "val_accuracy_mismatched"}),
        ("mrpc", {"val_accuracy", "val_f1"}),
    ],
)
def test_task_metrics(
    pretrained: dict[str, Path], smoke_data: Path, tmp_path: Path, task: str, metrics: set[str]
) -> None:
    record = run_finetune(
        options("mamba-130m-dense", tmp_path, smoke_data, max_steps=2),
        task=task,
        checkpoint=pretrained["mamba-130m-dense"],
    )
    assert metrics <= set(record["metrics"])
    assert all(0.0 <= record["metrics"][name] <= 1.0 for name in metrics)
    assert record["steps"] == 2 and not (tmp_path / "masks.safetensors").exists()
    if task == "mnli":
        assert record["metrics"]["val_accuracy"] == record["metrics"]["val_accuracy_matched"]


def test_early_stopping_keeps_the_best_epoch_and_stops_on_patience() -> None:
    saved: list[int] = []
    hooks = Hooks(loss=lambda m, b: m, collate=dict, evaluate=dict, on_best=lambda: saved.append(1))
    state = Outcome()
    loop = LoopOptions(seed=0, log_every=1, checkpoint_every=0, early_stopping_metric="val_accuracy", patience=2)
    for epoch, accuracy in enumerate([0.5, 0.7, 0.6, 0.7]):
        _early_stopping(state, {"val_accuracy": accuracy}, epoch, loop, hooks, remaining=5 - epoch)
    assert state.best_epoch == 1 and state.best == {"val_accuracy": 0.7}
    assert state.stopped_early and len(saved) == 2
    # Patience running out on the last planned epoch is not an early stop.
    last = Outcome()
    for epoch, accuracy in enumerate([0.7, 0.6]):
        _early_stopping(
            last,
            {"val_accuracy": accuracy},
            epoch,
            loop.__class__(0, 1, 0, "val_accuracy", 1),
            hooks,
            remaining=1 - epoch,
        )
    assert last.stale_epochs == 1 and not last.stopped_early
