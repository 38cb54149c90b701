"""`sdmspec run` refuses before anything starts: lint errors, an environment unlike the spec's (unless accepted)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sdmspec.cli.app import app


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["run", *args])
    return result.exit_code, result.output


@pytest.mark.parametrize("smoke", [False, True])
def test_seed_configs_are_refused_with_their_violations_and_nothing_written(
    seed_configs: Path, tmp_path: Path, smoke: bool
) -> None:
    out = tmp_path / "run"
    code, output = _run("--configs", str(seed_configs), "--out", str(out), *(["--smoke"] if smoke else []))
    assert code == 1
    assert "refused" in output
    for violation in ("SDM201", "training.pretrain.batch_size", "max_epochs", "learning_rate", "epochs.mnli"):
        assert violation in output
    assert not out.exists()  # no manifest, no log, no checkpoint


def test_an_environment_unlike_the_spec_is_refused(repo: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    code, output = _run("--configs", str(repo / "configs"), "--spec", str(repo / "spec"), "--out", str(out))
    assert code == 1  # this CPU machine is not an A100 with CUDA 12.1 and PyTorch 2.1
    assert "refused" in output and "--allow-env-mismatch" in output
    assert "gpu: expected NVIDIA A100 80GB" in output
    assert not out.exists()


@pytest.mark.parametrize("smoke", [False, True])
def test_an_accepted_mismatch_is_recorded_as_a_deviation(repo: Path, tmp_path: Path, smoke: bool) -> None:
    out = tmp_path / "run"
    flag = "--smoke" if smoke else "--allow-env-mismatch"
    # Only the report: it needs no upstream, so the gate and the record are exercised in seconds.
    code, output = _run("--configs", str(repo / "configs"), "--out", str(out), flag, "--only", "report")
    assert code == 0, output
    manifest = json.loads((out / "manifest.json").read_text())
    deviations = {(d["kind"], d["name"]) for d in manifest["deviations"]}
    assert ("environment", "gpu") in deviations
    assert (("scale", "smoke") in deviations) is smoke
    assert manifest["smoke"] is smoke
    assert manifest["environment"]["matches_spec"] is False
    report = (out / "report.md").read_text()
    assert "Deviations from the spec" in report and "NVIDIA A100 80GB" in report
    assert ("Smoke run" in report) is smoke
    assert set(manifest["stages"]) > {"report"}  # the whole plan is recorded, only the report ran
    assert {r["status"] for n, r in manifest["stages"].items() if n != "report"} == {"pending"}


def test_dry_run_prints_every_stage_with_its_command_and_launches_nothing(repo: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    code, output = _run("--configs", str(repo / "configs"), "--smoke", "--dry-run", "--out", str(out))
    assert code == 0
    for name in ("pretrain/mamba-130m-sdm", "challenge/mamba-130m-random", "verify/mamba-370m-challenge",
                 "finetune/mamba-370m-challenge/mrpc", "profile", "report"):  # fmt: skip
        assert name in output
    assert "python -m sdmspec job challenge --variant mamba-130m-challenge" in output
    assert "$OUT/verify/mamba-130m-challenge/iso_sparsity.json" in output
    assert "40 of 40 selected stage(s) to run; nothing was launched." in output
    assert not out.exists()


def test_usage_errors_exit_2(repo: Path, tmp_path: Path) -> None:
    from sdmspec.cli.app import main

    def code(*args: str) -> int:
        with pytest.raises(SystemExit) as exit_info:
            main(["run", "--configs", str(repo / "configs"), "--smoke", "--out", str(tmp_path / "o"), *args])
        return int(exit_info.value.code or 0)

    assert code("--only", "nonsense-stage") == 2
    assert code("--launcher", "kubernetes", "--dry-run") == 2
    assert code("--only", "finetune") == 2  # its upstreams are neither selected nor done
