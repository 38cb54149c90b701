"""Find spec/, read its YAML files, and validate them into a frozen spec, reporting every problem at once.

A spec is ``paper`` + ``config`` (any number of files; one per concern is usual); their top-level sections are
merged and a section defined twice is an error. The ``config`` section is a tree whose leaves (mappings with a
``type`` string) are settings, so a section may hold a setting named ``type`` (``optimizer.type``); it is flattened
into ``PaperSpec.settings`` keyed by dotted path. A section's ``title`` and ``description`` (string values beside its
settings) say how the setup document presents it.

Each file is composed into YAML nodes first, so every problem (see :mod:`sdmspec.schema.problems`) is placed at its
file, line and column; they are all collected and raised together as one :class:`InvalidSpecError`.

Which optional sections a spec may have is the spec type's: :func:`spec_model` is the core's
:class:`~sdmspec.schema.paper.PaperSpec` extended by every installed paper pipeline (:mod:`sdmspec.plugins`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, TypeVar, overload

import yaml
from pydantic import ValidationError
from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from sdmspec.errors import LimitError, SpecError
from sdmspec.io import read_bounded
from sdmspec.plugins import PluginError, installed
from sdmspec.schema.paper import PaperSpec, SectionInfo
from sdmspec.schema.problems import (
    InvalidSpecError,
    KeyPath,
    Place,
    SpecProblem,
    describe_error,
    did_you_mean,
    known_keys,
    path_text,
    problem_at,
)
from sdmspec.schema.yaml_bounds import MAX_SPEC_DEPTH, graph_problem

SPEC_DIR_NAME = "spec"
# The largest spec file read (this paper's whole spec is ~60 KB).
MAX_SPEC_BYTES = 8 * 2**20
# Setting fields added after run records began, with their defaults: left out of the digest while at the default.
_LATER_SETTING_FIELDS: dict[str, object] = {"range": None, "nullable": False, "types": []}
# String values of a config section that describe it rather than being settings.
SECTION_TEXT_KEYS = ("title", "description")
# The sections every spec may have; the optional ones come from the spec type (`sparsity`, a pipeline's own).
CORE_SECTIONS = ("paper", "config", "rules", "runs")
_SpecT = TypeVar("_SpecT", bound=PaperSpec)
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_YAML_TAG = "tag:yaml.org,2002:"


def spec_model() -> type[PaperSpec]:
    """The spec type: the core's :class:`PaperSpec` with every installed pipeline's sections."""
    types: list[type[PaperSpec]] = []
    for pipeline in installed():
        if not (isinstance(pipeline.spec_type, type) and issubclass(pipeline.spec_type, PaperSpec)):
            raise PluginError(f"pipeline {pipeline.name!r}: its spec_type is not a sdmspec PaperSpec subclass")
        types.append(pipeline.spec_type)
    if not types:
        return PaperSpec
    if len(types) == 1:
        return types[0]
    return _combined(tuple(types))


def _combined(types: tuple[type[PaperSpec], ...]) -> type[PaperSpec]:
    class Combined(*types):  # type: ignore[misc]  # bases known only at run time: each pipeline's spec type
        @classmethod
        def section_problems(cls, sections: Mapping[str, Any]) -> Iterator[tuple[tuple[str | int, ...], str]]:
            for kind in types:
                yield from kind.section_problems(sections)

    combined: type[PaperSpec] = Combined
    return combined


def top_level(spec_type: type[PaperSpec]) -> tuple[str, ...]:
    """The top-level sections a spec of ``spec_type`` may have."""
    return (*CORE_SECTIONS, *spec_type.section_names())


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


def _display(path: Path) -> str:
    # As lint names configs: relative to the current folder when under it (spec/config.yaml).
    resolved = path.resolve()
    cwd = Path.cwd()
    return str(resolved.relative_to(cwd)) if resolved.is_relative_to(cwd) else str(path)


class _Reader:
    """Reads the spec files into merged sections, recording every node's place and every problem on the way."""

    def __init__(self) -> None:
        self.sections: dict[str, Any] = {}
        self.places: dict[KeyPath, Place] = {}
        self.problems: list[SpecProblem] = []
        self._origin: dict[str, str] = {}
        # A file that could not be read may hold the missing sections: do not report them as missing then.
        self.unreadable = False

    def read(self, file: Path) -> None:
        name = _display(file)
        try:
            text = read_bounded(file, MAX_SPEC_BYTES, "spec file").decode("utf-8")
            node = yaml.compose(text, Loader=_Loader)
        except LimitError as err:
            self.problems.append(SpecProblem(name, None, None, "", str(err).removeprefix(f"{file}: ")))
            self.unreadable = True
            return
        except (OSError, UnicodeDecodeError) as err:
            self.problems.append(SpecProblem(name, None, None, "", f"cannot read the spec file: {err}"))
            self.unreadable = True
            return
        except yaml.YAMLError as err:
            self._not_yaml(name, err)
            return
        except RecursionError:  # the pure-Python composer (no libyaml) on deep nesting
            self.problems.append(SpecProblem(name, None, None, "", f"nested more than {MAX_SPEC_DEPTH} levels deep"))
            self.unreadable = True
            return
        if node is None:
            return
        if not isinstance(node, MappingNode):
            mark = node.start_mark
            self.problems.append(
                SpecProblem(name, mark.line + 1, mark.column + 1, "", "a spec file must be a mapping of sections")
            )
            return
        bounded = graph_problem(node)
        if bounded is not None:
            culprit, why = bounded
            mark = culprit.start_mark
            self.problems.append(SpecProblem(name, mark.line + 1, mark.column + 1, "", why))
            self.unreadable = True
            return
        if not self._record(name, node, ()):
            self.unreadable = True
            return
        try:
            data = SafeConstructor().construct_document(node)
        except yaml.YAMLError as err:  # parsed, but not buildable: a key that is a list (`? [1]`)
            self._not_yaml(name, err)
            return
        except ValueError as err:  # a tagged scalar that is not of its tag (`!!int abc`): PyYAML names no place
            self._not_yaml(name, err, _unbuildable(node))
            return
        for key_node, _ in node.value:
            section = key_node.value if isinstance(key_node, ScalarNode) else None
            if section is None or section not in data:
                continue
            if section in self._origin:
                mark = key_node.start_mark
                message = f"section {section!r} is already defined in {self._origin[section]}"
                self.problems.append(SpecProblem(name, mark.line + 1, mark.column + 1, section, message))
                continue
            self.sections[section] = data[section]
            self._origin[section] = name

    def _not_yaml(self, file: str, err: Exception, culprit: Node | None = None) -> None:
        mark = culprit.start_mark if culprit is not None else None
        mark = mark or getattr(err, "problem_mark", None) or getattr(err, "context_mark", None)
        problem = str(getattr(err, "problem", None) or err).splitlines()[0]
        if isinstance(culprit, ScalarNode):
            problem = f"{culprit.tag.replace(_YAML_TAG, '!!')} {culprit.value}: {problem}"
        line, column = (mark.line + 1, mark.column + 1) if mark is not None else (None, None)
        self.problems.append(SpecProblem(file, line, column, "", f"not valid YAML: {problem}"))
        self.unreadable = True

    def _record(self, file: str, node: Node, path: KeyPath, inside: frozenset[int] = frozenset()) -> bool:
        """Places of every node below ``node``; a key written twice is a problem (the spec must be unambiguous).

        False when an alias refers to a node that contains it (``&a [*a]``): nothing such can be a spec's value.
        """
        if id(node) in inside:
            mark = node.start_mark
            text = "an alias here refers to a node that contains it (a recursive structure)"
            self.problems.append(SpecProblem(file, mark.line + 1, mark.column + 1, path_text(path), text))
            return False
        inside |= {id(node)}
        if isinstance(node, MappingNode):
            seen: set[object] = set()
            for key_node, value_node in node.value:
                key = key_node.value if isinstance(key_node, ScalarNode) else id(key_node)
                child = (*path, key) if isinstance(key, str) else path
                if key in seen:
                    mark = key_node.start_mark
                    text = "the key is written twice here; the spec must say each thing once"
                    self.problems.append(SpecProblem(file, mark.line + 1, mark.column + 1, path_text(child), text))
                    continue
                seen.add(key)
                if not path and child in self.places:
                    continue  # a section defined in two files: reported by read(), positions of the first kept
                self.places[child] = Place(file, key_node.start_mark, value_node.start_mark)
                if not self._record(file, value_node, child, inside):
                    return False
        elif isinstance(node, SequenceNode):
            for index, item in enumerate(node.value):
                child = (*path, index)
                self.places[child] = Place(file, item.start_mark, item.start_mark)
                if not self._record(file, item, child, inside):
                    return False
        return True


def _unbuildable(root: Node) -> Node | None:
    """The first scalar PyYAML cannot build (``!!int abc``), to place the problem; None when none is found."""
    queue, seen = [root], set()
    while queue:
        node = queue.pop(0)
        if id(node) in seen:  # an alias met again (anchors may be recursive)
            continue
        seen.add(id(node))
        if isinstance(node, ScalarNode):
            try:
                SafeConstructor().construct_object(node)
            except (ValueError, yaml.YAMLError):
                return node
        elif isinstance(node, MappingNode):
            queue += [child for pair in node.value for child in pair]
        elif isinstance(node, SequenceNode):
            queue += node.value
    return None


def _flatten_settings(
    tree: Mapping[str, Any], places: Mapping[KeyPath, Place], problems: list[SpecProblem], prefix: KeyPath = ("config",)
) -> Iterator[tuple[str, dict[str, Any]] | SectionInfo]:
    """The settings (dotted key, raw record) and the sections (with title and description) of the config tree."""
    text = {key: tree[key] for key in SECTION_TEXT_KEYS if isinstance(tree.get(key), str)}
    # `nullable: true` in a section: a config may write the section as null (`logger: null`: no logger).
    nullable = tree.get("nullable") is True and len(prefix) > 1
    if len(prefix) > 1:
        yield SectionInfo(path=".".join(map(str, prefix[1:])), nullable=nullable, **text)
    for name, node in tree.items():
        path = (*prefix, str(name))
        if (name in text or (name == "nullable" and nullable)) and len(prefix) > 1:
            continue
        if not isinstance(node, Mapping) or not node:
            expected = "a setting (a mapping with 'type') or a section (a mapping of settings)"
            if len(prefix) > 1:
                expected += ", or a section's title or description (a string)"
            problems.append(problem_at(places, path, f"expected {expected}; found {node!r}"))
        elif _is_setting(node):  # a section may hold a setting named `type` (optimizer.type)
            yield ".".join(map(str, path[1:])), {**node, "key": ".".join(map(str, path[1:]))}
        else:
            yield from _flatten_settings(node, places, problems, path)


def _is_setting(node: Mapping[str, Any]) -> bool:
    """A setting has a ``type``: a type's name, or a union's list of names (``[int, str]``)."""
    kind = node.get("type")
    return isinstance(kind, str) or (isinstance(kind, list) and bool(kind) and all(isinstance(k, str) for k in kind))


def _setting_path(loc: tuple[int | str, ...]) -> KeyPath:
    """A Pydantic error location in spec terms: ``settings.<dotted key>...`` is ``config.<key parts>...``."""
    if len(loc) >= 2 and loc[0] == "settings" and isinstance(loc[1], str):
        return ("config", *loc[1].split("."), *loc[2:])
    if loc and loc[0] == "section_info":
        return ("config",)
    return tuple(loc)


def _rule_problems(sections: Mapping[str, Any], settings: Mapping[str, Any]) -> Iterator[tuple[KeyPath, str]]:
    rules = sections.get("rules")
    for index, rule in enumerate(rules if isinstance(rules, list) else ()):
        for side in ("divisor", "dividend"):
            key = rule.get(side) if isinstance(rule, Mapping) else None
            if isinstance(key, str) and key not in settings:
                hint = did_you_mean(key, list(settings))
                yield ("rules", index, side), f"unknown setting {key!r}; expected a key of the config tree{hint}"


def _digest(data: Mapping[str, Any]) -> str:
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _validate(reader: _Reader, where: str, spec_type: type[_SpecT]) -> _SpecT | None:
    sections, places, problems = reader.sections, reader.places, reader.problems
    known = top_level(spec_type)
    for name in sections:
        if name not in known:
            hint = did_you_mean(name, known)
            problems.append(
                problem_at(places, (name,), f"unknown section{hint}; expected one of: {', '.join(known)}", on_key=True)
            )
    config_tree = sections.get("config")
    if not isinstance(config_tree, Mapping):
        found = "" if "config" not in sections else f"; found {config_tree!r}"
        message = "the spec needs a 'config' section: the settings the configs must hold (spec/config.yaml)"
        if found:
            problems.append(problem_at(places, ("config",), message + found))
        elif not reader.unreadable:
            problems.append(SpecProblem(where, None, None, "config", message))
        config_tree = {}
    if "paper" not in sections and not reader.unreadable:
        message = "the spec needs a 'paper' section: title, description and source (spec/paper.yaml)"
        problems.append(SpecProblem(where, None, None, "paper", message))
    flattened = list(_flatten_settings(config_tree, places, problems))
    settings = dict(item for item in flattened if isinstance(item, tuple))
    data = {name: value for name, value in sections.items() if name in known and name != "config"}
    data["settings"] = settings
    data["section_info"] = [item for item in flattened if isinstance(item, SectionInfo)]
    references = [*spec_type.section_problems(data), *_rule_problems(data, settings)]
    problems.extend(problem_at(places, path, message) for path, message in references)
    spec: _SpecT | None = None
    try:
        spec = spec_type.model_validate(data)
    except ValidationError as err:
        for error in err.errors():
            loc = tuple(error["loc"])
            if (not loc and references) or (loc == ("paper",) and error["type"] == "missing"):
                continue  # reported above: each reference at its place, a missing paper section with what it holds
            path = _setting_path(loc)
            kind = error["type"]
            expected = None
            if kind == "extra_forbidden":
                # Settings are keyed by dotted path, not by the model's field names: any key names a Setting.
                model_loc = ("settings", "any") if loc[:1] == ("settings",) else loc[:-1]
                expected = known_keys(spec_type, model_loc)
            message = describe_error(error, expected)
            problems.append(problem_at(places, path, message, on_key=kind in ("extra_forbidden", "missing")))
    return spec


@overload
def load_spec(path: Path | None = None) -> PaperSpec: ...
@overload
def load_spec(path: Path | None, spec_type: type[_SpecT]) -> _SpecT: ...
def load_spec(path: Path | None = None, spec_type: type[PaperSpec] | None = None) -> PaperSpec:
    """Load and validate the spec at ``path`` (a folder or one file); with no path, find ``spec/`` from here up.

    ``spec_type`` (default :func:`spec_model`) says which sections it may have: a pipeline loads its own type.
    Raises :class:`InvalidSpecError` listing every problem when the spec does not load.
    """
    root = path if path is not None else find_spec_dir()
    reader = _Reader()
    for file in _spec_files(root):
        reader.read(file)
    spec = _validate(reader, _display(root), spec_type or spec_model())
    if reader.problems or spec is None:
        raise InvalidSpecError(reader.problems)
    # Titles and descriptions only present the settings: they leave the digest (and so the run records) alone.
    canonical = spec.model_dump(mode="json", by_alias=True, exclude={"section_info"})
    if not canonical.get("runs"):
        canonical.pop("runs", None)  # added later: a spec without entries keeps the digest its run records hold
    for setting in canonical["settings"].values():
        # Ways of pinning added later leave the digest of a spec that does not use them as it was (run records).
        for name, default in _LATER_SETTING_FIELDS.items():
            if setting.get(name) == default:
                setting.pop(name, None)
    return spec.model_copy(update={"digest": _digest(canonical)})
