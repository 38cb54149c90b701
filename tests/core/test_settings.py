"""Jobs read hyperparameters through resolve_settings: configs first, the spec's value where no config sets one."""

from __future__ import annotations

from pathlib import Path

import pytest

from mamba_sdm.spec import Spec
from sdmspec.errors import ConfigError
from sdmspec.settings import config_files, resolve_settings


def test_repo_configs_resolve_to_the_papers_values(repo: Path, spec: Spec) -> None:
    settings = resolve_settings([repo / "configs"], spec)
    assert settings.get_int("training.pretrain.batch_size") == 128
    assert settings.get_float("training.pretrain.learning_rate") == pytest.approx(2e-4)
    assert settings.get_int("training.finetune.batch_size") == 32
    assert settings.get_int("epochs.mnli") == 10
    assert settings.models == ("mamba-130m", "mamba-370m")
    # Both mamba_370m.yaml and pretrain_sdm.yaml set it (to the same value): the first file in order is the origin.
    assert settings.origins["training.pretrain.batch_size"].endswith("mamba_370m.yaml")


def test_unset_settings_take_the_spec_value_and_say_so(tmp_path: Path, spec: Spec) -> None:
    (tmp_path / "a.yaml").write_text("training:\n  pretrain:\n    max_epochs: 20\n")
    settings = resolve_settings([tmp_path], spec)
    assert settings.get_int("training.pretrain.batch_size") == 128
    assert settings.origins["training.pretrain.batch_size"].startswith("spec (")
    assert settings.get_int("training.finetune.early_stopping.patience") == 3
    assert settings.origins["training.finetune.early_stopping.patience"] == "spec default"


def test_conflicting_files_are_refused(tmp_path: Path, spec: Spec) -> None:
    (tmp_path / "a.yaml").write_text("training:\n  pretrain:\n    batch_size: 24\n")
    (tmp_path / "b.yaml").write_text("training: {pretrain: {batch_size: 128}}\n")
    with pytest.raises(ConfigError, match=r"training.pretrain.batch_size is 24 in .*a.yaml but 128 in .*b.yaml"):
        resolve_settings([tmp_path], spec)


def test_a_string_where_a_number_is_expected_is_refused(tmp_path: Path, spec: Spec) -> None:
    # PyYAML reads 2e-4 as the string "2e-4": a job must not receive it.
    (tmp_path / "a.yaml").write_text("training:\n  pretrain:\n    learning_rate: 2e-4\n")
    with pytest.raises(ConfigError, match="must be float"):
        resolve_settings([tmp_path], spec)


def test_overlay_records_its_origin(repo: Path, spec: Spec) -> None:
    settings = resolve_settings([repo / "configs"], spec).overlay({"training.pretrain.batch_size": 4}, "smoke")
    assert settings.get_int("training.pretrain.batch_size") == 4
    assert settings.origins["training.pretrain.batch_size"] == "smoke"


def test_config_files_lists_yaml_recursively_and_refuses_missing_paths(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.yml").write_text("a: 1\n")
    (tmp_path / "a.yaml").write_text("a: 1\n")
    (tmp_path / "notes.txt").write_text("x")
    assert [p.name for p in config_files([tmp_path])] == ["a.yaml", "b.yml"]
    with pytest.raises(ConfigError, match="no such file"):
        config_files([tmp_path / "missing"])


def test_compatible_versions_are_not_a_conflict_and_the_refinement_wins(tmp_path: Path, spec: Spec) -> None:
    # Lint's SDM401 and the jobs share Setting.compatible: "2.1" and "2.1.2+cu121" describe one environment.
    (tmp_path / "a.yaml").write_text('environment:\n  pytorch: "2.1"\n')
    (tmp_path / "b.yaml").write_text('environment:\n  pytorch: "2.1.2+cu121"\n')
    (tmp_path / "c.yaml").write_text('environment:\n  pytorch: "2.1"\n')
    settings = resolve_settings([tmp_path], spec)
    assert settings.get_str("environment.pytorch") == "2.1.2+cu121"
    assert settings.origins["environment.pytorch"].endswith("b.yaml")
    (tmp_path / "d.yaml").write_text('environment:\n  pytorch: "2.1.0"\n')
    with pytest.raises(ConfigError, match=r"environment\.pytorch"):
        resolve_settings([tmp_path], spec)
