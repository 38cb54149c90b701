"""The spec's entries (``runs:`` in ``spec/runs.yaml``) as :class:`Entry` values placed at their lines in the spec.

A finding about an entry (Hydra refuses it) is reported at the entry; a value one of its overrides sets, at that
override. Positions come from PyYAML's node graph of the spec's files, read only when the spec has entries.
"""

from __future__ import annotations

from pathlib import Path

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from sdmspec.compose.entry import Entry
from sdmspec.errors import SpecError
from sdmspec.lint.diagnostics import Location
from sdmspec.lint.spec_positions import spec_files
from sdmspec.schema import PaperSpec, find_spec_dir

RUNS_SECTION = "runs"
_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _display(path: Path) -> str:
    resolved, cwd = path.resolve(), Path.cwd()
    return str(resolved.relative_to(cwd)) if resolved.is_relative_to(cwd) else str(resolved)


def _at(file: str, node: Node) -> Location:
    return Location(file, node.start_mark.line + 1, node.start_mark.column + 1)


def _entry_nodes(spec_path: Path | None) -> list[tuple[str, MappingNode]]:
    try:
        root = spec_path if spec_path is not None else find_spec_dir()
    except SpecError:  # no spec folder to read positions from: the entries are still linted, without places
        return []
    found: list[tuple[str, MappingNode]] = []
    for path in spec_files(root):
        try:
            document = yaml.compose(path.read_text(encoding="utf-8-sig"), Loader=_LOADER)
        except (OSError, UnicodeDecodeError, yaml.YAMLError):
            continue
        if not isinstance(document, MappingNode):
            continue
        for key, value in document.value:
            if isinstance(key, ScalarNode) and key.value == RUNS_SECTION and isinstance(value, SequenceNode):
                found.extend((_display(path), item) for item in value.value if isinstance(item, MappingNode))
    return found


def _override_places(file: str, mapping: MappingNode) -> tuple[Location | None, ...]:
    for key, value in mapping.value:
        if isinstance(key, ScalarNode) and key.value == "overrides" and isinstance(value, SequenceNode):
            return tuple(_at(file, item) for item in value.value)
    return ()


def spec_entries(spec: PaperSpec, spec_path: Path | None = None) -> list[Entry]:
    """The spec's entries, in order, each placed at its mapping in the spec (when the spec's files can be read)."""
    if not spec.runs:
        return []
    nodes = _entry_nodes(spec_path)
    entries: list[Entry] = []
    for index, run in enumerate(spec.runs):
        where: Location | None = None
        places: tuple[Location | None, ...] = ()
        if index < len(nodes):
            file, mapping = nodes[index]
            where, places = _at(file, mapping), _override_places(file, mapping)
        entries.append(Entry(run.config_name, tuple(run.overrides), run.name, where, places))
    return entries
