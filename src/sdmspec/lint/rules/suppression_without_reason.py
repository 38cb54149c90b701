"""SDM901 suppression-without-reason: an inline suppression gives no reason.

What: a `# sdmspec: ignore[CODE]` comment with nothing after the brackets. The suppression still applies.

Why: silencing a check of the paper's setup claims the paper's value does not apply here; a reviewer needs the why
next to it, as in `# sdmspec: ignore[SDM201] 24 fits one A100 40GB; see notes/batch.md`.

Example::

    batch_size: 24  # sdmspec: ignore[SDM201]

Fix: none; add the reason after the brackets.
"""

from __future__ import annotations

from collections.abc import Iterator

from sdmspec.lint.diagnostics import Finding, Severity
from sdmspec.lint.project import Project
from sdmspec.lint.suppress import find_suppressions

CODE = "SDM901"
NAME = "suppression-without-reason"
SEVERITY = Severity.WARNING


def check(project: Project) -> Iterator[Finding]:
    for file in project.files:
        for suppression in find_suppressions(file.source):
            if not suppression.reason:
                yield Finding(file.path, suppression.span, "suppression without a reason: say why after the brackets")
