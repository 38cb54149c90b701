"""Malformed and hostile input: every file gets a clean diagnostic or exit code, never a traceback or a hang."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

import sdmspec.lint.source as source_module
from mamba_sdm.spec import Spec
from sdmspec.cli.app import app
from sdmspec.lint import lint_paths, lint_text
from sdmspec.lint.engine import lint_sources
from sdmspec.lint.loaders import ConfigLoader
from sdmspec.lint.selection import select_rules
from shared_data import YAML_TEST_SUITE, shared_path

runner = CliRunner()


def _billion_laughs() -> str:
    lines = ['a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    previous = "a"
    for name in "bcdefghi":
        lines.append(f"{name}: &{name} [" + ", ".join([f"*{previous}"] * 9) + "]")
        previous = name
    return "\n".join(lines) + "\n"


MALFORMED: dict[str, tuple[bytes, str]] = {
    "tabs.yaml": (b"training:\n\tpretrain:\n\t\tbatch_size: 128\n", "SDM001"),
    "unclosed.yaml": (b"training: {pretrain: [1, 2\n", "SDM001"),
    "unclosed_quote.yaml": (b'model:\n  name: "mamba-130m\n', "SDM001"),
    "alias_bomb.yaml": (_billion_laughs().encode(), "SDM007"),
    "binary.yaml": (bytes(range(256)) * 16, "SDM003"),
    "empty.yaml": (b"", "SDM005"),
    "list.yaml": (b"- training\n- pretrain\n", "SDM004"),
    "latin1.yaml": ("# réglage du modèle\nmodel:\n  name: mamba-130m\n".encode("latin-1"), "SDM002"),
    "deep_flow.yaml": (b"[" * 3000 + b"]" * 3000 + b"\n", "SDM008"),
    "deep_block.yaml": ("".join(" " * i + f"k{i}:\n" for i in range(3000)).encode() + b" " * 3000 + b"v\n", "SDM008"),
    "multi.yaml": (b"model: {name: mamba-130m}\n---\nmodel: {name: mamba-370m}\n", "SDM006"),
    "bom_crlf.yaml": (b"\xef\xbb\xbftraining:\r\n  pretrain:\r\n    learning_rate: 2e-4\r\n", "SDM101"),
    "control_char.yaml": (b"a: b\x07c\n", "SDM001"),
}


@pytest.mark.parametrize("name", sorted(MALFORMED))
def test_malformed_file_gets_a_diagnostic(repo: Path, tmp_path: Path, name: str) -> None:
    data, code = MALFORMED[name]
    (tmp_path / name).write_bytes(data)
    result = runner.invoke(app, ["lint", str(tmp_path / name), "--spec", str(repo / "spec"), "--format", "json"])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert result.exit_code in (0, 1)
    codes = {d["code"] for d in json.loads(result.stdout)["diagnostics"]}
    assert code in codes


def test_bom_and_crlf_positions_are_those_an_editor_shows(spec: Spec) -> None:
    data, _ = MALFORMED["bom_crlf.yaml"]
    (diagnostic,) = lint_text(data, spec, select=["SDM101"]).diagnostics
    assert (diagnostic.line, diagnostic.column) == (3, 20)


def test_pure_python_loader_turns_recursion_error_into_a_diagnostic(spec: Spec) -> None:
    pure = ConfigLoader("yaml", "yaml.safe_load", yaml.SafeLoader)
    source = source_module.read_source(("[" * 3000 + "]" * 3000 + "\n").encode(), "deep.yaml", pure)
    result = lint_sources([source], spec, select_rules(["SDM0"], None))
    assert {d.code for d in result.diagnostics} == {"SDM008"}


def test_alias_bomb_is_reported_without_expanding(spec: Spec) -> None:
    (diagnostic,) = lint_text(_billion_laughs(), spec, select=["SDM007"]).diagnostics
    assert diagnostic.line is not None and diagnostic.line <= 9


def test_python_tag_never_runs(repo: Path, tmp_path: Path) -> None:
    marker = tmp_path / "PWNED"
    config = tmp_path / "evil.yaml"
    config.write_text(
        "training:\n  pretrain:\n"
        f'    batch_size: !!python/object/apply:os.system ["touch {marker}"]\n'
        f'    max_epochs: !!python/object/apply:subprocess.call [["touch", "{marker}"]]\n'
    )
    result = subprocess.run(
        [sys.executable, "-m", "sdmspec", "lint", str(config), "--spec", str(repo / "spec"), "--format", "json"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "NO_COLOR": "1"},
    )
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert not marker.exists()
    codes = [(d["line"], d["code"]) for d in json.loads(result.stdout)["diagnostics"] if d["code"] == "SDM009"]
    assert codes == [(3, "SDM009"), (4, "SDM009")]


def test_four_megabyte_file(spec: Spec, tmp_path: Path) -> None:
    # Realistic shape: many sections of settings; one pitfall planted on the last line.
    block = "".join(
        f"run_{i}:\n  learning_rate: 2.0e-4\n  batch_size: {i}\n  note: '{'x' * 40}'\n" for i in range(40_000)
    )
    text = "training:\n  pretrain:\n    batch_size: 128\n" + block + "late: 2e-4\n"
    assert len(text) > 4_000_000
    path = tmp_path / "big.yaml"
    path.write_text(text)
    result = lint_paths([path], spec, select=["SDM1", "SDM201"])
    assert {(d.line, d.code) for d in result.diagnostics} == {(text.count("\n"), "SDM101")}


def test_every_yaml_test_suite_input_in_one_run(repo: Path) -> None:
    suite = shared_path(YAML_TEST_SUITE)
    inputs = list(suite.rglob("in.yaml"))
    assert len(inputs) >= 400
    result = subprocess.run(
        [sys.executable, "-m", "sdmspec", "lint", str(suite), "--spec", str(repo / "spec"), "-f", "json"],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "NO_COLOR": "1"},
    )
    assert result.returncode in (0, 1), result.stderr
    assert "Traceback" not in result.stderr
    report = json.loads(result.stdout)
    assert report["summary"]["files"] == len(inputs)
    # Inputs the suite marks as errors that libyaml also rejects get a syntax diagnostic with a position.
    syntax = {d["file"] for d in report["diagnostics"] if d["code"] == "SDM001"}
    assert all(d["line"] for d in report["diagnostics"] if d["code"] == "SDM001")
    assert len(syntax) > 100
