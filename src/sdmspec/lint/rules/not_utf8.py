"""SDM002 not-utf8: the file is not UTF-8 text.

What: bytes that are not valid UTF-8 (typically a Latin-1 or cp1252 editor wrote "é" as the single byte 0xe9), or a
UTF-16/UTF-32 file. The position is that of the first bad byte.

Why: PyYAML reads configs as UTF-8 (or UTF-16 with a byte-order mark): the job fails to read the file, or reads
other characters than the author wrote. Configs are UTF-8, like the rest of the repo.

Example: a comment `# réglage` saved as Latin-1.

Fix: none; re-save the file as UTF-8.
"""

from __future__ import annotations

from collections.abc import Iterator

from sdmspec.lint.diagnostics import Finding, Severity
from sdmspec.lint.problems import ProblemKind
from sdmspec.lint.project import Project
from sdmspec.lint.rules._helpers import problems

CODE = "SDM002"
NAME = "not-utf8"
SEVERITY = Severity.ERROR


def check(project: Project) -> Iterator[Finding]:
    for file, problem in problems(project, ProblemKind.ENCODING):
        yield Finding(file.path, problem.span, problem.message)
