"""SDM206 mandatory-missing: the paper pins a setting that the composed config leaves `???` (OmegaConf's MISSING).

What: with `--loader hydra`, an entry's composed config leaves a setting the spec pins as `???`, directly or through
an interpolation (`${model.lr}` where `model.lr: ???`). The program fails when it reads it, or the launch command
must supply it; the entry as the spec lists it does not say which value the paper's run used.

Example::

    optimizer:
      lr: ???

Fix: none automatic; set the value in the entry's config or add the override to the entry.
"""

from __future__ import annotations

from collections.abc import Iterator

from sdmspec.lint.diagnostics import Finding, Severity
from sdmspec.lint.project import Project

CODE = "SDM206"
NAME = "mandatory-missing"
SEVERITY = Severity.ERROR


def check(project: Project) -> Iterator[Finding]:
    # Interpolation is resolved on the composed config only: sdmspec.compose.composed_lint reports it.
    yield from ()
