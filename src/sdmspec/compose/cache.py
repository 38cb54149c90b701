"""Compositions kept between runs, so a lint of unchanged configs (a pre-commit hook, an editor) skips Hydra.

Composing is Hydra's work: importing and initialising it, building the defaults tree, merging the files (a few
hundred milliseconds an entry). Its result depends only on the config folder's files, the entry, and the versions
of hydra-core, omegaconf and sdmspec, so it is stored under a digest of all of them, in ``$SDMSPEC_CACHE/compose-v1``
(default ``~/.cache/sdmspec``): the composed config as written (``${...}`` and ``???`` kept, resolved afresh on each
lint, since ``oc.env`` reads the environment of the moment), the files merged and the value overrides.

A composition that read anything outside the folder (a ``pkg://`` search path, a structured config) is not stored,
since its digest could not see that change. A cache entry that cannot be read or does not have the expected shape
is ignored; writing one that fails (a read-only home) is skipped. Nothing in it is executed: it is JSON.
"""

from __future__ import annotations

import hashlib
import json
import os
from importlib import metadata
from pathlib import Path

from sdmspec import __version__
from sdmspec.compose.composition import Composition, MergedFile, ValueOverride
from sdmspec.compose.entry import Entry

CACHE_VERSION = 1
_SUFFIXES = (".yaml", ".yml")


def cache_folder() -> Path:
    base = os.environ.get("SDMSPEC_CACHE")
    return (Path(base) if base else Path.home() / ".cache" / "sdmspec") / f"compose-v{CACHE_VERSION}"


def _version(distribution: str) -> str:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return "none"


def folder_digest(root: Path) -> str:
    """sha256 over every config file under ``root`` (relative path and content) and the versions that compose it."""
    digest = hashlib.sha256()
    for part in (__version__, _version("hydra-core"), _version("omegaconf")):
        digest.update(f"{part}\0".encode())
    for path in sorted(p for p in root.rglob("*") if p.suffix in _SUFFIXES and p.is_file()):
        digest.update(f"{path.relative_to(root).as_posix()}\0".encode())
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def entry_key(folder: str, entry: Entry) -> str:
    text = json.dumps([folder, entry.config_name, list(entry.overrides)])
    return hashlib.sha256(text.encode()).hexdigest()


def load(key: str, root: Path, entry: Entry) -> Composition | None:
    """The stored composition of ``entry`` under ``key``, or None (absent, unreadable or not of the expected shape)."""
    path = cache_folder() / f"{key}.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        from omegaconf import DictConfig, OmegaConf

        config = OmegaConf.create(data["config"])
        if not isinstance(config, DictConfig):
            return None
        files = tuple(
            MergedFile(str(config_path), str(package), root / relative if relative is not None else None)
            for config_path, package, relative in data["files"]
        )
        overrides = tuple(
            ValueOverride(int(index), str(text), str(name), bool(delete))
            for index, text, name, delete in data["overrides"]
        )
        stand_ins = tuple(str(stand_in) for stand_in in data["stand_ins"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return Composition(entry, config, files, overrides, stand_ins)


def store(key: str, root: Path, composition: Composition) -> None:
    """Keep ``composition`` under ``key`` when it read only the folder's files and survives JSON unchanged."""
    from omegaconf import OmegaConf

    if any(merged.path is None for merged in composition.files):
        return
    container = OmegaConf.to_container(composition.config, resolve=False, enum_to_str=True)
    data: dict[str, object] = {
        "config": container,
        "files": [
            [merged.config_path, merged.package, merged.path.relative_to(root).as_posix() if merged.path else None]
            for merged in composition.files
        ],
        "overrides": [[o.index, o.text, o.key, o.delete] for o in composition.overrides],
        "stand_ins": list(composition.stand_ins),
    }
    try:
        text = json.dumps(data)
        if json.loads(text)["config"] != container:
            return  # keys or values JSON would change (integer keys, bytes): composed afresh each time instead
        from sdmspec.io import atomic_write_text

        atomic_write_text(cache_folder() / f"{key}.json", text)
    except (OSError, TypeError, ValueError):
        return
