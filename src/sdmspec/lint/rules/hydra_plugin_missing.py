"""SDM011 hydra-plugin-missing: a `hydra/...` group names an option from a plugin this machine lacks (information).

What: the repository's `hydra/default.yaml` picks an option of one of Hydra's own groups that a plugin provides
(`hydra/job_logging: colorlog`, from hydra-colorlog) and the plugin is not installed. Lint composes the entry with
Hydra's stand-in for that group (`hydra/job_logging=none`) and says so once.

Why: Hydra's own `hydra` group (logging, launcher, sweeper, output folders) is how the program runs, not the paper's
setup: the values lint checks are the same with either option.

Fix: none needed; install the plugin (`pip install hydra-colorlog`) to compose exactly what the program does.
"""

from __future__ import annotations

from collections.abc import Iterator

from sdmspec.lint.diagnostics import Finding, Severity
from sdmspec.lint.project import Project

CODE = "SDM011"
NAME = "hydra-plugin-missing"
SEVERITY = Severity.INFO


def check(project: Project) -> Iterator[Finding]:
    # Composition is not a per-file check: sdmspec.compose.composed_lint reports it.
    yield from ()
