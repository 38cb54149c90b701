"""One setting of the configs as the paper describes it: its type, what the paper pins, and where it says so.

A setting is pinned in exactly one of four ways, or left unspecified:

* ``exact``: one value (for floats, optionally within a ``tolerance``);
* ``one_of``: a set of allowed values;
* ``range: [low, high]``: any number between the two, both included (ints and floats: "a warmup of at most 10%",
  "learning rates between 1e-5 and 5e-5"); ``default`` is what a job uses;
* ``unspecified: true``: the paper does not give it; any well-typed value is accepted and lint reports it as
  information. ``default`` is what a job uses when no config sets it.

``nullable: true`` lets a config write ``null`` for "none" (no gradient clipping) besides the pinned values.

Types are scalars (``int``, ``float``, ``str``, ``bool``, ``version``) or lists of scalars (``list[int]``,
``list[float]``, ``list[str]``: learning-rate milestones ``[30, 60, 80]``, image mean ``[0.485, 0.456, 0.406]``).
A list setting's ``exact`` is a list, its ``one_of`` a list of lists; lists are equal when their elements are,
in order. Real configs need three more:

* a union, written as a list: ``type: [int, str]`` (``devices: 1`` or ``devices: auto``); a value is read as the
  first member type that fits it, in the order written;
* ``list[mapping]``: a list whose every element is a mapping (a dataset mixture, a list of callbacks);
* ``any``: any value at all (a scalar, a list, a mapping: Hydra's ``defaults`` list, a value that is a string in one
  config and a section in another). Kept and reported, never dropped; only its presence is checked.

Values of ``list[mapping]`` and ``any`` settings are compared as loaded, through their canonical JSON text.
"""

from __future__ import annotations

import json
import math
import re
from enum import Enum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

Scalar = bool | int | float | str
# What a setting's value may be: a scalar, or a list of scalars (held as a tuple) for the list types.
Value = Scalar | tuple[Scalar, ...]


class SettingType(str, Enum):
    """The type a training script must receive for a setting."""

    INT = "int"
    FLOAT = "float"
    STR = "str"
    BOOL = "bool"
    # A version string such as "2.1": must be a *string* in YAML (an unquoted 2.10 is the float 2.1).
    VERSION = "version"
    LIST_INT = "list[int]"
    LIST_FLOAT = "list[float]"
    LIST_STR = "list[str]"
    LIST_BOOL = "list[bool]"
    LIST_MAPPING = "list[mapping]"
    ANY = "any"

    @property
    def structured(self) -> bool:
        """Whether values of this type are held as their canonical JSON text (``any``, ``list[mapping]``)."""
        return self in (SettingType.ANY, SettingType.LIST_MAPPING)

    @property
    def element(self) -> SettingType | None:
        """The type of a list type's elements (``list[int]`` -> ``int``); None for a scalar type."""
        return _ELEMENTS.get(self)

    @property
    def is_list(self) -> bool:
        return self in _ELEMENTS


_ELEMENTS = {
    SettingType.LIST_INT: SettingType.INT,
    SettingType.LIST_FLOAT: SettingType.FLOAT,
    SettingType.LIST_STR: SettingType.STR,
    SettingType.LIST_BOOL: SettingType.BOOL,
}


class Tolerance(BaseModel):
    """How far a float may be from the pinned value: |actual - expected| <= abs + rel * |expected|."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    abs: float = Field(default=0.0, ge=0.0)
    rel: float = Field(default=0.0, ge=0.0)


_VERSION = re.compile(r"^v?(\d+(?:\.\d+)*)(?:[+.-].*)?$")


def version_release(text: str) -> tuple[int, ...] | None:
    """The numeric release of a version string ("2.1.0+cu121" -> (2, 1, 0)); None when it is not a version."""
    match = _VERSION.match(text.strip())
    if match is None:
        return None
    return tuple(int(part) for part in match.group(1).split("."))


def canonical_json(value: Any) -> str:
    """A loaded value as one canonical text (sorted keys): how ``any`` and ``list[mapping]`` values are compared."""
    return json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)


def _coerce(kind: SettingType, value: Any) -> Value:
    """Convert a spec-side value to the setting's type (the spec is ours, so we may be lenient here)."""
    if kind is SettingType.LIST_MAPPING:
        if not isinstance(value, list | tuple) or not all(isinstance(item, dict) for item in value):
            raise ValueError(f"expected a list of mappings, got {value!r}")
        return canonical_json(list(value))
    if kind is SettingType.ANY:
        return value if isinstance(value, str) and _is_canonical(value) else canonical_json(value)
    element = kind.element
    if element is not None:
        if not isinstance(value, list | tuple):
            raise ValueError(f"expected a list (a {kind.value}), got {value!r}")
        return tuple(_coerce_scalar(element, item) for item in value)
    return _coerce_scalar(kind, value)


def _is_canonical(text: str) -> bool:
    # A spec copied with model_dump holds the canonical text already: do not encode it twice.
    try:
        return canonical_json(json.loads(text)) == text
    except ValueError:
        return False


def _coerce_scalar(kind: SettingType, value: Any) -> Scalar:
    if kind is SettingType.BOOL:
        if not isinstance(value, bool):
            raise ValueError(f"expected a boolean, got {value!r}")
        return value
    if kind is SettingType.INT:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"expected an integer, got {value!r}")
        return value
    if kind is SettingType.FLOAT:
        if isinstance(value, bool):
            raise ValueError(f"expected a number, got {value!r}")
        # Spec authors may write 2e-4; we parse it as YAML 1.2 would, unlike the training script's PyYAML.
        try:
            return float(value)
        except (TypeError, ValueError):
            raise ValueError(f"expected a number, got {value!r}") from None
    if not isinstance(value, str):
        raise ValueError(f"expected a string, got {value!r} (quote it in spec/)")
    if kind is SettingType.VERSION and version_release(value) is None:
        raise ValueError(f"{value!r} is not a version such as '2.1'")
    return value


class Setting(BaseModel):
    """A leaf of the spec's ``config`` tree. ``key`` is its dotted path, filled in by the loader."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    key: str = ""
    type: SettingType
    # A union (``type: [int, str]`` in the spec): every member type, in order; empty for a single type.
    types: tuple[SettingType, ...] = ()
    source: str = Field(
        min_length=1, description="Where the value comes from: the description's words, or 'assumption'."
    )
    description: str = ""
    # Checked and converted to the setting's type by the validator below, which says what it expected.
    exact: Any = None
    tolerance: Tolerance | None = None
    one_of: tuple[Any, ...] | None = None
    range: tuple[Any, Any] | None = None
    unspecified: bool = False
    default: Any = None
    # per_file: each file may hold its own value (model.name differs between the 130m and 370m configs).
    scope: str = Field(default="global", pattern="^(global|per_file)$")
    # required: a pinned setting no config sets is worth a warning (the job's default would decide).
    required: bool = True
    # nullable: a config may write null for "none" (no gradient clipping, no warmup); any other value is judged.
    nullable: bool = False

    @model_validator(mode="before")
    @classmethod
    def _union(cls, data: Any) -> Any:
        """``type: [int, str]`` is a union: its first member is ``type``, all of them ``types``."""
        if isinstance(data, dict) and isinstance(data.get("type"), list | tuple):
            members = list(data["type"])
            if not members:
                raise ValueError("type: an empty list names no type")
            data = {**data, "type": members[0], "types": members if len(members) > 1 else ()}
        return data

    @property
    def kinds(self) -> tuple[SettingType, ...]:
        """The member types of a union, or the one type."""
        return self.types or (self.type,)

    @property
    def type_text(self) -> str:
        """The type as the spec writes it: ``int`` or ``[int, str]``."""
        return "[" + ", ".join(kind.value for kind in self.types) + "]" if self.types else self.type.value

    @model_validator(mode="after")
    def _one_way_of_pinning(self) -> Setting:
        ways = [self.exact is not None, self.one_of is not None, self.range is not None, self.unspecified]
        if sum(ways) != 1:
            raise ValueError("a setting needs exactly one of 'exact', 'one_of', 'range' or 'unspecified: true'")
        if self.range is not None and self.type not in (SettingType.INT, SettingType.FLOAT):
            raise ValueError("'range' applies only to an int or a float")
        floats = (SettingType.FLOAT, SettingType.LIST_FLOAT)
        if self.tolerance is not None and (self.exact is None or self.type not in floats):
            raise ValueError("'tolerance' applies only to an exact float (or list of floats)")
        # Normalise every spec-side value to the declared type once, so comparisons below are plain.
        if self.types and (self.range is not None or self.tolerance is not None):
            raise ValueError("'range' and 'tolerance' apply to one type, not a union")
        for name in ("exact", "one_of", "range", "default"):
            value = getattr(self, name)
            try:
                if name in ("one_of", "range") and value is not None:
                    value = tuple(self._coerce(option) for option in value)
                elif value is not None:
                    value = self._coerce(value)
            except ValueError as err:
                raise ValueError(f"{name}: {err}") from None
            object.__setattr__(self, name, value)
        if self.range is not None and not self.range[0] <= self.range[1]:
            raise ValueError(f"range: the low end {self.range[0]} is above the high end {self.range[1]}")
        if self.range is not None and self.default is not None and not self._in_range(self.default):
            raise ValueError(f"default: {self.default} is outside the range {self.expected_text()}")
        return self

    def _coerce(self, value: Any) -> Value:
        """A spec-side value in the first member type it fits (the setting's type when it is not a union)."""
        errors = []
        for kind in self.kinds:
            if kind is SettingType.STR and len(self.kinds) > 1 and not isinstance(value, str):
                continue  # a union's str member takes strings only: 1 under [int, str] stays an int
            try:
                return _coerce(kind, value)
            except ValueError as err:
                errors.append(str(err))
        raise ValueError(errors[0] if len(errors) == 1 else f"{value!r} fits none of {self.type_text}")

    def _in_range(self, value: Value) -> bool:
        assert self.range is not None
        if isinstance(value, bool) or not isinstance(value, int | float):
            return False
        if self.type is SettingType.INT and not isinstance(value, int):
            return False
        low, high = self.range
        return bool(low <= value <= high)

    @property
    def pinned(self) -> bool:
        """True when the paper gives the value (exactly or as a set)."""
        return not self.unspecified

    @property
    def is_assumption(self) -> bool:
        """True when the value is ours, not the paper's, and should be confirmed with the authors."""
        return self.source.strip().lower().startswith("assumption")

    @property
    def is_todo(self) -> bool:
        """True when the source is still a placeholder (``sdmspec spec init`` writes "TODO: quote the paper")."""
        return self.source.strip().upper().startswith("TODO")

    def expected_text(self) -> str:
        """The expectation as a reader would write it: ``128``, ``one of 'a', 'b'``, ``2.0e-4 (±1%)``."""
        if self.exact is not None:
            text = format_value(self.exact)
            if self.tolerance is not None:
                text += f" (±{self.tolerance.abs:g}" + (f" +{self.tolerance.rel:.0%}" if self.tolerance.rel else "")
                text += ")"
            return text
        if self.one_of is not None:
            return "one of " + ", ".join(format_value(v) for v in self.one_of)
        if self.range is not None:
            return f"between {format_value(self.range[0])} and {format_value(self.range[1])}"
        return "unspecified"

    @property
    def element_setting(self) -> Setting | None:
        """For a list setting, a setting of its elements' type (any value): what lint judges each element by."""
        element = self.type.element
        if element is None:
            return None
        return Setting(key=self.key, type=element, unspecified=True, source=self.source)

    def expected_value(self) -> Value | None:
        """The value a job uses when no config sets this setting: the pinned value, else the default."""
        value: Value | None = self.default
        if self.exact is not None:
            value = self.exact
        elif self.one_of is not None and self.default is None:
            value = self.one_of[0]
        return value

    def accepts(self, value: Value) -> bool:
        """Whether a well-typed value satisfies the pin. Type errors are the caller's business (lint reports them)."""
        if self.unspecified:
            return True
        if self.range is not None:
            return self._in_range(value)
        allowed = (self.exact,) if self.exact is not None else (self.one_of or ())
        return any(self._equal(value, candidate) for candidate in allowed)

    def compatible(self, left: Value, right: Value) -> bool:
        """Whether two configs' values of this setting can both hold: what lint's conflict rule and the jobs agree on.

        Versions are compatible when one release refines the other ("2.1" and "2.1.2+cu121"; not "2.1.0" and
        "2.1.2"); floats when they are the same double (``.nan`` twice included); anything else when equal; lists
        when they have the same length and their elements are compatible in order.
        """
        element = self.element_setting
        if element is not None:
            if not (isinstance(left, tuple) and isinstance(right, tuple)) or len(left) != len(right):
                return left == right
            return all(element.compatible(a, b) for a, b in zip(left, right, strict=True))
        if isinstance(left, tuple) or isinstance(right, tuple):
            return left == right
        if self.type is SettingType.VERSION:
            ours, theirs = version_release(str(left)), version_release(str(right))
            if ours is None or theirs is None:
                return left == right
            shorter = min(len(ours), len(theirs))
            return ours[:shorter] == theirs[:shorter]
        if self.type is SettingType.FLOAT and isinstance(left, float) and isinstance(right, float):
            return left == right or (math.isnan(left) and math.isnan(right))
        return left == right

    def _equal(self, actual: Value, expected: Value) -> bool:
        if self.types:
            members = (self.model_copy(update={"type": kind, "types": ()}) for kind in self.types)
            return any(member._equal(actual, expected) for member in members)
        if self.type.structured:
            return actual == expected
        element = self.type.element
        if element is not None:
            if not (isinstance(actual, tuple | list) and isinstance(expected, tuple)) or len(actual) != len(expected):
                return False
            inner = self.model_copy(update={"type": element})
            return all(inner._equal(a, e) for a, e in zip(actual, expected, strict=True))
        if isinstance(actual, tuple | list) or isinstance(expected, tuple):
            return False
        if self.type is SettingType.VERSION:
            got, want = version_release(str(actual)), version_release(str(expected))
            # "2.1" pins the release series: 2.1, 2.1.0 and 2.1.2+cu121 all satisfy it; 2.10 does not.
            return got is not None and want is not None and got[: len(want)] == want
        if self.type is SettingType.FLOAT:
            if isinstance(actual, bool) or not isinstance(actual, int | float):
                return False
            tol = self.tolerance or Tolerance()
            return math.isclose(float(actual), float(expected), rel_tol=tol.rel, abs_tol=tol.abs) or float(
                actual
            ) == float(expected)
        if self.type is SettingType.INT:
            return not isinstance(actual, bool) and actual == expected
        return actual == expected


def render_float(value: float, scientific: bool) -> str:
    """A float written so PyYAML reads it back as the same float, in the fewest digits: ``6.0e-4`` (scientific,
    never ``5.999999999999999e-4``) or ``0.1``."""
    if math.isnan(value) or math.isinf(value):
        return ".nan" if math.isnan(value) else (".inf" if value > 0 else "-.inf")
    if scientific or "e" in repr(value):
        # repr is the shortest text that reads back as this float; its digits give the mantissa.
        digits = next(p for p in range(17) if float(f"{value:.{p}e}") == value)
        mantissa, exponent = f"{value:.{digits}e}".split("e")
        mantissa += ".0" if "." not in mantissa else ""
        # PyYAML's float needs the exponent's sign: 1.0e5 would be a string, 1.0e+5 is a float.
        return f"{mantissa}e{int(exponent):+d}"
    text = repr(value)
    return text if "." in text else f"{text}.0"


def format_value(value: object) -> str:
    """A value as it would be written in a config: small floats as the paper writes them (``1.0e-4``)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return render_float(value, scientific=value != 0 and abs(value) < 1e-3)
    if isinstance(value, tuple | list):
        return "[" + ", ".join(format_value(item) for item in value) + "]"
    return str(value)
