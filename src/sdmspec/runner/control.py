"""What keeps runs of one folder from stepping on each other, and turns signals into requests the walk can poll.

- One `sdmspec run` per output folder (an advisory lock): two would launch the same jobs and fight over the manifest.
- A runner that died (SIGKILL, a lost node) may leave its local stages running in their own process groups; a new
  run refuses to start them twice: each stage's folder lock (:mod:`sdmspec.stage_lock`) says whether it still runs.
- Ctrl-C and SIGTERM set a flag instead of raising in the middle of a launch or a manifest write.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType

from sdmspec import stage_lock
from sdmspec.errors import SdmspecError
from sdmspec.runner.manifest import StageStatus
from sdmspec.runner.outputs import stage_folder
from sdmspec.runner.prepare import PreparedRun

LOCK_NAME = ".sdmspec-run.lock"


@contextmanager
def folder_lock(folder: Path) -> Iterator[None]:
    """One `sdmspec run` per output folder at a time: two would launch the same jobs and fight over the manifest."""
    handle = stage_lock.try_lock(folder, LOCK_NAME)
    if handle is None:
        who = stage_lock.holder(folder, LOCK_NAME) or "pid unknown"
        raise SdmspecError(f"{folder}: another `sdmspec run` is using this folder ({who})")
    with handle:
        with contextlib.suppress(OSError):  # the pid is for messages and `sdmspec status`; the flock is the lock
            stage_lock.record_holder(handle, os.getpid())
        yield


def runner_holder(folder: Path) -> str | None:
    """The `sdmspec run` using ``folder`` ("pid N on HOST"), or None when none is."""
    return stage_lock.holder(folder, LOCK_NAME)


class StopRequests:
    """Ctrl-C and SIGTERM become requests the walk polls, never an exception in the middle of a launch or a write.

    The first asks running stages to stop cleanly; a second stops waiting for them.
    """

    def __init__(self) -> None:
        self.count = 0

    def request(self, signum: int, frame: FrameType | None) -> None:
        self.count += 1

    @contextmanager
    def installed(self) -> Iterator[None]:
        if threading.current_thread() is not threading.main_thread():
            yield  # only the main thread may install handlers; a KeyboardInterrupt is caught instead
            return
        previous = {signum: signal.signal(signum, self.request) for signum in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)


def busy_stages(prepared: PreparedRun) -> list[tuple[str, str]]:
    """Stages whose folder lock a process holds (a stage an earlier runner started, or a job started by hand):
    ``(stage, "pid N on HOST")``. Every stage this run would start, and every one recorded as running."""
    previous = prepared.previous
    running = {
        name for name, record in (previous.stages.items() if previous else ()) if record.status is StageStatus.RUNNING
    }
    busy = []
    for stage in prepared.plan.stages:
        if stage.name not in prepared.to_run and stage.name not in running:
            continue
        who = stage_lock.holder(stage_folder(stage))
        if who is not None:
            busy.append((stage.name, who))
    return busy
