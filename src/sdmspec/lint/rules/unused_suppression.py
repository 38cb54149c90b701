"""SDM902 unused-suppression: an inline suppression silences nothing, or names no known rule.

What: a `# sdmspec: ignore[...]` comment on a line where none of the named rules (all selected) found anything, or
naming a code or name that is no rule. Reported by the engine after every other rule has run.

Why: a stale suppression hides the next real finding on that line, and a misspelt code never worked.

Example::

    max_epochs: 20  # sdmspec: ignore[SDM201] the paper's value now; nothing to silence

Fix: none; delete the comment.
"""

from __future__ import annotations

from collections.abc import Iterator

from sdmspec.lint.diagnostics import Finding, Severity
from sdmspec.lint.project import Project

CODE = "SDM902"
NAME = "unused-suppression"
SEVERITY = Severity.WARNING


def check(project: Project) -> Iterator[Finding]:
    # Whether a suppression was used is known only once every other rule has run: the engine reports it.
    return iter(())
