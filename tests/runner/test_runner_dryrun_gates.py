"""`sdmspec run --dry-run` shows the plan it would run and names every gate that would refuse (exit 1)."""

from __future__ import annotations

import shutil
from pathlib import Path

from typer.testing import CliRunner

from sdmspec.cli.app import app

SUMMARY = "selected stage(s) to run; nothing was launched."


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["run", *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.output


def _configs_with_a_mismatch(repo: Path, tmp_path: Path) -> Path:
    """The repo's configs with one value unlike the paper's (MNLI 8 epochs): a lint error the settings survive."""
    configs = tmp_path / "configs"
    shutil.copytree(repo / "configs", configs)
    model = configs / "mamba_130m.yaml"
    text = model.read_text()
    assert "  mnli: 10\n" in text
    model.write_text(text.replace("  mnli: 10\n", "  mnli: 8\n"))
    return configs


def test_dry_run_on_a_machine_unlike_the_spec_shows_the_plan_and_the_refusal(repo: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    code, output = _run(
        "--configs", str(repo / "configs"), "--spec", str(repo / "spec"), "--dry-run", "--out", str(out)
    )
    assert code == 1  # this CPU machine is not an A100 with CUDA 12.1 and PyTorch 2.1
    assert "gpu: expected NVIDIA A100 80GB" in output
    for name in ("pretrain/mamba-130m-sdm", "verify/mamba-370m-challenge", "profile", "report"):
        assert name in output
    assert "python -m sdmspec job pretrain --variant mamba-130m-sdm" in output
    assert SUMMARY in output
    (refusal,) = [line for line in output.splitlines() if line.startswith("would refuse:")]
    assert "environment" in refusal and "--allow-env-mismatch" in refusal
    # The verdict comes last, after the plan, where a reader of a terminal sees it.
    assert output.rstrip().endswith(refusal)
    assert output.index(SUMMARY) < output.index(refusal)
    assert "refused:" not in output.replace("would refuse:", "")
    assert not out.exists()


def test_dry_run_with_an_accepted_mismatch_shows_the_plan_and_exits_0(repo: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    code, output = _run("--configs", str(repo / "configs"), "--dry-run", "--allow-env-mismatch", "--out", str(out))
    assert code == 0
    assert "accepted (--allow-env-mismatch)" in output and SUMMARY in output
    assert "would refuse" not in output
    assert not out.exists()


def test_dry_run_with_lint_errors_shows_the_findings_the_plan_and_the_refusal(repo: Path, tmp_path: Path) -> None:
    configs = _configs_with_a_mismatch(repo, tmp_path)
    out = tmp_path / "run"
    code, output = _run("--configs", str(configs), "--smoke", "--dry-run", "--out", str(out))
    assert code == 1
    assert "SDM201" in output and "epochs.mnli" in output  # the finding, as `sdmspec lint` shows it
    assert "finetune/mamba-130m-sdm/mnli" in output and "run (new)" in output
    assert f"40 of 40 {SUMMARY}" in output
    refusals = [line for line in output.splitlines() if line.startswith("would refuse:")]
    assert len(refusals) == 1 and "1 lint error(s)" in refusals[0] and "sdmspec lint" in refusals[0]
    assert output.index(SUMMARY) < output.index(refusals[0])
    assert not out.exists()


def test_dry_run_whose_configs_do_not_resolve_still_shows_the_stages(seed_configs: Path, tmp_path: Path) -> None:
    # The seed's '3e-4' is a string where a float is needed: no settings, so no fingerprints, but the stages are known.
    out = tmp_path / "run"
    code, output = _run("--configs", str(seed_configs), "--dry-run", "--out", str(out))
    assert code == 1
    assert "settings unknown:" in output and "training.finetune.learning_rate" in output
    assert "run (settings unknown)" in output and "pretrain/mamba-370m-sdm" in output
    assert SUMMARY in output
    refusals = [line for line in output.splitlines() if line.startswith("would refuse:")]
    assert [("lint error" in line, "environment" in line) for line in refusals] == [(True, False), (False, True)]
    assert not out.exists()


def test_a_real_run_still_stops_at_the_first_refusing_gate_without_a_plan(seed_configs: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    code, output = _run("--configs", str(seed_configs), "--out", str(out))
    assert code == 1
    refusals = [line for line in output.splitlines() if line.startswith("refused:")]
    assert len(refusals) == 1 and "lint error(s)" in refusals[0]
    assert SUMMARY not in output and "environment:" not in output
    assert not out.exists()


def test_dry_run_shows_precision_and_trackers_forwarded_to_the_training_jobs(repo: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    code, output = _run(
        "--configs", str(repo / "configs"), "--dry-run", "--allow-env-mismatch", "--out", str(out),
        "--precision", "fp32", "--report-to", "tensorboard", "--report-to", "mlflow",
    )  # fmt: skip
    assert code == 0
    flat = " ".join(output.split())  # the table folds long commands
    assert "--precision fp32 --report-to tensorboard --report-to mlflow" in flat
    assert flat.count("--precision fp32") == 4 + 28  # 4 pre-trainings, 7 variants x 4 tasks
