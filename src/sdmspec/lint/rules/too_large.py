"""SDM013 too-large: the file, or an integer in it, is past one of lint's bounds.

What: a config over 8 MiB (not parsed), or an integer written with more than 1,000 digits (the file is not linted
further).

Why: parsing costs about a second and 120 MB of memory per megabyte of YAML, so a 50 MB file in a pull request
would stall CI; and Python refuses to convert integers of more than 4,300 digits (`int('9' * 5000)` raises), so
`yaml.safe_load` fails on such a file and the training script with it. No config comes near either bound.

Example: a 1.9 MB line of digits: `seed: 99999...`.

Fix: none; split the file, or write the number as a string.
"""

from __future__ import annotations

from collections.abc import Iterator

from sdmspec.lint.diagnostics import Finding, Severity
from sdmspec.lint.problems import ProblemKind
from sdmspec.lint.project import Project
from sdmspec.lint.rules._helpers import problems

CODE = "SDM013"
NAME = "too-large"
SEVERITY = Severity.ERROR


def check(project: Project) -> Iterator[Finding]:
    for file, problem in problems(project, ProblemKind.TOO_LARGE):
        yield Finding(file.path, problem.span, problem.message)
