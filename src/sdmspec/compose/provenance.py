"""Where each value of a composed config was set: the file, line and column that won, or the override.

Hydra merges the files of the defaults list in order, each under its package, then applies the command line's value
overrides. Replaying that order over PyYAML's node graph of the same files gives, for every leaf key path, the
node of the last writer: a mapping merges into a mapping key by key; anything else (a scalar, a list, ``null``)
replaces what was there, subtree included, as OmegaConf's merge does. A ``~key`` override deletes.

Positions come from the nodes (never from re-parsing text by hand); the values themselves are Hydra's.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from sdmspec.compose.composition import Composition
from sdmspec.lint.diagnostics import Location
from sdmspec.lint.project import effective_pairs

_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True)
class Origin:
    """Where a leaf's winning value was written: ``location`` (None for an override given on the command line),
    its end, the text as written, and, for a list, each element's location."""

    location: Location | None
    end_line: int | None
    end_column: int | None
    text: str
    override: str | None = None
    items: tuple[Location, ...] = ()

    def describe(self) -> str:
        if self.override is not None and self.location is None:
            return f"the override {self.override} on the command line"
        if self.override is not None and self.location is not None:
            return f"the override {self.override} at {_where(self.location)}"
        return _where(self.location) if self.location else "an unknown place"


def _where(location: Location) -> str:
    return f"{location.file}:{location.line}:{location.column}"


def _location(file: str, node: Node) -> Location:
    return Location(file, node.start_mark.line + 1, node.start_mark.column + 1)


def _text(node: Node) -> str:
    if isinstance(node, ScalarNode):
        return str(node.value)
    return ""


class ProvenanceMap:
    """Leaf key path -> :class:`Origin`, built by replaying the merge (see the module docstring)."""

    def __init__(self) -> None:
        self.origins: dict[str, Origin] = {}

    def _drop_under(self, path: str) -> None:
        prefix = f"{path}."
        for key in [key for key in self.origins if key == path or key.startswith(prefix)]:
            del self.origins[key]

    def _drop_ancestors(self, path: str) -> None:
        # A mapping written where a scalar was replaces it: the scalar's origin no longer names a leaf.
        parts = path.split(".")
        for end in range(1, len(parts)):
            self.origins.pop(".".join(parts[:end]), None)

    def set_leaf(self, path: str, origin: Origin) -> None:
        self._drop_under(path)
        self._drop_ancestors(path)
        self.origins[path] = origin

    def delete(self, path: str) -> None:
        self._drop_under(path)

    def merge_file(self, display: str, document: Node, package: str) -> None:
        if not isinstance(document, MappingNode):
            return
        for key, value, path in _pairs(document, package, top=True):
            self._merge(display, key, value, path)

    def _merge(self, display: str, key: ScalarNode, value: Node, path: str) -> None:
        if isinstance(value, MappingNode) and value.value:
            self._drop_ancestors(path)
            self.origins.pop(path, None)
            for child_key, child_value, child_path in _pairs(value, path, top=False):
                self._merge(display, child_key, child_value, child_path)
            return
        items: tuple[Location, ...] = ()
        if isinstance(value, SequenceNode):
            items = tuple(_location(display, item) for item in value.value)
        end = value.end_mark
        self.set_leaf(
            path,
            Origin(_location(display, value), end.line + 1, end.column + 1, _text(value), items=items),
        )


def _pairs(mapping: MappingNode, prefix: str, *, top: bool) -> Iterator[tuple[ScalarNode, Node, str]]:
    for key, value, _ in effective_pairs(mapping):
        if not isinstance(key, ScalarNode):
            continue
        name = str(key.value)
        if top and name == "defaults":
            continue  # the defaults list says what merges; it is not part of the composed config
        yield key, value, f"{prefix}.{name}" if prefix else name


def _display(path: Path, config_dir: Path, shown_dir: str) -> str:
    try:
        relative = path.resolve().relative_to(config_dir.resolve())
    except ValueError:
        return str(path)
    return str(Path(shown_dir) / relative)


def _package(package: str) -> str:
    return "" if package in ("", "_global_") else package.removeprefix("_global_.")


def provenance(composition: Composition, config_dir: Path) -> ProvenanceMap:
    """The origin of every leaf of ``composition``; files are named as ``config_dir`` was given (relative stays)."""
    found = ProvenanceMap()
    shown = str(config_dir)
    for merged in composition.files:
        if merged.path is None:
            continue
        try:
            document = yaml.compose(merged.path.read_text(encoding="utf-8-sig"), Loader=_LOADER)
        except (OSError, UnicodeDecodeError, yaml.YAMLError):
            continue  # Hydra read it; a file PyYAML cannot compose just has no positions
        if document is not None:
            found.merge_file(_display(merged.path, config_dir, shown), document, _package(merged.package))
    entry = composition.entry
    for override in composition.overrides:
        if override.delete:
            found.delete(override.key.lstrip("~"))
            continue
        place = entry.override_place(override.index)
        end_line = place.line if place else None
        end_column = place.column + len(override.text) if place else None
        origin = Origin(place, end_line, end_column, override.text, override=override.text)
        found.set_leaf(override.key.lstrip("+"), origin)
    return found
