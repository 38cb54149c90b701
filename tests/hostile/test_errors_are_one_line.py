"""Issue 23: an unexpected error is one line naming a crash log (exit 3), never a bare traceback (cases 16, 21)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from hostile_cli import REPO, SPEC, assert_one_line, make_repo, sdmspec

import sdmspec.lint.engine as engine

EXIT_BUG = 3  # sdmspec.errors.EXIT_BUG: pre-commit's code for an unexpected error


def test_a_bug_is_one_line_naming_a_log_that_holds_the_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise ZeroDivisionError("division by zero in a rule")

    monkeypatch.setattr(engine, "lint_paths", broken)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.chdir(REPO)
    ran = sdmspec(capsys, "lint", "configs", "--spec", str(SPEC))
    assert_one_line(ran, EXIT_BUG, "bug", "ZeroDivisionError")
    logs = list((tmp_path / "cache" / "sdmspec").glob("crash-*.log"))
    assert len(logs) == 1
    assert str(logs[0]) in ran.err
    text = logs[0].read_text()
    assert "Traceback (most recent call last)" in text and "division by zero in a rule" in text
    assert "command sdmspec lint configs" in text
    assert logs[0].stat().st_mode & 0o077 == 0  # tracebacks name paths: the owner's eyes only


def test_a_bug_with_no_writable_cache_still_exits_with_its_code(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise KeyError("x")

    (tmp_path / "file").write_text("")
    monkeypatch.setattr(engine, "lint_paths", broken)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "file"))  # a file: no folder can be made there
    monkeypatch.setenv("TMPDIR", str(tmp_path / "file"))
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", None)
    monkeypatch.chdir(REPO)
    ran = sdmspec(capsys, "lint", "configs", "--spec", str(SPEC))
    assert_one_line(ran, EXIT_BUG, "bug", "KeyError")


def test_lint_with_stdout_closed_is_no_traceback(tmp_path: Path) -> None:
    # `sdmspec lint >&-`: Python sees sys.stdout as None.
    done = subprocess.run(
        ["/bin/sh", "-c", f'"{sys.executable}" -m sdmspec lint configs --spec "{SPEC}" >&-'],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "XDG_CACHE_HOME": str(tmp_path)},
    )
    assert "Traceback" not in done.stderr and "bug" not in done.stderr, done.stderr
    assert done.returncode == 0, done.stderr


def test_a_name_too_long_is_one_line_in_every_command(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = make_repo(tmp_path)
    monkeypatch.chdir(repo)
    long_name = "x" * 300
    assert_one_line(sdmspec(capsys, "status", long_name), 2, "too long")
    assert_one_line(sdmspec(capsys, "verify-sparsity", long_name, long_name, "--spec", str(SPEC)), 2)
    assert_one_line(sdmspec(capsys, "spec", "schema", "--spec", str(SPEC), "-o", long_name + ".json"), 2, "too long")


def test_an_unreadable_run_folder_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Root reads everything, so the EACCES a user without x permission gets is injected where the folder is listed.
    out = tmp_path / "run"
    out.mkdir()
    real_iterdir = Path.iterdir

    def refuse(self: Path) -> object:
        if self == out:
            raise PermissionError(13, "Permission denied", str(self))
        return real_iterdir(self)

    monkeypatch.setattr(Path, "iterdir", refuse)
    assert_one_line(sdmspec(capsys, "status", str(out)), 2, "Permission denied")
