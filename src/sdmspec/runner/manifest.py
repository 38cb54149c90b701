"""``OUT/manifest.json``: the record tying every result of a run to its spec, configs, code and environment.

It is rewritten atomically (:mod:`sdmspec.io`) after every stage transition, so a reader (or a crash) never sees half
a file, and every stage's status in it is true at every moment: a stage is ``running`` only while its process lives.
A manifest is read back on the next run to skip finished stages; it is untrusted input there, hence Pydantic.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
from datetime import datetime, timezone
from enum import Enum
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from sdmspec.errors import DiskFullError, LimitError, SdmspecError
from sdmspec.io import atomic_write_text, disk_full_error, is_disk_full, read_bounded
from sdmspec.schema.setting import Scalar

MANIFEST_NAME = "manifest.json"
SCHEMA_VERSION = 1
# A manifest records a few hundred stages at most (tens of KB each); anything larger is not one.
MAX_MANIFEST_BYTES = 64 * 2**20
# Room set aside while a run lasts, so that its final manifest can be written on a full disk.
RESERVE_NAME = ".manifest.reserve"
RESERVE_MIN_BYTES = 64 * 1024


class StageStatus(str, Enum):
    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    SKIPPED = "skipped"  # not run because an upstream failed or was interrupted
    INTERRUPTED = "interrupted"


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


class _Record(BaseModel):
    model_config = ConfigDict(extra="allow", validate_assignment=True)


class StageRecord(_Record):
    name: str
    kind: str
    status: StageStatus = StageStatus.PENDING
    command: list[str]
    depends_on: list[str] = Field(default_factory=list)
    inputs: list[str] = Field(default_factory=list)
    outputs: list[str] = Field(default_factory=list)
    marker: str
    fingerprint: str | None = None
    # Which way `fingerprint` was computed (sdmspec.runner.fingerprint); absent in records written before schemes.
    fingerprint_scheme: int | None = None
    settings: dict[str, Scalar] = Field(default_factory=dict)
    setting_origins: list[str] = Field(default_factory=list)
    # Model stages: the scan the job ran, and whether it checkpointed activations (from its result, once done).
    acceleration: dict[str, object] | None = None
    # Training stages: the precision the job ran in, from its result.json (requested, autocast, tf32, reason).
    precision: dict[str, object] | None = None
    # Pre-training: where it started (init, checkpoint, origin, folder, sha256 of the weights) as the runner found it.
    init: dict[str, object] | None = None
    # When each upstream had last ended as this stage started: an upstream run since makes this stage stale.
    upstream_runs: dict[str, str | None] | None = None
    started_at: str | None = None
    ended_at: str | None = None
    duration_s: float | None = None
    returncode: int | None = None
    attempts: int = 0
    log: str | None = None
    job_id: str | None = None
    # Where and as which process the stage was launched (recorded before the process starts; the pid right after).
    host: str | None = None
    pid: int | None = None
    # Once done: each output file that matters, {relative path: {size, sha256}}; checked before the stage is reused.
    outputs_digest: dict[str, dict[str, object]] | None = None
    git_commit: str | None = None
    message: str | None = None


class Deviation(_Record):
    """A way this run departs from the spec that the user accepted (or that --smoke implies)."""

    kind: str
    name: str
    expected: str
    found: str
    source: str = ""


class Invocation(_Record):
    """One `sdmspec run` against this folder: the audit trail of a campaign resumed many times."""

    command: list[str]
    started_at: str
    ended_at: str | None = None
    launcher: str
    git_commit: str | None = None
    git_dirty: bool | None = None
    outcome: str | None = None


class Manifest(_Record):
    schema_version: int = SCHEMA_VERSION
    created_at: str = Field(default_factory=now)
    updated_at: str = Field(default_factory=now)
    spec_path: str
    spec_hash: str
    configs: str
    config_hashes: dict[str, str]
    git_commit: str | None
    git_dirty: bool | None
    git_diff_sha256: str | None = None
    environment: dict[str, object]
    deviations: list[Deviation] = Field(default_factory=list)
    smoke: bool
    launcher: str
    launcher_options: dict[str, object] = Field(default_factory=dict)
    # The scan the model stages were expected to run (and why) and the activation-checkpointing request, as of the
    # latest invocation; each stage's record holds what its job actually ran.
    acceleration: dict[str, object] = Field(default_factory=dict)
    invocations: list[Invocation] = Field(default_factory=list)
    stages: dict[str, StageRecord] = Field(default_factory=dict)


def read_manifest(folder: Path) -> Manifest | None:
    """The manifest in ``folder``, or None when there is none. An unreadable one is an error, never overwritten.

    It is untrusted input: read only when it is a regular file of at most :data:`MAX_MANIFEST_BYTES` (a FIFO or
    ``/dev/zero`` put there must not hang or fill memory), and refused when a newer sdmspec wrote it
    (``schema_version`` above :data:`SCHEMA_VERSION`: rewriting it as this version would drop what it records).
    """
    path = folder / MANIFEST_NAME
    try:
        if not path.exists() and not path.is_symlink():
            return None
        data = read_bounded(path, MAX_MANIFEST_BYTES, "run manifest")
    except OSError as err:
        raise SdmspecError(f"{path}: cannot read the run's manifest ({err.strerror or err})") from None
    except LimitError as err:
        raise SdmspecError(f"{err}; move it away to start afresh") from None
    try:
        raw = json.loads(data)
    except (ValueError, RecursionError) as err:
        first = str(err).splitlines()[0] if not isinstance(err, RecursionError) else "nested too deeply"
        raise SdmspecError(
            f"{path}: cannot read the run's manifest (not JSON: {first}); move it away to start afresh"
        ) from None
    version = raw.get("schema_version") if isinstance(raw, dict) else None
    if isinstance(version, int) and not isinstance(version, bool) and version > SCHEMA_VERSION:
        raise SdmspecError(
            f"{path}: written by a newer sdmspec (manifest schema_version {version}; this one reads up to "
            f"{SCHEMA_VERSION}); upgrade sdmspec, or use another --out"
        )
    try:
        return Manifest.model_validate(raw)
    except ValidationError as err:
        raise SdmspecError(
            f"{path}: cannot read the run's manifest ({_first_problem(err)}); move it away to start afresh"
        ) from None


def _first_problem(err: ValidationError) -> str:
    """The first validation problem as a field path and a reason (``stages.pretrain.status: Input should be ...``),
    not Pydantic's "1 validation error for Manifest" header."""
    errors = err.errors()
    first = errors[0]
    where = ".".join(str(part) for part in first["loc"]) or "the document"
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return f"{where}: {first['msg']}{more}"


class ManifestStore:
    """The live manifest of a run: every change goes through :meth:`update_stage`/:meth:`save` and hits disk at once.

    A lock serialises writers (launchers may report from threads); each write is one atomic rename.

    A full disk must not leave the manifest saying "running" for stages that are not. So the store holds a reserve
    (a preallocated hidden file, several times the manifest's size) while a run lasts. The first write that finds no
    space raises :class:`DiskFullError` and later changes stay in memory, while the runner stops its stages;
    :meth:`close` then frees the reserve and writes the final state into the room it leaves.
    """

    def __init__(self, folder: Path, manifest: Manifest) -> None:
        self.path = folder / MANIFEST_NAME
        self.reserve = folder / RESERVE_NAME
        self.manifest = manifest
        self.disk_full: DiskFullError | None = None
        self._lock = threading.Lock()

    def _text(self) -> str:
        self.manifest.updated_at = now()
        return self.manifest.model_dump_json(indent=2) + "\n"

    def hold_reserve(self) -> None:
        """Set aside room for the final write (DiskFullError when there is not even that)."""
        size = max(RESERVE_MIN_BYTES, 4 * len(self._text().encode()))
        try:
            with self.reserve.open("wb") as handle:
                os.posix_fallocate(handle.fileno(), 0, size)
        except OSError as err:
            self.reserve.unlink(missing_ok=True)
            if is_disk_full(err):
                raise disk_full_error(self.reserve, size) from err
            raise

    def save(self) -> None:
        with self._lock:
            if self.disk_full is not None:
                return  # the disk is full: kept in memory until close()
            text = self._text()
            try:
                atomic_write_text(self.path, text)
            except DiskFullError as err:
                self.disk_full = err
                raise

    def close(self) -> None:
        """The final write: into the reserve's room when the disk filled; the reserve is removed either way."""
        with self._lock:
            full, self.disk_full = self.disk_full, None
            self.reserve.unlink(missing_ok=True)
        # Not even the reserve's room: the last manifest written stays, whole (atomic writes).
        with contextlib.suppress(DiskFullError):
            self.save()
        if full is not None:
            self.disk_full = full

    def stage(self, name: str) -> StageRecord:
        return self.manifest.stages[name]

    def update_stage(self, name: str, **changes: object) -> StageRecord:
        with self._lock:
            record = self.manifest.stages[name]
            for key, value in changes.items():
                setattr(record, key, value)
        self.save()
        return record
