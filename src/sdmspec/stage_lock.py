"""One writer per job folder: a running job holds an exclusive ``fcntl.flock`` on ``<folder>/.lock`` until it exits.

The lock belongs to an open file description, so it is released by the kernel when the holder dies, however it dies
(no stale lock after a SIGKILL). Its file holds the holder's pid and host, for the message that names it.

``sdmspec run`` takes a stage's lock *before* the stage's process exists and hands the locked descriptor to it
(``pass_fds``): from the first instant the folder is held, so a runner killed between starting a stage and recording
it cannot lead a rerun to start the same stage twice. The stage learns from :data:`INHERITED_ENV` that its launcher
holds its folder's lock for it (under torchrun the agent holds it, and the workers see the variable).
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import os
import socket
import time
from pathlib import Path
from typing import IO

from sdmspec.errors import SdmspecError

LOCK_NAME = ".lock"
# The folder whose lock this process's launcher holds on its behalf (absolute path).
INHERITED_ENV = "SDMSPEC_STAGE_LOCK"

_TRIES = 3
# Locks this process took for itself: kept open (hence held) until the process exits.
_HELD: dict[Path, IO[str]] = {}


class FolderBusyError(SdmspecError):
    """Another process holds the folder's lock (exit 2)."""

    def __init__(self, folder: Path, holder: str) -> None:
        super().__init__(f"{folder}: another job is writing this folder ({holder}); wait for it or stop it")
        self.folder = folder
        self.holder = holder


def lock_path(folder: Path, name: str = LOCK_NAME) -> Path:
    return folder / name


def _read_holder(handle: IO[str]) -> str:
    with contextlib.suppress(OSError):
        handle.seek(0)
        text = handle.read().split()
        if text:
            return f"pid {text[0]}" + (f" on {text[1]}" if len(text) > 1 else "")
    return "pid unknown"


def record_holder(handle: IO[str], pid: int) -> None:
    """Write ``pid`` and this host into the lock file (for messages; the lock itself is the flock)."""
    handle.seek(0)
    handle.truncate()
    handle.write(f"{pid} {socket.gethostname()}\n")
    handle.flush()


def try_lock(folder: Path, name: str = LOCK_NAME) -> IO[str] | None:
    """The folder's lock file, open and locked by this call; None when another open description holds it."""
    # An OSError here (an unreadable .lock, a folder without write permission) names the path: the runner records
    # it as the stage's "cannot start" line, the CLI's handler prints it as one line.
    folder.mkdir(parents=True, exist_ok=True)
    handle = lock_path(folder, name).open("a+", encoding="utf-8")
    try:
        # A few tries: a reader asking who holds it (:func:`holder`, `sdmspec status`) holds it for an instant.
        for attempt in range(_TRIES):
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return handle
            except BlockingIOError:
                if attempt + 1 < _TRIES:
                    time.sleep(0.05)
    except BaseException:
        handle.close()
        raise
    handle.close()
    return None


def refuse_if_held(folder: Path, name: str = LOCK_NAME) -> None:
    """Raise :class:`FolderBusyError` when another process holds the folder's lock (a check before work that does not
    take the lock itself: a submission, writing a file the running job reads)."""
    who = holder(folder, name)
    if who is not None:
        raise FolderBusyError(folder, who)


def holder(folder: Path, name: str = LOCK_NAME) -> str | None:
    """Who holds the folder's lock ("pid N on HOST"), or None when nobody does. Creates nothing."""
    path = lock_path(folder, name)
    try:
        if not path.is_file():
            return None
        # Non-blocking open: a FIFO put in the lock's place between the check and the open must not hang status.
        handle = os.fdopen(os.open(path, os.O_RDONLY | os.O_NONBLOCK), "r", encoding="utf-8", errors="replace")
    except OSError as err:
        return f"unknown: its lock {path} cannot be read ({err.strerror or err})"
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return _read_holder(handle)
        fcntl.flock(handle, fcntl.LOCK_UN)
    return None


def _inherited(folder: Path) -> bool:
    held = os.environ.get(INHERITED_ENV)
    return held is not None and Path(held).resolve() == folder.resolve()


def hold(folder: Path) -> None:
    """Hold ``folder``'s lock for the rest of this process; :class:`FolderBusyError` when another process holds it.

    Where the launcher took it for this process (:data:`INHERITED_ENV`), that lock stands and nothing is taken.
    """
    folder = folder.resolve()
    if folder in _HELD:
        return
    handle = try_lock(folder)
    if handle is None:
        if _inherited(folder):
            return
        raise FolderBusyError(folder, holder(folder) or "pid unknown")
    record_holder(handle, os.getpid())
    if not _HELD:
        atexit.register(_release_all)
    _HELD[folder] = handle


def release(folder: Path) -> None:
    """Let go of a lock :func:`hold` took (tests; a job simply exits)."""
    handle = _HELD.pop(folder.resolve(), None)
    if handle is not None:
        handle.close()


def _release_all() -> None:
    # The kernel drops the locks at exit anyway; closing the files first keeps interpreter shutdown quiet.
    for folder in list(_HELD):
        release(folder)
