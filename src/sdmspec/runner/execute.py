"""Walk the plan: start each stage when its upstreams allow, record every transition, stop cleanly on a signal.

The manifest is rewritten after every transition, so it is consistent at every moment: a crash leaves ``running``
only for stages whose process may still be finishing, and the next run (holding the folder's lock, so none is) sees
them as not finished, or as done when their job wrote its result. SIGINT (Ctrl-C) or SIGTERM to the runner forwards
the stop (SIGTERM) to every running stage, waits up to ``grace_s`` for them to save a checkpoint and exit, kills what
remains, marks them interrupted (with the job's own line when it said where it stopped) and exits 130.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import stat
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sdmspec import stage_lock
from sdmspec.errors import EXIT_DISK_FULL, EXIT_FINDINGS, EXIT_INTERRUPTED, EXIT_OK, DiskFullError, SdmspecError
from sdmspec.io import atomic_write_text, disk_full_error, is_disk_full, remove_stale_temps
from sdmspec.runner.control import StopRequests, busy_stages, folder_lock
from sdmspec.runner.fingerprint import FINGERPRINT_SCHEME, LEGACY_SCHEME
from sdmspec.runner.launchers import capabilities
from sdmspec.runner.launchers.base import Handle, Launcher
from sdmspec.runner.manifest import Manifest, StageStatus, now, read_manifest
from sdmspec.runner.outputs import digest_outputs, stage_folder
from sdmspec.runner.prepare import PreparedRun
from sdmspec.runner.record import open_store
from sdmspec.runner.stage import MarkerCheck, Stage, Trigger
from sdmspec.runner.state import marker_ok, upstream_runs

ENDED = (StageStatus.DONE, StageStatus.FAILED, StageStatus.SKIPPED, StageStatus.INTERRUPTED)
BLOCKING = (StageStatus.FAILED, StageStatus.SKIPPED, StageStatus.INTERRUPTED)


@dataclass(frozen=True)
class RunEvent:
    """A stage transition, for the CLI to show: start, done, failed, skipped, interrupted, or reused (already done)."""

    kind: str
    stage: str
    message: str = ""
    log: str | None = None
    duration_s: float | None = None


@dataclass(frozen=True)
class RunOutcome:
    statuses: dict[str, StageStatus]
    interrupted: bool
    manifest: Path

    @property
    def failed(self) -> tuple[str, ...]:
        return tuple(name for name, status in self.statuses.items() if status is not StageStatus.DONE)

    @property
    def exit_code(self) -> int:
        return EXIT_INTERRUPTED if self.interrupted else (EXIT_FINDINGS if self.failed else EXIT_OK)


_STOP_LINE = "stopped by "
_TAIL_BYTES = 16_384


def log_tail(log: str | None, lines: int) -> list[str]:
    """The last ``lines`` lines of a stage's log (read from its end: logs of multi-day stages are large)."""
    if not log or lines <= 0:  # [-0:] would be every line
        return []
    try:
        # Non-blocking, regular files only: a log path comes from the manifest, and a FIFO there must not hang.
        fd = os.open(log, os.O_RDONLY | os.O_NONBLOCK)
        with os.fdopen(fd, "rb") as handle:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                return []
            handle.seek(0, 2)
            size = handle.tell()
            handle.seek(max(0, size - _TAIL_BYTES))
            text = handle.read(_TAIL_BYTES).decode("utf-8", errors="replace")
    except OSError:
        return []
    return [line for line in text.splitlines() if line.strip()][-lines:]


def _stopped_message(log: str | None, code: int, grace_s: float, killed: bool) -> str:
    """What an interrupted stage's record says: the job's own line when it saved, else what happened to it."""
    if killed:
        return f"did not stop within {grace_s:g} s: killed; a rerun resumes from its last saved checkpoint"
    said = next((line for line in reversed(log_tail(log, 20)) if _STOP_LINE in line), None)
    if said is not None:
        return said.strip()
    return "interrupted; rerun the same command to resume" + (f" (exit status {code})" if code > 0 else "")


_ERROR_LINE = "sdmspec: error: "


def write_stage_config(stage: Stage) -> None:
    """Write the stage's typed inputs where its command reads them (``--config``), unless another process holds the
    stage's folder: its job is running and reads the file it was given."""
    if stage.config is None or stage.config_file is None:
        return
    stage_lock.refuse_if_held(stage_folder(stage))
    path = Path(stage.config_file)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, json.dumps(stage.config, indent=2, sort_keys=True) + "\n")


def disk_full_message(log: str | None) -> str:
    """What a stage that exited with ``EXIT_DISK_FULL`` says: the one line its error handler printed last (the path,
    the space needed, what is free), else the exit status alone. The exit status decides; the line only informs."""
    said = next((line for line in reversed(log_tail(log, 40)) if line.startswith(_ERROR_LINE)), None)
    return said.strip().removeprefix(_ERROR_LINE) if said else f"no space left on device (exit status {EXIT_DISK_FULL})"


def _failure_message(stage: Stage, code: int) -> str:
    if code < 0:
        return f"killed by {signal.Signals(-code).name}" if -code in signal.valid_signals() else f"signal {-code}"
    if stage.marker_check is MarkerCheck.VERDICT_MATCH and Path(stage.marker).is_file():
        return f"iso-sparsity mismatch (verdict in {stage.marker})" if code else "the verdict is not a match"
    if code == 0:
        return f"exited 0 but did not write {stage.marker}"
    return f"exit status {code}"


class _Dispatcher:
    def __init__(self, prepared: PreparedRun, launcher: Launcher, emit: Callable[[RunEvent], None]) -> None:
        self.prepared = prepared
        self.plan = prepared.plan
        self.launcher = launcher
        self.emit = emit
        self.store = open_store(prepared, launcher)
        self.queue: list[Stage] = [self.plan[name] for name in prepared.to_run]
        self.to_run = set(prepared.to_run)
        self.status: dict[str, StageStatus] = {
            name: StageStatus.DONE for name, state in prepared.states.items() if state.done
        }
        self.running: dict[str, Handle] = {}
        self.started: dict[str, float] = {}
        self.stops = StopRequests()
        # The disk filled (a manifest write, a launch, or a stage exited EXIT_DISK_FULL): nothing new starts, the run
        # ends with it.
        self.disk_full: DiskFullError | None = None

    def _mark(self, stage: Stage, status: StageStatus, message: str, code: int | None = None) -> None:
        self.status[stage.name] = status
        changes: dict[str, object] = {"status": status, "message": message, "ended_at": now()}
        if status is StageStatus.DONE:
            changes.update(self.prepared.hooks.finished(stage))  # what its job says it ran (a kernel, a precision)
            try:
                changes["outputs_digest"] = digest_outputs(stage)
            except OSError as err:
                status, message = StageStatus.FAILED, f"its outputs cannot be read ({err})"
                changes.update(status=status, message=message)
                self.status[stage.name] = status
        duration = None
        if stage.name in self.started:
            duration = round(time.monotonic() - self.started.pop(stage.name), 3)
            changes.update(duration_s=duration, returncode=code)
        self.store.update_stage(stage.name, **changes)
        log = self.store.stage(stage.name).log
        self.emit(RunEvent(status.value, stage.name, message, log, duration))

    def _upgrade(self, name: str) -> None:
        """A done stage recorded by an earlier version (its legacy fingerprint matched): record this version's, so
        that later runs compare like with like."""
        record = self.store.stage(name)
        inputs = self.prepared.inputs.get(name)
        if inputs is not None and record.fingerprint_scheme in (None, LEGACY_SCHEME):
            self.store.update_stage(name, fingerprint=inputs.fingerprint, fingerprint_scheme=FINGERPRINT_SCHEME)

    def _start(self, stage: Stage, waiting: list[str]) -> None:
        inputs = self.prepared.inputs[stage.name]
        record = self.store.stage(stage.name)
        self.status[stage.name] = StageStatus.RUNNING
        self.started[stage.name] = time.monotonic()
        # Recorded as launched before its process exists: a runner killed right after the launch leaves "running",
        # and the stage's folder lock (taken by the launcher before the process starts) tells whether it still runs.
        self.store.update_stage(
            stage.name,
            status=StageStatus.RUNNING,
            started_at=now(),
            ended_at=None,
            duration_s=None,
            returncode=None,
            attempts=record.attempts + 1,
            host=socket.gethostname(),
            pid=None,
            job_id=None,
            outputs_digest=None,
            fingerprint=inputs.fingerprint,
            fingerprint_scheme=FINGERPRINT_SCHEME,
            settings=dict(inputs.settings),
            setting_origins=list(inputs.setting_origins),
            init=dict(inputs.init) if inputs.init is not None else None,
            upstream_runs=upstream_runs(stage, self.store.manifest.stages),
            git_commit=self.prepared.git.commit,
            message=None,
        )
        try:
            write_stage_config(stage)
            handle = self.launcher.start(stage, {name: self.running[name] for name in waiting})
        except stage_lock.FolderBusyError as busy:
            self._mark(stage, StageStatus.FAILED, f"still running ({busy.holder}); wait or stop it")
            return
        except OSError as err:
            self._mark(stage, StageStatus.FAILED, f"cannot start: {err}")
            if is_disk_full(err):
                raise disk_full_error(err.filename or stage_folder(stage)) from err
            return  # this stage failed (its downstream is skipped); the stages running and the others go on
        self.running[stage.name] = handle
        here = capabilities(self.launcher.name).stages_run_here
        pid = int(handle.job_id) if handle.job_id.isdigit() and here else None
        self.store.update_stage(stage.name, log=handle.log, job_id=handle.job_id, pid=pid)
        self.emit(RunEvent("start", stage.name, self.prepared.states[stage.name].reason, handle.log))

    def _try_start(self) -> bool:
        progressed = False
        if self.disk_full is not None:
            return False
        for stage in list(self.queue):
            if len(self.running) >= self.launcher.max_parallel:
                break
            blocked = [dep for dep in stage.depends_on if self.status.get(dep) in BLOCKING]
            if blocked and stage.trigger is Trigger.AFTER_OK:
                self.queue.remove(stage)
                self._mark(stage, StageStatus.SKIPPED, f"upstream {blocked[0]} {self.status[blocked[0]].value}")
                progressed = True
                continue
            waiting = [dep for dep in stage.depends_on if dep in self.to_run and self.status.get(dep) not in ENDED]
            if waiting and not (self.launcher.supports_dependencies and all(d in self.running for d in waiting)):
                continue
            self.queue.remove(stage)
            self._start(stage, waiting)
            progressed = True
        return progressed

    def _collect(self) -> bool:
        progressed = False
        for name, handle in list(self.running.items()):
            code = self.launcher.poll(handle)
            if code is None:
                continue
            del self.running[name]
            stage = self.plan[name]
            progressed = True
            if code == 0 and marker_ok(stage):
                self._mark(stage, StageStatus.DONE, "", code)
            elif any(self.status.get(dep) in BLOCKING for dep in stage.depends_on):
                self._mark(stage, StageStatus.SKIPPED, "an upstream did not finish (cancelled by the scheduler)", code)
            elif code == EXIT_INTERRUPTED:  # stopped by a signal from elsewhere (a user, a scheduler) after saving
                self._mark(stage, StageStatus.INTERRUPTED, _stopped_message(handle.log, code, 0, False), code)
            elif code == EXIT_DISK_FULL:  # the job's error handler found no space (any stage may exit so)
                full = disk_full_message(handle.log)
                self.disk_full = self.disk_full or DiskFullError(f"stage {name}: {full}")
                self._mark(stage, StageStatus.FAILED, full, code)
            else:
                self._mark(stage, StageStatus.FAILED, _failure_message(stage, code), code)
        return progressed

    def run(self, grace_s: float) -> bool:
        """Run until every queued stage ended; returns whether the run was interrupted."""
        for name in self.plan.names:
            if name not in self.to_run and self.prepared.states[name].done and name in self.prepared.selected:
                self._upgrade(name)
                self.emit(RunEvent("reused", name, "done (unchanged)"))
        with self.stops.installed():
            try:
                while (self.running or (self.queue and self.disk_full is None)) and not self.stops.count:
                    if not (self._try_start() | self._collect()):
                        time.sleep(self.launcher.poll_interval_s)
            except KeyboardInterrupt:
                self.stops.count += 1
            except DiskFullError as err:
                # A manifest write or a launch found no space: stop the stages (they save what they can), record it.
                self.disk_full = self.disk_full or err
                self._stop(grace_s)
                for name, status in list(self.status.items()):
                    if status is StageStatus.RUNNING:  # recorded as launching when the disk filled: never started
                        self._mark(self.plan[name], StageStatus.PENDING, "not started: the disk is full")
                return True
            if self.stops.count:
                self._stop(grace_s)
                return True
        return False

    def _stop(self, grace_s: float) -> None:
        self.emit(RunEvent("stopping", f"{len(self.running)} running stage(s)", f"waiting up to {grace_s:g} s"))
        for handle in self.running.values():
            self.launcher.interrupt(handle)
        deadline = time.monotonic() + grace_s
        asked = self.stops.count
        try:
            while self.running and time.monotonic() < deadline and self.stops.count == asked:
                self._settle(grace_s, killed=False)
                time.sleep(0.05)
        except KeyboardInterrupt:
            pass  # a second Ctrl-C outside the main thread: stop waiting
        for handle in self.running.values():
            self.launcher.kill(handle)
        deadline = time.monotonic() + 10
        while self.running and time.monotonic() < deadline:
            self._settle(grace_s, killed=True)
            time.sleep(0.05)
        for name in list(self.running):
            self._mark(self.plan[name], StageStatus.INTERRUPTED, "interrupted (did not exit after SIGKILL)")
            del self.running[name]

    def _settle(self, grace_s: float, *, killed: bool) -> None:
        for name, handle in list(self.running.items()):
            code = self.launcher.poll(handle)
            if code is None:
                continue
            del self.running[name]
            stage = self.plan[name]
            if code == 0 and marker_ok(stage):
                self._mark(stage, StageStatus.DONE, "finished while stopping", code)
            else:
                message = _stopped_message(handle.log, code, grace_s, killed)
                self._mark(stage, StageStatus.INTERRUPTED, message, code)


def execute(
    prepared: PreparedRun, launcher: Launcher, emit: Callable[[RunEvent], None] = lambda event: None
) -> RunOutcome:
    """Run the prepared stages with ``launcher``, recording everything in ``OUT/manifest.json``."""
    out = prepared.context.out
    with folder_lock(out):
        # What was planned came from the manifest as it was before the lock: a run that used the folder since then
        # (it held the lock while this one prepared) must not be overwritten with that older record, nor redone.
        current = read_manifest(out)
        if _updated(current) != _updated(prepared.previous):
            raise SdmspecError(f"{out}: another `sdmspec run` changed this folder while this run was being prepared; "
                               "rerun to plan from what it did")  # fmt: skip
        remove_stale_temps(out)  # a killed runner's half-written manifest or report
        busy = busy_stages(prepared)
        if busy:
            shown = "; ".join(f"stage {name} still running ({who})" for name, who in busy[:3])
            raise SdmspecError(f"{shown}{' and more' if len(busy) > 3 else ''}; wait or stop it, then rerun")
        dispatcher = _Dispatcher(prepared, launcher, emit)
        interrupted = True
        try:
            interrupted = dispatcher.run(prepared.request.grace_s)
        finally:
            invocation = dispatcher.store.manifest.invocations[-1]
            invocation.ended_at = now()
            failed = "failed" if _any_failed(dispatcher) else "ok"
            invocation.outcome = "disk full" if dispatcher.disk_full else "interrupted" if interrupted else failed
            dispatcher.store.close()
    if dispatcher.disk_full is not None:
        stopped = "its stages stopped and recorded in the manifest" if interrupted else "nothing new was started"
        raise DiskFullError(f"{dispatcher.disk_full}; {stopped}; free space, then rerun to resume")
    statuses = {name: dispatcher.status.get(name, StageStatus.PENDING) for name in prepared.selected}
    return RunOutcome(statuses=statuses, interrupted=interrupted, manifest=dispatcher.store.path)


def _updated(manifest: Manifest | None) -> str | None:
    return manifest.updated_at if manifest is not None else None


def _any_failed(dispatcher: _Dispatcher) -> bool:
    return any(status in BLOCKING for status in dispatcher.status.values())
