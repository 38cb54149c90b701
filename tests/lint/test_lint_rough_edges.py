"""Rough edges a new user hits: a config no job can read fails lint; machine formats print one document always."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sdmspec.cli.app import app
from sdmspec_cli import run_sdmspec
from shared_data import validate_sarif

runner = CliRunner()


def _lint(repo: Path, *args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["lint", *args, "--spec", str(repo / "spec")])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.parametrize("text", ["just a string\n", "- training\n", "- batch_size: 128\n- max_epochs: 20\n", "42\n"])
def test_a_document_that_is_not_a_mapping_is_an_error(repo: Path, tmp_path: Path, text: str) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(text)
    code, stdout, _ = _lint(repo, str(config), "--format", "json", "--select", "SDM0")
    assert code == 1
    report = json.loads(stdout)
    assert [(d["code"], d["severity"], d["line"], d["column"]) for d in report["diagnostics"]] == [
        ("SDM004", "error", 1, 1)
    ]
    assert report["summary"]["errors"] == 1


def test_explain_states_the_error_severity(repo: Path) -> None:
    code, stdout, _ = _lint(repo, "--explain", "SDM004")
    assert code == 0 and stdout.startswith("SDM004 (not-a-mapping), default severity error")


def test_an_empty_document_is_still_not_an_error(repo: Path, tmp_path: Path) -> None:
    (tmp_path / "empty.yaml").write_text("# nothing yet\n")
    code, stdout, _ = _lint(repo, str(tmp_path / "empty.yaml"), "--format", "json", "--select", "SDM0")
    assert code == 0
    assert [(d["code"], d["severity"]) for d in json.loads(stdout)["diagnostics"]] == [("SDM005", "info")]


def _nothing_to_lint(tmp_path: Path) -> dict[str, Path]:
    """Every way a path names no YAML file: a folder named like a file, an empty folder, a folder of other files."""
    (tmp_path / "dir.yaml").mkdir()
    (tmp_path / "empty").mkdir()
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "README.md").write_text("# configs go here\n")
    (tmp_path / "notes" / "nested").mkdir()
    return {name: tmp_path / name for name in ("dir.yaml", "empty", "notes")}


@pytest.mark.parametrize("which", ["dir.yaml", "empty", "notes"])
def test_json_prints_one_document_when_there_is_nothing_to_lint(repo: Path, tmp_path: Path, which: str) -> None:
    target = _nothing_to_lint(tmp_path)[which]
    code, stdout, stderr = _lint(repo, str(target), "--format", "json")
    assert code == 0
    report = json.loads(stdout)
    assert report["diagnostics"] == []
    expected = {"files": 0, "errors": 0, "warnings": 0, "infos": 0, "fixable": 0, "fixed": 0, "loader": "yaml"}
    assert report["summary"] == expected
    assert report["notices"] == [f"no YAML files under {target}"]
    assert "no YAML files" in stderr


@pytest.mark.parametrize("which", ["dir.yaml", "empty", "notes"])
def test_sarif_prints_one_valid_log_when_there_is_nothing_to_lint(repo: Path, tmp_path: Path, which: str) -> None:
    target = _nothing_to_lint(tmp_path)[which]
    code, stdout, _ = _lint(repo, str(target), "--format", "sarif")
    assert code == 0
    log = json.loads(stdout)
    (run,) = log["runs"]
    assert run["results"] == []
    (invocation,) = run["invocations"]
    assert invocation["executionSuccessful"] is True
    assert [n["message"]["text"] for n in invocation["toolExecutionNotifications"]] == [f"no YAML files under {target}"]
    validate_sarif(log)


def test_nothing_to_lint_with_fix_and_output_writes_the_document(repo: Path, tmp_path: Path) -> None:
    target = _nothing_to_lint(tmp_path)["dir.yaml"]
    out = tmp_path / "report.json"
    code, stdout, _ = _lint(repo, str(target), "--fix", "--format", "json", "--output", str(out))
    assert code == 0 and stdout == ""
    assert json.loads(out.read_text())["summary"]["files"] == 0


def test_github_format_annotates_nothing_to_lint(repo: Path, tmp_path: Path) -> None:
    target = _nothing_to_lint(tmp_path)["empty"]
    code, stdout, _ = _lint(repo, str(target), "--format", "github")
    assert code == 0
    assert stdout.splitlines() == [f"::warning title=sdmspec lint::no YAML files under {target}"]


def test_text_format_keeps_stdout_empty_and_warns_on_stderr(repo: Path, tmp_path: Path) -> None:
    code, stdout, stderr = _lint(repo, str(_nothing_to_lint(tmp_path)["dir.yaml"]))
    assert code == 0 and stdout == ""
    assert stderr.startswith("sdmspec: warning: no YAML files under ")


def test_machine_formats_of_a_normal_run_carry_no_notices(repo: Path) -> None:
    code, stdout, _ = _lint(repo, str(repo / "configs"), "--format", "json")
    assert code == 0 and json.loads(stdout)["notices"] == []
    code, stdout, _ = _lint(repo, str(repo / "configs"), "--format", "sarif")
    assert code == 0 and "invocations" not in json.loads(stdout)["runs"][0]


def test_a_missing_path_is_a_usage_error_without_a_document(repo: Path, tmp_path: Path) -> None:
    # Exit 2 (cannot run) is the one case without a document: one error line on stderr, as the exit-code table says.
    done = run_sdmspec("lint", str(tmp_path / "missing.yaml"), "--spec", str(repo / "spec"), "--format", "json")
    assert done.returncode == 2 and done.stdout == ""
    assert len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr
