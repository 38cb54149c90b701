"""Atomic writes: a file is either its old content or its new content, never half of one (temp file, fsync, rename);
the one file digest (sha256, read in blocks); and a full disk as one line (:func:`disk_full_error`).

A write that fails for lack of space raises :class:`sdmspec.errors.DiskFullError` naming the path, the bytes it
needed (when known) and what is free there; its temporary file is removed.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sdmspec.errors import DiskFullError, SdmspecError

# errno values that mean "no room to write": a full filesystem, or the user's quota.
NO_SPACE = frozenset({errno.ENOSPC, errno.EDQUOT})
_TEMP_SUFFIX = ".tmp"


def human_bytes(count: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(count) < 1024 or unit == "TiB":
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1024
    raise AssertionError("unreachable")


def free_bytes(path: Path) -> int | None:
    """Free space on the filesystem holding ``path`` (its nearest existing parent), or None when unknown."""
    for candidate in (path, *path.parents):
        if candidate.exists():
            try:
                return shutil.disk_usage(candidate).free
            except OSError:
                return None
    return None


def is_disk_full(err: BaseException) -> bool:
    return isinstance(err, OSError) and err.errno in NO_SPACE


def disk_full_error(path: Path | str | None, needed: int | None = None) -> DiskFullError:
    """The one line for a write to ``path`` that found no space: the path, what it needed, what is free."""
    where = Path(path) if path is not None else Path.cwd()
    free = free_bytes(where)
    parts = [f"needs {human_bytes(needed)}" if needed is not None else None]
    parts.append(f"{human_bytes(free)} free on that filesystem" if free is not None else None)
    detail = "; ".join(part for part in parts if part)
    return DiskFullError(f"no space left on device writing {where}" + (f" ({detail})" if detail else ""))


@contextmanager
def atomic_path(path: Path, needed: int | None = None) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success it replaces ``path`` atomically, on error it is removed.

    A full disk (here or in the caller's writes to the temporary path) becomes :class:`DiskFullError`; ``needed`` is
    the size being written, when the caller knows it.
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=_TEMP_SUFFIX, dir=path.parent)
    except OSError as err:
        if is_disk_full(err):
            raise disk_full_error(path, needed) from err
        # Nothing written yet: the place itself refuses (read-only, no permission, a file in the way).
        raise SdmspecError(f"cannot write {path}: {err.strerror or err}") from err
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        with tmp.open("rb+") as handle:
            os.fsync(handle.fileno())
        if path.exists():
            # Keep the original file's permissions (an edited config stays as readable as it was).
            tmp.chmod(path.stat().st_mode & 0o7777)
        else:
            tmp.chmod(0o644)
        tmp.replace(path)
    except OSError as err:
        if is_disk_full(err):
            raise disk_full_error(path, needed) from err
        raise
    finally:
        tmp.unlink(missing_ok=True)


def remove_stale_temps(folder: Path) -> list[Path]:
    """Remove the temporary files :func:`atomic_path` leaves when its process is killed mid-write (``.NAME.*.tmp``
    beside NAME), in ``folder`` only. Call it only while holding the folder (no writer can be using them)."""
    removed = []
    for candidate in folder.glob(f".*{_TEMP_SUFFIX}"):
        if candidate.is_file():
            candidate.unlink(missing_ok=True)
            removed.append(candidate)
    return removed


def atomic_write_bytes(path: Path, data: bytes) -> None:
    with atomic_path(path, len(data)) as tmp:
        tmp.write_bytes(data)


def atomic_write_text(path: Path, text: str) -> None:
    """Write text exactly as given (no newline translation: a CRLF file stays CRLF)."""
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: Path, data: Any) -> None:
    atomic_write_text(path, json.dumps(data, indent=2, sort_keys=False, default=str) + "\n")


# Below this much free space, a library's failed write is taken for a full disk (torch.save reports ENOSPC as a
# RuntimeError "file write failed", without an errno).
_NEARLY_FULL = 1 << 20


def atomic_save(path: Path, writer: Callable[[Path], None]) -> None:
    """Let ``writer`` write to a temporary path (torch.save, safetensors' save_file), then move it into place."""
    with atomic_path(path) as tmp:
        try:
            writer(tmp)
        except (RuntimeError, ValueError) as err:
            free = free_bytes(path.parent)
            if free is not None and free < _NEARLY_FULL:
                raise disk_full_error(path) from err
            raise


def sha256_file(path: Path) -> str:
    """The sha256 of ``path``'s bytes (hex), read a MiB at a time: checkpoints do not fit in memory twice."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def file_above(path: Path) -> Path | None:
    """The file among ``path``'s parents, if one is (``a-file/out``): nothing can be created there."""
    for parent in path.absolute().parents:
        if parent.exists():
            return None if parent.is_dir() else parent
    return None


def _path_option(option: str, wrong_kind: Callable[[Path], str | None]) -> Callable[[Path | None], Path | None]:
    """A typer callback refusing, in one line (exit 2), a path ``wrong_kind`` objects to or a path below a file."""

    def check(path: Path | None) -> Path | None:
        if path is None:
            return None
        problem = wrong_kind(path)
        if problem is not None:
            raise SdmspecError(f"{option} {path}: {problem}")
        above = file_above(path)
        if above is not None:
            raise SdmspecError(f"{option} {path}: {above} is a file, not a folder")
        return path

    return check


def folder_option(option: str) -> Callable[[Path | None], Path | None]:
    """A folder option: an existing file, or a path below one, is refused."""
    return _path_option(option, lambda path: "is a file, not a folder" if path.exists() and not path.is_dir() else None)


def file_option(option: str) -> Callable[[Path | None], Path | None]:
    """A file option: an existing folder, or a path below a file, is refused."""
    return _path_option(option, lambda path: "is a folder, not a file" if path.is_dir() else None)
