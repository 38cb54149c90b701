"""What a scalar means: what ``yaml.safe_load`` (PyYAML, YAML 1.1) hands the training script, and what its author meant.

The two differ exactly where YAML 1.1 has pitfalls: ``2e-4`` is the *string* "2e-4" (PyYAML's float needs a dot and
a signed exponent), an unquoted ``2.10`` is the float 2.1, ``yes``/``off`` are booleans, ``010`` is 8. Lint reports
that gap with the SDM1xx rules, and checks the *meant* value against the paper with the SDM2xx rules, so ``3e-4``
where the paper says ``1e-4`` is one pitfall warning and one value error, and ``2e-4`` where it says ``2e-4`` is only
the pitfall warning.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import yaml
from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from sdmspec.lint.loaders import YAML_LOADER, ConfigLoader, Deferred
from sdmspec.schema import SettingType
from sdmspec.schema.setting import Scalar, Value, canonical_json, render_float

_CONSTRUCTOR = SafeConstructor()
_TAG = "tag:yaml.org,2002:"
STR_TAG, INT_TAG, FLOAT_TAG, BOOL_TAG, NULL_TAG = (f"{_TAG}{kind}" for kind in ("str", "int", "float", "bool", "null"))
_PLAIN_TYPED = (INT_TAG, FLOAT_TAG, BOOL_TAG, NULL_TAG)

# YAML 1.2 core schema numbers: how the author (and every YAML 1.2 tool) reads them.
YAML12_INT = re.compile(r"[-+]?[0-9]+")
_LEADING_ZERO = re.compile(r"[-+]?0[0-9]")
YAML12_FLOAT = re.compile(r"([-+]?)([0-9]*)(?:\.([0-9]*))?(?:([eE])([-+]?)([0-9]+))?")
# PyYAML's YAML 1.1 booleans that YAML 1.2 reads as strings (true/false mean the same in both).
YAML11_ONLY_BOOLEANS = {
    **dict.fromkeys(("yes", "Yes", "YES", "on", "On", "ON"), True),
    **dict.fromkeys(("no", "No", "NO", "off", "Off", "OFF"), False),
}


def is_plain(node: ScalarNode) -> bool:
    """Unquoted and not a block scalar (the C and pure-Python composers spell "plain" as '' and None)."""
    return not node.style


def is_null(node: Node) -> bool:
    """Whether ``node`` is YAML's null (``null``, ``~`` or nothing), as ``yaml.safe_load`` reads it."""
    return isinstance(node, ScalarNode) and node.tag == NULL_TAG


def received(node: ScalarNode) -> object:
    """The value ``yaml.safe_load`` gives for a scalar with a standard tag; the text for any other tag.

    Only the safe constructors of plain scalar types run here: nothing a tag names is ever constructed.
    """
    if node.tag == STR_TAG:
        return node.value
    if node.tag in _PLAIN_TYPED:
        try:
            return _CONSTRUCTOR.yaml_constructors[node.tag](_CONSTRUCTOR, node)
        except (ValueError, TypeError, yaml.YAMLError):
            return node.value
    return node.value


# Strings longer than this are quoted by their start only.
_QUOTE_LIMIT = 200
_QUOTE_SHOWN = 60


def describe(value: object) -> str:
    """A value as a reader should see it: ``the string '2e-4'``, ``the float 2.1``."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"the boolean {'true' if value else 'false'}"
    if isinstance(value, int):
        return f"the integer {value}"
    if isinstance(value, float):
        return f"the float {value!r}"
    if isinstance(value, str):
        if len(value) > _QUOTE_LIMIT:
            # A 1 MB document quoted whole is a line of a million characters in every report.
            return f"the string {value[:_QUOTE_SHOWN]!r}... ({len(value):,} characters)"
        return f"the string {value!r}"
    return f"a {type(value).__name__}"


def yaml12_number(text: str) -> int | float | None:
    """The number a YAML 1.2 reader sees in ``text`` (decimal only), or None."""
    if YAML12_INT.fullmatch(text):
        return int(text)
    match = YAML12_FLOAT.fullmatch(text)
    if match and (match.group(2) or match.group(3)):
        return float(text)
    return None


@dataclass(frozen=True)
class Reading:
    """A setting's value as its author meant it, in the setting's type; ``value`` is None when no reading fits.

    For a list, ``bad_element`` is the index of the first element whose reading does not fit (``problem`` says why).
    """

    value: Value | None
    received: object
    text: str
    problem: str | None = None
    bad_element: int | None = None
    # The type the value was read as (a union's member that fits it; the setting's type when none does).
    kind: SettingType | None = None
    # An interpolation (``${...}``) or ``???`` under a loader that gives them meaning: no value here, and no problem.
    deferred: Deferred | None = None


def _read_list(node: Node, element: SettingType, loader: ConfigLoader) -> Reading:
    if not isinstance(node, SequenceNode):
        got = "a mapping" if isinstance(node, MappingNode) else describe(received(node))  # type: ignore[arg-type]
        return Reading(None, None, getattr(node, "value", ""), problem=got)
    items = [read_setting(item, element, loader) for item in node.value]
    later = next((item.deferred for item in items if item.deferred), None)
    if later is not None:  # [${a}, 2]: the list's value is known only when the program resolves it
        return Reading(None, [item.received for item in items], "", deferred=later)
    text = "[" + ", ".join(item.text for item in items) + "]"
    received_items = [item.received for item in items]
    for index, item in enumerate(items):
        if item.value is None or isinstance(item.value, tuple):
            return Reading(None, received_items, text, problem=item.problem or "a list", bad_element=index)
    values = tuple(item.value for item in items if not isinstance(item.value, tuple | None))
    return Reading(values, received_items, text)


# Bounds on reading an `any` or `list[mapping]` value: configs are untrusted, and an alias bomb expands
# exponentially (SDM007 reports it) while a deep nesting would exhaust the stack.
LOADED_NODES = 100_000
LOADED_DEPTH = 200
TRUNCATED = "<not read: too large or too deep>"


def loaded(node: Node) -> Any:
    """The value a node loads as (scalars through :func:`received`), for ``any`` and ``list[mapping]`` values.

    Nothing a tag names is constructed; an alias cycle is cut (its inner occurrence is None); past
    :data:`LOADED_NODES` nodes or :data:`LOADED_DEPTH` levels the rest reads as :data:`TRUNCATED`.
    """
    budget = [LOADED_NODES]

    def walk(node: Node, seen: frozenset[int]) -> Any:
        budget[0] -= 1
        if budget[0] < 0 or len(seen) > LOADED_DEPTH:
            return TRUNCATED
        if id(node) in seen:
            return None
        inner = seen | {id(node)}
        if isinstance(node, MappingNode):
            return {str(walk(key, inner)): walk(value, inner) for key, value in node.value}
        if isinstance(node, SequenceNode):
            return [walk(item, inner) for item in node.value]
        assert isinstance(node, ScalarNode)
        return received(node)

    return walk(node, frozenset())


def deferred(node: Node, loader: ConfigLoader) -> Deferred | None:
    """Whether ``node`` is an interpolation or a ``???`` under ``loader`` (only strings can be)."""
    if isinstance(node, ScalarNode) and node.tag == STR_TAG:
        return loader.deferred(node.value)
    return None


def _read_structured(node: Node, kind: SettingType) -> Reading:
    value = loaded(node)
    text = canonical_json(value)
    if kind is SettingType.LIST_MAPPING:
        if not isinstance(node, SequenceNode):
            got = "a mapping" if isinstance(node, MappingNode) else describe(received(node))  # type: ignore[arg-type]
            return Reading(None, value, text, problem=got, kind=kind)
        for index, item in enumerate(node.value):
            if not isinstance(item, MappingNode):
                got = "a list" if isinstance(item, SequenceNode) else describe(received(item))
                return Reading(None, value, text, problem=got, bad_element=index, kind=kind)
    return Reading(text, value, text, kind=kind)


def read_setting(node: Node, kind: SettingType | Sequence[SettingType], loader: ConfigLoader = YAML_LOADER) -> Reading:
    """Read a setting's value node the way its author meant it (see the module docstring), as ``loader`` reads it.

    ``kind`` is the setting's type, or a union's member types: the value is read as the first that fits. A list
    setting (``list[int]``) is read element by element, each as its element type. Under a loader with
    interpolations, ``${...}`` and ``???`` are deferred: no value here, and no problem.
    """
    kinds = (kind,) if isinstance(kind, SettingType) else tuple(kind)
    later = deferred(node, loader)
    if later is not None:
        text = node.value if isinstance(node, ScalarNode) else ""
        return Reading(None, text, text, kind=kinds[0], deferred=later)
    if len(kinds) > 1 and SettingType.STR in kinds and _loads_as_text(node):
        return _read_one(node, SettingType.STR, loader)  # `devices: auto`, `devices: "1"` under [int, str]
    first: Reading | None = None
    for member in kinds:
        if member is SettingType.STR and len(kinds) > 1:
            continue  # a union's str member takes only what loads as a string: `devices: 1` is an int
        reading = _read_one(node, member, loader)
        if reading.value is not None:
            return reading
        first = first or reading
    return first if first is not None else _read_one(node, kinds[0], loader)


def _loads_as_text(node: Node) -> bool:
    """A string the program receives as a string, and not a number that YAML 1.1 left a string (``2e-4``)."""
    if not isinstance(node, ScalarNode) or node.tag != STR_TAG:
        return False
    return not (is_plain(node) and yaml12_number(node.value.strip()) is not None)


def _read_one(node: Node, kind: SettingType, loader: ConfigLoader) -> Reading:
    if kind.structured:
        return _read_structured(node, kind)
    reading = _read_scalar_or_list(node, kind, loader)
    return Reading(
        reading.value, reading.received, reading.text, reading.problem, reading.bad_element, kind, reading.deferred
    )


def _read_scalar_or_list(node: Node, kind: SettingType, loader: ConfigLoader) -> Reading:
    if kind.element is not None:
        return _read_list(node, kind.element, loader)
    if isinstance(node, MappingNode):
        return Reading(None, None, "", problem="a mapping")
    if isinstance(node, SequenceNode):
        return Reading(None, None, "", problem="a list")
    assert isinstance(node, ScalarNode)
    got = received(node)
    text, plain = node.value, is_plain(node)
    meant: Scalar | None = None
    if kind in (SettingType.INT, SettingType.FLOAT):
        number = yaml12_number(text.strip()) if node.tag in (STR_TAG, INT_TAG, FLOAT_TAG) else None
        if number is None and isinstance(got, int | float) and not isinstance(got, bool):
            number = got  # YAML 1.1-only spellings the author also means as numbers: 0x10, 1_000
        if kind is SettingType.INT and isinstance(number, int):
            meant = number
        elif kind is SettingType.FLOAT and number is not None:
            meant = float(number)
    elif kind is SettingType.BOOL:
        meant = got if isinstance(got, bool) else None
    elif plain and node.tag == BOOL_TAG and text not in YAML11_ONLY_BOOLEANS:
        meant = None  # `name: true`: a boolean, whichever YAML
    elif plain and node.tag == NULL_TAG:
        meant = None
    else:
        meant = text
    problem = None if meant is not None else describe(got)
    return Reading(meant, got, text, problem)


# Digits with at most one dot and an exponent whose sign slipped (`1.0e_8`): no loader reads it as a number.
_NUMBER_LIKE = re.compile(r"[-+]?(?=[^eE]*[0-9])[0-9_]*\.?[0-9_]*(?:[eE][-+_]{0,2}[0-9_]*)?")


def mistyped_number(node: Node, kinds: Sequence[SettingType]) -> bool:
    """Whether ``node`` is a string that looks like a mistyped number where only a number fits (``1.0e_8``)."""
    if not isinstance(node, ScalarNode) or node.tag != STR_TAG or SettingType.STR in kinds:
        return False
    if not any(kind in (SettingType.INT, SettingType.FLOAT) for kind in kinds):
        return False
    text = node.value.strip()
    return _NUMBER_LIKE.fullmatch(text) is not None and yaml12_number(text) is None


def pyyaml_float_text(text: str) -> str | None:
    """``text`` rewritten so PyYAML reads it as the same float: ``2e-4`` -> ``2.0e-4``, ``1e5`` -> ``1.0e+5``."""
    match = YAML12_FLOAT.fullmatch(text.strip())
    if not match or not (match.group(2) or match.group(3)):
        return None
    sign, whole, fraction, e, exponent_sign, exponent = match.groups()
    result = f"{sign}{whole or '0'}.{fraction or '0'}"
    if e:
        result += f"{e}{exponent_sign or '+'}{exponent}"
    return result


def render(value: Scalar, kind: SettingType, like: ScalarNode) -> str:
    """``value`` as a YAML scalar that PyYAML reads as the setting's type, quoted the way ``like`` was."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if kind is SettingType.FLOAT and isinstance(value, int | float):
        return render_float(float(value), scientific="e" in like.value.lower())
    if kind is SettingType.INT:
        return str(value)
    text = str(value)
    if like.style == "'":
        return "'" + text.replace("'", "''") + "'"
    if kind is SettingType.VERSION or like.style == '"' or _resolves_away_from_str(text):
        return json.dumps(text)
    return text


def _resolves_away_from_str(text: str) -> bool:
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader) if text.strip() else None
    except yaml.YAMLError:
        return True
    return not (isinstance(node, ScalarNode) and node.tag == STR_TAG and node.value == text)


def plain_number_text(text: str) -> str | None:
    """``text`` (a number) as an unquoted scalar PyYAML reads as a number: itself, or ``2e-4`` -> ``2.0e-4``."""
    if yaml12_number(text) is None:
        return None
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return None
    if isinstance(node, ScalarNode) and node.tag in (INT_TAG, FLOAT_TAG) and not _LEADING_ZERO.match(text):
        return text
    return pyyaml_float_text(text) if "e" in text.lower() or "." in text else text.lstrip("0") or "0"
