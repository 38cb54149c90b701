"""`sdmspec env`: one row per environment item with expected, found, status; --strict gates on deviations."""

from __future__ import annotations

import json
import subprocess
from typing import Any

import pytest
from workflow_helpers import CLI, run_sdmspec

ROWS = {"gpu", "gpu memory", "cuda", "pytorch", "pytorch build", "mamba-ssm", "causal-conv1d", "fvcore"}


@pytest.fixture(scope="module")
def json_run() -> subprocess.CompletedProcess[str]:
    return run_sdmspec("env", "--format", "json")


@pytest.mark.train
def test_json_report(json_run: subprocess.CompletedProcess[str]) -> None:
    assert json_run.returncode == 0, json_run.stderr
    report: dict[str, Any] = json.loads(json_run.stdout)
    assert {row["name"] for row in report["rows"]} == ROWS
    for row in report["rows"]:
        assert set(row) >= {"name", "expected", "found", "status", "gating", "source"}
        assert row["status"] in {"ok", "mismatch", "missing", "info"}
    by_name = {row["name"]: row for row in report["rows"]}
    assert by_name["pytorch"]["expected"] == "2.1"
    assert by_name["gpu"]["expected"] == "NVIDIA A100 80GB"
    assert by_name["pytorch"]["found"] == report["live"]["torch"]
    gating_ok = all(row["status"] == "ok" for row in report["rows"] if row["gating"])
    assert report["matches_spec"] is gating_ok


def test_strict_exit_code_follows_the_verdict(sdmspec: CLI, json_run: subprocess.CompletedProcess[str]) -> None:
    report = json.loads(json_run.stdout)
    strict = sdmspec("env", "--format", "json", "--strict")
    assert strict.returncode == (0 if report["matches_spec"] else 1)


def test_text_table(sdmspec: CLI) -> None:
    result = sdmspec("env")
    assert result.returncode == 0
    for name in ROWS:
        assert name in result.stdout
    assert "matches the spec" in result.stdout or "gating deviation" in result.stdout


def test_bad_options_exit_2(sdmspec: CLI, tmp_path) -> None:
    assert sdmspec("env", "--format", "xml").returncode == 2
    missing = sdmspec("env", "--spec", str(tmp_path / "nowhere"))
    assert missing.returncode == 2
    assert missing.stderr.startswith("sdmspec: error:")
