"""The setting types beyond scalars: lists (list[int], list[float], list[str]) read element by element, each finding
at its element; settings pinned to a range; nullable settings."""

from __future__ import annotations

from pathlib import Path

import jsonschema
import pytest

from mamba_sdm.spec import Spec
from sdmspec.lint.engine import lint_text
from sdmspec.schema import load_spec
from sdmspec.schema.jsonschema import config_json_schema

SPEC = """\
paper: {title: t, source: s}
config:
  training:
    milestones: {type: 'list[int]', exact: [30, 60, 80], source: "divided by 10 at epochs 30, 60 and 80"}
    mean: {type: 'list[float]', exact: [0.485, 0.456, 0.406], tolerance: {abs: 0.001}, source: m}
    augment: {type: 'list[str]', one_of: [[crop, flip], [crop]], source: a}
    crop: {type: int, exact: 224, source: c}
"""


@pytest.fixture(scope="module")
def list_spec(tmp_path_factory: pytest.TempPathFactory) -> Spec:
    path = tmp_path_factory.mktemp("spec") / "spec.yaml"
    path.write_text(SPEC)
    return load_spec(path)


def findings(spec: Spec, text: str) -> set[tuple[int | None, int | None, str, str | None]]:
    result = lint_text(text, spec, "c.yaml", ignore=["SDM203"])
    return {(d.line, d.column, d.code, d.key) for d in result.diagnostics}


def test_the_papers_lists_pass(list_spec: Spec) -> None:
    text = "training:\n  milestones: [30, 60, 80]\n  mean: [0.4851, 0.456, 0.406]\n  augment: [crop]\n  crop: 224\n"
    assert findings(list_spec, text) == set()


def test_a_wrong_element_is_reported_at_the_element(list_spec: Spec) -> None:
    text = "training:\n  milestones: [30, 60, 90]\n  mean:\n    - 0.485\n    - 0.5\n    - 0.406\n"
    assert findings(list_spec, text) == {
        (2, 24, "SDM201", "training.milestones[2]"),
        (5, 7, "SDM201", "training.mean[1]"),
    }


def test_a_list_of_another_length_or_not_in_one_of_is_reported_at_the_list(list_spec: Spec) -> None:
    text = "training:\n  milestones: [30, 60]\n  augment: [flip]\n"
    assert findings(list_spec, text) == {
        (2, 15, "SDM201", "training.milestones"),
        (3, 12, "SDM201", "training.augment"),
    }


def test_element_types_and_yaml11_pitfalls_inside_lists(list_spec: Spec) -> None:
    text = "training:\n  milestones: [30, sixty, 80]\n  mean: [0.485, 456e-3, 0.406]\n  crop: [224]\n"
    got = findings(list_spec, text)
    # A word where an integer belongs: at the word. PyYAML reads 456e-3 as a string: SDM101 at the element, its
    # key naming the element; the value it means (0.456) matches the paper. A list where an int belongs: SDM303.
    assert got == {
        (2, 20, "SDM303", "training.milestones"),
        (3, 17, "SDM101", "training.mean[1]"),
        (4, 9, "SDM303", "training.crop"),
    }


def test_the_mismatch_fix_rewrites_the_element(list_spec: Spec) -> None:
    result = lint_text("training:\n  milestones: [30, 60, 90]\n", list_spec, "c.yaml", ignore=["SDM203"])
    (diagnostic,) = result.diagnostics
    assert diagnostic.fix is not None
    (edit,) = diagnostic.fix.edits
    assert (edit.span.line, edit.span.column, edit.content) == (2, 24, "80")


def test_conflicting_lists_across_files(list_spec: Spec, tmp_path: Path) -> None:
    from sdmspec.lint.engine import lint_paths

    (tmp_path / "a.yaml").write_text("training: {augment: [crop]}\n")
    (tmp_path / "b.yaml").write_text("training: {augment: [crop, flip]}\n")
    result = lint_paths([tmp_path], list_spec, ignore=["SDM203"])
    assert {d.code for d in result.diagnostics} == {"SDM401"}


def test_the_json_schema_of_list_settings(list_spec: Spec) -> None:
    validator = jsonschema.Draft202012Validator(config_json_schema(list_spec))
    assert validator.is_valid({"training": {"milestones": [30, 60, 80], "mean": [0.4855, 0.456, 0.406]}})
    assert validator.is_valid({"training": {"augment": ["crop", "flip"]}})
    assert not validator.is_valid({"training": {"milestones": [30, 60, 90]}})
    assert not validator.is_valid({"training": {"mean": [0.485, 0.5, 0.406]}})
    assert not validator.is_valid({"training": {"augment": ["flip"]}})
    assert not validator.is_valid({"training": {"milestones": "30,60,80"}})


def test_spec_side_lists_are_checked(tmp_path: Path) -> None:
    from sdmspec.schema.problems import InvalidSpecError

    path = tmp_path / "spec.yaml"
    path.write_text("paper: {title: t, source: s}\nconfig:\n  m: {type: 'list[int]', exact: 30, source: s}\n")
    with pytest.raises(InvalidSpecError, match=r"spec.yaml:3:6: config.m: exact: expected a list"):
        load_spec(path)


def test_a_range_pins_numbers_between_its_ends(tmp_path: Path) -> None:
    path = tmp_path / "spec.yaml"
    path.write_text(
        "paper: {title: t, source: s}\n"
        "config:\n"
        "  warmup_ratio: {type: float, range: [0.0, 0.1], default: 0.06, source: 'at most 10% of the steps'}\n"
        "  batch_size: {type: int, range: [16, 32], source: 'a batch of 16 to 32'}\n"
    )
    spec = load_spec(path)
    ratio = spec.settings["warmup_ratio"]
    assert ratio.accepts(0.1) and ratio.accepts(0) and not ratio.accepts(0.2) and ratio.expected_value() == 0.06
    assert ratio.expected_text() == "between 0.0 and 0.1"
    result = lint_text("warmup_ratio: 0.2\nbatch_size: 24\n", spec, "c.yaml")
    ((diagnostic),) = result.diagnostics
    assert (diagnostic.line, diagnostic.code, diagnostic.expected) == (1, "SDM201", "between 0.0 and 0.1")
    assert diagnostic.fix is None  # no single value to write
    validator = jsonschema.Draft202012Validator(config_json_schema(spec))
    assert validator.is_valid({"warmup_ratio": 0.05, "batch_size": 32})
    assert not validator.is_valid({"batch_size": 64}) and not validator.is_valid({"warmup_ratio": -0.1})


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ("{type: str, range: [a, b], source: s}", "'range' applies only to an int or a float"),
        ("{type: int, range: [8, 4], source: s}", "the low end 8 is above the high end 4"),
        ("{type: int, range: [1, 4], default: 8, source: s}", "default: 8 is outside the range"),
    ],
)
def test_a_malformed_range_is_a_spec_problem(tmp_path: Path, setting: str, message: str) -> None:
    from sdmspec.schema.problems import InvalidSpecError

    path = tmp_path / "spec.yaml"
    path.write_text(f"paper: {{title: t, source: s}}\nconfig:\n  x: {setting}\n")
    with pytest.raises(InvalidSpecError, match=message):
        load_spec(path)


def test_a_nullable_setting_takes_null_and_judges_any_other_value(tmp_path: Path) -> None:
    path = tmp_path / "spec.yaml"
    path.write_text(
        "paper: {title: t, source: s}\n"
        "config:\n"
        "  max_grad_norm: {type: float, exact: 1.0, nullable: true, source: 'clip at 1.0, or not at all'}\n"
        "  seed: {type: int, unspecified: true, source: s}\n"
    )
    spec = load_spec(path)
    assert findings(spec, "max_grad_norm: null\nseed: ~\n") == {(2, 7, "SDM303", "seed")}
    assert findings(spec, "max_grad_norm: 2.0\n") == {(1, 16, "SDM201", "max_grad_norm")}
    validator = jsonschema.Draft202012Validator(config_json_schema(spec))
    assert validator.is_valid({"max_grad_norm": None}) and not validator.is_valid({"seed": None})
