"""Findings about the configs as a whole (SDM203) are anchored at the setting's definition in the spec's files."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from mamba_sdm.spec import Spec
from sdmspec.lint import lint_paths, lint_text
from sdmspec.lint.spec_positions import definitions, setting_definitions, spec_files
from sdmspec.report import render
from sdmspec.schema import load_spec
from shared_data import validate_sarif

MISSING = "training.finetune.warmup_steps_ratio"


def _definition_line(spec_dir: Path, key: str) -> tuple[str, int, int]:
    """Where ``key`` is defined, found by reading the text line by line (independent of the YAML node graph)."""
    *sections, name = ["config", *key.split(".")]
    for path in spec_files(spec_dir):
        depth, indent = 0, -1
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            stripped = line.lstrip(" ")
            if not stripped or stripped.startswith("#"):
                continue
            here = len(line) - len(stripped)
            if depth and here <= indent:
                break  # left the section being searched
            wanted = sections[depth] if depth < len(sections) else name
            if stripped.startswith(f"{wanted}:"):
                if depth == len(sections):
                    return path.name, number, here + 1
                depth, indent = depth + 1, here
    raise AssertionError(f"{key} not found in {spec_dir}")


def test_every_setting_has_its_definition(repo: Path, spec: Spec) -> None:
    found = definitions(spec_files(repo / "spec"))
    assert set(found) == set(spec.settings)
    for key in (MISSING, "training.pretrain.batch_size", "environment.pytorch"):
        where = found[key]
        assert (Path(where.file).name, where.line, where.column) == _definition_line(repo / "spec", key)


def test_missing_setting_points_at_the_spec(repo: Path, spec: Spec) -> None:
    result = lint_text("training:\n  pretrain:\n    batch_size: 128\n", spec, select=["SDM203"])
    by_key = {d.key: d for d in result.diagnostics}
    anchor = by_key[MISSING].spec_location
    assert anchor is not None
    assert (Path(anchor.file).name, anchor.line, anchor.column) == _definition_line(repo / "spec", MISSING)
    assert Path(anchor.file).resolve().parent == (repo / "spec").resolve()
    assert all(d.file is None and d.line is None and d.spec_location is not None for d in result.diagnostics)


def test_a_spec_elsewhere_is_found_through_spec_path(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A spec copy with extra lines on top: the anchor follows the copy's lines, not the repo's."""
    copy = tmp_path / "elsewhere" / "myspec"
    shutil.copytree(repo / "spec", copy)
    config = copy / "config.yaml"
    config.write_text("# a comment\n# and another\n" + config.read_text(encoding="utf-8"), encoding="utf-8")
    spec = load_spec(copy)
    configs = tmp_path / "configs"
    configs.mkdir()
    (configs / "a.yaml").write_text("training: {pretrain: {batch_size: 128}}\n")
    monkeypatch.chdir(tmp_path)
    result = lint_paths([configs], spec, select=["SDM203"], spec_path=copy)
    (missing,) = [d for d in result.diagnostics if d.key == MISSING]
    assert missing.spec_location is not None
    assert Path(missing.spec_location.file).resolve() == config.resolve()
    moved = _definition_line(copy, MISSING)[1]
    assert missing.spec_location.line == moved == _definition_line(repo / "spec", MISSING)[1] + 2
    # A comment added later moves the definition, not the spec's values (nor its digest): the anchor follows it.
    config.write_text("# one more\n" + config.read_text(encoding="utf-8"), encoding="utf-8")
    again = lint_paths([configs], spec, select=["SDM203"], spec_path=copy)
    assert {d.spec_location.line for d in again.diagnostics if d.key == MISSING and d.spec_location} == {moved + 1}
    # Without the path, nothing above the current folder or the configs holds that spec: no anchor is guessed.
    unanchored = lint_paths([configs], spec, select=["SDM203"])
    assert all(d.spec_location is None for d in unanchored.diagnostics)


def test_another_spec_is_never_used(repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """spec/ above the configs holds a different spec than the one linted: no anchor rather than a wrong one."""
    changed = tmp_path / "spec"
    shutil.copytree(repo / "spec", changed)
    config = changed / "config.yaml"
    config.write_text(config.read_text(encoding="utf-8").replace("exact: 0.1", "exact: 0.2", 1), encoding="utf-8")
    configs = tmp_path / "configs"
    configs.mkdir()
    (configs / "a.yaml").write_text("training: {pretrain: {batch_size: 128}}\n")
    monkeypatch.chdir(tmp_path)
    spec = load_spec(repo / "spec")
    assert load_spec(changed).digest != spec.digest
    result = lint_paths([configs], spec, select=["SDM203"])
    assert result.diagnostics and all(d.spec_location is None for d in result.diagnostics)
    # SARIF still gives every result a physical location: the folder holding the linted configs.
    log = json.loads(render("sarif", result))
    uris = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in log["runs"][0]["results"]}
    assert uris == {"configs/"}
    assert all(line.startswith("::warning title=") for line in render("github", result).splitlines())
    validate_sarif(log)


def test_a_spec_built_in_memory_has_no_anchor(spec: Spec) -> None:
    unsaved = spec.model_copy(update={"digest": ""})
    assert setting_definitions(unsaved) == {}


def test_json_keeps_file_and_line_null_and_adds_spec_location(repo: Path, spec: Spec) -> None:
    report = json.loads(render("json", lint_text("training: {}\n", spec, select=["SDM203"])))
    missing = next(d for d in report["diagnostics"] if d["key"] == MISSING)
    assert (missing["file"], missing["line"], missing["column"]) == (None, None, None)
    where = missing["spec_location"]
    assert (Path(where["file"]).name, where["line"], where["column"]) == _definition_line(repo / "spec", MISSING)
    others = json.loads(render("json", lint_text("x: yes\n", spec, ignore=["SDM203"])))["diagnostics"]
    assert others and all(d["spec_location"] is None for d in others)
