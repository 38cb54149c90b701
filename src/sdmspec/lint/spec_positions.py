"""Where the spec's YAML files define each setting: the anchor for findings that have no place in a config.

SDM203 (a setting no config sets) is about the configs as a whole, yet code scanning and annotations need a file
and a line. The right place is the setting's definition in the spec (``warmup_steps_ratio:`` under
``config.training.finetune`` in ``spec/config.yaml``), where its paper value and source are written.

The spec loader keeps values only, so lint composes the spec files with its own reader (positions, no constructors)
and follows the ``config`` tree the way the loader flattens it: a mapping with a ``type`` key is a setting, any
other mapping a section. Candidate folders are the one given, then ``spec/`` at or above the current folder and
above each linted file (as the CLI finds it); a candidate is used only when loading it gives the very spec being
linted (same digest), since a line in another spec would point at the wrong definition.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from pathlib import Path
from types import MappingProxyType

from yaml.nodes import MappingNode, ScalarNode

from sdmspec.errors import SdmspecError
from sdmspec.lint.diagnostics import Location
from sdmspec.lint.source import read_source
from sdmspec.schema import PaperSpec, find_spec_dir, load_spec

CONFIG_SECTION = "config"
_SUFFIXES = (".yaml", ".yml")


def spec_files(path: Path) -> list[Path]:
    """The YAML files of a spec folder (sorted, as the loader reads them), or the spec file itself."""
    if path.is_file():
        return [path]
    if path.is_dir():
        return sorted(p for p in path.iterdir() if p.suffix in _SUFFIXES and p.is_file())
    return []


def _display(path: Path) -> str:
    # Relative to the current folder when under it, as configs are usually named: reporters make URIs from that.
    resolved = path.resolve()
    cwd = Path.cwd()
    return str(resolved.relative_to(cwd)) if resolved.is_relative_to(cwd) else str(resolved)


def definitions(files: Iterable[Path]) -> dict[str, Location]:
    """Each setting's dotted key and the position of its key in the spec files (files that cannot be read: skipped)."""
    found: dict[str, Location] = {}
    for path in files:
        try:
            source = read_source(path.read_bytes(), _display(path))
        except OSError:
            continue
        for document in source.documents:
            if not isinstance(document, MappingNode):
                continue
            for key, value in document.value:
                if isinstance(key, ScalarNode) and key.value == CONFIG_SECTION and isinstance(value, MappingNode):
                    found.update(_settings(value, source.path))
    return found


def _settings(config: MappingNode, path: str) -> dict[str, Location]:
    found: dict[str, Location] = {}
    pending: list[tuple[MappingNode, str]] = [(config, "")]
    while pending:
        mapping, prefix = pending.pop()
        for key, value in mapping.value:
            if not (isinstance(key, ScalarNode) and isinstance(value, MappingNode)):
                continue
            name = f"{prefix}{key.value}"
            # A setting's `type` is a string; a section may hold a setting named `type` (optimizer.type: a mapping).
            if any(_is_type_key(child, node) for child, node in value.value):
                line, column = key.start_mark.line + 1, key.start_mark.column + 1
                found[name] = Location(path, line, column)
            else:
                pending.append((value, f"{name}."))
    return found


def _is_type_key(key: object, value: object) -> bool:
    return isinstance(key, ScalarNode) and key.value == "type" and isinstance(value, ScalarNode)


def _candidates(spec_path: Path | None, search_from: Iterable[Path]) -> list[Path]:
    candidates = [spec_path] if spec_path is not None else []
    starts = dict.fromkeys(path if path.is_dir() else path.parent for path in (Path.cwd(), *search_from))
    for start in starts:
        try:
            candidates.append(find_spec_dir(start))
        except (SdmspecError, OSError):
            continue
    unique: dict[Path, None] = {}
    for candidate in candidates:
        unique.setdefault(candidate.resolve(), None)
    return list(unique)


def _signature(files: list[Path]) -> tuple[tuple[Path, int, int], ...]:
    # Part of the cache key: an edit that moves lines but not values (a comment) keeps the digest, not the stat.
    try:
        return tuple((path, (stat := path.stat()).st_mtime_ns, stat.st_size) for path in files)
    except OSError:
        return ()


@functools.lru_cache(maxsize=16)
def _verified(
    candidate: Path, digest: str, signature: tuple[tuple[Path, int, int], ...]
) -> Mapping[str, Location] | None:
    try:
        if load_spec(candidate).digest != digest:
            return None
    except SdmspecError:
        return None
    return MappingProxyType(definitions(path for path, _, _ in signature))  # shared by every caller: read-only


def setting_definitions(
    spec: PaperSpec, spec_path: Path | None = None, search_from: Iterable[Path] = ()
) -> Mapping[str, Location]:
    """Where ``spec``'s settings are defined, from the first candidate folder that holds this very spec; {} if none.

    ``spec_path`` is the folder or file the spec was loaded from, when known; ``search_from`` are paths (the linted
    files) above which a ``spec/`` folder is looked for too. Results are cached per folder, spec digest and file stat.
    """
    if not spec.digest:
        return {}  # a spec built in memory: no file holds it
    for candidate in _candidates(spec_path, search_from):
        found = _verified(candidate, spec.digest, _signature(spec_files(candidate)))
        if found is not None:
            return found
    return {}
