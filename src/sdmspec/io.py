"""Atomic writes: a file is either its old content or its new content, never half of one (temp file, fsync, rename);
the one file digest (sha256, read in blocks); bounded reads of untrusted files; and a full disk as one line
(:func:`disk_full_error`).

An output path keeps its kind, as ``>`` in a shell does: a symlink is written through (its target is replaced,
the link stays), a FIFO or a character or block device (``-o /dev/null``, ``-o /dev/stdout``) is written to in
place, never replaced by a regular file; a socket is refused in one line.

A write that fails for lack of space raises :class:`sdmspec.errors.DiskFullError` naming the path, the bytes it
needed (when known) and what is free there; its temporary file is removed.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import shutil
import stat
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from sdmspec.errors import DiskFullError, LimitError, SdmspecError

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


def output_target(path: Path) -> Path:
    """Where a write to ``path`` lands: the file a symlink points to (followed to the end), else ``path`` itself."""
    if path.is_symlink():
        return Path(os.path.realpath(path))
    return path


def _special_kind(path: Path) -> str | None:
    """ "fifo", "device" or "socket" for a path that exists and is none of a regular file, a folder or a link."""
    try:
        mode = path.stat().st_mode
    except OSError:
        return None
    if stat.S_ISFIFO(mode):
        return "fifo"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "device"
    if stat.S_ISSOCK(mode):
        return "socket"
    return None


@contextmanager
def _in_place(path: Path, needed: int | None) -> Iterator[Path]:
    """A FIFO or device: written to, never replaced. The caller writes a private temporary file, copied in after."""
    fd, tmp_name = tempfile.mkstemp(prefix="sdmspec-", suffix=_TEMP_SUFFIX)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        with tmp.open("rb") as source, path.open("wb") as sink:
            shutil.copyfileobj(source, sink)
    except OSError as err:
        if is_disk_full(err):
            raise disk_full_error(path, needed) from err
        raise SdmspecError(f"cannot write {path}: {err.strerror or err}") from err
    finally:
        tmp.unlink(missing_ok=True)


@contextmanager
def atomic_path(path: Path, needed: int | None = None) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success it replaces ``path`` atomically, on error it is removed.

    ``path`` keeps its kind: a symlink is written through (its target replaced atomically), a FIFO or device is
    written to in place. A full disk (here or in the caller's writes to the temporary path) becomes
    :class:`DiskFullError`; ``needed`` is the size being written, when the caller knows it.
    """
    path = output_target(path)
    special = _special_kind(path)
    if special == "socket":
        raise SdmspecError(f"cannot write {path}: it is a socket, not a file")
    if special is not None:
        with _in_place(path, needed) as tmp:
            yield tmp
        return
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


def atomic_write_json(path: Path, data: object) -> None:
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
        try:
            problem = wrong_kind(path)
            above = file_above(path)
        except OSError as err:  # a name too long, a folder without x permission, a symlink loop
            raise SdmspecError(f"{option} {path}: {err.strerror or err}") from None
        if problem is not None:
            raise SdmspecError(f"{option} {path}: {problem}")
        if above is not None:
            raise SdmspecError(f"{option} {path}: {above} is a file, not a folder")
        return path

    return check


def folder_option(option: str) -> Callable[[Path | None], Path | None]:
    """A folder option: an existing file, or a path below one, is refused."""
    return _path_option(option, lambda path: "is a file, not a folder" if path.exists() and not path.is_dir() else None)


def _not_a_file(path: Path) -> str | None:
    if path.is_dir():
        return "is a folder, not a file"
    if _special_kind(path) == "socket":
        return "is a socket, not a file"
    return None


def file_option(option: str) -> Callable[[Path | None], Path | None]:
    """A file option: an existing folder or socket, or a path below a file, is refused (a FIFO or a device such as
    /dev/null is written to in place, a symlink through)."""
    return _path_option(option, _not_a_file)


def read_bounded(path: Path, limit: int, what: str = "file") -> bytes:
    """The bytes of the regular file ``path``, refusing (:class:`LimitError`, one line) more than ``limit`` bytes.

    Untrusted paths may name a FIFO (reading it would block forever), a device (``/dev/zero`` never ends) or a file
    that grows while read: the file is opened without blocking, must be a regular file, and is read up to the limit.
    OSError (missing, unreadable) is left to the caller, which knows what the file is for.
    """
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise LimitError(f"{path}: not a regular file (a FIFO, device or socket); refusing to read it as a {what}")
        if info.st_size > limit:
            raise LimitError(
                f"{path}: {human_bytes(info.st_size)}, over the {human_bytes(limit)} a {what} may hold; refusing it"
            )
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise LimitError(f"{path}: grew past the {human_bytes(limit)} a {what} may hold while read; refusing it")
    return data


def regular_file_kind(path: Path) -> str | None:
    """None when ``path`` is a regular file (following links); else what it is, in words (for one-line errors)."""
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        return "no such file"
    except OSError as err:
        return err.strerror or str(err)
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISDIR(mode):
        return "a folder"
    return {"fifo": "a FIFO (named pipe)", "device": "a device", "socket": "a socket"}.get(
        _special_kind(path) or "", "not a regular file"
    )


def _lock_current(path: Path) -> int:
    """An fd of the file now at ``path``, holding an exclusive flock on it (re-opened when it was replaced while
    waiting: the lock must be on the file that is there, not on one renamed away)."""
    import fcntl

    for _ in range(_LOCK_TRIES):
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            if os.fstat(fd).st_ino == path.stat().st_ino:
                return fd
        except OSError:
            pass
        os.close(fd)
    # Replaced again and again while we waited: whoever is writing it, this write is the stale one.
    raise FileNotFoundError(errno.ENOENT, "replaced while waiting for its lock", str(path))


# Re-opens allowed when the file is replaced while its lock is awaited (each replacement is another writer's win).
_LOCK_TRIES = 20


def replace_if_unchanged(path: Path, expected: bytes, data: bytes) -> bool:
    """Atomically replace ``path``'s content with ``data`` only if it still holds ``expected``; False (nothing
    written) when it changed since it was read.

    Two writers (two ``--fix`` hooks, an editor and a hook) never write stale content over each other: the check and
    the rename happen under an exclusive flock on the file itself, taken by every writer that comes through here.
    A symlink is written through (its target is what changes).
    """
    target = output_target(path)
    try:
        fd = _lock_current(target)
    except ImportError:  # no fcntl (Windows): still compare right before the rename
        fd = -1
    except FileNotFoundError:  # removed (or replaced over and over) since it was read: not ours to write
        return False
    try:
        with target.open("rb") as handle:
            if handle.read(len(expected) + 1) != expected:
                return False
        atomic_write_bytes(target, data)
        return True
    finally:
        if fd >= 0:
            os.close(fd)
