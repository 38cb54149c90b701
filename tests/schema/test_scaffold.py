"""`sdmspec spec init`'s inference on configs written with YAML's own shortcuts: the spec it writes must let lint
pass on the very configs it was made from."""

from __future__ import annotations

from pathlib import Path

from sdmspec.lint.engine import lint_paths
from sdmspec.lint.scaffold import scaffold
from sdmspec.schema import load_spec


def _spec_from(tmp_path: Path, **configs: str) -> Path:
    folder = tmp_path / "configs"
    folder.mkdir()
    for name, text in configs.items():
        (folder / f"{name}.yaml").write_text(text)
    made = scaffold(sorted(folder.glob("*.yaml")))
    spec = tmp_path / "spec"
    spec.mkdir()
    (spec / "paper.yaml").write_text(made.paper_yaml)
    (spec / "config.yaml").write_text(made.config_yaml)
    return spec


def test_keys_reached_through_a_merge_key_are_settings(tmp_path: Path) -> None:
    spec_dir = _spec_from(tmp_path, a="base: &base\n  lr: 0.1\n  wd: 0.0\nfinetune:\n  <<: *base\n  lr: 0.01\n")
    spec = load_spec(spec_dir)
    assert spec.settings["finetune.wd"].default == 0.0  # only merged in
    assert spec.settings["finetune.lr"].default == 0.01  # the explicit key beats the merged one
    assert spec.settings["finetune.lr"].scope == "global"  # one file, one value: the merged 0.1 is not read
    assert lint_paths([tmp_path / "configs"], spec).errors == 0


def test_a_duplicate_key_counts_once_as_yaml_keeps_it(tmp_path: Path) -> None:
    spec = load_spec(_spec_from(tmp_path, a="lr: 0.1\nlr: 0.2\n"))
    assert (spec.settings["lr"].default, spec.settings["lr"].scope) == (0.2, "global")


def test_a_key_of_several_types_is_a_union_or_any_never_dropped(tmp_path: Path) -> None:
    spec_dir = _spec_from(
        tmp_path,
        a="rows: [{x: 1}]\nsize: 1\nflag: true\nholes: [1, null]\nmixed: [1, true]\nkept: 1\n",
        b="rows: [1, 2]\nsize: [1, 2]\nflag: 1\nholes: [2]\nmixed: [2]\nkept: 2.5\n",
    )
    spec = load_spec(spec_dir)
    types = {key: setting.type_text for key, setting in spec.settings.items()}
    assert types == {
        "rows": "[list[int], list[mapping]]",
        "size": "[int, list[int]]",
        "flag": "[bool, int]",
        "holes": "any",
        "mixed": "any",
        "kept": "float",
    }
    result = lint_paths([tmp_path / "configs"], spec)
    assert (result.errors, result.warnings) == (0, 0)


def test_an_empty_list_is_a_value_of_the_list_type_others_give(tmp_path: Path) -> None:
    spec = load_spec(_spec_from(tmp_path, a="steps: []\nnone: []\n", b="steps: [10, 20]\nnone: []\n"))
    steps, none = spec.settings["steps"], spec.settings["none"]
    assert (steps.type.value, steps.scope, none.type.value, none.default) == ("list[int]", "per_file", "list[str]", ())
    assert lint_paths([tmp_path / "configs"], spec).errors == 0


def test_a_mapping_that_contains_itself_through_an_alias_is_skipped(tmp_path: Path) -> None:
    spec = load_spec(_spec_from(tmp_path, a="loop: &m {lr: 0.1, again: *m}\nkept: 1\n"))
    assert set(spec.settings) == {"loop.lr", "kept"}


def test_a_value_in_one_config_and_a_deeper_section_in_another_is_any_value(tmp_path: Path) -> None:
    spec = load_spec(_spec_from(tmp_path, a="model: 1\nlr: 0.1\n", b="model:\n  backbone:\n    depth: 20\nlr: 0.1\n"))
    assert set(spec.settings) == {"model", "lr"}
    assert (spec.settings["model"].type.value, spec.settings["model"].scope) == ("any", "per_file")
    assert lint_paths([tmp_path / "configs"], spec).errors == 0
