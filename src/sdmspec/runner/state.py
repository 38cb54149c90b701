"""Which stages are finished, which must run, and why: the plan held against the previous manifest and the disk.

A stage is done when all of these hold:
- its marker proves it finished (a job's ``result.json``, written last by the job; for verify, a ``match`` verdict);
- its recorded fingerprint equals the current one (same command, spec, settings read, initial weights, upstream
  fingerprints);
- the upstream runs it consumed are still the latest ones (an upstream rerun since makes its outputs stale);
- it did not fail last time;
- its outputs that matter are the files it recorded when it finished (sizes, then sha256).
A stage that must run makes everything downstream of it run too (its outputs will change).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from sdmspec.runner.fingerprint import LEGACY_SCHEME, StageInputs
from sdmspec.runner.manifest import Manifest, StageRecord, StageStatus
from sdmspec.runner.outputs import check_stages
from sdmspec.runner.stage import MarkerCheck, Plan, Stage, Trigger


def marker_ok(stage: Stage) -> bool:
    """Whether the stage's marker proves it finished successfully."""
    path = Path(stage.marker)
    if not path.is_file():
        return False
    if stage.marker_check is MarkerCheck.VERDICT_MATCH:
        try:
            return bool(json.loads(path.read_text(encoding="utf-8")).get("verdict") == "match")
        except (OSError, ValueError, AttributeError):
            return False
    return True


def legacy_match(record: StageRecord, inputs: StageInputs) -> bool:
    """Whether a record written before fingerprint schemes holds the fingerprint the stage had then: a run folder of
    an earlier version is done where it was, and its records are upgraded when the run starts."""
    legacy = record.fingerprint_scheme in (None, LEGACY_SCHEME)
    return legacy and inputs.legacy is not None and record.fingerprint == inputs.legacy


@dataclass(frozen=True)
class StageState:
    done: bool
    reason: str  # why it must run ("new", "settings changed: ...") or "done"


def upstream_runs(stage: Stage, records: Mapping[str, StageRecord]) -> dict[str, str | None]:
    """When each upstream last ended: recorded when a stage starts, compared on the next run."""
    return {name: records[name].ended_at if name in records else None for name in stage.depends_on}


def _why_changed(record: StageRecord, inputs: StageInputs, manifest: Manifest, spec_hash: str) -> str:
    if manifest.spec_hash != spec_hash:
        return "spec changed"
    if record.settings != dict(inputs.settings):
        keys = sorted(
            key
            for key in set(record.settings) | set(inputs.settings)
            if record.settings.get(key) != inputs.settings.get(key)
        )
        return f"settings changed: {', '.join(keys)}"
    before, now = (record.init or {}).get("digest"), (inputs.init or {}).get("digest")
    if before != now and before is not None:
        return f"initial weights changed ({str(before)[:19]} -> {str(now)[:19] if now else 'not found here'})"
    return "command or upstream changed"


def stage_state(
    stage: Stage,
    inputs: StageInputs,
    previous: Manifest | None,
    spec_hash: str,
    rerun: set[str],
    outputs: Mapping[str, str | None] | None = None,
) -> StageState:
    """The stage's state; ``outputs``: each checked stage's outputs problem (None: as recorded); a stage not in it
    is taken as unchecked (the first pass of :func:`plan_state`)."""
    record = previous.stages.get(stage.name) if previous else None
    if record is None or previous is None:
        return StageState(False, "new")
    if record.fingerprint is None:  # recorded as pending by an earlier run, never launched: nothing changed
        return StageState(False, "not started")
    if record.fingerprint != inputs.fingerprint and not legacy_match(record, inputs):
        return StageState(False, _why_changed(record, inputs, previous, spec_hash))
    upstream = [name for name in stage.depends_on if name in rerun]
    if upstream:
        return StageState(False, f"upstream reruns: {upstream[0]}")
    if record.upstream_runs is not None and record.upstream_runs != upstream_runs(stage, previous.stages):
        return StageState(False, "an upstream ran again since")
    if record.status is StageStatus.FAILED:
        return StageState(False, "failed last time")
    if not marker_ok(stage):
        if stage.marker_check is MarkerCheck.VERDICT_MATCH and Path(stage.marker).is_file():
            return StageState(False, "iso-sparsity mismatch last time")
        return StageState(False, "result missing" if record.status is StageStatus.DONE else record.status.value)
    verdict, after_any = stage.marker_check is MarkerCheck.VERDICT_MATCH, stage.trigger is Trigger.AFTER_ANY
    if (verdict or after_any) and record.status is not StageStatus.DONE:
        # A verdict, or a stage written from whatever its upstreams left (a report): their marker is not a job's
        # last write, so the runner's own record decides.
        return StageState(False, record.status.value)
    problem = (outputs or {}).get(stage.name)
    if problem is not None:
        return StageState(False, problem)
    return StageState(True, "done")


def plan_state(
    plan: Plan, inputs: Mapping[str, StageInputs], previous: Manifest | None, spec_hash: str
) -> dict[str, StageState]:
    """Every stage's state, in plan order; a stage that must run pulls everything downstream with it.

    Two passes: the first decides on everything but the outputs; the stages it finds done have their outputs checked
    in parallel; the second decides with those checks (a stage whose outputs changed pulls its downstream too)."""
    first = _walk(plan, inputs, previous, spec_hash, None)
    # Only the stages that are done on every other count have their outputs checked (sizes, then sha256), at once.
    records = previous.stages if previous is not None else {}
    candidates = [
        (stage, records[stage.name].outputs_digest or {})
        for stage in plan.stages
        if first[stage.name].done and records[stage.name].outputs_digest
    ]
    return _walk(plan, inputs, previous, spec_hash, check_stages(candidates))


def _walk(
    plan: Plan,
    inputs: Mapping[str, StageInputs],
    previous: Manifest | None,
    spec_hash: str,
    outputs: Mapping[str, str | None] | None,
) -> dict[str, StageState]:
    states: dict[str, StageState] = {}
    rerun: set[str] = set()
    for stage in plan.stages:
        state = stage_state(stage, inputs[stage.name], previous, spec_hash, rerun, outputs)
        states[stage.name] = state
        if not state.done:
            rerun.add(stage.name)
    return states


def stages_to_run(plan: Plan, states: Mapping[str, StageState], selected: Sequence[str]) -> tuple[str, ...]:
    """The selected stages that are not done, in plan order."""
    chosen = set(selected)
    return tuple(name for name in plan.names if name in chosen and not states[name].done)
