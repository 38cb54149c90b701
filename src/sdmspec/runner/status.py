"""Where a run stands, read from its folder alone (another shell, a login node): ``sdmspec status OUT``.

It reads ``manifest.json``, each running stage's ``metrics.jsonl`` and the failed stages' logs, and the locks: a stage
the manifest calls running is running only while a process holds its folder's lock (a runner killed with SIGKILL
leaves "running" behind; its stages may live on). Nothing is written.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from sdmspec import stage_lock
from sdmspec.errors import SdmspecError
from sdmspec.io import file_above
from sdmspec.runner.control import runner_holder
from sdmspec.runner.execute import log_tail
from sdmspec.runner.launchers import capabilities
from sdmspec.runner.manifest import MANIFEST_NAME, StageRecord, StageStatus, read_manifest
from sdmspec.runner.progress import StageProgress, read_progress

# How a stage is shown: the manifest's status, except "running" without a live process, which is "stopped".
STOPPED = "stopped"
ORDER = ("running", "failed", "interrupted", STOPPED, "skipped", "pending", "done")


@dataclass
class StageView:
    name: str
    kind: str
    state: str
    message: str | None
    started_at: str | None
    ended_at: str | None
    duration_s: float | None
    log: str | None
    holder: str | None = None
    progress: StageProgress | None = None
    log_tail: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, object]:
        return {
            "name": self.name,
            "kind": self.kind,
            "state": self.state,
            "message": self.message,
            "started_at": self.started_at,
            "ended_at": self.ended_at,
            "duration_s": self.duration_s,
            "log": self.log,
            "process": self.holder,
            "progress": self.progress.to_json() if self.progress is not None else None,
            "log_tail": self.log_tail,
        }


@dataclass
class RunStatus:
    out: Path
    runner: str | None  # "pid N on HOST" of the `sdmspec run` using the folder, or None
    launcher: str
    updated_at: str
    stages: list[StageView]

    def counts(self) -> dict[str, int]:
        found: dict[str, int] = {}
        for view in self.stages:
            found[view.state] = found.get(view.state, 0) + 1
        return {state: found[state] for state in ORDER if state in found}

    def to_json(self) -> dict[str, object]:
        return {
            "out": str(self.out),
            "runner": self.runner,
            "launcher": self.launcher,
            "updated_at": self.updated_at,
            "counts": self.counts(),
            "stages": [view.to_json() for view in self.stages],
        }


def inside_run(out: Path, named: str | None) -> Path | None:
    """The path a manifest names, when it lies inside the run folder ``out`` (links resolved); else None.

    The manifest is untrusted: a record whose log is ``/etc/shadow`` must not have it printed by ``sdmspec status``.
    """
    if not named:
        return None
    path = Path(named)
    path = path if path.is_absolute() else out / path
    try:
        return path if path.resolve().is_relative_to(out.resolve()) else None
    except (OSError, RuntimeError):  # a symlink loop
        return None


def _view(record: StageRecord, launcher: str, tail_lines: int, out: Path) -> StageView:
    folder = inside_run(out, str(Path(record.marker).parent))
    state = record.status.value
    holder = stage_lock.holder(folder) if folder is not None else None
    if record.status is StageStatus.RUNNING and holder is None and capabilities(launcher).stages_run_here:
        state = STOPPED  # nothing holds its folder: whatever ran it ended without recording it
    view = StageView(
        name=record.name,
        kind=record.kind,
        state=state,
        message=record.message or None,
        started_at=record.started_at,
        ended_at=record.ended_at,
        duration_s=record.duration_s,
        log=record.log,
        holder=holder,
    )
    if state == "running" and folder is not None:
        view.progress = read_progress(folder)
    if state == StageStatus.FAILED.value:
        log = inside_run(out, record.log)
        if log is None and record.log:
            view.log_tail = [f"(not shown: the log {record.log} is outside the run folder {out})"]
        else:
            view.log_tail = log_tail(str(log) if log is not None else None, tail_lines)
    return view


def run_status(out: Path, tail_lines: int = 10) -> RunStatus:
    """The run in ``out`` as it stands now (SdmspecError, exit 2, when ``out`` holds no run)."""
    try:
        is_file = out.exists() and not out.is_dir()
        above = file_above(out)
        if out.is_dir():
            next(out.iterdir(), None)
    except OSError as err:  # a name too long, a folder without read or search permission
        raise SdmspecError(f"{out}: cannot read the run folder: {err.strerror or err}") from None
    if is_file:
        raise SdmspecError(f"{out}: is a file, not a run folder (give the folder: `sdmspec status OUT`)")
    if above is not None:
        raise SdmspecError(f"{out}: {above} is a file, not a folder")
    if not out.is_dir():
        raise SdmspecError(f"{out}: no such run folder")
    manifest = read_manifest(out)
    if manifest is None:
        raise SdmspecError(f"{out}: not a run folder (no {MANIFEST_NAME}; `sdmspec run --out {out}` writes one)")
    views = [_view(record, manifest.launcher, tail_lines, out) for record in manifest.stages.values()]
    return RunStatus(out, runner_holder(out), manifest.launcher, manifest.updated_at, views)
