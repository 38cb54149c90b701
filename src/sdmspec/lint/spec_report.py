"""A spec that does not load, as a lint result: one SDM000 diagnostic per problem, at its place in spec/.

So ``sdmspec lint`` and ``sdmspec spec check`` report a broken spec exactly as lint reports configs: the same text,
JSON, SARIF and GitHub reporters, each problem at ``spec/FILE:LINE:COL`` with the path as written.
"""

from __future__ import annotations

from collections.abc import Iterable

from sdmspec.lint.diagnostics import Diagnostic, Severity
from sdmspec.lint.engine import LintResult
from sdmspec.lint.rules import invalid_spec
from sdmspec.schema.problems import SpecProblem


def problem_diagnostic(problem: SpecProblem) -> Diagnostic:
    message = f"{problem.path}: {problem.message}" if problem.path else problem.message
    return Diagnostic(
        file=problem.file,
        line=problem.line,
        column=problem.column,
        end_line=None,
        end_column=None,
        code=invalid_spec.CODE,
        name=invalid_spec.NAME,
        severity=Severity.ERROR,
        message=message,
        key=problem.path or None,
    )


def spec_result(problems: Iterable[SpecProblem], root: str | None = None) -> LintResult:
    """The problems as a lint result (files: how many spec files they are in)."""
    diagnostics = tuple(sorted((problem_diagnostic(p) for p in problems), key=lambda d: d.sort_key))
    files = len({d.file for d in diagnostics if d.file is not None})
    return LintResult(diagnostics, files=files, root=root)
