"""SDM207 unresolved-interpolation: a setting's `${...}` cannot be resolved here (warning).

What: with `--loader hydra`, the composed value of a setting the spec knows is an interpolation OmegaConf cannot
resolve on this machine: `${oc.env:DATA_ROOT}` with the variable unset, a reference to a key the config does not
have, a loop. The value may exist when the program runs (the variable set on the cluster), but lint cannot check it.

Example::

    data:
      root: ${oc.env:DATA_ROOT}

Fix: none automatic; give the variable a default (`${oc.env:DATA_ROOT,/data}`) or set it where lint runs.
"""

from __future__ import annotations

from collections.abc import Iterator

from sdmspec.lint.diagnostics import Finding, Severity
from sdmspec.lint.project import Project

CODE = "SDM207"
NAME = "unresolved-interpolation"
SEVERITY = Severity.WARNING


def check(project: Project) -> Iterator[Finding]:
    # Interpolation is resolved on the composed config only: sdmspec.compose.composed_lint reports it.
    yield from ()
