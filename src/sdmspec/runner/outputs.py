"""A finished stage's outputs, as recorded: the size and sha256 of each file that matters, checked before reuse.

The files that matter are the stage's marker (a job's ``result.json``, a verdict, ``profile.json``, the report) and
every file of its ``model/`` folder. Paths are relative to the stage's folder (the marker's), so a moved run folder
still checks. The check is cheap: every size first (a truncated file fails there, without reading anything), then
the digests, read in blocks, several stages at once (hashlib releases the GIL while it hashes); nothing is loaded as a
model. ``benchmarks/bench_outputs_check.py`` measures it.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from sdmspec.io import sha256_file
from sdmspec.runner.stage import Stage

MODEL_FOLDER = "model"


def stage_folder(stage: Stage) -> Path:
    """The folder a stage writes (its marker's): where its lock lives and its outputs' paths start."""
    return Path(stage.marker).parent


def files_that_matter(stage: Stage) -> list[Path]:
    root = stage_folder(stage)
    files = [Path(stage.marker)]
    model = root / MODEL_FOLDER
    if model.is_dir():
        # Hidden names are staging leftovers (atomic writes), never part of the model.
        files += sorted(p for p in model.rglob("*") if p.is_file() and not p.name.startswith("."))
    return files


def digest_outputs(stage: Stage) -> dict[str, dict[str, Any]]:
    """``{relative path: {"size": bytes, "sha256": hex}}`` for the files that matter (OSError if one is unreadable)."""
    root = stage_folder(stage)
    return {
        path.relative_to(root).as_posix(): {"size": path.stat().st_size, "sha256": sha256_file(path)}
        for path in files_that_matter(stage)
    }


def _outside(root: Path, name: str) -> str | None:
    """Why a recorded output name cannot be one of the stage's files, or None when it can.

    The manifest is untrusted: a name such as ``../../../../dev/zero`` must not make a rerun hash a device forever
    or read a file outside the stage's folder. Names are relative, inside the folder (links resolved), and name
    regular files.
    """
    path = root / name
    if Path(name).is_absolute() or ".." in Path(name).parts:
        return f"outputs refused: {name} is not a path inside the stage's folder"
    try:
        if not path.resolve().is_relative_to(root.resolve()):
            return f"outputs refused: {name} resolves outside the stage's folder"
        if path.exists() and not stat.S_ISREG(path.stat().st_mode):
            return f"outputs refused: {name} is not a regular file"
    except (OSError, RuntimeError) as err:
        return f"outputs unreadable: {name} ({getattr(err, 'strerror', None) or err})"
    return None


def outputs_problem(stage: Stage, recorded: dict[str, dict[str, Any]]) -> str | None:
    """Why the recorded outputs cannot be trusted any more (one line), or None when every file is as recorded."""
    root = stage_folder(stage)
    for name in recorded:
        refused = _outside(root, str(name))
        if refused is not None:
            return refused
    for name, expected in recorded.items():
        if not isinstance(expected, dict):
            return f"outputs changed: {name} has no recorded size"
        try:
            size = (root / name).stat().st_size
        except FileNotFoundError:
            return f"outputs changed: {name} is missing"
        except OSError as err:
            return f"outputs unreadable: {name} ({err.strerror or err})"
        if size != expected.get("size"):
            return f"outputs changed: {name} is {size:,} bytes, was {expected.get('size', 0):,}"
    for name, expected in recorded.items():
        try:
            digest = sha256_file(root / name)
        except OSError as err:
            return f"outputs unreadable: {name} ({err.strerror or err})"
        if digest != expected.get("sha256"):
            return f"outputs changed: {name} (sha256 {digest[:12]}, was {str(expected.get('sha256'))[:12]})"
    return None


# Threads hashing at once: enough for a login node's cores and a parallel filesystem, no more.
_MAX_THREADS = 8


def check_stages(recorded: Iterable[tuple[Stage, Mapping[str, dict[str, Any]]]]) -> dict[str, str | None]:
    """:func:`outputs_problem` for many stages, hashed in parallel: ``{stage name: problem or None}``."""
    items = list(recorded)
    if not items:
        return {}
    workers = max(1, min(len(items), os.cpu_count() or 1, _MAX_THREADS))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="sdmspec-outputs") as pool:
        problems = pool.map(lambda item: outputs_problem(item[0], dict(item[1])), items)
        return {stage.name: problem for (stage, _), problem in zip(items, problems, strict=True)}
