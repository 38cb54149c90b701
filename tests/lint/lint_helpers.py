"""Helpers for the lint tests: positions and codes of findings, not their wording."""

from __future__ import annotations

from collections.abc import Collection

from mamba_sdm.spec import Spec
from sdmspec.lint import LintResult, lint_text

Found = set[tuple[int | None, int | None, str]]


def positions(result: LintResult) -> Found:
    return {(d.line, d.column, d.code) for d in result.diagnostics}


def found(text: str | bytes, spec: Spec, select: Collection[str] | None = None) -> Found:
    """(line, column, code) of every finding on ``text``; the configs-as-a-whole SDM203 only when selected."""
    ignore = None if select and any("SDM2" in s or s == "SDM" for s in select) else ["SDM203"]
    return positions(lint_text(text, spec, "config.yaml", select=select, ignore=ignore))
