"""Issue 23, cases 1 and 6: an output path keeps its kind (a device or FIFO is written to, a symlink written
through), and ``--fix`` fixes a symlinked config through the link."""

from __future__ import annotations

import os
import socket
import stat
import threading
from pathlib import Path

import pytest
from hostile_cli import SPEC, assert_one_line, make_repo, sdmspec

from sdmspec.io import atomic_write_text

CONFIG = "training:\n  pretrain:\n    learning_rate: 2e-4\n"


def _null_device(path: Path) -> Path:
    """A character device like /dev/null (major 1, minor 3), made where the test may break it."""
    try:
        os.mknod(path, stat.S_IFCHR | 0o666, os.makedev(1, 3))
    except PermissionError:
        pytest.skip("mknod needs root (CAP_MKNOD); the FIFO test covers writing in place without it")
    return path


def test_output_onto_a_device_writes_to_it_and_keeps_it_a_device(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = make_repo(tmp_path)
    (repo / "configs" / "a.yaml").write_text(CONFIG)
    null = _null_device(tmp_path / "null")
    monkeypatch.chdir(repo)
    ran = sdmspec(capsys, "lint", "configs", "--spec", str(SPEC), "--format", "json", "-o", str(null))
    assert ran.code == 0, ran
    assert stat.S_ISCHR(null.lstat().st_mode), "the device was replaced by a regular file"
    assert not list(tmp_path.glob(".null.*")), "a temporary file was left beside the device"


def test_output_onto_a_fifo_is_written_into_the_fifo(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = make_repo(tmp_path)
    (repo / "configs" / "a.yaml").write_text(CONFIG)
    fifo = tmp_path / "report.fifo"
    os.mkfifo(fifo)
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()), daemon=True)
    reader.start()
    monkeypatch.chdir(repo)
    ran = sdmspec(capsys, "lint", "configs", "--spec", str(SPEC), "--format", "json", "-o", str(fifo))
    reader.join(30)
    assert ran.code == 0, ran
    assert stat.S_ISFIFO(fifo.lstat().st_mode)
    assert received and b'"diagnostics"' in received[0]


def test_output_through_a_symlink_replaces_the_target_and_keeps_the_link(tmp_path: Path) -> None:
    target = tmp_path / "reports" / "lint.json"
    target.parent.mkdir()
    target.write_text("old")
    link = tmp_path / "latest.json"
    link.symlink_to(target)
    atomic_write_text(link, "new report\n")
    assert link.is_symlink(), "the symlink was replaced by a regular file"
    assert target.read_text() == "new report\n"


def test_output_onto_a_socket_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = make_repo(tmp_path)
    (repo / "configs" / "a.yaml").write_text(CONFIG)
    path = tmp_path / "s.sock"
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(path))
    try:
        monkeypatch.chdir(repo)
        ran = sdmspec(capsys, "lint", "configs", "--spec", str(SPEC), "-o", str(path))
    finally:
        server.close()
    assert_one_line(ran, 2, "socket")
    assert stat.S_ISSOCK(path.lstat().st_mode)


def test_fix_on_a_symlinked_config_fixes_the_shared_file_and_keeps_the_link(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = make_repo(tmp_path)
    shared = repo / "shared" / "base.yaml"
    shared.parent.mkdir()
    shared.write_text(CONFIG)
    link = repo / "configs" / "pretrain.yaml"
    link.symlink_to(Path("..") / "shared" / "base.yaml")
    monkeypatch.chdir(repo)
    ran = sdmspec(capsys, "lint", "configs", "--spec", str(SPEC), "--fix", "--select", "SDM101")
    assert ran.code == 0, ran
    assert link.is_symlink(), "--fix replaced the link with a fixed copy"
    assert "learning_rate: 2.0e-4" in shared.read_text()
