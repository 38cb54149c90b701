"""Files given one by one (pre-commit's changed configs) are judged in the context of their config folder."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mamba_sdm.spec import Spec
from sdmspec.cli.app import app
from sdmspec.lint import LintResult, fix_paths, lint_paths
from sdmspec.lint.context import context_files

runner = CliRunner()

CHANGED = "training:\n  pretrain:\n    batch_size: 64\n"  # 64: a value error, and a conflict with 128 below
SIBLING = "environment:\n  pytorch: '2.2'\ntraining:\n  pretrain:\n    batch_size: 128\n"  # 2.2: its own error


def _write(folder: Path, files: dict[str, str]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")


def _found(result: LintResult) -> set[tuple[str | None, int | None, str, str | None]]:
    return {(d.file and Path(d.file).name, d.line, d.code, d.key) for d in result.diagnostics}


def _missing(result: LintResult) -> set[str | None]:
    return {d.key for d in result.diagnostics if d.code == "SDM203"}


def test_a_setting_a_sibling_sets_is_not_missing(tmp_path: Path, spec: Spec) -> None:
    _write(tmp_path, {"changed.yaml": CHANGED, "sibling.yaml": SIBLING})
    result = lint_paths([tmp_path / "changed.yaml"], spec, select=["SDM203"])
    isolated = lint_paths([tmp_path / "changed.yaml"], spec, select=["SDM203"], isolated=True)
    assert "environment.pytorch" in _missing(isolated)
    assert "environment.pytorch" not in _missing(result)
    assert _missing(result) == _missing(lint_paths([tmp_path], spec, select=["SDM203"]))


def test_a_conflict_with_an_unchanged_sibling_is_reported_at_the_given_file(tmp_path: Path, spec: Spec) -> None:
    # "a_" sorts first: linting the folder reports the conflict at the sibling; the given file must get it here.
    _write(tmp_path, {"a_changed.yaml": CHANGED, "sibling.yaml": SIBLING})
    result = lint_paths([tmp_path / "a_changed.yaml"], spec, select=["SDM401"])
    (conflict,) = result.diagnostics
    assert (Path(conflict.file or "").name, conflict.line, conflict.column) == ("a_changed.yaml", 3, 17)
    (there,) = conflict.related
    assert (Path(there.file).name, there.line, there.column) == ("sibling.yaml", 5, 17)
    assert "sibling.yaml:5:17" in conflict.message
    assert lint_paths([tmp_path / "a_changed.yaml"], spec, select=["SDM401"], isolated=True).diagnostics == ()


def test_the_siblings_own_findings_are_not_reported(tmp_path: Path, spec: Spec) -> None:
    _write(tmp_path, {"changed.yaml": CHANGED, "sibling.yaml": SIBLING, "broken.yaml": "training: [unclosed\n"})
    result = lint_paths([tmp_path / "changed.yaml"], spec)
    assert result.files == 1
    assert {d.file and Path(d.file).name for d in result.diagnostics} <= {"changed.yaml", None}
    assert ("changed.yaml", 3, "SDM201", "training.pretrain.batch_size") in _found(result)
    # The sibling's own value error (PyTorch 2.2) and the broken file's syntax error appear only when they are linted.
    folder = _found(lint_paths([tmp_path], spec))
    assert ("sibling.yaml", 2, "SDM201", "environment.pytorch") in folder
    assert any(name == "broken.yaml" and code == "SDM001" for name, _, code, _ in folder)


def test_isolated_on_the_cli_judges_the_file_alone(tmp_path: Path, repo: Path) -> None:
    _write(tmp_path, {"changed.yaml": CHANGED, "sibling.yaml": SIBLING})
    args = ["lint", str(tmp_path / "changed.yaml"), "--spec", str(repo / "spec"), "-f", "json"]
    judged = json.loads(runner.invoke(app, args).stdout)
    alone = json.loads(runner.invoke(app, [*args, "--isolated"]).stdout)
    in_context = {(d["code"], d["key"]) for d in judged["diagnostics"]}
    isolated = {(d["code"], d["key"]) for d in alone["diagnostics"]}
    assert ("SDM401", "training.pretrain.batch_size") in in_context - isolated
    assert ("SDM203", "environment.pytorch") in isolated - in_context
    assert judged["summary"]["files"] == alone["summary"]["files"] == 1


def _seed_json(*args: str) -> dict:  # type: ignore[type-arg]
    return json.loads(runner.invoke(app, ["lint", *args, "-f", "json"]).stdout)  # type: ignore[no-any-return]


def _rows(report: dict) -> set[tuple[str | None, int | None, str, str | None]]:  # type: ignore[type-arg]
    return {(d["file"] and Path(d["file"]).name, d["line"], d["code"], d["key"]) for d in report["diagnostics"]}


def test_one_seed_file_gets_its_folder_findings(repo: Path, seed_configs: Path) -> None:
    spec_args = ("--spec", str(repo / "spec"))
    folder = _seed_json(str(seed_configs), *spec_args)
    assert folder["summary"] == {**folder["summary"], "files": 4, "errors": 8, "warnings": 3, "infos": 2}
    alone = _seed_json(str(seed_configs / "pretrain_sdm.yaml"), *spec_args)
    # Exactly what linting the folder says about this file, and about the configs as a whole.
    assert _rows(alone) == {row for row in _rows(folder) if row[0] in ("pretrain_sdm.yaml", None)}
    assert ("pretrain_sdm.yaml", 4, "SDM401", "training.pretrain.batch_size") in _rows(alone)
    (conflict,) = [d for d in alone["diagnostics"] if d["code"] == "SDM401"]
    assert "mamba_370m.yaml:8:17" in conflict["message"]
    assert {d["key"] for d in alone["diagnostics"] if d["code"] == "SDM203"} == {"training.finetune.warmup_steps_ratio"}
    assert alone["summary"] == {**alone["summary"], "files": 1, "errors": 3, "warnings": 2, "infos": 0}
    # The other side of the conflict, given alone, is told too, naming the unchanged file.
    other = _seed_json(str(seed_configs / "mamba_370m.yaml"), *spec_args)
    (conflict,) = [d for d in other["diagnostics"] if d["code"] == "SDM401"]
    assert (Path(conflict["file"]).name, conflict["line"]) == ("mamba_370m.yaml", 8)
    assert "pretrain_sdm.yaml:4:17" in conflict["message"]


def test_a_file_in_configs_takes_the_whole_configs_tree(
    tmp_path: Path, spec: Spec, monkeypatch: pytest.MonkeyPatch
) -> None:
    _write(tmp_path / "configs", {"changed.yaml": CHANGED})
    _write(tmp_path / "configs" / "models", {"mamba.yaml": SIBLING})
    _write(tmp_path / "elsewhere", {"stray.yaml": "environment:\n  cuda: '11.8'\n"})
    monkeypatch.chdir(tmp_path)
    given = [Path("configs/changed.yaml")]
    assert context_files(given, given) == [Path("configs/models/mamba.yaml")]
    nested = [Path("configs/models/mamba.yaml")]
    assert context_files(nested, nested) == [Path("configs/changed.yaml")]
    assert context_files([Path("elsewhere/stray.yaml")], [Path("elsewhere/stray.yaml")]) == []
    result = lint_paths(given, spec, select=["SDM203", "SDM401"])
    assert "environment.pytorch" not in _missing(result)
    assert {d.code for d in result.diagnostics if d.file} == {"SDM401"}


def test_files_outside_configs_take_their_own_folder_only(tmp_path: Path) -> None:
    _write(tmp_path, {"a.yaml": CHANGED, "b.yml": SIBLING, "notes.txt": "x"})
    _write(tmp_path / "sub", {"c.yaml": SIBLING})
    assert context_files([tmp_path / "a.yaml"], [tmp_path / "a.yaml"]) == [tmp_path / "b.yml"]
    # A folder given is linted whole and needs no context.
    assert context_files([tmp_path], [tmp_path / "a.yaml", tmp_path / "b.yml"]) == []


def test_a_divisor_set_only_by_a_sibling_is_checked_at_the_given_dividend(tmp_path: Path, spec: Spec) -> None:
    _write(
        tmp_path,
        {
            "changed.yaml": "training:\n  finetune:\n    batch_size: 30\n",
            "sibling.yaml": "training:\n  finetune:\n    micro_batch_size: 8\n",
        },
    )
    (finding,) = lint_paths([tmp_path / "changed.yaml"], spec, select=["SDM402"]).diagnostics
    assert (Path(finding.file or "").name, finding.line, finding.key) == (
        "changed.yaml",
        3,
        "training.finetune.batch_size",
    )
    assert "sibling.yaml:3" in finding.message
    # Given alone, the spec's micro-batch (8) is used instead: still failing, but it names the spec.
    (alone,) = lint_paths([tmp_path / "changed.yaml"], spec, select=["SDM402"], isolated=True).diagnostics
    assert "the spec's value" in alone.message


def test_fix_edits_only_the_given_files(tmp_path: Path, spec: Spec) -> None:
    sibling = "training:\n  pretrain:\n    learning_rate: 2e-4\n"
    _write(tmp_path, {"changed.yaml": "training:\n  finetune:\n    learning_rate: 1e-4\n", "sibling.yaml": sibling})
    outcome = fix_paths([tmp_path / "changed.yaml"], spec)
    assert [change.path.name for change in outcome.changes] == ["changed.yaml"]
    assert (tmp_path / "changed.yaml").read_text() == "training:\n  finetune:\n    learning_rate: 1.0e-4\n"
    assert (tmp_path / "sibling.yaml").read_text() == sibling
    assert outcome.result.files == 1
    assert "training.pretrain.learning_rate" not in _missing(outcome.result)
