"""The second paper in examples/ (ResNets on CIFAR-10, He et al. 2016): lint, docs, schema and `spec init` on a
spec written with only paper.yaml and config.yaml, and the pipeline commands refusing it in one line."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import jsonschema
import pytest
import yaml
from workflow_helpers import CLI, REPO

from sdmspec.lint.engine import lint_paths
from sdmspec.schema import SettingType, load_spec

EXAMPLE = REPO / "examples" / "resnet-cifar10"


@pytest.fixture
def example(tmp_path: Path) -> Path:
    copy = tmp_path / "resnet-cifar10"
    shutil.copytree(EXAMPLE, copy)
    return copy


def test_lint_finds_the_drift_in_the_example_configs(sdmspec: CLI) -> None:
    result = sdmspec("lint", "--format", "json", cwd=EXAMPLE)
    assert result.returncode == 1
    found = {(Path(d["file"]).name, d["line"], d["code"], d["key"]) for d in json.loads(result.stdout)["diagnostics"]}
    errors = {item for item in found if item[2] in ("SDM201", "SDM303")}
    assert errors == {
        ("resnet56.yaml", 5, "SDM201", "training.batch_size"),
        ("resnet56.yaml", 7, "SDM201", "training.lr_milestones[1]"),
        ("resnet56.yaml", 11, "SDM201", "training.weight_decay"),
        ("resnet110.yaml", 15, "SDM303", "data.train_val_split"),  # "5k" where an integer belongs
    }
    assert ("resnet56.yaml", 11, "SDM101", "training.weight_decay") in found  # 5e-4: a string under PyYAML
    assert ("resnet56.yaml", 17, "SDM103", "data.horizontal_flip") in found  # yes
    assert not any(item[0] == "resnet20.yaml" and item[2] != "SDM202" for item in found)


def test_the_committed_docs_are_current_and_say_nothing_of_mamba(sdmspec: CLI) -> None:
    result = sdmspec("docs", "--check", cwd=EXAMPLE)
    assert result.returncode == 0, result.stdout + result.stderr
    text = (EXAMPLE / "EXPERIMENTAL_SETUP.md").read_text()
    assert "## Optimisation" in text and "SGD from scratch" in text  # the spec's own titles and descriptions
    assert "| `training.lr_milestones` | `[32000, 48000]` |" in text
    for word in ("Mamba", "SDM", "fvcore", "sparsity", "variants", "GLUE"):
        assert word not in text, word


def test_the_json_schema_accepts_the_faithful_config_only(sdmspec: CLI) -> None:
    result = sdmspec("spec", "schema", cwd=EXAMPLE)
    assert result.returncode == 0
    validator = jsonschema.Draft202012Validator(json.loads(result.stdout))
    faithful = yaml.safe_load((EXAMPLE / "configs" / "resnet20.yaml").read_text())
    assert list(validator.iter_errors(faithful)) == []
    drifted = yaml.safe_load((EXAMPLE / "configs" / "resnet56.yaml").read_text())
    paths = {".".join(map(str, error.absolute_path)) for error in validator.iter_errors(drifted)}
    assert {"training.batch_size", "training.lr_milestones", "training.weight_decay"} <= paths


def test_spec_init_on_the_example_configs_gives_a_spec_lint_passes(sdmspec: CLI, example: Path) -> None:
    shutil.rmtree(example / "spec")
    result = sdmspec("spec", "init", "configs", cwd=example)
    assert result.returncode == 0, result.stderr
    spec = load_spec(example / "spec")
    depth, milestones, flip = (
        spec.settings[k] for k in ("model.depth", "training.lr_milestones", "data.horizontal_flip")
    )
    assert (depth.type, depth.scope) == (SettingType.INT, "per_file")  # 20, 56, 110: differs between files
    assert (milestones.type, milestones.scope) == (SettingType.LIST_INT, "per_file")
    assert spec.settings["training.weight_decay"].type is SettingType.FLOAT  # 5e-4 is meant as a float
    assert spec.settings["data.mean"].type is SettingType.LIST_FLOAT
    assert flip.type is SettingType.BOOL
    # The split holds "5k" in one file: a list of ints or of strings, so every config is well typed under the spec.
    assert spec.settings["data.train_val_split"].types == (SettingType.LIST_INT, SettingType.LIST_STR)
    assert all(s.unspecified and s.source == "TODO: quote the paper" for s in spec.settings.values())
    lint = lint_paths([example / "configs"], spec, spec_path=example / "spec")
    assert lint.errors == 0
    todo = {d.key for d in lint.diagnostics if d.code == "SDM204"}
    assert todo == set(spec.settings)
    anchors = {d.spec_location.file for d in lint.diagnostics if d.code == "SDM204" and d.spec_location}
    assert len(anchors) == 1 and anchors.pop().endswith("config.yaml")


def test_spec_init_refuses_to_overwrite(sdmspec: CLI, example: Path) -> None:
    result = sdmspec("spec", "init", "configs", cwd=example)
    assert result.returncode == 2
    assert "already exist" in result.stderr and "--force" in result.stderr
    assert (example / "spec" / "config.yaml").read_text() == (EXAMPLE / "spec" / "config.yaml").read_text()


@pytest.mark.train
def test_pipeline_commands_name_the_missing_section(sdmspec: CLI) -> None:
    for args, section in ((("variants",), "variants"), (("run", "--dry-run"), "variants")):
        result = sdmspec(*args, cwd=EXAMPLE)
        assert result.returncode == 2, result.stderr
        assert result.stderr.strip().splitlines() == [
            f"sdmspec: error: the spec has no '{section}' section, which this command needs "
            f"(add it to spec/, e.g. spec/{section}.yaml)"
        ]


def test_env_and_validate_work_with_the_example(sdmspec: CLI) -> None:
    env = sdmspec("env", "--format", "json", cwd=EXAMPLE)
    assert env.returncode == 0
    rows = {row["name"]: row for row in json.loads(env.stdout)["rows"]}
    assert set(rows) == {"gpu count"} and rows["gpu count"]["expected"] == "2"
    validate = sdmspec("validate", "--format", "json", cwd=EXAMPLE)
    checks = {c["name"]: c["status"] for c in json.loads(validate.stdout)["checks"]}
    assert checks["hyperparameters"] == "fail"  # the drifted resnet56 config
    assert {checks[name] for name in ("variants", "data", "profiling", "iso-sparsity")} == {"skip"}


def test_spec_init_makes_a_key_null_in_some_configs_nullable(sdmspec: CLI, tmp_path: Path) -> None:
    (tmp_path / "configs").mkdir()
    (tmp_path / "configs" / "a.yaml").write_text("training: {max_grad_norm: null, lr: 0.1}\n")
    (tmp_path / "configs" / "b.yaml").write_text("training: {max_grad_norm: 1.0, lr: 0.1, resume: ~}\n")
    result = sdmspec("spec", "init", cwd=tmp_path)
    assert result.returncode == 0
    assert "skipped" not in result.stderr
    spec = load_spec(tmp_path / "spec")
    clip = spec.settings["training.max_grad_norm"]
    assert (clip.type, clip.nullable, clip.default, clip.scope) == (SettingType.FLOAT, True, 1.0, "global")
    resume = spec.settings["training.resume"]  # null in every config: a nullable string until the paper says more
    assert (resume.type, resume.nullable, resume.default) == (SettingType.STR, True, None)
    assert lint_paths([tmp_path / "configs"], spec).errors == 0
