"""`sdmspec spec schema`: the configs' JSON Schema accepts configs/ and rejects the seed's drifted values."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from workflow_helpers import CLI, REPO, VENV_BIN

from mamba_sdm.spec import Spec
from sdmspec.schema import Setting
from sdmspec.schema.jsonschema import config_json_schema, float_bounds, version_pattern


@pytest.fixture(scope="module")
def validator(spec: Spec) -> jsonschema.Draft202012Validator:
    schema = config_json_schema(spec)
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def _errors(validator: jsonschema.Draft202012Validator, document: Any) -> dict[str, str]:
    """Errors by JSON path ("$.training.pretrain.batch_size" -> validator keyword)."""
    return {error.json_path: error.validator for error in validator.iter_errors(document)}


def test_every_repo_config_is_valid(validator: jsonschema.Draft202012Validator) -> None:
    files = sorted((REPO / "configs").glob("*.yaml"))
    assert files
    for file in files:
        assert _errors(validator, yaml.safe_load(file.read_text())) == {}, file


def test_seed_values_are_rejected_at_their_keys(validator: jsonschema.Draft202012Validator, seed_configs: Path) -> None:
    found: dict[str, dict[str, str]] = {
        file.name: _errors(validator, yaml.safe_load(file.read_text())) for file in sorted(seed_configs.glob("*.yaml"))
    }
    assert found["pretrain_sdm.yaml"] == {
        "$.training.pretrain.batch_size": "const",  # 24, the paper says 128
        "$.training.pretrain.max_epochs": "const",  # 15, the paper says 20
        "$.training.pretrain.learning_rate": "type",  # PyYAML reads 2e-4 as the string "2e-4"
    }
    assert found["finetune_glue.yaml"] == {
        "$.training.finetune.learning_rate": "type",  # "3e-4", a string under PyYAML
        "$.training.finetune.batch_size": "const",
    }
    assert found["mamba_130m.yaml"] == {"$.environment.pytorch": "pattern", "$.epochs.mnli": "const"}
    assert found["mamba_370m.yaml"] == {"$.environment.pytorch": "pattern"}


@pytest.mark.parametrize(
    ("document", "path", "keyword"),
    [
        ({"training": {"pretrain": {"max_epoch": 20}}}, "$.training.pretrain", "additionalProperties"),
        ({"training": {"pretrain": {"batch_size": "128"}}}, "$.training.pretrain.batch_size", "type"),
        ({"training": {"pretrain": {"batch_size": True}}}, "$.training.pretrain.batch_size", "type"),
        ({"training": {"pretrain": {"batch_size": None}}}, "$.training.pretrain.batch_size", "type"),
        ({"training": {"finetune": {"learning_rate": 3e-4}}}, "$.training.finetune.learning_rate", "maximum"),
        ({"environment": {"pytorch": 2.1}}, "$.environment.pytorch", "type"),  # unquoted: a float
        ({"environment": {"pytorch": "2.10"}}, "$.environment.pytorch", "pattern"),
        ({"model": {"name": "mamba-790m"}}, "$.model.name", "enum"),
        ({"epochs": {"qnli": "five"}}, "$.epochs.qnli", "type"),
        ({"training": []}, "$.training", "type"),
    ],
)
def test_wrong_values_are_rejected(
    validator: jsonschema.Draft202012Validator, document: dict[str, Any], path: str, keyword: str
) -> None:
    assert _errors(validator, document) == {path: keyword}


def test_what_the_paper_allows_is_accepted(validator: jsonschema.Draft202012Validator) -> None:
    document = {
        "data": {"anything": "the top level is open: configs also hold what the spec does not know"},
        "training": {"pretrain": {"learning_rate": 2.0e-4, "micro_batch_size": 16, "weight_decay": 0.1}},
        "environment": {"pytorch": "2.1.2+cu121", "cuda": "12.1"},
        "epochs": {"qnli": 3, "mrpc": 8},
    }
    assert _errors(validator, document) == {}


def test_fields_cite_their_source(spec: Spec) -> None:
    schema = config_json_schema(spec)
    pretrain = schema["$defs"]["TrainingPretrainSection"]["properties"]
    assert "Phase A, SDM pre-training: 20 epochs" in pretrain["max_epochs"]["description"]
    assert pretrain["max_epochs"]["default"] == 20
    assert "required" not in schema  # configs are split across files
    assert spec.digest in schema["$comment"]


@pytest.mark.parametrize("version", ["2.1", "2.1.0", "2.1.2+cu121", "v2.1", "2.10", "2.2", "12.1", "2", "2.1rc1"])
def test_version_pattern_agrees_with_the_spec(version: str) -> None:
    import re

    setting = Setting(type="version", exact="2.1", source="test")
    assert bool(re.search(version_pattern("2.1"), version)) is setting.accepts(version)


@pytest.mark.parametrize(("tol_abs", "rel"), [(0.0, 0.0), (1e-5, 0.0), (0.0, 0.05), (1e-6, 0.01)])
def test_float_bounds_agree_with_the_spec(tol_abs: float, rel: float) -> None:
    setting = Setting(type="float", exact=2e-4, tolerance={"abs": tol_abs, "rel": rel}, source="test")
    low, high = float_bounds(setting)
    assert setting.accepts(low) and setting.accepts(high)
    assert not setting.accepts(low * (1 - 1e-9) - 1e-15)
    assert not setting.accepts(high * (1 + 1e-9) + 1e-15)


def test_cli_writes_the_schema(sdmspec: CLI, spec: Spec, tmp_path: Path) -> None:
    out = tmp_path / "configs.schema.json"
    result = sdmspec("spec", "schema", "--output", str(out))
    assert result.returncode == 0, result.stderr
    assert json.loads(out.read_text()) == config_json_schema(spec)
    printed = sdmspec("spec", "schema")
    assert printed.returncode == 0
    assert printed.stdout == out.read_text()


def test_check_jsonschema_cli_accepts_configs_and_rejects_the_seed(
    sdmspec: CLI, seed_configs: Path, tmp_path: Path
) -> None:
    """The schema as editors and CI use it: check-jsonschema reads YAML 1.2 (ruamel), so 2e-4 is a float there;
    the seed is still rejected for every pinned value it gets wrong."""
    schema = tmp_path / "configs.schema.json"
    assert sdmspec("spec", "schema", "-o", str(schema)).returncode == 0
    check = shutil.which("check-jsonschema", path=str(VENV_BIN))
    assert check is not None

    def run(files: list[Path]) -> subprocess.CompletedProcess[str]:
        cmd = [check, "--schemafile", str(schema), *map(str, files)]
        return subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=60)

    clean = run(sorted((REPO / "configs").glob("*.yaml")))
    assert clean.returncode == 0, clean.stdout
    seeded = run(sorted(seed_configs.glob("*.yaml")))
    assert seeded.returncode == 1
    for key in ("pretrain.batch_size", "pretrain.max_epochs", "finetune.batch_size", "finetune.learning_rate"):
        assert f"$.training.{key}" in seeded.stdout
    assert "$.epochs.mnli" in seeded.stdout
    assert "pretrain.learning_rate" not in seeded.stdout  # YAML 1.2 reads 2e-4 as the float lint requires it to be


def test_spec_check_exit_codes(sdmspec: CLI, tmp_path: Path) -> None:
    ok = sdmspec("spec", "check")
    assert ok.returncode == 0
    assert "7 variants" in ok.stdout
    broken = tmp_path / "spec"
    shutil.copytree(REPO / "spec", broken)
    (broken / "models.yaml").write_text((broken / "models.yaml").read_text().replace("params: 129135360", "params: -1"))
    bad = sdmspec("spec", "check", str(broken))
    assert bad.returncode == 1
    # The problem is the report (as lint reports configs): its file, line and path, and what is expected.
    assert "models.yaml" in bad.stdout and "models.130m.params: expected greater than 0" in bad.stdout
    assert "does not load (1 problem)" in bad.stderr
    assert "Traceback" not in bad.stderr


def test_schema_import_stays_light() -> None:
    code = "import sys, sdmspec.schema.jsonschema; print(any(m.split('.')[0] == 'torch' for m in sys.modules))"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout == "False\n"
