"""Issue 23: a run folder is untrusted input. Cases 3 (a log outside the run), 7 (a newer manifest), 13 (outputs
named outside the stage), 14 (a FIFO or /dev/zero as the manifest or a log) and 22 (a corrupt manifest's line)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from hostile_cli import assert_one_line, sdmspec

from sdmspec.errors import SdmspecError
from sdmspec.runner.manifest import read_manifest
from sdmspec.runner.outputs import outputs_problem

SECRET = "root:$6$s3cr3t-hash:19000:0:99999:7:::"


def _manifest(out: Path, **stage: Any) -> dict[str, Any]:
    record = {
        "name": "pretrain/sdm",
        "kind": "pretrain",
        "status": "failed",
        "command": ["sdmspec", "job", "pretrain"],
        "marker": str(out / "pretrain" / "sdm" / "result.json"),
        **stage,
    }
    return {
        "schema_version": 1,
        "spec_path": "spec",
        "spec_hash": "0" * 64,
        "configs": "configs",
        "config_hashes": {},
        "git_commit": None,
        "git_dirty": None,
        "environment": {},
        "smoke": True,
        "launcher": "local",
        "stages": {"pretrain/sdm": record},
    }


def _write(out: Path, manifest: dict[str, Any]) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    path = out / "manifest.json"
    path.write_text(json.dumps(manifest))
    return path


def test_status_does_not_print_a_log_outside_the_run_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    shadow = tmp_path / "etc" / "shadow"
    shadow.parent.mkdir()
    shadow.write_text(SECRET + "\n")
    out = tmp_path / "run"
    _write(out, _manifest(out, log=str(shadow)))
    for form in ("text", "json"):
        ran = sdmspec(capsys, "status", str(out), "--format", form)
        assert ran.code == 0, ran
        assert "s3cr3t" not in ran.out + ran.err
        assert "outside the run folder" in ran.out


def test_status_shows_a_log_inside_the_run_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "run"
    log = out / "logs" / "pretrain.log"
    log.parent.mkdir(parents=True)
    log.write_text("step 10\nCUDA out of memory\n")
    _write(out, _manifest(out, log=str(log)))
    ran = sdmspec(capsys, "status", str(out))
    assert "CUDA out of memory" in ran.out


def test_a_manifest_from_a_newer_sdmspec_is_refused_and_kept(tmp_path: Path) -> None:
    out = tmp_path / "run"
    manifest = _manifest(out)
    manifest["schema_version"] = 2
    manifest["checkpoints_v2"] = {"kept": True}
    path = _write(out, manifest)
    before = path.read_bytes()
    with pytest.raises(SdmspecError, match="newer sdmspec"):
        read_manifest(out)
    assert path.read_bytes() == before


def test_a_corrupt_manifest_names_the_field(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "run"
    _write(out, _manifest(out, status="exploded"))
    ran = sdmspec(capsys, "status", str(out))
    assert_one_line(ran, 2, "stages.pretrain/sdm.status")
    assert "validation error for" not in ran.err


@pytest.mark.parametrize("name", ["../../../../outside.bin", "/outside.bin", "model/../../../outside.bin"])
def test_outputs_named_outside_the_stage_folder_are_refused(tmp_path: Path, name: str) -> None:
    stage_folder = tmp_path / "run" / "pretrain" / "sdm"
    stage_folder.mkdir(parents=True)
    outside = tmp_path / "outside.bin"
    outside.write_bytes(b"")
    stage = SimpleNamespace(marker=str(stage_folder / "result.json"))
    empty = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"  # sha256 of nothing
    recorded = {name.replace("/outside.bin", str(outside)) if name.startswith("/") else name: {"size": 0}}
    for entry in recorded.values():
        entry["sha256"] = empty
    problem = outputs_problem(stage, recorded)  # type: ignore[arg-type]
    assert problem is not None and "refused" in problem


def test_an_output_that_is_a_device_is_refused(tmp_path: Path) -> None:
    stage_folder = tmp_path / "run" / "pretrain" / "sdm"
    (stage_folder / "model").mkdir(parents=True)
    (stage_folder / "model" / "weights.bin").symlink_to("/dev/zero")  # resolves outside, and never ends
    stage = SimpleNamespace(marker=str(stage_folder / "result.json"))
    problem = outputs_problem(stage, {"model/weights.bin": {"size": 0, "sha256": "0"}})  # type: ignore[arg-type]
    assert problem is not None and "refused" in problem


# `sdmspec status OUT` in a child whose address space is capped at 2 GiB (no preexec_fn: unsafe with threads).
CAPPED_STATUS = (
    "import resource, runpy, sys; resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30)); "
    "sys.argv = ['sdmspec', 'status', sys.argv[1]]; runpy.run_module('sdmspec', run_name='__main__')"
)


@pytest.mark.parametrize("kind", ["fifo-manifest", "zero-manifest", "fifo-log"])
def test_a_fifo_or_dev_zero_in_the_run_folder_neither_hangs_nor_fills_memory(tmp_path: Path, kind: str) -> None:
    out = tmp_path / "run"
    out.mkdir()
    if kind == "fifo-manifest":
        os.mkfifo(out / "manifest.json")
    elif kind == "zero-manifest":
        (out / "manifest.json").symlink_to("/dev/zero")
    else:
        log = out / "logs" / "pretrain.log"
        log.parent.mkdir()
        os.mkfifo(log)
        _write(out, _manifest(out, log=str(log)))
    # A child process under a memory cap and a time limit: before the fix this blocked forever or filled memory.
    done = subprocess.run(
        [sys.executable, "-c", CAPPED_STATUS, str(out)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert "Traceback" not in done.stderr, done.stderr
    if kind == "fifo-log":
        assert done.returncode == 0, done.stderr
    else:
        assert done.returncode == 2, done.stderr
        assert "not a regular file" in done.stderr
