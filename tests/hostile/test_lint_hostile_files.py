"""Issue 23: lint on a stranger's files. Cases 2 (a symlink out of the repository), 5 (concurrent --fix), 15 (size),
19 (huge integers), 22 (a FIFO by name, an unreadable file) and 16 (a name too long)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from hostile_cli import SPEC, assert_one_line, make_repo, sdmspec

import sdmspec.lint.fix as fix_module
from mamba_sdm.spec import Spec
from sdmspec.errors import EXIT_DISK_FULL
from sdmspec.lint import fix_paths

MAX_CONFIG_BYTES = 8 * 2**20  # sdmspec.lint.reading.MAX_CONFIG_BYTES, the documented bound

SECRET = "ghp_S3CR3T-token-value"
CONFIG = "training:\n  pretrain:\n    learning_rate: 2e-4\n"


def _codes(out: str) -> list[str]:
    return [d["code"] for d in json.loads(out)["diagnostics"]]


@pytest.mark.parametrize("given", ["folder", "file"])
def test_a_config_linking_out_of_the_repository_is_not_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, given: str
) -> None:
    secret = tmp_path / "home" / "token"
    secret.parent.mkdir()
    secret.write_text(f"{SECRET}\n")  # a bare string: SDM004 would quote it
    repo = make_repo(tmp_path / "repo")
    (repo / "configs" / "token.yaml").symlink_to(secret)
    monkeypatch.chdir(repo)
    target = "configs" if given == "folder" else "configs/token.yaml"
    ran = sdmspec(capsys, "lint", target, "--spec", str(SPEC), "--format", "json", "--ignore", "SDM203")
    assert SECRET not in ran.out + ran.err
    assert ran.code == 1
    assert _codes(ran.out) == ["SDM012"]


def test_a_link_inside_the_repository_is_linted(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = make_repo(tmp_path)
    (repo / "base.yaml").write_text("training:\n  pretrain:\n    batch_size: 24\n")
    (repo / "configs" / "pretrain.yaml").symlink_to(repo / "base.yaml")
    monkeypatch.chdir(repo)
    ran = sdmspec(capsys, "lint", "configs", "--spec", str(SPEC), "--format", "json", "--select", "SDM201")
    assert _codes(ran.out) == ["SDM201"]


def test_a_context_file_linking_out_is_not_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # The conflict rule names the value it finds in the other file: a link out must not feed it.
    outside = tmp_path / "outside.yaml"
    outside.write_text("training:\n  pretrain:\n    batch_size: 987654\n")
    repo = make_repo(tmp_path / "repo")
    (repo / "configs" / "other.yaml").symlink_to(outside)
    (repo / "configs" / "mine.yaml").write_text("training:\n  pretrain:\n    batch_size: 128\n")
    monkeypatch.chdir(repo)
    ran = sdmspec(capsys, "lint", "configs/mine.yaml", "--spec", str(SPEC), "--format", "json")
    assert "987654" not in ran.out + ran.err


def test_fix_does_not_write_over_a_file_changed_since_it_was_read(tmp_path: Path, spec: Spec) -> None:
    config = tmp_path / "pretrain.yaml"
    config.write_text(CONFIG)
    theirs = "training:\n  pretrain:\n    learning_rate: 2.0e-4  # fixed by the other hook\n"
    real_fix_bytes = fix_module.fix_bytes

    def fix_while_another_writer_saves(data: bytes, path: str, *args: object, **kwargs: object) -> tuple[bytes, int]:
        result = real_fix_bytes(data, path, *args, **kwargs)  # type: ignore[arg-type]
        Path(path).write_text(theirs)  # the other --fix (or the editor) saves between our read and our write
        return result

    mp = pytest.MonkeyPatch()
    mp.setattr(fix_module, "fix_bytes", fix_while_another_writer_saves)
    try:
        outcome = fix_paths([config], spec, write=True)
    finally:
        mp.undo()
    assert config.read_text() == theirs, "the stale fix was written over the newer content"
    assert outcome.conflicts == (config,)
    assert outcome.changes == ()


def test_fix_reports_the_conflict_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = make_repo(tmp_path)
    config = repo / "configs" / "pretrain.yaml"
    config.write_text(CONFIG)
    real_fix_bytes = fix_module.fix_bytes

    def racing(data: bytes, path: str, *args: object, **kwargs: object) -> tuple[bytes, int]:
        result = real_fix_bytes(data, path, *args, **kwargs)  # type: ignore[arg-type]
        Path(path).write_text(CONFIG + "# edited meanwhile\n")
        return result

    monkeypatch.setattr(fix_module, "fix_bytes", racing)
    monkeypatch.chdir(repo)
    ran = sdmspec(capsys, "lint", "configs", "--spec", str(SPEC), "--fix", "--select", "SDM101")
    assert "changed while being fixed" in ran.err
    assert ran.code == 0  # SDM101 is a warning; what is left is reported from the file as it is now
    assert config.read_text().endswith("# edited meanwhile\n")


def test_a_config_over_the_size_bound_is_a_finding_and_not_parsed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = make_repo(tmp_path)
    big = repo / "configs" / "big.yaml"
    line = b"k: [" + b"1, " * 1000 + b"1]\n"
    with big.open("wb") as handle:
        for index in range(MAX_CONFIG_BYTES // len(line) + 2):
            handle.write(b"x%d" % index + line)
    import sdmspec.lint.source as source_module

    def never(*args: object, **kwargs: object) -> None:
        raise AssertionError("the oversized file was parsed")

    monkeypatch.setattr(source_module, "_compose", never)
    monkeypatch.chdir(repo)
    ran = sdmspec(capsys, "lint", "configs", "--spec", str(SPEC), "--format", "json", "--ignore", "SDM203")
    assert ran.code == 1
    assert _codes(ran.out) == ["SDM013"]


@pytest.mark.parametrize("value", ["9" * 5000, ":".join(["59"] * 3000), "0x" + "f" * 5000])
def test_an_integer_past_the_interpreter_limit_is_a_finding(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    repo = make_repo(tmp_path)
    (repo / "configs" / "seed.yaml").write_text(f"training:\n  pretrain:\n    batch_size: {value}\n")
    monkeypatch.chdir(repo)
    ran = sdmspec(capsys, "lint", "configs", "--spec", str(SPEC), "--format", "json", "--fix")
    assert "Traceback" not in ran.err and "bug" not in ran.err, ran.err
    assert ran.code == 1
    assert "SDM013" in _codes(ran.out)


def test_a_fifo_given_by_name_is_named_for_what_it_is(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = make_repo(tmp_path)
    os.mkfifo(repo / "configs" / "pipe.yaml")
    monkeypatch.chdir(repo)
    ran = sdmspec(capsys, "lint", "configs/pipe.yaml", "--spec", str(SPEC))
    assert_one_line(ran, 2, "FIFO")


def test_a_fifo_inside_a_folder_is_passed_over(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = make_repo(tmp_path)
    os.mkfifo(repo / "configs" / "pipe.yaml")
    (repo / "configs" / "a.yaml").write_text(CONFIG)
    monkeypatch.chdir(repo)
    ran = sdmspec(capsys, "lint", "configs", "--spec", str(SPEC), "--format", "json", "--select", "SDM101")
    assert [d["file"] for d in json.loads(ran.out)["diagnostics"]] == ["configs/a.yaml"]


def test_a_file_name_too_long_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = make_repo(tmp_path)
    monkeypatch.chdir(repo)
    long_name = "configs/" + "a" * 300 + ".yaml"
    assert_one_line(sdmspec(capsys, "lint", long_name, "--spec", str(SPEC)), 2, "too long")
    ran = sdmspec(capsys, "lint", "configs", "--spec", str(SPEC), "-o", "b" * 300 + ".json")
    assert_one_line(ran, 2, "too long")


def test_an_unreadable_config_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Root reads everything, so the refusal is injected where the file is opened (os.open, EACCES).
    repo = make_repo(tmp_path)
    config = repo / "configs" / "a.yaml"
    config.write_text(CONFIG)
    real_open = os.open

    def refuse(path: object, *args: object, **kwargs: object) -> int:
        if str(path).endswith("configs/a.yaml"):
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "open", refuse)
    monkeypatch.chdir(repo)
    assert_one_line(sdmspec(capsys, "lint", "configs", "--spec", str(SPEC)), 2, "a.yaml", "Permission denied")


def test_a_huge_document_is_quoted_by_its_start_only(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = make_repo(tmp_path)
    (repo / "configs" / "a.yaml").write_text("x" * 1_000_000 + "\n")
    monkeypatch.chdir(repo)
    ran = sdmspec(capsys, "lint", "configs", "--spec", str(SPEC), "--select", "SDM004")
    assert ran.code == 1
    assert max(len(line) for line in ran.out.splitlines()) < 500
    assert "1,000,000 characters" in ran.out


def test_a_report_onto_a_full_device_is_one_line(tmp_path: Path) -> None:
    # /dev/full answers every write with ENOSPC: the line names stdout, not the current folder's free space.
    import subprocess
    import sys

    with Path("/dev/full").open("w") as full:
        done = subprocess.run(
            [sys.executable, "-m", "sdmspec", "lint", "configs", "--spec", str(SPEC)],
            cwd=SPEC.parent,
            stdout=full,
            stderr=subprocess.PIPE,
            text=True,
            timeout=120,
            check=False,
            env={**os.environ, "XDG_CACHE_HOME": str(tmp_path)},
        )
    assert done.returncode == EXIT_DISK_FULL, done.stderr
    assert [line for line in done.stderr.splitlines() if line] == [
        "sdmspec: error: no space left on device writing stdout"
    ]
