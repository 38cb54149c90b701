"""Reporters: render a :class:`~sdmspec.lint.LintResult` as text (rich), JSON, GitHub workflow commands or SARIF.

Each reporter is a module with ``render(result, options) -> str``, chosen by name; only the text reporter imports
rich, and it is imported only when chosen, so machine formats start faster.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass

from sdmspec.lint.engine import LintResult

FORMATS: dict[str, str] = {
    "text": "sdmspec.report.text",
    "json": "sdmspec.report.json_",
    "github": "sdmspec.report.github",
    "sarif": "sdmspec.report.sarif",
}


@dataclass(frozen=True)
class ReportOptions:
    """What the CLI knows beyond the result: fixes applied, and text-only display choices."""

    fixed: int = 0
    unsafe_fixes: bool = False
    statistics: bool = False
    show_source: bool = False
    color: bool = False
    notices: tuple[str, ...] = ()
    """Run-level messages that are not findings ("no YAML files under X"); machine formats carry them."""
    show_infos: bool = False
    """List infos one by one in the text report (by default they are counted in the summary line only)."""


def render(format_name: str, result: LintResult, options: ReportOptions | None = None) -> str:
    """The report in ``format_name`` (one of :data:`FORMATS`)."""
    module = importlib.import_module(FORMATS[format_name])
    text: str = module.render(result, options or ReportOptions())
    return text
