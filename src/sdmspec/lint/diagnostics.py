"""The values lint produces: diagnostics with positions, and the fixes that would remove them.

Positions are 1-based (line, column) and columns count characters (Unicode code points), as editors show them.
A fix is a set of edits on the file's decoded text (after any UTF-8 byte-order mark) by character offset, so the
bytes outside the edited scalars stay exactly as they were.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class Severity(str, Enum):
    """How bad a finding is: errors fail the run (exit 1); warnings and infos are reported only."""

    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


class Applicability(str, Enum):
    """Whether a fix keeps what the training script receives as the author meant it (safe) or changes it (unsafe)."""

    SAFE = "safe"
    UNSAFE = "unsafe"


@dataclass(frozen=True)
class Span:
    """A stretch of a file: character offsets into the decoded text and the 1-based positions of both ends."""

    start: int
    end: int
    line: int
    column: int
    end_line: int
    end_column: int


@dataclass(frozen=True)
class Edit:
    """Replace ``span`` of the file's text with ``content``."""

    span: Span
    content: str


@dataclass(frozen=True)
class Fix:
    """Edits that remove a finding; ``message`` says what they do (``write 2.0e-4``)."""

    message: str
    edits: tuple[Edit, ...]
    applicability: Applicability

    def applies(self, unsafe: bool) -> bool:
        return self.applicability is Applicability.SAFE or unsafe


@dataclass(frozen=True)
class Location:
    """A place in a file, used to name the other side of a cross-file finding."""

    file: str
    line: int
    column: int


@dataclass(frozen=True)
class Finding:
    """What a rule yields: a diagnostic without the rule's identity, which the engine stamps on."""

    file: str | None
    span: Span | None
    message: str
    key: str | None = None
    expected: str | None = None
    actual: str | None = None
    source: str | None = None
    fix: Fix | None = None
    related: tuple[Location, ...] = ()
    spec_location: Location | None = None


@dataclass(frozen=True)
class Diagnostic:
    """One finding of one rule. ``file``/``line`` are None for a finding about the configs as a whole.

    ``spec_location`` is where the spec defines the setting, for findings with no place in a config (SDM203): the
    anchor that reporters needing a file and line (SARIF, GitHub annotations) use. None when the spec's files
    could not be found.
    """

    file: str | None
    line: int | None
    column: int | None
    end_line: int | None
    end_column: int | None
    code: str
    name: str
    severity: Severity
    message: str
    key: str | None = None
    expected: str | None = None
    actual: str | None = None
    source: str | None = None
    fix: Fix | None = None
    related: tuple[Location, ...] = ()
    spec_location: Location | None = None

    @property
    def fixable(self) -> bool:
        return self.fix is not None

    @property
    def sort_key(self) -> tuple[int, str, int, int, str]:
        # Findings without a file (settings no config sets) come last, after every file's findings.
        return (self.file is None, self.file or "", self.line or 0, self.column or 0, self.code)
