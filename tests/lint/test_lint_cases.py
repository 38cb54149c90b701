"""Acceptance cases under tests/cases/<name>/: input YAML linted through the real CLI, findings as recorded."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sdmspec.cli.app import app

CASES = Path(__file__).resolve().parents[1] / "cases"
runner = CliRunner()


@pytest.mark.parametrize("case", sorted(p.name for p in CASES.iterdir() if (p / "expected.json").is_file()))
def test_case(case: str, repo: Path) -> None:
    expected = json.loads((CASES / case / "expected.json").read_text())
    args = ["lint", str(CASES / case / "input"), "--spec", str(repo / "spec"), "-f", "json", *expected["args"]]
    result = runner.invoke(app, args)
    report = json.loads(result.stdout)
    found = [[Path(d["file"]).name, d["line"], d["column"], d["code"]] for d in report["diagnostics"]]
    assert found == expected["diagnostics"]
    assert result.exit_code == expected["exit_code"]


def test_there_are_cases() -> None:
    assert len([p for p in CASES.iterdir() if (p / "expected.json").is_file()]) >= 5
