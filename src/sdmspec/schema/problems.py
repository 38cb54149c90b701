"""A broken spec reported whole: every problem at once, each at ``spec/FILE:LINE:COL`` with the path as written.

The loader reads each spec file's YAML nodes (their positions) as well as its values, so a problem found anywhere
(YAML syntax, a duplicate key, a section defined twice, a Pydantic validation error, a dangling reference) is
reported where the user wrote it, with the dotted path of the file (``config.training.pretrain.batch_size.ranges``,
``variants[2].method``) and what is expected there. :class:`InvalidSpecError` carries them all; its message lists them,
one a line, so every command that loads the spec shows the whole report.
"""

from __future__ import annotations

import difflib
import types
import typing
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Union

from pydantic import BaseModel
from pydantic_core import ErrorDetails
from yaml.error import Mark

from sdmspec.errors import SpecError

PathPart = str | int
KeyPath = tuple[PathPart, ...]


@dataclass(frozen=True)
class SpecProblem:
    """One problem of a spec: where it is (``file`` None when no file holds it), the path as written, what is wrong."""

    file: str | None
    line: int | None
    column: int | None
    path: str
    message: str

    def __str__(self) -> str:
        where = self.file or "spec"
        if self.line is not None:
            where += f":{self.line}:{self.column}"
        return f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"

    @property
    def sort_key(self) -> tuple[str, int, int]:
        return (self.file or "", self.line or 0, self.column or 0)


class InvalidSpecError(SpecError):
    """The spec does not load; ``problems`` holds every problem found, in file and line order."""

    def __init__(self, problems: Sequence[SpecProblem]) -> None:
        self.problems = tuple(sorted(problems, key=lambda problem: problem.sort_key))
        count = len(self.problems)
        lines = "\n".join(f"  {problem}" for problem in self.problems)
        super().__init__(f"invalid spec ({count} problem{'s' if count != 1 else ''}):\n{lines}")


def path_text(path: KeyPath) -> str:
    """A path as the user wrote it: ``config.training.pretrain.batch_size``, ``variants[2].method``."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


@dataclass(frozen=True)
class Place:
    """Where a node of a spec file is: its key's mark (the item's, in a list) and its value's."""

    file: str
    key: Mark
    value: Mark


def problem_at(places: Mapping[KeyPath, Place], path: KeyPath, message: str, on_key: bool = False) -> SpecProblem:
    """A problem at ``path``, placed at the nearest written node (a missing key: at its parent)."""
    for depth in range(len(path), 0, -1):
        place = places.get(path[:depth])
        if place is not None:
            mark = place.key if on_key or depth < len(path) else place.value
            return SpecProblem(place.file, mark.line + 1, mark.column + 1, path_text(path), message)
    return SpecProblem(None, None, None, path_text(path), message)


def _unwrap(annotation: Any) -> Any:
    """The model or container inside ``X | None`` and ``Annotated[X, ...]``."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _unwrap(typing.get_args(annotation)[0])
    if origin in (Union, types.UnionType):
        options = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
        return _unwrap(options[0]) if len(options) == 1 else annotation
    return annotation


def known_keys(model: type[BaseModel], loc: Sequence[PathPart]) -> list[str] | None:
    """The keys the model expects at ``loc`` (a Pydantic error location, by alias), or None when not a model."""
    current: Any = model
    for part in loc:
        current = _unwrap(current)
        if isinstance(current, type) and issubclass(current, BaseModel):
            fields = {info.alias or name: info for name, info in current.model_fields.items()}
            if not isinstance(part, str) or part not in fields:
                return None
            current = fields[part].annotation
            continue
        args = typing.get_args(current)
        origin = typing.get_origin(current)
        if origin is dict and len(args) == 2:
            current = args[1]
        elif origin in (tuple, list) and args:
            current = args[0]
        else:
            return None
    current = _unwrap(current)
    if isinstance(current, type) and issubclass(current, BaseModel):
        return [info.alias or name for name, info in current.model_fields.items() if name not in _INTERNAL]
    return None


_INTERNAL = frozenset({"key", "digest", "settings", "section_info"})


def did_you_mean(word: str, candidates: Sequence[str]) -> str:
    close = difflib.get_close_matches(word, candidates, n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def describe_error(error: ErrorDetails, expected_keys: list[str] | None) -> str:
    """What a Pydantic error means for the spec's author, as "what is expected" (and what was found)."""
    kind, message = error["type"], error["msg"]
    name = str(error["loc"][-1]) if error["loc"] else ""
    if kind == "extra_forbidden":
        listed = f"; expected one of: {', '.join(expected_keys)}" if expected_keys else ""
        return f"unknown key {name!r}{listed}{did_you_mean(name, expected_keys or [])}"
    if kind == "missing":
        return f"missing required key {name!r}"
    message = message.replace("Value error, ", "")
    if message.startswith("Input should be"):
        message = "expected" + message[len("Input should be") :]
    found = error.get("input")
    if isinstance(found, str | int | float | bool) and kind not in ("value_error", "assertion_error"):
        message += f"; found {found!r}"
    return message
