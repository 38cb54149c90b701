"""How lint finds, opens and bounds the files it reads: untrusted input from a stranger's pull request.

* A config whose path resolves outside its repository (a symlink ``configs/x.yaml -> ~/.ssh/id_rsa``) is not read:
  it gets an SDM012 finding naming the link, never its content (a CI log is public). The repository is the git
  work tree holding the path; without one, the current folder when the path is below it, else the folder given.
* A FIFO, device or socket given by name is one line (exit 2): reading a FIFO would block forever, ``/dev/zero``
  would never end. Inside folders such entries are not configs and are passed over, as before.
* A file over :data:`MAX_CONFIG_BYTES` is not parsed: an SDM013 finding (parsing costs about 1 s and 120 MB per
  megabyte; no config comes near the bound).
* A path the system refuses to look at (a name too long, a folder without search permission) is one line, exit 2.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from sdmspec.errors import ConfigError, LimitError
from sdmspec.io import human_bytes, read_bounded, regular_file_kind
from sdmspec.lint.loaders import YAML_LOADER, ConfigLoader
from sdmspec.lint.problems import Problem, ProblemKind
from sdmspec.lint.source import Source, read_source
from sdmspec.settings import config_files

# The largest config lint parses (the 4 MB benchmark file fits twice).
MAX_CONFIG_BYTES = 8 * 2**20


@dataclass(frozen=True)
class Collected:
    """The files to lint, in order, and those refused before reading (as sources holding their problem)."""

    files: tuple[Path, ...]
    refused: dict[Path, Source]


def repository_root(path: Path) -> Path:
    """The folder a path given to lint belongs to: its git work tree, else the current folder when the path is
    below it, else the folder given (or the given file's folder)."""
    absolute = path.absolute()
    start = absolute if absolute.is_dir() and not absolute.is_symlink() else absolute.parent
    for folder in (start, *start.parents):
        if (folder / ".git").exists():
            return folder
    cwd = Path.cwd()
    if absolute.is_relative_to(cwd):
        return cwd
    return start


def _inside(path: Path, root: Path) -> bool:
    return Path(os.path.realpath(path)).is_relative_to(os.path.realpath(root))


def _check_named(path: Path) -> None:
    """A path given by name that lint cannot take: one line (exit 2)."""
    try:
        if path.is_dir():
            return
        kind = regular_file_kind(path)
    except OSError as err:
        raise ConfigError(f"{path}: {err.strerror or err}") from None
    if kind is None:
        return
    if kind == "no such file":
        dangling = " (a symlink to nothing)" if path.is_symlink() else ""
        raise ConfigError(f"{path}: no such file or folder{dangling}")
    raise ConfigError(f"{path}: {kind}, not a config file; give YAML files or folders")


def collect(paths: Sequence[Path]) -> Collected:
    """Every YAML file under ``paths`` (as :func:`sdmspec.settings.config_files` finds them), with those whose
    real path lies outside their repository refused (SDM012)."""
    for path in paths:
        _check_named(path)
    try:
        found = config_files(tuple(paths))
    except OSError as err:
        raise ConfigError(f"{err.filename or paths[0]}: {err.strerror or err}") from None
    roots = {path: repository_root(path) for path in paths}
    refused: dict[Path, Source] = {}
    for file in found:
        root = next((roots[path] for path in paths if _given_under(file, path)), None)
        if root is not None and not _inside(file, root):
            refused[file] = outside_source(file, root)
    return Collected(tuple(found), refused)


def _given_under(file: Path, given: Path) -> bool:
    return file == given or file.is_relative_to(given)


def outside_source(file: Path, root: Path) -> Source:
    message = (
        f"resolves outside the repository ({root}): not read, so nothing it holds reaches the report; "
        "lint the file where it lives, or replace the link with a copy"
    )
    return Source(str(file), problems=(Problem(ProblemKind.OUTSIDE, message, None),))


def config_data(path: Path) -> bytes | Source:
    """One config's bytes, or the source holding the problem that stops it (too large). OSError is one line."""
    try:
        return read_bounded(path, MAX_CONFIG_BYTES, "config")
    except LimitError as err:
        message = f"{str(err).removeprefix(f'{path}: ')} (lint parses configs up to {human_bytes(MAX_CONFIG_BYTES)})"
        return Source(str(path), problems=(Problem(ProblemKind.TOO_LARGE, message, None),))
    except OSError as err:
        raise ConfigError(f"{path}: cannot read: {err.strerror or err}") from err


def read_config(path: Path, loader: ConfigLoader = YAML_LOADER) -> Source:
    """One config as a Source: its text and nodes as ``loader`` reads them, or the problem that stops it."""
    data = config_data(path)
    return data if isinstance(data, Source) else read_source(data, str(path), loader)


def read_collected(collected: Collected) -> dict[Path, bytes | Source]:
    """Each collected file's bytes (read once, bounded), or the source of its refusal."""
    return {path: collected.refused.get(path) or config_data(path) for path in collected.files}


def sources_of(read: dict[Path, bytes | Source], loader: ConfigLoader) -> list[Source]:
    return [data if isinstance(data, Source) else read_source(data, str(path), loader) for path, data in read.items()]


def context_data(path: Path, root: Path | None = None) -> bytes | None:
    """A context file's bytes, or None when it cannot be read, is too large or lies outside ``root``."""
    if root is not None and not _inside(path, root):
        return None
    try:
        return read_bounded(path, MAX_CONFIG_BYTES, "config")
    except (OSError, LimitError):
        return None


def read_context_file(path: Path, root: Path | None = None, loader: ConfigLoader = YAML_LOADER) -> Source | None:
    """A context file's source (as ``loader`` reads it), or None when it cannot be read, is too large or lies
    outside ``root``."""
    data = context_data(path, root)
    return None if data is None else read_source(data, str(path), loader)
