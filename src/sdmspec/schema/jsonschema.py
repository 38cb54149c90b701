"""A JSON Schema of the configs, generated from Pydantic models built from the spec's settings.

Editors (yaml-language-server) and validators (check-jsonschema) use it to complete keys and reject values the paper
does not allow, before ``sdmspec lint`` runs. How a setting becomes a field:

* types are strict: an ``int`` setting is a JSON ``integer``, a ``float`` a ``number`` (so ``"2e-4"`` in quotes
  fails), a ``version`` a *string* (so an unquoted ``2.10`` fails);
* ``exact`` becomes ``const`` (floats: ``minimum``/``maximum``, widened by the tolerance), ``one_of`` an ``enum``,
  ``range`` a ``minimum`` and ``maximum``,
  a version a ``pattern`` that accepts the pinned release series ("2.1" accepts 2.1.2+cu121, not 2.10);
* a list setting (``list[int]``) is an ``array`` of its element type; pinned, a ``const`` list or an ``enum`` of
  lists (a list of floats within a tolerance: ``prefixItems`` with each element's bounds);
* a union (``type: [int, str]``) is an ``anyOf`` of its members; ``list[mapping]`` an ``array`` of ``object``s;
  ``any`` accepts any value; a nullable section also accepts ``null``;
* keys are written as the configs write them, leading underscores included (``_target_``, ``__l_max``);
* every field's ``description`` is the setting's source, so a hover shows why a value is required;
* inside sections the spec knows, unknown keys are rejected (``additionalProperties: false``); the top level stays
  open, and nothing is ``required``, because the configs are split across files.

Cross-field rules (the micro-batch divides the batch size) and YAML 1.1 pitfalls are beyond JSON Schema:
check-jsonschema reads YAML 1.2 with ruamel, where ``2e-4`` is a float although PyYAML (and so the training
scripts) read it as a string. ``sdmspec lint`` remains the authority.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, create_model

from sdmspec.schema import PaperSpec
from sdmspec.schema.setting import Setting, SettingType, Value, format_value, version_release

JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"

_PYTHON_TYPES: dict[SettingType, type] = {
    SettingType.INT: int,
    SettingType.FLOAT: float,
    SettingType.STR: str,
    SettingType.BOOL: bool,
    SettingType.VERSION: str,
}
_LIST_TYPES: dict[SettingType, Any] = {
    SettingType.LIST_INT: list[int],
    SettingType.LIST_FLOAT: list[float],
    SettingType.LIST_STR: list[str],
    SettingType.LIST_BOOL: list[bool],
    SettingType.LIST_MAPPING: list[dict[str, Any]],
}


def float_bounds(setting: Setting) -> tuple[float, float]:
    """The closed interval of floats that :meth:`Setting.accepts` takes for an exact float setting.

    ``accepts`` uses :func:`math.isclose`: ``|a - e| <= max(rel * max(|a|, |e|), abs)``. Solving for ``a`` gives
    ``e - max(abs, rel*|e|)`` below and ``max(e + abs, e / (1 - rel))`` above (for a positive ``e``; mirrored for a
    negative one).
    """
    assert setting.exact is not None and not isinstance(setting.exact, bool | str)
    expected = float(setting.exact)
    if setting.tolerance is None:
        return expected, expected
    tol_abs, rel = setting.tolerance.abs, min(setting.tolerance.rel, 0.999999)
    size = abs(expected)
    near = size - max(tol_abs, rel * size)
    far = max(size + tol_abs, size / (1.0 - rel))
    return (near, far) if expected >= 0 else (-far, -near)


def version_pattern(release: str) -> str:
    """An ECMA-262 regex accepting the versions :meth:`Setting.accepts` takes for the pinned ``release``."""
    parts = version_release(release)
    assert parts is not None, release
    pinned = r"\.".join(str(part) for part in parts)
    # Further release numbers (2.1.2) or a local/pre-release suffix (+cu121, -rc1) may follow; another digit may not.
    return rf"^v?{pinned}(\.[0-9]+)*([+.-].*)?$"


def _drop_null_default(schema: dict[str, Any]) -> None:
    # A setting without a default gets default None in the model; "default": null would mislead editors.
    if schema.get("default", 0) is None:
        del schema["default"]


def _description(setting: Setting) -> str:
    text = f"Paper value: {setting.expected_text()}. Source: {setting.source}"
    if setting.unspecified:
        text = f"Not pinned by the paper; default {format_value(setting.default)}. Source: {setting.source}"
    return f"{setting.description} {text}".strip() if setting.description else text


def _list_field(setting: Setting, default: Value | None) -> tuple[Any, Any]:
    extra: dict[str, Any] = {}
    if isinstance(setting.exact, tuple) and setting.tolerance is not None:
        items = []
        for value in setting.exact:
            low, high = float_bounds(setting.model_copy(update={"exact": value, "type": SettingType.FLOAT}))
            items.append({"type": "number", "minimum": low, "maximum": high})
        extra = {"prefixItems": items, "minItems": len(items), "maxItems": len(items)}
    elif isinstance(setting.exact, tuple):
        extra = {"const": list(setting.exact)}
    elif setting.one_of is not None:
        extra = {"enum": [list(option) for option in setting.one_of]}

    def schema_extra(schema: dict[str, Any]) -> None:
        _drop_null_default(schema)
        schema.update(extra)

    listed = list(default) if isinstance(default, tuple) else None
    info = Field(default=listed, description=_description(setting), json_schema_extra=schema_extra)
    annotation = _LIST_TYPES[setting.type]
    return (annotation | None if setting.nullable else annotation), info


def _structured_field(setting: Setting) -> tuple[Any, Any]:
    """``any`` and ``list[mapping]``: values held as canonical JSON text, shown to editors as the loaded value."""

    def loads(value: Any) -> Any:
        return json.loads(value) if isinstance(value, str) else value

    extra: dict[str, Any] = {}
    if setting.exact is not None:
        extra = {"const": loads(setting.exact)}
    elif setting.one_of is not None:
        extra = {"enum": [loads(option) for option in setting.one_of]}
    default = loads(setting.expected_value())

    def schema_extra(schema: dict[str, Any]) -> None:
        _drop_null_default(schema)
        schema.update(extra)

    info = Field(default=default, description=_description(setting), json_schema_extra=schema_extra)
    annotation: Any = Any if setting.type is SettingType.ANY else _LIST_TYPES[setting.type]
    return (annotation | None if setting.nullable and annotation is not Any else annotation), info


def _union_field(setting: Setting) -> tuple[Any, Any]:
    members: list[Any] = [_LIST_TYPES.get(kind) or _PYTHON_TYPES.get(kind, Any) for kind in setting.types]
    annotation: Any = Union[tuple(members)]  # noqa: UP007 - built from a runtime tuple of types
    if setting.exact is not None:
        annotation = Literal[setting.exact]
    elif setting.one_of is not None:
        annotation = Literal[setting.one_of]
    default = setting.expected_value()
    info = Field(default=default, description=_description(setting), json_schema_extra=_drop_null_default)
    return (annotation | None if setting.nullable else annotation), info


def setting_field(setting: Setting) -> tuple[Any, Any]:
    """The (annotation, FieldInfo) pair of one setting, as :func:`pydantic.create_model` takes it."""
    default = setting.expected_value()
    if setting.types:
        return _union_field(setting)
    if setting.type.structured:
        return _structured_field(setting)
    if setting.type.is_list:
        return _list_field(setting, default)
    base = _PYTHON_TYPES[setting.type]
    annotation: Any = base
    if setting.type is SettingType.VERSION and setting.exact is not None:
        annotation = Annotated[str, Field(pattern=version_pattern(str(setting.exact)))]
    elif setting.type is SettingType.FLOAT and setting.exact is not None:
        low, high = float_bounds(setting)
        annotation = Annotated[float, Field(ge=low, le=high)]
    elif setting.exact is not None:
        annotation = Literal[setting.exact]
    elif setting.range is not None:
        annotation = Annotated[base, Field(ge=setting.range[0], le=setting.range[1])]
    elif setting.one_of is not None and setting.type is not SettingType.VERSION:
        annotation = Literal[setting.one_of]
    elif setting.one_of is not None:
        either = "|".join(f"({version_pattern(str(v))})" for v in setting.one_of)
        annotation = Annotated[str, Field(pattern=either)]
    info = Field(default=default, description=_description(setting), json_schema_extra=_drop_null_default)
    return (annotation | None if setting.nullable else annotation), info


def _model_name(path: str) -> str:
    words = re.split(r"[^0-9A-Za-z]+", path)
    return "".join(word[:1].upper() + word[1:] for word in words if word) + "Section"


def _tree(spec: PaperSpec) -> dict[str, Any]:
    """The settings as a nested dict: section name -> subtree, leaf name -> Setting."""
    root: dict[str, Any] = {}
    for key, setting in spec.settings.items():
        *sections, leaf = key.split(".")
        node = root
        for section in sections:
            node = node.setdefault(section, {})
        node[leaf] = setting
    return root


def _named(name: str, field: tuple[Any, Any]) -> tuple[str, tuple[Any, Any]]:
    """A field under a Python-safe name, aliased to the key as configs write it.

    Pydantic keeps names with a leading underscore private (no field at all): ``_target_`` becomes the field
    ``u_target_`` aliased ``_target_``, which is what the schema shows.
    """
    if not name.startswith("_"):
        return name, field
    annotation, info = field
    return f"u{name}", (Annotated[annotation, Field(alias=name)], info)


def _section_fields(path: str, tree: Mapping[str, Any], nullable: frozenset[str]) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    for name, node in tree.items():
        if isinstance(node, Setting):
            field = setting_field(node)
        else:
            child_path = f"{path}.{name}" if path else name
            child: Any = _section_model(child_path, node, nullable)
            info = Field(default=None, json_schema_extra=_drop_null_default)
            field = (child | None if child_path in nullable else child, info)
        safe, named = _named(name, field)
        fields[safe] = named
    return fields


def _section_model(path: str, tree: Mapping[str, Any], nullable: frozenset[str] = frozenset()) -> type[BaseModel]:
    fields = _section_fields(path, tree, nullable)
    return create_model(
        _model_name(path),
        __config__=ConfigDict(extra="forbid", strict=True, title=path),
        **fields,
    )


def config_model(spec: PaperSpec) -> type[BaseModel]:
    """A Pydantic model of one config file: known sections are closed, the top level is open."""
    fields = _section_fields("", _tree(spec), spec.nullable_sections)
    return create_model(
        "SdmspecConfig",
        __config__=ConfigDict(extra="allow", strict=True, title="sdmspec config"),
        **fields,
    )


def config_json_schema(spec: PaperSpec) -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of a config file under the spec. Deterministic: the same spec, the same text."""
    schema = config_model(spec).model_json_schema()
    rules = "; ".join(f"{rule.divisor} divides {rule.dividend}" for rule in spec.rules)
    description = (
        f"Configs of '{spec.paper.title}', as the sdmspec reference spec pins them (generated by `sdmspec spec "
        "schema`). Cross-field rules and YAML 1.1 pitfalls (PyYAML reads 2e-4 as a string) are checked by "
        "`sdmspec lint` only" + (f"; rules: {rules}." if rules else ".")
    )
    return {
        "$schema": JSON_SCHEMA_DIALECT,
        "$comment": f"spec digest {spec.digest}",
        **schema,
        "description": description,
    }
