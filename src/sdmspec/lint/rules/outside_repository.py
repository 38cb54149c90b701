"""SDM012 outside-repository: the config's path resolves outside the repository (a symlink out of it).

What: a file such as `configs/x.yaml -> ~/.ssh/id_rsa` or `-> /run/secrets/token`, found under the folders lint was
given, whose real path is outside the git work tree holding it (without git: the current folder, or the folder
given).

Why: lint quotes what it reads (a document that is not a mapping, a value that differs from the paper), and in CI
on a stranger's pull request that quote lands in a public log. A link that leaves the repository is not read at
all, so nothing behind it can leak; only the link's name is reported.

Example: `ln -s ~/.aws/credentials configs/aws.yaml`.

Fix: none; replace the link with a copy of the config, or lint the file where it lives.
"""

from __future__ import annotations

from collections.abc import Iterator

from sdmspec.lint.diagnostics import Finding, Severity
from sdmspec.lint.problems import ProblemKind
from sdmspec.lint.project import Project
from sdmspec.lint.rules._helpers import problems

CODE = "SDM012"
NAME = "outside-repository"
SEVERITY = Severity.ERROR


def check(project: Project) -> Iterator[Finding]:
    for file, problem in problems(project, ProblemKind.OUTSIDE):
        yield Finding(file.path, problem.span, problem.message)
