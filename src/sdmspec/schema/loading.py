"""Find spec/, read its YAML files, and validate them into a frozen :class:`Spec`.

The spec may be one file or several (one per concern); their top-level sections are merged and a section defined
twice is an error. The ``config`` section is a tree whose leaves (mappings with a ``type``) are settings; it is
flattened into ``Spec.settings`` keyed by dotted path.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from sdmspec.errors import SpecError
from sdmspec.schema.spec import Spec

SPEC_DIR_NAME = "spec"


class _StrictLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """SafeLoader that refuses duplicate keys: the spec must not fall into the pitfalls lint reports."""


def _construct_mapping(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
    seen: dict[Any, yaml.Node] = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            mark = key_node.start_mark
            raise SpecError(f"{mark.name}:{mark.line + 1}:{mark.column + 1}: duplicate key {key!r} in the spec")
        seen[key] = key_node
    mapping: dict[Any, Any] = loader.construct_mapping(node, deep=deep)
    return mapping


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def find_spec_dir(start: Path | None = None) -> Path:
    """The nearest ``spec/`` folder at or above ``start`` (default: the current folder)."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        candidate = folder / SPEC_DIR_NAME
        if candidate.is_dir():
            return candidate
    raise SpecError(f"no {SPEC_DIR_NAME}/ folder in {here} or its parents; pass --spec PATH")


def _spec_files(path: Path) -> list[Path]:
    if path.is_file():
        return [path]
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file())
        if not files:
            raise SpecError(f"{path}: no .yaml files in the spec folder")
        return files
    raise SpecError(f"{path}: spec not found")


def _read_sections(files: list[Path]) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    origin: dict[str, Path] = {}
    for file in files:
        try:
            text = file.read_text(encoding="utf-8")
            data = yaml.load(text, Loader=_StrictLoader)
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as err:
            raise SpecError(f"{file}: cannot read the spec: {str(err).splitlines()[0]}") from err
        if data is None:
            continue
        if not isinstance(data, dict):
            raise SpecError(f"{file}: a spec file must be a mapping of sections")
        for section, value in data.items():
            if section in merged:
                raise SpecError(f"{file}: section {section!r} is already defined in {origin[section]}")
            merged[section] = value
            origin[section] = file
    return merged


def _flatten_settings(tree: Mapping[str, Any], prefix: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    for name, node in tree.items():
        key = f"{prefix}{name}"
        if not isinstance(node, Mapping):
            raise SpecError(f"config.{key}: expected a setting (a mapping with 'type') or a section")
        if "type" in node:
            yield key, {**node, "key": key}
        else:
            yield from _flatten_settings(node, prefix=f"{key}.")


def _digest(data: Mapping[str, Any]) -> str:
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def load_spec(path: Path | None = None) -> Spec:
    """Load and validate the spec at ``path`` (a folder or one file); with no path, find ``spec/`` from here up."""
    files = _spec_files(path if path is not None else find_spec_dir())
    sections = _read_sections(files)
    config_tree = sections.pop("config", None)
    if not isinstance(config_tree, Mapping):
        raise SpecError(f"{files[0].parent}: the spec has no 'config' section describing the configs")
    sections["settings"] = dict(_flatten_settings(config_tree))
    try:
        spec = Spec.model_validate(sections)
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise SpecError(f"invalid spec ({err.error_count()} problem(s)); first at {where}: {first['msg']}") from err
    return spec.model_copy(update={"digest": _digest(spec.model_dump(mode="json"))})
