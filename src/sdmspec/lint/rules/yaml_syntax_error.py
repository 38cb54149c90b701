"""SDM001 yaml-syntax-error: the file is not valid YAML.

What: a scanner, parser or composer error (a tab used for indentation, an unclosed bracket or quote, a bad
indentation, an undefined alias, a control character), reported at the position the parser gave.

Why: `yaml.safe_load` raises on the file, so the job that reads it cannot start. Lint reports the error as a finding
and goes on with the other files, instead of stopping at the first one.

Example::

    training: {pretrain: {batch_size: 128}

Fix: none; edit the file at the reported position.
"""

from __future__ import annotations

from collections.abc import Iterator

from sdmspec.lint.diagnostics import Finding, Severity
from sdmspec.lint.problems import ProblemKind
from sdmspec.lint.project import Project
from sdmspec.lint.rules._helpers import problems

CODE = "SDM001"
NAME = "yaml-syntax-error"
SEVERITY = Severity.ERROR


def check(project: Project) -> Iterator[Finding]:
    for file, problem in problems(project, ProblemKind.SYNTAX):
        yield Finding(file.path, problem.span, problem.message)
