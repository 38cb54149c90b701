"""Issue 23, cases 12 and 20: a hostile spec (an alias bomb, deep nesting) is a problem at its place, in bounded
time, for every command that loads the spec."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from hostile_cli import SPEC, sdmspec

from sdmspec.schema import load_spec
from sdmspec.schema.problems import InvalidSpecError


def _spec_with(tmp_path: Path, extra: str) -> Path:
    spec = tmp_path / "spec"
    shutil.copytree(SPEC, spec)
    (spec / "zz_extra.yaml").write_text(extra)
    return spec


def _bomb(levels: int) -> str:
    # Each level refers to the one before ten times: 10**levels nodes once expanded.
    lines = ["bomb:", "  l0: &l0 [x, x, x, x, x, x, x, x, x, x]"]
    for level in range(1, levels):
        lines.append(f"  l{level}: &l{level} [{', '.join([f'*l{level - 1}'] * 10)}]")
    return "\n".join(lines) + "\n"


def test_an_alias_bomb_in_the_spec_is_one_problem(tmp_path: Path) -> None:
    spec = _spec_with(tmp_path, _bomb(6))  # 10^6 expanded nodes: over the bound, under a minute before the fix
    with pytest.raises(InvalidSpecError) as raised:
        load_spec(spec)
    messages = [problem.message for problem in raised.value.problems]
    assert any("alias bomb" in message for message in messages), messages


def test_a_spec_nested_990_levels_deep_is_one_problem(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = _spec_with(tmp_path, "deep: " + "[" * 990 + "]" * 990 + "\n")
    with pytest.raises(InvalidSpecError) as raised:
        load_spec(spec)
    assert any("levels deep" in problem.message for problem in raised.value.problems)
    monkeypatch.chdir(tmp_path)
    ran = sdmspec(capsys, "spec", "check", "--spec", str(spec))
    assert ran.code in (1, 2) and "Traceback" not in ran.err and "bug" not in ran.err, ran
