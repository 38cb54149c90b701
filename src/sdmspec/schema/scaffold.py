"""``sdmspec spec init``: a starting spec (paper.yaml + config.yaml) from an existing repo's configs.

Every key path found in the configs becomes a setting: its type inferred from the values as their author meant them
(``2e-4`` is a float although PyYAML reads a string; a quoted ``"2.1"`` is a version; ``[30, 60, 80]`` a
``list[int]``; an int in one file and a float in another, a float), ``unspecified: true`` with the value as
``default``, and ``source: "TODO: quote the paper"``. A key whose value differs between files is marked
``scope: per_file`` (each config holds its own, as a model config's size does). ``sdmspec lint`` on that spec passes
on those configs and reports every TODO source as information (SDM204) until the paper is quoted and the values
pinned.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from sdmspec.errors import ConfigError
from sdmspec.schema.setting import Scalar, SettingType, Value, version_release

TODO_SOURCE = "TODO: quote the paper"
_TAG = "tag:yaml.org,2002:"
_NUMBER_KINDS = {SettingType.INT, SettingType.FLOAT}


@dataclass
class Observed:
    """What the configs hold at one key path: each file's inferred type and value."""

    kinds: list[SettingType] = field(default_factory=list)
    values: list[tuple[str, Value]] = field(default_factory=list)
    # Some config writes null here (another gives the type): the setting is nullable.
    null: bool = False


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


def _infer(node: Node) -> tuple[SettingType, Value] | None:
    if isinstance(node, ScalarNode):
        return infer_scalar(node)
    if isinstance(node, SequenceNode) and node.value:
        found: list[tuple[SettingType, Scalar]] = []
        for item in node.value:
            inferred = infer_scalar(item) if isinstance(item, ScalarNode) else None
            if inferred is None:  # null, or a list of mappings or lists: no list type fits
                return None
            found.append(inferred)
        element = _combine({kind for kind, _ in found})
        if element is None:  # [1, true]: no element type holds both
            return None
        listed = {SettingType.INT: SettingType.LIST_INT, SettingType.FLOAT: SettingType.LIST_FLOAT}
        kind = listed.get(element, SettingType.LIST_STR)
        return kind, tuple(_convert(kind.element or SettingType.STR, value) for _, value in found)
    return None


def _combine(kinds: set[SettingType]) -> SettingType | None:
    """One type for values of several: ints and floats are floats; lists likewise; other scalars mixed are strings.

    None where no type holds them all (lint would call some config's value the wrong type): a list beside a scalar,
    a boolean beside anything else.
    """
    if len(kinds) == 1:
        return next(iter(kinds))
    if kinds <= _NUMBER_KINDS:
        return SettingType.FLOAT
    if kinds <= {SettingType.LIST_INT, SettingType.LIST_FLOAT}:
        return SettingType.LIST_FLOAT
    if all(kind.is_list for kind in kinds):
        return SettingType.LIST_STR
    if any(kind.is_list or kind is SettingType.BOOL for kind in kinds):
        return None
    return SettingType.STR


def _convert(kind: SettingType, value: Any) -> Any:
    if kind.element is not None and isinstance(value, tuple):
        return tuple(_convert(kind.element, item) for item in value)
    if kind is SettingType.FLOAT and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if kind in (SettingType.STR, SettingType.VERSION) and not isinstance(value, str):
        from sdmspec.schema.setting import format_value

        return format_value(value)
    return value


def _walk(
    mapping: MappingNode,
    prefix: str,
    file: str,
    found: dict[str, Observed],
    skipped: list[str],
    nulls: list[str],
    inside: frozenset[int] = frozenset(),
) -> Iterable[None]:
    from sdmspec.lint.project import effective_pairs

    inside |= {id(mapping)}
    # As yaml.safe_load (and lint) read the mapping: merged keys in, explicit keys over merged, last duplicate wins.
    for key, value, _ in effective_pairs(mapping):
        if not isinstance(key, ScalarNode):
            continue
        path = f"{prefix}{key.value}"
        if isinstance(value, MappingNode):
            if id(value) not in inside:  # an alias to a mapping holding it (&m {a: *m}) would never end
                yield from _walk(value, f"{path}.", file, found, skipped, nulls, inside)
            continue
        if isinstance(value, SequenceNode) and not value.value:  # []: a value of whichever list type others give
            found.setdefault(path, Observed()).values.append((file, ()))
            continue
        inferred = _infer(value)
        if inferred is None:  # null (or a list of mappings): typed by another file, or reported
            (nulls if isinstance(value, ScalarNode) else skipped).append(path)
            continue
        observed = found.setdefault(path, Observed())
        observed.kinds.append(inferred[0])
        observed.values.append((file, inferred[1]))
    yield None


def observe(files: Sequence[Path]) -> tuple[dict[str, Observed], list[str]]:
    """Every key path of the configs, with what each file holds there; and what could not be typed."""
    found: dict[str, Observed] = {}
    skipped: list[str] = []
    notes: list[str] = []
    nulls: list[str] = []
    for path in files:
        try:
            document = yaml.compose(path.read_text(encoding="utf-8"), Loader=yaml.SafeLoader)
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as err:
            raise ConfigError(f"{path}: cannot read the config ({str(err).splitlines()[0]})") from err
        if isinstance(document, MappingNode):
            list(_walk(document, "", str(path), found, skipped, nulls))
        else:
            notes.append(f"{path}: not a mapping")
    for key in nulls:
        # Null in every config: the type is unknown; a nullable string takes the nulls until the paper says more.
        observed = found.setdefault(key, Observed(kinds=[SettingType.STR]))
        observed.null = True
    # Untyped in one config, or of kinds no one type holds: a setting would make lint call some config's value wrong.
    untyped = dict.fromkeys(skipped)
    skipped = [
        f"{key} (a list of mappings, of lists or with nulls in some config: no setting type fits; lint reports it as "
        "unknown)"
        for key in untyped
    ]
    for key in [key for key in found if key not in untyped and _kind(found[key]) is None]:
        kinds = ", ".join(sorted({kind.value for kind in found[key].kinds}))
        skipped.append(f"{key} ({kinds} in different configs: no setting type fits; lint reports it as unknown)")
        untyped[key] = None
    for key in untyped:
        found.pop(key, None)
    parts = [key.split(".") for key in found]
    sections = {".".join(split[:depth]) for split in parts for depth in range(1, len(split))}
    for key in [key for key in found if key in sections]:  # a leaf in one file, a section in another
        skipped.append(f"{key} (a value in some configs and a section in others)")
        del found[key]
    return found, [*notes, *skipped]


def _kind(observed: Observed) -> SettingType | None:
    """The setting type for what the configs hold at a key (only empty lists there: a list of strings)."""
    return _combine(set(observed.kinds)) if observed.kinds else SettingType.LIST_STR


def _setting(observed: Observed) -> dict[str, Any]:
    kind = _kind(observed)
    if kind is None:
        raise ValueError("no setting type holds these values")  # observe() skips such keys
    values = [_convert(kind, value) for _, value in observed.values]
    record: dict[str, Any] = {"type": kind.value, "unspecified": True}
    if values:
        record["default"] = list(values[0]) if isinstance(values[0], tuple) else values[0]
    if any(value != values[0] for value in values[1:]):
        record["scope"] = "per_file"
    if observed.null:
        record["nullable"] = True
    record["source"] = TODO_SOURCE
    return record


def _nest(settings: dict[str, dict[str, Any]]) -> dict[str, Any]:
    tree: dict[str, Any] = {}
    for key, record in settings.items():
        *sections, leaf = key.split(".")
        node = tree
        for section in sections:
            node = node.setdefault(section, {})
        node[leaf] = record
    return tree


def _dump(data: dict[str, Any]) -> str:
    return yaml.safe_dump(data, sort_keys=False, default_flow_style=None, allow_unicode=True, width=120)


def scaffold(files: Sequence[Path], title: str = "TODO: the paper's title") -> Scaffold:
    """The starting spec for ``files`` (the configs)."""
    if not files:
        raise ConfigError("no YAML configs to start a spec from")
    found, skipped = observe(files)
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
        + _dump({"config": _nest(settings)})
    )
    return Scaffold(paper_text, config_text, len(settings), per_file, len(files), tuple(skipped))
