"""The project a few given files are judged in: the other configs of their config folder, read for settings only.

pre-commit passes only the changed configs, yet cross-file rules (SDM203 missing-setting, SDM401 conflicting-values,
SDM402 not-divisible) need every config of the project. So when lint is given explicit files, it also reads their
*context*, by one predictable rule:

* a file inside ``configs/`` (relative to the current folder: what ``sdmspec lint`` lints by default, and where
  pre-commit runs) is judged with every YAML file under ``configs/``, recursively, as ``sdmspec lint`` reads it;
* any other file is judged with the YAML files beside it in its own folder (not its subfolders: that folder may be
  a home directory or a repository root, whose whole tree is no project of configs).

Context files are only read for the settings they hold: nothing is reported in them, and one that cannot be read
or composed cleanly (a syntax error, bad encoding, binary data, an alias bomb) is left out silently: it is not what
the user is changing, and a job could not read its settings either. Folders given to lint are linted whole, as
always, and need no context.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

from sdmspec.lint.loaders import YAML_LOADER, ConfigLoader
from sdmspec.lint.source import Source
from sdmspec.settings import CONFIG_SUFFIXES, config_files

DEFAULT_CONFIG_FOLDER = Path("configs")


def _inside(path: Path, folder: Path) -> bool:
    return path.resolve().is_relative_to(folder.resolve())


def _folder_files(folder: Path, default: Path) -> list[Path]:
    if folder == default:
        return config_files([folder])
    return sorted(p for p in folder.iterdir() if p.suffix in CONFIG_SUFFIXES and p.is_file())


def context_files(paths: Sequence[Path], linted: Iterable[Path], default: Path = DEFAULT_CONFIG_FOLDER) -> list[Path]:
    """The config files that give the explicit files among ``paths`` their project, less the ``linted`` ones.

    ``default`` is the folder ``sdmspec lint`` lints when given no path; a file inside it takes it as context, any
    other file takes its own folder's YAML files.
    """
    folders: dict[Path, None] = {}
    for path in paths:
        if path.is_file():
            folders[default if default.is_dir() and _inside(path, default) else path.parent] = None
    if not folders:
        return []
    skip = {path.resolve() for path in linted}
    found: dict[Path, Path] = {}
    for folder in folders:
        for candidate in _folder_files(folder, default):
            found.setdefault(candidate.resolve(), candidate)
    return [path for resolved, path in found.items() if resolved not in skip]


def read_context(paths: Iterable[Path], loader: ConfigLoader = YAML_LOADER) -> list[Source]:
    """The context files that read and compose cleanly (as ``loader`` reads them); the others are left out without
    a word."""
    from sdmspec.lint.reading import read_context_file, repository_root

    sources: list[Source] = []
    for path in paths:
        # Bounded like the linted files, and never read through a link out of the repository (values are quoted).
        source = read_context_file(path, repository_root(path), loader)
        if source is not None and not source.problems:
            sources.append(source)
    return sources
