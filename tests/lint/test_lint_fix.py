"""--fix and --diff: only the offending scalars change, everything else stays byte for byte; fixes are idempotent."""

from __future__ import annotations

import codecs
import shutil
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from mamba_sdm.spec import Spec
from sdmspec.cli.app import app
from sdmspec.lint import fix_paths, lint_paths
from sdmspec.lint.values import pyyaml_float_text, render_float

runner = CliRunner()

# CRLF line endings, a byte-order mark, comments, flow style, an anchor, and odd spacing: all must survive.
ORIGINAL = codecs.BOM_UTF8 + (
    b"# Phase A  (keep this comment)\r\n"
    b"training:\r\n"
    b"  pretrain: {batch_size: 24,   learning_rate: 2e-4}   # two spaces before, three after\r\n"
    b"  finetune:\r\n"
    b"    learning_rate: '3e-4'    # quoted\r\n"
    b"    batch_size: &bs 16\r\n"
    b"environment:\r\n"
    b"  pytorch: 2.10\r\n"
    b"  cuda: yes\r\n"
    b"other: {flag: on, mode: 0755, when: 1:30}\r\n"
)
SAFE_FIXED = codecs.BOM_UTF8 + (
    b"# Phase A  (keep this comment)\r\n"
    b"training:\r\n"
    b"  pretrain: {batch_size: 24,   learning_rate: 2.0e-4}   # two spaces before, three after\r\n"
    b"  finetune:\r\n"
    b"    learning_rate: 3.0e-4    # quoted\r\n"
    b"    batch_size: &bs 16\r\n"
    b"environment:\r\n"
    b"  pytorch: 2.10\r\n"
    b"  cuda: yes\r\n"
    b"other: {flag: true, mode: 0755, when: 1:30}\r\n"
)
UNSAFE_FIXED = codecs.BOM_UTF8 + (
    b"# Phase A  (keep this comment)\r\n"
    b"training:\r\n"
    b"  pretrain: {batch_size: 128,   learning_rate: 2.0e-4}   # two spaces before, three after\r\n"
    b"  finetune:\r\n"
    b"    learning_rate: 1.0e-4    # quoted\r\n"
    b"    batch_size: &bs 32\r\n"
    b"environment:\r\n"
    b'  pytorch: "2.1"\r\n'
    b'  cuda: "12.1"\r\n'
    b'other: {flag: true, mode: 755, when: "1:30"}\r\n'
)


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "configs" / "mixed.yaml"
    path.parent.mkdir()
    path.write_bytes(ORIGINAL)
    return path


def test_safe_fixes_touch_only_the_offending_scalars(spec: Spec, config: Path) -> None:
    outcome = fix_paths([config.parent], spec)
    assert config.read_bytes() == SAFE_FIXED
    assert outcome.fixed == 3
    # What remains needs a human or --unsafe-fixes: quoting `2.10` or `yes` would change what the program receives
    # (the float 2.1, the boolean true), so it is no safe fix; the strings meant as numbers became those numbers.
    data = yaml.safe_load(config.read_bytes().decode("utf-8-sig"))
    assert data["training"]["finetune"]["learning_rate"] == pytest.approx(3e-4)
    assert data["environment"] == {"pytorch": 2.1, "cuda": True}


def test_unsafe_fixes_write_the_papers_values(spec: Spec, config: Path) -> None:
    fix_paths([config.parent], spec, unsafe=True)
    assert config.read_bytes() == UNSAFE_FIXED
    remaining = lint_paths([config.parent], spec, ignore=["SDM203", "SDM202"])
    assert remaining.errors == 0 and remaining.fixable(unsafe=True) == 0


@pytest.mark.parametrize("unsafe", [False, True])
def test_fix_is_idempotent(spec: Spec, config: Path, unsafe: bool) -> None:
    fix_paths([config.parent], spec, unsafe=unsafe)
    once = config.read_bytes()
    again = fix_paths([config.parent], spec, unsafe=unsafe)
    assert again.changes == () and config.read_bytes() == once


def test_cli_fix_reports_what_is_left(repo: Path, config: Path) -> None:
    result = runner.invoke(app, ["lint", str(config.parent), "--spec", str(repo / "spec"), "--fix"])
    assert config.read_bytes() == SAFE_FIXED
    assert result.exit_code == 1  # the value errors need --unsafe-fixes
    assert "Fixed 3 findings." in result.stdout


def test_diff_writes_nothing_and_exits_1_when_something_would_change(repo: Path, config: Path) -> None:
    result = runner.invoke(app, ["lint", str(config.parent), "--spec", str(repo / "spec"), "--diff"])
    assert result.exit_code == 1
    assert config.read_bytes() == ORIGINAL
    assert "-  pretrain: {batch_size: 24,   learning_rate: 2e-4}" in result.stdout
    assert "+  pretrain: {batch_size: 24,   learning_rate: 2.0e-4}" in result.stdout
    clean = runner.invoke(app, ["lint", str(repo / "configs"), "--spec", str(repo / "spec"), "--diff"])
    assert clean.exit_code == 0 and clean.stdout == ""


def test_fix_on_the_seed_configs(repo: Path, seed_configs: Path, tmp_path: Path, spec: Spec) -> None:
    copy = Path(shutil.copytree(seed_configs, tmp_path / "seed"))
    fix_paths([copy], spec, unsafe=True)
    result = lint_paths([copy], spec)
    # Every value error is fixed except the cross-file conflict's cause, which the value fix also removed.
    assert result.errors == 0
    assert (copy / "pretrain_sdm.yaml").read_text() == (seed_configs / "pretrain_sdm.yaml").read_text().replace(
        "24", "128"
    ).replace("15", "20").replace("2e-4", "2.0e-4")


@pytest.mark.parametrize("text", ["2e-4", "1e5", "1E-3", "3.5e2", "5.e3", "-2e+4", "7e0"])
def test_float_rewrites_load_as_the_same_float_under_pyyaml(text: str) -> None:
    written = pyyaml_float_text(text)
    assert written is not None
    assert yaml.safe_load(f"x: {written}")["x"] == float(text)
    assert isinstance(yaml.safe_load(f"x: {text}")["x"], str)


@pytest.mark.parametrize("value", [1e-4, 2e-4, 3e-10, 1e5, 0.1, 1234.5])
def test_rendered_floats_load_as_floats(value: float) -> None:
    for scientific in (False, True):
        assert yaml.safe_load(f"x: {render_float(value, scientific)}")["x"] == value


def test_a_misspelt_section_is_not_renamed_onto_the_section_the_file_already_has(spec: Spec, tmp_path: Path) -> None:
    # A rename would write `finetune:` twice; PyYAML keeps the last, and the first section's settings would be lost.
    text = "training:\n  finetune:\n    batch_size: 32\n    optimizer: AdamW\n  finetnue:\n    learning_rate: 1.0e-4\n"
    path = tmp_path / "configs" / "glue.yaml"
    path.parent.mkdir()
    path.write_text(text)
    fix_paths([path.parent], spec, unsafe=True, select=["SDM301"])
    assert path.read_text() == text
    unknown = [d for d in lint_paths([path.parent], spec).diagnostics if d.code == "SDM301"]
    assert len(unknown) == 1 and "training.finetune is already in this file" in unknown[0].message
