"""SDM401 across files: values compared as their authors meant them, by the setting's type."""

from __future__ import annotations

from pathlib import Path

import pytest

from mamba_sdm.spec import Spec
from sdmspec.lint import lint_paths

Conflicts = set[tuple[str, int | None, int | None, str | None]]


def _conflicts(tmp_path: Path, spec: Spec, files: dict[str, str]) -> Conflicts:
    """(file name, line, column, the other place's file name) of every SDM401 when ``files`` are linted together."""
    for name, text in files.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    result = lint_paths([tmp_path], spec, select=["SDM401"])
    return {(Path(d.file or "").name, d.line, d.column, Path(d.related[0].file).name) for d in result.diagnostics}


def _pytorch(version: str) -> str:
    return f'environment:\n  pytorch: "{version}"\n'


def _lr(text: str) -> str:
    return f"training:\n  pretrain:\n    learning_rate: {text}\n"


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("2.1", "2.1.2+cu121"),  # the second refines the first: one environment, both satisfy the paper's 2.1
        ("2.1.2+cu121", "2.1"),  # in either order
        ("2.1.2+cu121", "2.1.2+cu118"),  # same release: the build is its own setting (environment.pytorch_build)
        ("2.1", "v2.1.0"),
    ],
)
def test_version_refinements_do_not_conflict(tmp_path: Path, spec: Spec, first: str, second: str) -> None:
    assert _conflicts(tmp_path, spec, {"a.yaml": _pytorch(first), "b.yaml": _pytorch(second)}) == set()


@pytest.mark.parametrize(
    ("first", "second"),
    [("2.1.0", "2.1.2"), ("2.1", "2.10"), ("2.1", "2.2.0"), ("2.1.2+cu121", "2.1.3")],
)
def test_different_releases_conflict(tmp_path: Path, spec: Spec, first: str, second: str) -> None:
    found = _conflicts(tmp_path, spec, {"a.yaml": _pytorch(first), "b.yaml": _pytorch(second)})
    assert found == {("b.yaml", 2, 12, "a.yaml")}


def test_refinement_is_not_transitive(tmp_path: Path, spec: Spec) -> None:
    """2.1 agrees with 2.1.0 and with 2.1.2, which disagree with each other: the third file names the second."""
    files = {"a.yaml": _pytorch("2.1"), "b.yaml": _pytorch("2.1.0"), "c.yaml": _pytorch("2.1.2+cu121")}
    assert _conflicts(tmp_path, spec, files) == {("c.yaml", 2, 12, "b.yaml")}


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("1.0e-4", "0.0001"),
        ("1e-4", "0.0001"),  # 1e-4 is a string under PyYAML, meant (and compared, as SDM201 does) as 0.0001
        ("2e-4", "2.0e-4"),
        ("2e-4", "0.0002"),
        ("0.2e-3", "2.0E-4"),
        ('"2.0e-4"', "0.0002"),  # a quoted number is meant as the number
    ],
)
def test_floats_compare_by_meant_value(tmp_path: Path, spec: Spec, first: str, second: str) -> None:
    assert _conflicts(tmp_path, spec, {"a.yaml": _lr(first), "b.yaml": _lr(second)}) == set()


@pytest.mark.parametrize(("first", "second"), [("2e-4", "3e-4"), ("2.0e-4", "0.00021"), ("1e-4", "1e-5")])
def test_different_floats_conflict(tmp_path: Path, spec: Spec, first: str, second: str) -> None:
    found = _conflicts(tmp_path, spec, {"a.yaml": _lr(first), "b.yaml": _lr(second)})
    assert found == {("b.yaml", 3, 20, "a.yaml")}


def test_conflict_carries_both_values_as_written(tmp_path: Path, spec: Spec) -> None:
    (tmp_path / "a.yaml").write_text(_lr("2e-4"))
    (tmp_path / "b.yaml").write_text("training: {pretrain: {learning_rate: 3.0e-4}}\n")
    (diagnostic,) = lint_paths([tmp_path], spec, select=["SDM401"]).diagnostics
    assert (diagnostic.line, diagnostic.column, diagnostic.expected, diagnostic.actual) == (1, 38, "2e-4", "3.0e-4")
    (other,) = diagnostic.related
    assert (Path(other.file).name, other.line, other.column) == ("a.yaml", 3, 20)


def test_a_value_equal_to_an_earlier_one_is_checked_against_the_others(tmp_path: Path, spec: Spec) -> None:
    files = {"a.yaml": _lr("2.0e-4"), "b.yaml": _lr("3.0e-4"), "c.yaml": _lr("0.0002")}
    assert _conflicts(tmp_path, spec, files) == {("b.yaml", 3, 20, "a.yaml"), ("c.yaml", 3, 20, "b.yaml")}
