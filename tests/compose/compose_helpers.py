"""The tests' Hydra app (tests/hydra_app), copied where a test may write, and the composed lint's findings as tuples."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from mamba_sdm.spec import Spec
from sdmspec.compose.composed_lint import lint_composed
from sdmspec.compose.entry import Entry
from sdmspec.lint.diagnostics import Diagnostic
from sdmspec.lint.engine import LintResult
from sdmspec.schema import load_spec

APP = Path(__file__).resolve().parents[1] / "hydra_app"


def app_spec(app: Path) -> Spec:
    return load_spec(app / "spec")


def lint_app(app: Path, *overrides: str, config_name: str = "train") -> LintResult:
    return lint_composed(Path("conf"), [Entry(config_name, tuple(overrides))], app_spec(app), spec_path=app / "spec")


def places(diagnostics: Iterable[Diagnostic]) -> set[tuple[str | None, int | None, int | None, str, str | None]]:
    return {(d.file, d.line, d.column, d.code, d.key) for d in diagnostics}


def by_key(result: LintResult, key: str) -> list[Diagnostic]:
    return [d for d in result.diagnostics if d.key == key]
