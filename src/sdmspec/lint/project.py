"""The configs as lint sees them together: each file's settings found by key path, and the spec they answer to.

Settings are found by key path (``training.pretrain.batch_size``), whatever the order, block or flow style, or file
they are written in. Merge keys (``<<: *defaults``) are followed the way ``yaml.safe_load`` follows them: explicit
keys win over merged ones, and the last of two duplicate keys wins.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from sdmspec.lint.loaders import YAML_LOADER, ConfigLoader
from sdmspec.lint.source import Source
from sdmspec.lint.values import Reading, read_setting
from sdmspec.schema import PaperSpec, Setting, SettingType

MERGE_TAG = "tag:yaml.org,2002:merge"


@dataclass(frozen=True, eq=False)
class Occurrence:
    """A setting's value in one file: where it is written and what it means."""

    key: str
    setting: Setting
    key_node: ScalarNode
    value_node: Node
    reading: Reading
    merged: bool  # reached through a merge key: the scalar is written elsewhere and may be shared

    @property
    def kind(self) -> SettingType:
        """The type the value is judged as: a union's member that fits it, else the setting's (first) type."""
        return self.reading.kind or self.setting.type


@dataclass(frozen=True, eq=False)
class StrayKey:
    """A key the spec does not know: inside a known section (``parent`` set) or at the top level (``parent`` "")."""

    path: str
    parent: str
    key_node: ScalarNode
    value_node: Node


@dataclass(frozen=True, eq=False)
class MisshapenSection:
    """A section of the spec written as something other than a mapping (``training: 5``)."""

    path: str
    key_node: ScalarNode
    value_node: Node


@dataclass(frozen=True, eq=False)
class ConfigFile:
    source: Source
    occurrences: tuple[Occurrence, ...]
    stray_keys: tuple[StrayKey, ...]
    misshapen: tuple[MisshapenSection, ...]
    # The elements of list settings (``lr_milestones[1]``), each judged as its element type by the pitfall rules.
    elements: tuple[Occurrence, ...] = ()

    @property
    def path(self) -> str:
        return self.source.path

    def occurrence_of(self, node: Node) -> Occurrence | None:
        """The setting occurrence whose value is ``node``, if any (pitfall rules fix by the type the spec expects)."""
        return self._by_value_node.get(id(node))

    @cached_property
    def _by_value_node(self) -> dict[int, Occurrence]:
        every = (*self.occurrences, *self.elements)
        return {id(occurrence.value_node): occurrence for occurrence in every if not occurrence.merged}


@dataclass(frozen=True)
class Project:
    """Every file linted in one run, and the spec: what rules check.

    ``spec_path`` is the folder or file the spec was loaded from, when the caller knows it: findings with no place
    in a config are anchored at the setting's definition there (see :mod:`sdmspec.lint.spec_positions`).

    ``context`` holds the other configs of the linted files' project (see :mod:`sdmspec.lint.context`): cross-file
    rules weigh the settings they hold, but nothing is ever reported in them. Per-file rules read ``files`` only.
    """

    spec: PaperSpec
    files: tuple[ConfigFile, ...]
    spec_path: Path | None = None
    context: tuple[ConfigFile, ...] = ()
    loader: ConfigLoader = YAML_LOADER


def effective_pairs(mapping: MappingNode) -> Iterator[tuple[Node, Node, bool]]:
    """(key, value, merged) as ``yaml.safe_load`` keeps them: last duplicate wins, explicit keys beat merged ones."""
    chosen: dict[object, tuple[Node, Node, bool]] = {}
    merged: list[tuple[Node, Node, bool]] = []
    for key, value in mapping.value:
        if key.tag == MERGE_TAG:
            merged.extend(_merged_pairs(value, seen={id(mapping)}))
        else:
            chosen[_identity(key)] = (key, value, False)
    for key, value, _ in merged:
        chosen.setdefault(_identity(key), (key, value, True))
    yield from chosen.values()


def _merged_pairs(node: Node, seen: set[int]) -> Iterator[tuple[Node, Node, bool]]:
    # In `<<: [*a, *b]` the first mapping wins, so yield in that order and let setdefault keep the first.
    sources = node.value if isinstance(node, SequenceNode) else [node]
    for source in sources:
        if isinstance(source, MappingNode) and id(source) not in seen:
            seen.add(id(source))
            for key, value in source.value:
                if key.tag == MERGE_TAG:
                    yield from _merged_pairs(value, seen)
                else:
                    yield key, value, True


def _identity(key: Node) -> object:
    return (key.tag, key.value) if isinstance(key, ScalarNode) else id(key)


def analyse_file(source: Source, spec: PaperSpec, sections: frozenset[str] | None = None) -> ConfigFile:
    """Find every setting, stray key and misshapen section in ``source``'s documents by key path.

    ``sections`` is ``spec.sections``, computed once by a caller analysing many files.
    """
    occurrences: list[Occurrence] = []
    strays: list[StrayKey] = []
    misshapen: list[MisshapenSection] = []
    elements: list[Occurrence] = []
    sections = spec.sections if sections is None else sections
    for document in source.documents:
        if not isinstance(document, MappingNode):
            continue
        pending: list[tuple[MappingNode, str]] = [(document, "")]
        while pending:
            mapping, parent = pending.pop()
            for key, value, merged in effective_pairs(mapping):
                if not isinstance(key, ScalarNode):
                    continue
                path = f"{parent}.{key.value}" if parent else key.value
                setting = spec.settings.get(path)
                if setting is not None:
                    reading = read_setting(value, setting.kinds, source.loader)
                    occurrences.append(Occurrence(path, setting, key, value, reading, merged))
                    elements.extend(_elements(path, setting, reading, key, value, merged, source))
                elif path in sections:
                    if isinstance(value, MappingNode):
                        pending.append((value, path))
                    else:
                        misshapen.append(MisshapenSection(path, key, value))
                else:
                    strays.append(StrayKey(path, parent, key, value))
    occurrences.sort(key=lambda occurrence: occurrence.value_node.start_mark.index)
    strays.sort(key=lambda stray: stray.key_node.start_mark.index)
    return ConfigFile(source, tuple(occurrences), tuple(strays), tuple(misshapen), tuple(elements))


def _elements(
    path: str, setting: Setting, read: Reading, key: ScalarNode, value: Node, merged: bool, source: Source
) -> Iterator[Occurrence]:
    kind = read.kind or setting.type
    element = setting.model_copy(update={"type": kind, "types": ()}).element_setting
    if element is None or not isinstance(value, SequenceNode):
        return
    for index, item in enumerate(value.value):
        reading = read_setting(item, element.type, source.loader)
        yield Occurrence(f"{path}[{index}]", element, key, item, reading, merged)
