"""The checks `sdmspec run` passes before anything starts: the configs lint clean, the machine is the paper's.

Findings are values here: the CLI prints them and maps them to an exit code. A lint error always refuses; an
environment mismatch refuses unless the user accepts it (``--allow-env-mismatch``), and is then recorded in the
manifest as a deviation. A smoke run accepts any machine (it is a toy run on CPU) and says so in the record.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sdmspec.runner.manifest import Deviation
from sdmspec.schema import PaperSpec

if TYPE_CHECKING:
    from sdmspec.environment import EnvReport


@dataclass(frozen=True)
class LintGate:
    """The lint result behind the gate; ``diagnostics`` keeps the engine's records for the reporter."""

    diagnostics: tuple[Any, ...]
    errors: int
    result: Any

    @property
    def passed(self) -> bool:
        return self.errors == 0


def lint_gate(configs: Sequence[Path], spec: PaperSpec) -> LintGate:
    """Lint ``configs`` against ``spec`` with the same engine as `sdmspec lint`."""
    from sdmspec.lint.engine import lint_paths

    result = lint_paths(list(configs), spec)
    diagnostics = tuple(result.diagnostics)
    errors = int(result.errors)
    return LintGate(diagnostics=diagnostics, errors=errors, result=result)


@dataclass(frozen=True)
class EnvGate:
    """The environment comparison, what it allows, and the deviations a run would record."""

    report: EnvReport
    allowed: bool
    deviations: tuple[Deviation, ...]

    @property
    def passed(self) -> bool:
        return self.report.matches or self.allowed


def env_gate(spec: PaperSpec, *, allow_mismatch: bool, smoke: bool, report: EnvReport | None = None) -> EnvGate:
    """Compare this machine with the spec's environment; ``smoke`` accepts any machine (and records it)."""
    from sdmspec.environment import check_environment

    report = report or check_environment(spec)
    deviations = tuple(
        Deviation(kind="environment", name=row.name, expected=row.expected, found=row.found, source=row.source)
        for row in report.deviations
    )
    return EnvGate(report=report, allowed=allow_mismatch or smoke, deviations=deviations)


def smoke_deviation() -> Deviation:
    return Deviation(
        kind="scale",
        name="smoke",
        expected="the paper's models, data and schedule",
        found="toy dimensions, a few steps, generated data (--smoke): results say nothing about the paper",
    )
