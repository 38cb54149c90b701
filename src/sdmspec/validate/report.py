"""The values ``sdmspec validate`` produces: one :class:`CheckResult` per check, gathered in a report.

JSON contract: ``{"checks": [{"name", "status": "pass"|"warn"|"fail"|"skip", "detail", "data"}], "summary": {...}}``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any


class CheckStatus(str, Enum):
    """``pass``: verified; ``warn``: works but differs from the paper; ``fail``: broken; ``skip``: could not be
    checked here (the reason says why and what would make it checkable)."""

    PASS = "pass"
    WARN = "warn"
    FAIL = "fail"
    SKIP = "skip"


@dataclass(frozen=True)
class CheckResult:
    """One line of the report. ``data`` holds the figures behind ``detail`` for machine readers."""

    name: str
    status: CheckStatus
    detail: str
    data: Mapping[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "status": self.status.value, "detail": self.detail, "data": dict(self.data)}


@dataclass(frozen=True)
class ValidateOptions:
    """Where to look: the configs to lint, a run folder holding checkpoints, a local data folder."""

    configs: Path = Path("configs")
    run_dir: Path | None = None
    data_dir: Path | None = None
    # Where the profiling check times its model: auto (the GPU when there is one), cpu or cuda.
    device: str = "auto"


@dataclass(frozen=True)
class ValidationReport:
    checks: tuple[CheckResult, ...]

    def count(self, status: CheckStatus) -> int:
        return sum(1 for check in self.checks if check.status is status)

    @property
    def failed(self) -> bool:
        """True when any check failed: the command's exit code is 1."""
        return self.count(CheckStatus.FAIL) > 0

    def to_json(self) -> dict[str, Any]:
        summary = {status.value: self.count(status) for status in CheckStatus}
        return {"checks": [check.to_json() for check in self.checks], "summary": summary}
