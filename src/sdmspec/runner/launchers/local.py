"""Local subprocesses: each stage is a child process in its own process group, its output in ``OUT/logs/<stage>.log``.

Own sessions let Ctrl-C reach the runner only. To stop, the runner sends SIGTERM to each stage's leader alone: the
job, or the torchrun agent, which passes it on to its workers (torch starts them in sessions of their own). A job
exits at once on a second signal, so the stop is sent once and to one process. The runner waits for the stage to
save and exit (bounded), then kills what remains, whole groups, with SIGKILL.
Up to ``jobs`` independent stages run at once; CPU threads are then shared out between them (OMP_NUM_THREADS), since
PyTorch would otherwise start one thread per core in every process and they would fight over the cores.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from collections.abc import Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import IO

from sdmspec import stage_lock
from sdmspec.runner.launchers.base import Handle
from sdmspec.runner.outputs import stage_folder
from sdmspec.runner.stage import Stage


def descendants(pid: int) -> list[int]:
    """The processes descended from ``pid`` (children first), read from /proc; empty where there is no /proc."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        parents.setdefault(ppid, []).append(int(entry.name))
    found, frontier = [], [pid]
    while frontier:
        children = parents.get(frontier.pop(), [])
        found += children
        frontier += children
    return found


def stage_log_path(logs: Path, stage: str) -> Path:
    return logs / f"{stage}.log"


def child_environment(jobs: int, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment every stage gets: unbuffered output (logs are live), threads shared between parallel stages."""
    env = dict(os.environ)
    env.setdefault("PYTHONUNBUFFERED", "1")
    if jobs > 1 and "OMP_NUM_THREADS" not in env:
        env["OMP_NUM_THREADS"] = str(max(1, (os.cpu_count() or 1) // jobs))
    env.update(extra or {})
    return env


class LocalLauncher:
    """Run stages as local child processes, at most ``jobs`` at a time."""

    name = "local"
    supports_dependencies = False
    poll_interval_s = 0.05

    def __init__(self, logs: Path, *, jobs: int = 1, env: Mapping[str, str] | None = None, cwd: Path | None = None):
        self.logs = logs
        self.max_parallel = max(1, jobs)
        self.env = child_environment(self.max_parallel, env)
        self.cwd = cwd
        self._files: dict[str, IO[bytes]] = {}

    def command(self, stage: Stage) -> list[str]:
        """The command line that runs ``stage`` (torchrun wraps training stages here)."""
        return list(stage.argv)

    def start(self, stage: Stage, running_upstream: Mapping[str, Handle]) -> Handle:
        argv = self.command(stage)
        folder = stage_folder(stage)
        # The stage's folder lock, taken before its process exists and handed to it: held from the first instant.
        lock = stage_lock.try_lock(folder)
        if lock is None:
            raise stage_lock.FolderBusyError(folder, stage_lock.holder(folder) or "pid unknown")
        try:
            log = stage_log_path(self.logs, stage.name)
            log.parent.mkdir(parents=True, exist_ok=True)
            handle_file = log.open("ab")
            try:
                stamp = datetime.now(timezone.utc).isoformat(timespec="seconds")
                handle_file.write(f"=== {stamp} sdmspec run: {subprocess.list2cmdline(argv)}\n".encode())
                handle_file.flush()
                env = {**self.env, stage_lock.INHERITED_ENV: str(folder)}
                process = subprocess.Popen(
                    argv, stdout=handle_file, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                    cwd=self.cwd, env=env, start_new_session=True, pass_fds=(lock.fileno(),),
                )  # fmt: skip
            except OSError as err:
                with contextlib.suppress(OSError):
                    handle_file.write(f"cannot start: {err}\n".encode())
                handle_file.close()
                raise
            with contextlib.suppress(OSError):  # only the message's pid: the lock itself is held either way
                stage_lock.record_holder(lock, process.pid)
        finally:
            lock.close()  # the stage's process holds it now (same open file description), until it exits
        self._files[stage.name] = handle_file
        return Handle(stage=stage.name, job_id=str(process.pid), log=str(log), backend=process)

    def poll(self, handle: Handle) -> int | None:
        process: subprocess.Popen[bytes] = handle.backend
        code = process.poll()
        if code is not None:
            log = self._files.pop(handle.stage, None)
            if log is not None:
                log.close()
        return code

    def interrupt(self, handle: Handle) -> None:
        process: subprocess.Popen[bytes] = handle.backend
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError):  # it ended between the poll and the signal
                os.kill(process.pid, signal.SIGTERM)

    def kill(self, handle: Handle) -> None:
        process: subprocess.Popen[bytes] = handle.backend
        # Every descendant, not only the leader's group: torch starts torchrun's workers in sessions of their own,
        # and a worker outliving its agent would go on writing a folder nobody holds any more.
        tree = descendants(process.pid)
        with contextlib.suppress(ProcessLookupError, PermissionError):  # gone already
            os.killpg(process.pid, signal.SIGKILL)
        for pid in tree:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)

    def options(self) -> dict[str, object]:
        return {"jobs": self.max_parallel}
