"""A spec that does not load: every problem reported at once, at spec/FILE:LINE:COL, in lint's formats; exit 2."""

from __future__ import annotations

import json
from pathlib import Path

from workflow_helpers import CLI

BROKEN_CONFIG = """\
config:
  training:
    batch_size: {type: int, exact: 256, ranges: [1, 512], source: "3.4: mini-batch size of 256"}
    lr: {type: float, exact: 0.1}
rules:
  - {kind: divides, divisor: training.batch_siz, dividend: training.batch_size, source: s}
"""


def _broken(tmp_path: Path, configs: bool) -> Path:
    (tmp_path / "spec").mkdir()
    (tmp_path / "spec" / "paper.yaml").write_text("paper: {title: t, source: s}\n")
    (tmp_path / "spec" / "config.yaml").write_text(BROKEN_CONFIG)
    (tmp_path / "configs").mkdir()
    if configs:
        (tmp_path / "configs" / "a.yaml").write_text("training: {batch_size: 256}\n")
    return tmp_path


def test_lint_reports_every_spec_problem_in_text_and_exits_2(sdmspec: CLI, tmp_path: Path) -> None:
    root = _broken(tmp_path, configs=True)
    result = sdmspec("lint", cwd=root)
    assert result.returncode == 2
    assert "spec/config.yaml" in result.stdout
    for where, what in (
        ("3:41", "config.training.batch_size.ranges: unknown key 'ranges'"),
        ("4:5", "config.training.lr.source: missing required key 'source'"),
        ("6:30", "rules[0].divisor: unknown setting 'training.batch_siz'"),
    ):
        assert any(where in line and what in line for line in result.stdout.splitlines()), (where, result.stdout)
    assert "does not load (3 problems)" in result.stderr and "Traceback" not in result.stderr


def test_a_broken_spec_fails_also_with_nothing_to_lint(sdmspec: CLI, tmp_path: Path) -> None:
    root = _broken(tmp_path, configs=False)
    result = sdmspec("lint", "--format", "json", cwd=root)
    assert result.returncode == 2
    report = json.loads(result.stdout)
    found = {(d["file"], d["line"], d["column"], d["code"], d["key"]) for d in report["diagnostics"]}
    assert found == {
        ("spec/config.yaml", 3, 41, "SDM000", "config.training.batch_size.ranges"),
        ("spec/config.yaml", 4, 5, "SDM000", "config.training.lr.source"),
        ("spec/config.yaml", 6, 30, "SDM000", "rules[0].divisor"),
    }


def test_sarif_carries_the_spec_problems_with_regions(sdmspec: CLI, tmp_path: Path) -> None:
    root = _broken(tmp_path, configs=True)
    result = sdmspec("lint", "--format", "sarif", cwd=root)
    assert result.returncode == 2
    results = json.loads(result.stdout)["runs"][0]["results"]
    places = {
        (
            r["ruleId"],
            r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
            r["locations"][0]["physicalLocation"]["region"]["startLine"],
        )
        for r in results
    }
    assert places == {
        ("SDM000", "spec/config.yaml", 3),
        ("SDM000", "spec/config.yaml", 4),
        ("SDM000", "spec/config.yaml", 6),
    }


def test_spec_check_reports_the_same_problems_and_exits_1(sdmspec: CLI, tmp_path: Path) -> None:
    root = _broken(tmp_path, configs=False)
    result = sdmspec("spec", "check", "--format", "json", cwd=root)
    assert result.returncode == 1
    assert len(json.loads(result.stdout)["diagnostics"]) == 3


def test_other_commands_list_every_problem_on_stderr(sdmspec: CLI, tmp_path: Path) -> None:
    root = _broken(tmp_path, configs=True)
    result = sdmspec("docs", cwd=root)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert lines[0] == "sdmspec: error: invalid spec (3 problems):"
    assert len(lines) == 4 and all("spec/config.yaml:" in line for line in lines[1:])
