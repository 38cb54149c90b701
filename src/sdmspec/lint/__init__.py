"""``sdmspec lint``: hold YAML configs to the paper's spec, with positions, suppressions and fixes.

The library never prints: it returns :class:`LintResult` values that the reporters in :mod:`sdmspec.report` render.
"""

from sdmspec.lint.diagnostics import Applicability, Diagnostic, Edit, Fix, Location, Severity, Span
from sdmspec.lint.engine import LintResult, lint_paths, lint_text
from sdmspec.lint.fix import FileChange, FixOutcome, fix_paths

__all__ = [
    "Applicability",
    "Diagnostic",
    "Edit",
    "FileChange",
    "Fix",
    "FixOutcome",
    "LintResult",
    "Location",
    "Severity",
    "Span",
    "fix_paths",
    "lint_paths",
    "lint_text",
]
