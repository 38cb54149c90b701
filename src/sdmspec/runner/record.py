"""Open a run's record: the previous manifest carried forward, brought up to date with this invocation.

Top-level provenance (spec hash, config hashes, git, environment, deviations) describes the latest invocation; each
stage keeps the commit and fingerprint it actually ran with, and ``invocations`` keeps every invocation's command,
so a campaign resumed many times still says which code produced which result.
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

from sdmspec.runner.gate import smoke_deviation
from sdmspec.runner.launchers.base import Launcher
from sdmspec.runner.manifest import Invocation, Manifest, ManifestStore, StageRecord, StageStatus, now
from sdmspec.runner.outputs import digest_outputs
from sdmspec.runner.prepare import PreparedRun
from sdmspec.runner.stage import Stage


def _mtime(path: str) -> str:
    return datetime.fromtimestamp(Path(path).stat().st_mtime, timezone.utc).isoformat(timespec="seconds")


def _digest_or_none(stage: Stage) -> dict[str, dict[str, object]] | None:
    try:
        return digest_outputs(stage)
    except OSError:
        return None  # unreadable now: the next run's check of the marker and outputs decides


def _synced(stage: Stage, record: StageRecord | None, prepared: PreparedRun) -> StageRecord:
    """The stage's record with its current command and paths, and its status as this invocation found it."""
    fields = {
        "name": stage.name,
        "kind": stage.kind,
        "command": list(stage.argv),
        "depends_on": list(stage.depends_on),
        "inputs": list(stage.inputs),
        "outputs": list(stage.outputs),
        "marker": stage.marker,
    }
    record = StageRecord.model_validate(fields) if record is None else record.model_copy(update=fields)
    state = prepared.states[stage.name]
    if state.done and (record.status is not StageStatus.DONE or record.outputs_digest is None):
        # The job finished (its result is there) but the runner stopped before recording it (or an older sdmspec
        # recorded it without a digest): record it now, digest included.
        record = record.model_copy(
            update={
                "status": StageStatus.DONE,
                "ended_at": record.ended_at or _mtime(stage.marker),
                "outputs_digest": _digest_or_none(stage),
            }
        )
    elif stage.name in prepared.to_run:
        record = record.model_copy(update={"status": StageStatus.PENDING, "message": state.reason})
    elif record.status is StageStatus.RUNNING:
        # Nothing runs it now (this run holds the folder's lock): whatever ran it stopped.
        record = record.model_copy(update={"status": StageStatus.INTERRUPTED})
    return record


def open_store(prepared: PreparedRun, launcher: Launcher) -> ManifestStore:
    request, spec = prepared.request, prepared.spec
    deviations = list(prepared.env.deviations)
    if request.smoke:
        deviations.append(smoke_deviation())
    previous = prepared.previous
    manifest = Manifest(
        created_at=previous.created_at if previous else now(),
        spec_path=str(prepared.context.spec_path),
        spec_hash=spec.digest,
        configs=str(prepared.context.configs),
        config_hashes=prepared.config_hashes,
        git_commit=prepared.git.commit,
        git_dirty=prepared.git.dirty,
        git_diff_sha256=prepared.git.diff_sha256,
        environment=prepared.env.report.to_json(),
        deviations=deviations,
        smoke=request.smoke,
        launcher=launcher.name,
        launcher_options=launcher.options(),
        acceleration=prepared.expected.record(),
        invocations=[
            *(previous.invocations if previous else []),
            Invocation(
                command=list(request.argv),
                started_at=now(),
                launcher=launcher.name,
                git_commit=prepared.git.commit,
                git_dirty=prepared.git.dirty,
            ),
        ],
        stages={
            stage.name: _synced(stage, previous.stages.get(stage.name) if previous else None, prepared)
            for stage in prepared.plan.stages
        },
    )
    store = ManifestStore(prepared.context.out, manifest)
    store.save()
    store.hold_reserve()
    return store
