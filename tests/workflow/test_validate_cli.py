"""`sdmspec validate`: every area reported with an honest status; exit 1 only when a check fails."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from workflow_helpers import CLI, run_sdmspec

from mamba_sdm.spec import Spec
from sdmspec.validate import CheckStatus, ValidateOptions, validate_setup

STATUSES = {"pass", "warn", "fail", "skip"}


@pytest.fixture(scope="module")
def full_run(tmp_path_factory: pytest.TempPathFactory) -> subprocess.CompletedProcess[str]:
    log = tmp_path_factory.mktemp("validate") / "validate.log"  # the libraries' messages, not the user's cache
    return run_sdmspec("validate", "--format", "json", "--log", str(log))


def _by_name(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {check["name"]: check for check in report["checks"]}


@pytest.mark.train
def test_full_report_on_this_machine(full_run: subprocess.CompletedProcess[str], spec: Spec) -> None:
    assert full_run.returncode == 0, full_run.stdout + full_run.stderr
    report = json.loads(full_run.stdout)
    checks = _by_name(report)
    for check in report["checks"]:
        assert set(check) >= {"name", "status", "detail"} and check["status"] in STATUSES and check["detail"]
    data_checks = {f"data: {spec.data.pretrain.path}/{spec.data.pretrain.name}", "data: tokenizer"}
    data_checks |= {f"data: {task.path}/{task.name}" for task in spec.data.finetune.values()}
    expected = {"variants", "hyperparameters", "profiling", "profiling: hardware", "iso-sparsity", *data_checks}
    assert set(checks) == expected
    assert checks["variants"]["status"] == "pass"
    params = {row["variant"]: row["params"] for row in checks["variants"]["data"]["variants"]}
    assert params == {v.name: spec.models[v.size].params for v in spec.variants}
    assert checks["hyperparameters"]["status"] == "pass"  # configs/ lints clean (infos only)
    assert checks["profiling"]["status"] in {"pass", "warn"}
    assert checks["profiling"]["data"]["flop_counter_flops"] > 0
    assert checks["iso-sparsity"]["status"] == "skip" and "--run-dir" in checks["iso-sparsity"]["detail"]
    for name in data_checks:  # no network here: loaded from a cache, or skipped with the way to get the data
        assert checks[name]["status"] == "pass" or "hf download" in checks[name]["detail"]
    assert report["summary"]["fail"] == 0
    assert sum(report["summary"].values()) == len(report["checks"])


def test_failing_configs_fail_the_run(sdmspec: CLI, seed_configs: Path) -> None:
    result = sdmspec("validate", "--check", "hyperparameters", "--configs", str(seed_configs), "--format", "json")
    assert result.returncode == 1
    (check,) = json.loads(result.stdout)["checks"]
    assert check["status"] == "fail"
    assert check["data"]["errors"] == 8
    assert any("training.pretrain.max_epochs is 15" in line for line in check["data"]["diagnostics"])


def test_text_report_and_usage_errors(sdmspec: CLI) -> None:
    text = sdmspec("validate", "--check", "hyperparameters")
    assert text.returncode == 0
    assert "hyperparameters" in text.stdout and "pass" in text.stdout and "no check failed" in text.stdout
    unknown = sdmspec("validate", "--check", "coffee")
    assert unknown.returncode == 2
    assert unknown.stderr.startswith("sdmspec: error: unknown check(s) coffee")
    assert sdmspec("validate", "--format", "yaml").returncode == 2


def _write_jsonl(path: Path, rows: list[dict[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))


def _real_schema_data(root: Path, spec: Spec) -> None:
    """Local files in the data sets' own schema (generated text, not the data sets')."""
    pretrain = spec.data.pretrain
    _write_jsonl(root / "wikitext-103" / f"{pretrain.validation_split}.jsonl", [{pretrain.text_field: " = A = \n"}] * 3)
    for name, task in spec.data.finetune.items():
        row = {**dict.fromkeys(task.text_fields, "a sentence"), task.label_field: 1, "idx": 0}
        for split in task.validation_splits:
            _write_jsonl(root / "glue" / name / f"{split}.jsonl", [row] * 4)


@pytest.mark.train
def test_local_data_in_the_real_schema_loads(spec: Spec, tmp_path: Path) -> None:
    _real_schema_data(tmp_path, spec)
    report = validate_setup(spec, ValidateOptions(data_dir=tmp_path), areas=["data"])
    statuses = {check.name: check.status for check in report.checks}
    assert statuses.pop("data: tokenizer") is CheckStatus.SKIP  # no tokenizer folder, no hub: say so
    assert set(statuses.values()) == {CheckStatus.PASS}
    mnli = next(check for check in report.checks if check.name == "data: glue/mnli")
    assert mnli.data["rows"] == {"validation_matched": 4, "validation_mismatched": 4}


@pytest.mark.train
def test_local_data_with_a_missing_field_or_split_fails(spec: Spec, tmp_path: Path) -> None:
    _real_schema_data(tmp_path, spec)
    _write_jsonl(tmp_path / "glue" / "sst2" / "validation.jsonl", [{"sentence": "no label"}])
    (tmp_path / "glue" / "mrpc" / "validation.jsonl").unlink()
    report = validate_setup(spec, ValidateOptions(data_dir=tmp_path), areas=["data"])
    checks = {check.name: check for check in report.checks}
    assert checks["data: glue/sst2"].status is CheckStatus.FAIL and "label" in checks["data: glue/sst2"].detail
    assert checks["data: glue/mrpc"].status is CheckStatus.FAIL and "validation" in checks["data: glue/mrpc"].detail
    assert checks["data: glue/qnli"].status is CheckStatus.PASS
    assert report.failed


@pytest.mark.train
def test_generated_smoke_data_only_warns(spec: Spec, tmp_path: Path) -> None:
    from mamba_sdm.jobs.smoke_data import ensure_smoke_data

    root = ensure_smoke_data(tmp_path / "smoke")
    report = validate_setup(spec, ValidateOptions(data_dir=root), areas=["data"])
    assert {check.status for check in report.checks} == {CheckStatus.WARN}
    assert all("smoke" in check.detail for check in report.checks)


def test_missing_data_dir_fails(spec: Spec, tmp_path: Path) -> None:
    report = validate_setup(spec, ValidateOptions(data_dir=tmp_path / "nowhere"), areas=["data"])
    assert [(c.name, c.status) for c in report.checks] == [("data", CheckStatus.FAIL)]


def test_hub_stays_offline_and_environment_is_restored(spec: Spec, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("HF_DATASETS_OFFLINE", raising=False)
    validate_setup(spec, ValidateOptions(data_dir=tmp_path / "nowhere"), areas=["data"])
    import os

    assert "HF_HUB_OFFLINE" not in os.environ and "HF_DATASETS_OFFLINE" not in os.environ


def test_configs_folder_missing_fails(spec: Spec, tmp_path: Path) -> None:
    report = validate_setup(spec, ValidateOptions(configs=tmp_path / "none"), areas=["hyperparameters"])
    assert [c.status for c in report.checks] == [CheckStatus.FAIL]


def _checkpoint(folder: Path, zeros_per_layer: int, seed: int) -> None:
    """A model folder as `sdmspec run` writes it, holding the prunable weights of a two-layer Mamba."""
    import torch
    from safetensors.torch import save_file

    generator = torch.Generator().manual_seed(seed)
    state = {}
    for layer in range(2):
        for name, shape in (("in_proj", (32, 8)), ("x_proj", (6, 16)), ("dt_proj", (16, 2)), ("out_proj", (8, 16))):
            weight = torch.randn(*shape, generator=generator) + 10.0  # no accidental zeros
            flat = weight.view(-1)
            flat[torch.randperm(flat.numel(), generator=generator)[:zeros_per_layer]] = 0.0
            state[f"backbone.layers.{layer}.mixer.{name}.weight"] = weight
    state["backbone.embeddings.weight"] = torch.zeros(16, 8)  # not prunable: its zeros do not count
    folder.mkdir(parents=True)
    save_file(state, str(folder / "model.safetensors"))


@pytest.mark.train
def test_iso_sparsity_of_checkpoints_under_the_run_dir(spec: Spec, tmp_path: Path) -> None:
    _checkpoint(tmp_path / "pretrain" / "mamba-130m-sdm" / "model", zeros_per_layer=20, seed=1)
    _checkpoint(tmp_path / "challenge" / "mamba-130m-challenge" / "model", zeros_per_layer=20, seed=2)
    _checkpoint(tmp_path / "challenge" / "mamba-130m-random" / "model", zeros_per_layer=21, seed=3)
    (tmp_path / "verify" / "mamba-130m-random").mkdir(parents=True)  # a stage folder without a model: ignored
    report = validate_setup(spec, ValidateOptions(run_dir=tmp_path), areas=["iso-sparsity"])
    checks = {check.name: check for check in report.checks}
    assert set(checks) == {"iso-sparsity: mamba-130m-challenge", "iso-sparsity: mamba-130m-random"}
    challenge, random = checks["iso-sparsity: mamba-130m-challenge"], checks["iso-sparsity: mamba-130m-random"]
    # Both far from the 0.5 target: iso-sparse still, with the spec's off-target warning.
    assert challenge.status in {CheckStatus.PASS, CheckStatus.WARN} and challenge.data["verdict"] == "match"
    assert random.status is CheckStatus.FAIL and random.data["verdict"] == "mismatch"
    assert report.failed


@pytest.mark.train
def test_iso_sparsity_with_one_side_only_warns(spec: Spec, tmp_path: Path) -> None:
    _checkpoint(tmp_path / "pretrain" / "mamba-370m-sdm" / "model", zeros_per_layer=20, seed=1)
    report = validate_setup(spec, ValidateOptions(run_dir=tmp_path), areas=["iso-sparsity"])
    assert [(c.name, c.status) for c in report.checks] == [("iso-sparsity: mamba-370m-challenge", CheckStatus.WARN)]
    empty = validate_setup(spec, ValidateOptions(run_dir=tmp_path / "pretrain" / "x"), areas=["iso-sparsity"])
    assert [c.status for c in empty.checks] == [CheckStatus.FAIL]  # not a folder
