"""Why (part of) a file could not be linted as a config: recorded while reading, reported by the SDM0xx rules."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from sdmspec.lint.diagnostics import Span


class ProblemKind(str, Enum):
    """Why (part of) a file could not be linted as a config; each kind is reported by one SDM0xx rule."""

    SYNTAX = "syntax"
    ENCODING = "encoding"
    BINARY = "binary"
    TOO_DEEP = "too-deep"
    ALIAS_BOMB = "alias-bomb"
    OUTSIDE = "outside-repository"  # a symlink resolving outside the repository: not read
    TOO_LARGE = "too-large"  # past a stated bound (file size, integer digits): not parsed or not linted


@dataclass(frozen=True)
class Problem:
    kind: ProblemKind
    message: str
    span: Span | None
