"""The spec loads, validates, and refuses malformed specs with a one-line SpecError."""

from __future__ import annotations

from pathlib import Path

import pytest

from mamba_sdm.spec import Spec
from sdmspec.errors import MissingSectionError
from sdmspec.schema import Setting, load_spec
from sdmspec.schema.loading import find_spec_dir
from sdmspec.schema.problems import InvalidSpecError


def test_repo_spec_has_the_papers_values(spec: Spec) -> None:
    assert spec.settings["training.pretrain.batch_size"].exact == 128
    assert spec.settings["training.pretrain.learning_rate"].exact == pytest.approx(2e-4)
    assert spec.settings["training.finetune.batch_size"].exact == 32
    assert spec.settings["epochs.mnli"].exact == 10
    assert spec.settings["epochs.qnli"].unspecified
    assert len(spec.variants) == 7
    assert all(variant.is_assumption for variant in spec.variants)
    assert spec.sparsity.rule.tolerance == 0


def test_every_value_has_a_source(spec: Spec) -> None:
    assert all(setting.source.strip() for setting in spec.settings.values())
    assert all(model.source.strip() for model in spec.models.values())


def test_prunable_set_matches_hf_and_mamba_ssm_names(spec: Spec) -> None:
    prunable = spec.sparsity.is_prunable
    for proj in ("in_proj", "x_proj", "dt_proj", "out_proj"):
        assert prunable(f"backbone.layers.3.mixer.{proj}.weight")
    for name in (
        "backbone.embeddings.weight",
        "backbone.layers.3.mixer.conv1d.weight",
        "backbone.layers.3.mixer.A_log",
        "backbone.layers.3.mixer.D",
        "backbone.layers.3.mixer.dt_proj.bias",
        "backbone.layers.3.norm.weight",
        "lm_head.weight",
    ):
        assert not prunable(name)


@pytest.mark.parametrize(
    ("key", "value", "ok"),
    [
        ("environment.pytorch", "2.1", True),
        ("environment.pytorch", "2.1.2+cu121", True),
        ("environment.pytorch", "2.10", False),
        ("environment.pytorch", "2.2", False),
        ("training.pretrain.batch_size", 128, True),
        ("training.pretrain.batch_size", True, False),
        ("training.pretrain.learning_rate", 2.0e-4, True),
        ("training.pretrain.learning_rate", 3.0e-4, False),
        ("model.name", "mamba-370m", True),
        ("model.name", "mamba-1b", False),
        ("epochs.qnli", 7, True),
    ],
)
def test_setting_accepts(spec: Spec, key: str, value: object, ok: bool) -> None:
    assert spec.settings[key].accepts(value) is ok  # type: ignore[arg-type]


def test_a_setting_needs_one_way_of_pinning() -> None:
    with pytest.raises(ValueError, match="exactly one"):
        Setting.model_validate({"type": "int", "exact": 1, "unspecified": True, "source": "x"})


def test_spec_digest_changes_with_content(tmp_path: Path, repo: Path) -> None:
    copy = tmp_path / "spec"
    copy.mkdir()
    for file in (repo / "spec").iterdir():
        (copy / file.name).write_text(file.read_text())
    before = load_spec(copy).digest
    config = copy / "config.yaml"
    config.write_text(config.read_text().replace("exact: 128", "exact: 256"))
    assert load_spec(copy).digest != before


@pytest.mark.parametrize(
    ("text", "where", "message"),
    [
        ("config: [1, 2]\n", "spec.yaml:1:9: config", "needs a 'config' section"),
        ("config:\n  a:\n    type: int\n    exact: 1\n    exact: 2\n    source: x\n", "spec.yaml:5:5:", "twice"),
        (
            "paper: {title: t, source: s}\nconfig: {a: {type: int, exact: 1}}\n",
            "spec.yaml:2:10: config.a.source",
            "missing required key",
        ),
        ("config: {a: {type: int, exact: 1, source: x}\n", "spec.yaml:2:1", "not valid YAML"),
        # Parsed, but PyYAML cannot build it: a key that is a list, a tagged scalar that is not of its tag.
        ("config:\n  ? [1]\n  : {type: int, exact: 1, source: x}\n", "spec.yaml:2:5", "YAML: found unhashable key"),
        ("config: {a: {type: int, exact: !!int abc, source: x}}\n", "spec.yaml:1:32", "not valid YAML: !!int abc"),
        ("paper: {title: !!timestamp 2020-13-45, source: x}\n", "spec.yaml:1:16", "not valid YAML"),
        ("config: {a: &x [*x]}\n", "spec.yaml:1:13: config.a[0]", "refers to a node that contains it"),
        ("config: {a: &m {b: *m}}\n", "spec.yaml:1:13: config.a.b", "refers to a node that contains it"),
    ],
)
def test_malformed_specs_name_file_line_and_path(tmp_path: Path, text: str, where: str, message: str) -> None:
    path = tmp_path / "spec.yaml"
    path.write_text(text)
    with pytest.raises(InvalidSpecError) as info:
        load_spec(path)
    found = [str(problem) for problem in info.value.problems]
    assert any(where in line and message in line for line in found), found


def test_a_broken_spec_is_reported_whole(tmp_path: Path) -> None:
    (tmp_path / "paper.yaml").write_text("paper: {title: t, source: s}\n")
    (tmp_path / "config.yaml").write_text(
        "config:\n"
        "  training:\n"
        "    batch_size: {type: int, exact: 256, ranges: [1, 2], source: s}\n"
        "    lr: {type: float, exact: fast, source: s}\n"
        "    milestones: {type: 'list[int]', exact: [30, x], source: s}\n"
        "rules:\n"
        "  - {kind: divides, divisor: training.batch_siz, dividend: training.batch_size, source: s}\n"
        "modls: {}\n"
    )
    with pytest.raises(InvalidSpecError) as info:
        load_spec(tmp_path)
    found = {(p.file and Path(p.file).name, p.line, p.path): p.message for p in info.value.problems}
    assert len(found) == 5, found
    assert "did you mean 'range'" in found[("config.yaml", 3, "config.training.batch_size.ranges")]
    assert "unknown key 'ranges'" in found[("config.yaml", 3, "config.training.batch_size.ranges")]
    assert "expected a number" in found[("config.yaml", 4, "config.training.lr")]
    assert "expected an integer" in found[("config.yaml", 5, "config.training.milestones")]
    assert "did you mean 'training.batch_size'" in found[("config.yaml", 7, "rules[0].divisor")]
    assert "did you mean 'models'" in found[("config.yaml", 8, "modls")]
    assert str(info.value).count("\n") == 5  # the summary line, then one line a problem


def test_a_spec_needs_only_paper_and_config(tmp_path: Path) -> None:
    (tmp_path / "paper.yaml").write_text("paper: {title: t, source: s}\n")
    (tmp_path / "config.yaml").write_text("config:\n  lr: {type: float, exact: 0.1, source: s}\n")
    spec = load_spec(tmp_path)
    assert not spec.has("models") and spec.settings["lr"].exact == 0.1
    with pytest.raises(MissingSectionError, match="no 'variants' section"):
        _ = spec.variants
    with pytest.raises(MissingSectionError, match="no 'models' section") as info:
        spec.require("models", "variants")
    assert info.value.exit_code == 2


def test_find_spec_dir_walks_up(repo: Path) -> None:
    assert find_spec_dir(repo / "configs") == repo / "spec"


def test_a_regression_task_has_one_label() -> None:
    from mamba_sdm.spec import FinetuneTask

    task = {"path": "glue", "name": "stsb", "text_fields": ["sentence1", "sentence2"], "source": "STS-B"}
    assert FinetuneTask.model_validate({**task, "num_labels": 1}).num_labels == 1
    with pytest.raises(ValueError, match="greater than or equal to 1"):
        FinetuneTask.model_validate({**task, "num_labels": 0})
