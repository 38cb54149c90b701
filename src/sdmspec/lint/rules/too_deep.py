"""SDM008 too-deep: the document nests more than 200 levels deep.

What: mappings or sequences nested beyond 200 levels, or beyond the parser's own limit (libyaml refuses 1,000).

Why: `yaml.safe_load` without libyaml composes recursively and raises RecursionError a little above 300 levels, so
such a file crashes the job; no config needs that depth. Lint walks nodes without recursion and reports it instead.

Example: `[[[[ ... ]]]]` 3,000 levels deep.

Fix: none; flatten the data.
"""

from __future__ import annotations

from collections.abc import Iterator

from sdmspec.lint.diagnostics import Finding, Severity
from sdmspec.lint.problems import ProblemKind
from sdmspec.lint.project import Project
from sdmspec.lint.rules._helpers import problems

CODE = "SDM008"
NAME = "too-deep"
SEVERITY = Severity.ERROR


def check(project: Project) -> Iterator[Finding]:
    for file, problem in problems(project, ProblemKind.TOO_DEEP):
        yield Finding(file.path, problem.span, problem.message)
