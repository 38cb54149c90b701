"""Reporters: the JSON contract, GitHub workflow commands, SARIF 2.1.0 valid against its schema, and the text report."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mamba_sdm.spec import Spec
from sdmspec.cli.app import app
from sdmspec.lint import Diagnostic, LintResult, Location, Severity, lint_paths
from sdmspec.lint.rules import RULES
from sdmspec.report import ReportOptions, render
from sdmspec.report.github import annotation
from shared_data import validate_sarif

runner = CliRunner()


@pytest.fixture(scope="module")
def seed_result(seed_configs: Path, spec: Spec) -> LintResult:
    return lint_paths([seed_configs], spec)


def _definition(result: LintResult, key: str) -> Location:
    spec_location = next(d.spec_location for d in result.diagnostics if d.key == key and d.code == "SDM203")
    assert spec_location is not None
    return spec_location


def test_sarif_is_valid_and_complete(seed_result: LintResult) -> None:
    log = json.loads(render("sarif", seed_result))
    (run,) = log["runs"]
    rules = run["tool"]["driver"]["rules"]
    assert [rule["id"] for rule in rules] == list(RULES)
    assert all(rule["help"]["text"].startswith(rule["id"]) for rule in rules)
    results = run["results"]
    assert len(results) == len(seed_result.diagnostics)
    assert all(rules[r["ruleIndex"]]["id"] == r["ruleId"] for r in results)
    levels = {(r["ruleId"], r["level"]) for r in results}
    assert {("SDM201", "error"), ("SDM101", "warning"), ("SDM202", "note")} <= levels
    (conflict,) = [r for r in results if r["ruleId"] == "SDM401"]
    assert conflict["relatedLocations"][0]["physicalLocation"]["artifactLocation"]["uri"].endswith("mamba_370m.yaml")
    # Code scanning drops results without a physical location: every result has one.
    assert all(any("physicalLocation" in where for where in r.get("locations", [])) for r in results)
    (missing,) = [r for r in results if r["ruleId"] == "SDM203"]
    (anchor,) = missing["locations"]
    definition = _definition(seed_result, "training.finetune.warmup_steps_ratio")
    assert anchor["physicalLocation"]["artifactLocation"]["uri"].endswith("spec/config.yaml")
    assert anchor["physicalLocation"]["region"] == {"startLine": definition.line, "startColumn": definition.column}
    assert Path(definition.file).name == "config.yaml"
    region = next(r for r in results if r["ruleId"] == "SDM101")["locations"][0]["physicalLocation"]["region"]
    assert region["startColumn"] == 20 and run["columnKind"] == "unicodeCodePoints"
    assert any("fixes" in r for r in results)
    validate_sarif(log)


def test_sarif_of_a_clean_run_is_valid(repo: Path, spec: Spec) -> None:
    log = json.loads(render("sarif", lint_paths([repo / "configs"], spec, select=["SDM1", "SDM3", "SDM4"])))
    assert log["runs"][0]["results"] == []
    validate_sarif(log)


def test_github_annotations(seed_result: LintResult) -> None:
    lines = render("github", seed_result).splitlines()
    assert len(lines) == len(seed_result.diagnostics)
    batch = next(line for line in lines if "line=4,col=17" in line and "SDM201" in line)
    assert batch.startswith("::error file=") and batch.endswith("(source: Phase A, SDM pre-training: batch size 128)")
    assert "title=SDM201 value-mismatch::" in batch
    assert any(line.startswith("::notice ") for line in lines)
    missing = next(line for line in lines if "SDM203" in line)
    definition = _definition(seed_result, "training.finetune.warmup_steps_ratio")
    assert missing.startswith("::warning file=") and "spec/config.yaml," in missing
    assert f",line={definition.line},col={definition.column},title=SDM203 missing-setting::" in missing


def test_github_escapes_what_would_break_a_command() -> None:
    diagnostic = Diagnostic(
        "a,b:c.yaml", 1, 2, 1, 5, "SDM201", "value-mismatch", Severity.ERROR, "50% off\nsecond line"
    )
    assert annotation(diagnostic) == (
        "::error file=a%2Cb%3Ac.yaml,line=1,col=2,endLine=1,endColumn=5,title=SDM201 value-mismatch::"
        "50%25 off%0Asecond line"
    )


def test_text_report_statistics_and_source(seed_configs: Path, repo: Path) -> None:
    args = ["lint", str(seed_configs), "--spec", str(repo / "spec"), "--statistics", "--show-source"]
    result = runner.invoke(app, args)
    assert "     batch_size: 24" in result.stdout
    assert "|                 ^^" in result.stdout
    assert "Statistics" in result.stdout and "value-mismatch" in result.stdout
    assert "[*] 2 fixable with --fix." in result.stdout


def test_output_file_gets_the_report(seed_configs: Path, repo: Path, tmp_path: Path) -> None:
    target = tmp_path / "out" / "lint.json"
    args = ["lint", str(seed_configs), "--spec", str(repo / "spec"), "-f", "json", "-o", str(target)]
    result = runner.invoke(app, args)
    assert result.exit_code == 1 and result.stdout == ""
    assert json.loads(target.read_text())["summary"]["errors"] == 8


def test_exit_zero(seed_configs: Path, repo: Path) -> None:
    args = ["lint", str(seed_configs), "--spec", str(repo / "spec"), "--exit-zero", "-f", "json"]
    assert runner.invoke(app, args).exit_code == 0


def test_clean_text_report(repo: Path, spec: Spec) -> None:
    text = render("text", lint_paths([repo / "configs"], spec, ignore=["SDM202"]), ReportOptions())
    assert text.strip() == "All checks passed (4 files). Loader: yaml."
