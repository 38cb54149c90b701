"""``sdmspec spec init``: a starting spec (paper.yaml + config.yaml) from an existing repo's configs.

Every key path found in the configs (read by the program's loader, :mod:`sdmspec.lint.loaders`) becomes a setting:
its type inferred from the values as their author meant them (``2e-4`` is a float although PyYAML reads a string; a
quoted ``"2.1"`` is a version; ``[30, 60, 80]`` a ``list[int]``; an int in one file and a float in another, a
float; an int in one and a string in another, the union ``[int, str]``; a list of mappings ``list[mapping]``; a
value in one file and a section in another, ``any``), ``unspecified: true`` with the value as ``default``, and
``source: "TODO: quote the paper"``. A key whose value differs between files is marked ``scope: per_file`` (each
config holds its own, as a model config's size does); a section some config writes as null is ``nullable: true``.
No key is dropped. ``sdmspec lint`` on that spec passes on those configs but for their real defects, and reports
every TODO source as information (SDM204) until the paper is quoted and the values pinned.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from sdmspec.errors import ConfigError
from sdmspec.schema.setting import Scalar, SettingType, Value, version_release

if TYPE_CHECKING:
    from sdmspec.lint.loaders import ConfigLoader

TODO_SOURCE = "TODO: quote the paper"
_TAG = "tag:yaml.org,2002:"
_NUMBER_KINDS = {SettingType.INT, SettingType.FLOAT}


@dataclass
class Observed:
    """What the configs hold at one key path: each file's inferred type and value."""

    kinds: list[SettingType] = field(default_factory=list)
    values: list[tuple[str, Value]] = field(default_factory=list)
    # Some config writes null here (another gives the type): the setting (or section) is nullable.
    null: bool = False
    # Some config holds a mapping here: a section (or, beside values, an `any` setting).
    section: bool = False
    # Some config holds an interpolation or ??? here: its type is known only when the program runs.
    deferred: bool = False
    # Strings that look like mistyped numbers (`1.0e_8`): left out of the type where other configs hold numbers.
    mistyped: list[tuple[str, str]] = field(default_factory=list)
    # Held to differ between configs whatever the values seen (a section in some configs, a value in others).
    varies: bool = False


@dataclass(frozen=True)
class Scaffold:
    """The spec's two files as text, and what was found."""

    paper_yaml: str
    config_yaml: str
    settings: int
    per_file: int
    files: int
    skipped: tuple[str, ...]


def infer_scalar(node: ScalarNode) -> tuple[SettingType, Scalar] | None:
    """The type and value the author meant for one scalar; None for null (no type can be inferred)."""
    from sdmspec.lint.values import is_plain, received, yaml12_number

    got = received(node)
    if node.tag == f"{_TAG}null":
        return None
    if isinstance(got, bool):
        return SettingType.BOOL, got
    if isinstance(got, int):
        return SettingType.INT, got
    if isinstance(got, float):
        return SettingType.FLOAT, got
    text = node.value
    number = yaml12_number(text.strip()) if is_plain(node) else None
    if number is not None:  # 2e-4: a string under PyYAML, a float as written (lint warns, SDM101)
        return (SettingType.INT, number) if isinstance(number, int) else (SettingType.FLOAT, number)
    release = version_release(text)
    if not is_plain(node) and release is not None and len(release) >= 2:
        return SettingType.VERSION, text
    return SettingType.STR, text


def _infer(node: Node) -> tuple[SettingType, Any] | None:
    """The type and value of a leaf: a scalar's, a list of scalars', ``list[mapping]``, else ``any`` (as loaded)."""
    from sdmspec.lint.values import loaded

    if isinstance(node, ScalarNode):
        return infer_scalar(node)
    if not isinstance(node, SequenceNode):
        return None
    if all(isinstance(item, MappingNode) for item in node.value):
        return SettingType.LIST_MAPPING, loaded(node)
    found: list[tuple[SettingType, Scalar]] = []
    for item in node.value:
        inferred = infer_scalar(item) if isinstance(item, ScalarNode) else None
        if inferred is None:  # null, a list, a mapping beside scalars: any list
            return SettingType.ANY, loaded(node)
        found.append(inferred)
    element = _combine_list_elements({kind for kind, _ in found})
    if element is None:  # [1, true]: no element type holds both
        return SettingType.ANY, loaded(node)
    listed = {
        SettingType.INT: SettingType.LIST_INT,
        SettingType.FLOAT: SettingType.LIST_FLOAT,
        SettingType.BOOL: SettingType.LIST_BOOL,
    }
    kind = listed.get(element, SettingType.LIST_STR)
    return kind, tuple(_convert(kind.element or SettingType.STR, value) for _, value in found)


def _combine_list_elements(kinds: set[SettingType]) -> SettingType | None:
    if len(kinds) == 1:
        return next(iter(kinds))
    if kinds <= _NUMBER_KINDS:
        return SettingType.FLOAT
    if SettingType.BOOL in kinds:
        return None
    return SettingType.STR


# A union lists its members in this order: a value is read as the first that fits, so numbers come before strings.
_UNION_ORDER = (
    SettingType.BOOL,
    SettingType.INT,
    SettingType.FLOAT,
    SettingType.VERSION,
    SettingType.STR,
    SettingType.LIST_INT,
    SettingType.LIST_FLOAT,
    SettingType.LIST_STR,
    SettingType.LIST_BOOL,
    SettingType.LIST_MAPPING,
)
_MAX_UNION = 3


def combine(kinds: set[SettingType]) -> tuple[SettingType, ...]:
    """The type (one, or a union's members) that holds values of all ``kinds``.

    Ints and floats are floats; lists of ints and of floats, lists of floats; a version beside other strings, a
    string; anything else mixed, a union in a fixed order (``[int, str]``), or ``any`` beyond three members.
    """
    kinds = set(kinds)
    if SettingType.ANY in kinds:
        return (SettingType.ANY,)
    if {SettingType.INT, SettingType.FLOAT} <= kinds:
        kinds.discard(SettingType.INT)
    if {SettingType.LIST_INT, SettingType.LIST_FLOAT} <= kinds:
        kinds.discard(SettingType.LIST_INT)
    if SettingType.VERSION in kinds and SettingType.STR in kinds:
        kinds.discard(SettingType.VERSION)
    ordered = tuple(kind for kind in _UNION_ORDER if kind in kinds)
    return ordered if len(ordered) <= _MAX_UNION else (SettingType.ANY,)


def _convert(kind: SettingType, value: Any) -> Any:
    if kind.element is not None and isinstance(value, tuple):
        return tuple(_convert(kind.element, item) for item in value)
    if kind is SettingType.FLOAT and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if kind in (SettingType.STR, SettingType.VERSION) and not isinstance(value, str):
        from sdmspec.schema.setting import format_value

        return format_value(value)
    return value


def _convert_to(kinds: tuple[SettingType, ...], value: Any) -> Any:
    """A value in the member type that holds it (an int under ``[float, str]`` becomes a float)."""
    if len(kinds) == 1:
        return _convert(kinds[0], value) if not kinds[0].structured else value
    if isinstance(value, int) and not isinstance(value, bool) and SettingType.INT not in kinds:
        return float(value) if SettingType.FLOAT in kinds else value
    if isinstance(value, tuple) and SettingType.LIST_FLOAT in kinds and SettingType.LIST_INT not in kinds:
        return tuple(float(item) for item in value)
    return value


def _walk(
    mapping: MappingNode,
    prefix: str,
    file: str,
    found: dict[str, Observed],
    loader: ConfigLoader,
    inside: frozenset[int] = frozenset(),
) -> None:
    from sdmspec.lint.project import effective_pairs
    from sdmspec.lint.values import deferred, mistyped_number

    inside |= {id(mapping)}
    # As the loader (and lint) read the mapping: merged keys in, explicit keys over merged, last duplicate wins.
    for key, value, _ in effective_pairs(mapping):
        if not isinstance(key, ScalarNode):
            continue
        path = f"{prefix}{key.value}"
        observed = found.setdefault(path, Observed())
        if isinstance(value, MappingNode):
            observed.section = True
            if id(value) not in inside:  # an alias to a mapping holding it (&m {a: *m}) would never end
                _walk(value, f"{path}.", file, found, loader, inside)
            continue
        if isinstance(value, ScalarNode) and value.tag == f"{_TAG}null":
            observed.null = True
            continue
        if deferred(value, loader) is not None:
            observed.deferred = True
            continue
        if isinstance(value, SequenceNode) and not value.value:  # []: a value of whichever list type others give
            observed.values.append((file, ()))
            continue
        if mistyped_number(value, (SettingType.FLOAT,)):
            observed.mistyped.append((file, value.value))
            continue
        inferred = _infer(value)
        if inferred is None:
            continue
        observed.kinds.append(inferred[0])
        observed.values.append((file, inferred[1]))


def observe(
    files: Sequence[Path], loader: ConfigLoader | None = None
) -> tuple[dict[str, Observed], list[str], set[str]]:
    """Every key path of the configs, with what each file holds there (as ``loader`` reads it); notes on what was
    skipped; and the sections some config writes as null."""
    from sdmspec.lint.loaders import YAML_LOADER

    loader = loader or YAML_LOADER
    found: dict[str, Observed] = {}
    notes: list[str] = []
    for path in files:
        try:
            document = yaml.compose(path.read_text(encoding="utf-8"), Loader=loader.yaml_loader)
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as err:
            raise ConfigError(f"{path}: cannot read the config ({str(err).splitlines()[0]})") from err
        if isinstance(document, MappingNode):
            _walk(document, "", str(path), found, loader)
        elif not (isinstance(document, SequenceNode) and loader.top_level_lists) and document is not None:
            notes.append(f"{path}: not a mapping")
    nullable_sections: set[str] = set()
    settings: dict[str, Observed] = {}
    # Shallow paths first: a leaf-and-section path becomes an `any` setting and everything below it goes.
    dropped: list[str] = []
    for key in sorted(found, key=lambda key: key.count(".")):
        if any(key.startswith(f"{parent}.") for parent in dropped):
            continue
        observed = found[key]
        holds_values = bool(observed.kinds or observed.values or observed.deferred or observed.mistyped)
        if observed.section and not holds_values:
            if observed.null:
                nullable_sections.add(key)
            continue
        if observed.section:  # a value in some configs and a section in others: kept, as any value
            observed.kinds = [SettingType.ANY]
            observed.varies = True
            dropped.append(key)
        elif observed.mistyped and not (set(observed.kinds) and set(observed.kinds) <= _NUMBER_KINDS):
            observed.kinds.append(SettingType.STR)  # no config holds a number here: the strings are meant
            observed.values.extend(observed.mistyped)
        if not observed.kinds and not observed.values:
            # Null in every config: a nullable string until the paper says more. An interpolation somewhere: its
            # type is known only when the program resolves it, so any value.
            observed.kinds = [SettingType.ANY if observed.deferred else SettingType.STR]
        settings[key] = observed
    return settings, notes, nullable_sections


def _kind(observed: Observed) -> tuple[SettingType, ...]:
    """The setting type for what the configs hold at a key (only empty lists there: a list of strings)."""
    return combine(set(observed.kinds)) if observed.kinds else (SettingType.LIST_STR,)


def _setting(observed: Observed) -> dict[str, Any]:
    kinds = _kind(observed)
    values = [_convert_to(kinds, value) for _, value in observed.values]
    record: dict[str, Any] = {"type": kinds[0].value if len(kinds) == 1 else [kind.value for kind in kinds]}
    record["unspecified"] = True
    if values:
        record["default"] = list(values[0]) if isinstance(values[0], tuple) else values[0]
    if observed.varies or any(value != values[0] for value in values[1:]):
        record["scope"] = "per_file"
    if observed.null and kinds != (SettingType.ANY,):  # any value takes null already
        record["nullable"] = True
    record["source"] = TODO_SOURCE
    return record


def _nest(settings: dict[str, dict[str, Any]], nullable: set[str]) -> dict[str, Any]:
    tree: dict[str, Any] = {}
    for key, record in settings.items():
        *sections, leaf = key.split(".")
        node = tree
        for depth, section in enumerate(sections, 1):
            node = node.setdefault(section, {})
            if ".".join(sections[:depth]) in nullable:
                node.setdefault("nullable", True)
        node[leaf] = record
    return tree


def _dump(data: dict[str, Any]) -> str:
    return yaml.safe_dump(data, sort_keys=False, default_flow_style=None, allow_unicode=True, width=120)


def scaffold(
    files: Sequence[Path], title: str = "TODO: the paper's title", loader: ConfigLoader | None = None
) -> Scaffold:
    """The starting spec for ``files`` (the configs), read as ``loader`` reads them (default: ``yaml``)."""
    if not files:
        raise ConfigError("no YAML configs to start a spec from")
    found, skipped, nullable = observe(files, loader)
    settings = {key: _setting(observed) for key, observed in found.items()}
    per_file = sum(1 for record in settings.values() if record.get("scope") == "per_file")
    paper = {"paper": {"title": title, "description": "", "source": "TODO: the paper's experimental setup section"}}
    paper_text = (
        "# The paper this spec describes (written by `sdmspec spec init`): give its title and where the values come\n"
        "# from (the section of the paper that describes the experiments).\n" + _dump(paper)
    )
    config_text = (
        "# What the configs must hold, key path by key path (written by `sdmspec spec init` from the configs).\n"
        "# Every setting is `unspecified` with the configs' value as `default`, and its source is a TODO: quote the\n"
        "# paper in `source`, then pin the value (`exact: 0.1`, `one_of: [16, 32]`) and drop `unspecified`/`default`.\n"
        "# `scope: per_file` marks keys whose value differs between configs (each file may hold its own).\n"
        + _dump({"config": _nest(settings, nullable)})
    )
    return Scaffold(paper_text, config_text, len(settings), per_file, len(files), tuple(skipped))
