"""SDM007 alias-bomb: aliases expand the document to an enormous size, or an alias contains itself.

What: a node that anchors and aliases expand to more than 100,000 nodes (and more than ten times the nodes actually
written), the "billion laughs" attack; or a recursive alias (`&a [*a]`).

Why: PyYAML shares aliased nodes, but anything that copies the loaded data (json.dumps, OmegaConf, a config
printer, a deep copy) expands them and runs out of memory, and a recursive structure makes such tools loop. Lint
never expands aliases: it measures the expansion on the node graph.

Example::

    a: &a [x, x, x, x, x, x, x, x, x, x]
    b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]
    c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]
    # ... six more levels

Fix: none; write the values out, or use fewer levels of aliases.
"""

from __future__ import annotations

from collections.abc import Iterator

from sdmspec.lint.diagnostics import Finding, Severity
from sdmspec.lint.problems import ProblemKind
from sdmspec.lint.project import Project
from sdmspec.lint.rules._helpers import problems

CODE = "SDM007"
NAME = "alias-bomb"
SEVERITY = Severity.ERROR


def check(project: Project) -> Iterator[Finding]:
    for file, problem in problems(project, ProblemKind.ALIAS_BOMB):
        yield Finding(file.path, problem.span, problem.message)
