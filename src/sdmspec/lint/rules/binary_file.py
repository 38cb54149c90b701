"""SDM003 binary-file: the file holds NUL bytes, so it is not a text config at all.

What: a NUL byte in the first 8 KiB (the same test git uses to call a file binary).

Why: a `.yaml` name on a binary file (a checkpoint, an archive, a file written by a crashed job) is a mistake that
would make the job that reads it fail.

Example: `configs/model.yaml` that is really a gzip archive.

Fix: none; remove or replace the file.
"""

from __future__ import annotations

from collections.abc import Iterator

from sdmspec.lint.diagnostics import Finding, Severity
from sdmspec.lint.problems import ProblemKind
from sdmspec.lint.project import Project
from sdmspec.lint.rules._helpers import problems

CODE = "SDM003"
NAME = "binary-file"
SEVERITY = Severity.ERROR


def check(project: Project) -> Iterator[Finding]:
    for file, problem in problems(project, ProblemKind.BINARY):
        yield Finding(file.path, problem.span, problem.message)
