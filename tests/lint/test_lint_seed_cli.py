"""The seed repo's configs end to end through the real CLI: exactly the audit's findings, in text and JSON."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sdmspec.cli.app import app

# The audit's findings: (file, line, code). Nothing else may be an error.
SEED_ERRORS = {
    ("pretrain_sdm.yaml", 4, "SDM201"),  # batch size 24, paper 128
    ("pretrain_sdm.yaml", 4, "SDM401"),  # 24 here, 128 in mamba_370m.yaml
    ("pretrain_sdm.yaml", 5, "SDM201"),  # 15 epochs, paper 20
    ("finetune_glue.yaml", 4, "SDM201"),  # learning rate 3e-4, paper 1e-4
    ("finetune_glue.yaml", 5, "SDM201"),  # batch size 16, paper 32
    ("mamba_130m.yaml", 8, "SDM201"),  # MNLI 8 epochs, paper 10
    ("mamba_130m.yaml", 4, "SDM201"),  # PyTorch 2.2, paper 2.1
    ("mamba_370m.yaml", 4, "SDM201"),  # PyTorch 2.2, paper 2.1
}
SEED_WARNINGS = {
    ("pretrain_sdm.yaml", 6, "SDM101"),  # 2e-4 is a string
    ("finetune_glue.yaml", 4, "SDM101"),  # 3e-4 is a string
    (None, None, "SDM203"),  # training.finetune.warmup_steps_ratio: set by no config
}
SEED_INFOS = {("mamba_130m.yaml", 9, "SDM202"), ("mamba_130m.yaml", 10, "SDM202")}  # QNLI, MRPC epochs

runner = CliRunner()


def _json_lint(*args: str) -> tuple[int, dict]:  # type: ignore[type-arg]
    result = runner.invoke(app, ["lint", *args, "--format", "json"])
    return result.exit_code, json.loads(result.stdout)


def _by_severity(report: dict, severity: str) -> set[tuple[str | None, int | None, str]]:  # type: ignore[type-arg]
    return {
        (Path(d["file"]).name if d["file"] else None, d["line"], d["code"])
        for d in report["diagnostics"]
        if d["severity"] == severity
    }


def test_seed_configs_give_exactly_the_audits_findings_in_json(repo: Path, seed_configs: Path) -> None:
    code, report = _json_lint(str(seed_configs), "--spec", str(repo / "spec"))
    assert code == 1
    assert _by_severity(report, "error") == SEED_ERRORS
    assert _by_severity(report, "warning") == SEED_WARNINGS
    assert _by_severity(report, "info") == SEED_INFOS
    assert report["summary"] == {**report["summary"], "files": 4, "errors": 8, "warnings": 3}
    required = {"code", "name", "severity", "file", "line", "column", "key", "expected", "actual", "message"}
    assert all(required | {"source", "fixable"} <= set(d) for d in report["diagnostics"])
    (missing,) = [d for d in report["diagnostics"] if d["code"] == "SDM203"]
    assert missing["key"] == "training.finetune.warmup_steps_ratio"
    (conflict,) = [d for d in report["diagnostics"] if d["code"] == "SDM401"]
    assert "mamba_370m.yaml:8" in conflict["message"] and conflict["file"].endswith("pretrain_sdm.yaml")
    (lr,) = [d for d in report["diagnostics"] if d["code"] == "SDM201" and d["key"].endswith("finetune.learning_rate")]
    assert (lr["expected"], lr["actual"], lr["column"]) == ("1.0e-4", "3e-4", 20)
    assert "learning rate 1e-4" in lr["source"]


def test_seed_configs_in_text(repo: Path, seed_configs: Path) -> None:
    result = runner.invoke(app, ["lint", str(seed_configs), "--spec", str(repo / "spec")])
    assert result.exit_code == 1
    out = result.stdout
    for file, line, code in SEED_ERRORS:
        section = out[out.index(file) :]
        assert f"{line}:" in section and code in section
    assert "Found 8 errors, 3 warnings, 2 infos in 4 files." in out


def test_same_settings_in_one_flow_file_any_order_are_found_by_key_path(repo: Path, tmp_path: Path) -> None:
    (tmp_path / "all.yaml").write_text(
        "epochs: {mrpc: 8, qnli: 5, mnli: 8, sst2: 5}\n"
        "environment: {cuda: '12.1', pytorch: '2.2'}\n"
        "training: {finetune: {optimizer: AdamW, micro_batch_size: 8, batch_size: 16, learning_rate: 3e-4,\n"
        "  early_stopping: {metric: val_accuracy}},\n"
        "  pretrain: {optimizer: AdamW, warmup_steps_ratio: 0.1, learning_rate: 2e-4,\n"
        "    max_epochs: 15, batch_size: 24}}\n"
        "model: {name: mamba-130m}\n"
    )
    code, report = _json_lint(str(tmp_path), "--spec", str(repo / "spec"))
    keys = {(d["key"], d["code"]) for d in report["diagnostics"] if d["severity"] == "error"}
    assert keys == {
        ("epochs.mnli", "SDM201"),
        ("environment.pytorch", "SDM201"),
        ("training.finetune.batch_size", "SDM201"),
        ("training.finetune.learning_rate", "SDM201"),
        ("training.pretrain.max_epochs", "SDM201"),
        ("training.pretrain.batch_size", "SDM201"),
    }
    assert {d["key"] for d in report["diagnostics"] if d["code"] == "SDM101"} == {
        "training.finetune.learning_rate",
        "training.pretrain.learning_rate",
    }
    assert code == 1


def test_repo_configs_lint_clean(repo: Path) -> None:
    result = runner.invoke(app, ["lint", str(repo / "configs"), "--spec", str(repo / "spec")])
    assert result.exit_code == 0, result.stdout


def test_individual_files_as_pre_commit_passes_them(repo: Path, seed_configs: Path) -> None:
    code, report = _json_lint(str(seed_configs / "mamba_370m.yaml"), "--spec", str(repo / "spec"))
    assert code == 1 and report["summary"]["files"] == 1
    # Judged with its siblings: its own value error, and its side of the batch-size conflict with pretrain_sdm.yaml.
    assert _by_severity(report, "error") == {("mamba_370m.yaml", 4, "SDM201"), ("mamba_370m.yaml", 8, "SDM401")}
    code, alone = _json_lint(str(seed_configs / "mamba_370m.yaml"), "--spec", str(repo / "spec"), "--isolated")
    assert code == 1 and _by_severity(alone, "error") == {("mamba_370m.yaml", 4, "SDM201")}


def test_explain_prints_a_rules_documentation() -> None:
    result = runner.invoke(app, ["lint", "--explain", "float-as-string"])
    assert result.exit_code == 0 and "SDM101" in result.stdout and "2.0e-4" in result.stdout
    assert runner.invoke(app, ["lint", "--explain", "SDM999"]).exit_code == 2


def _sdmspec(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NO_COLOR": "1"}
    return subprocess.run(
        [sys.executable, "-m", "sdmspec", *args], cwd=cwd, capture_output=True, text=True, timeout=120, env=env
    )


@pytest.mark.parametrize(
    "args",
    [
        ["lint", "does-not-exist/"],
        ["lint", "configs", "--spec", "no-such-spec"],
        ["lint", "configs", "--select", "NOPE"],
        ["lint", "configs", "--format", "xml"],
    ],
)
def test_usage_errors_exit_2_without_traceback(repo: Path, args: list[str]) -> None:
    result = _sdmspec(*args, cwd=repo)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr


def test_lint_never_imports_torch(repo: Path) -> None:
    code = (
        "import sys\n"
        "from sdmspec.cli.app import main\n"
        "try:\n    main(['lint', 'configs/'])\nexcept SystemExit as exit:\n    code = exit.code\n"
        "print('torch' in sys.modules, code)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=repo, capture_output=True, text=True, timeout=120)
    assert result.stdout.strip().splitlines()[-1] == "False 0", result.stderr
