"""SDM010 compose-error: Hydra cannot compose an entry (a config name and its overrides), so nothing of it is checked.

What: with `--loader hydra`, composing the entry failed: a missing config or group option (`experiment=nope`:
the options that exist are listed), a broken `defaults:` list, an override Hydra's parser refuses, a file OmegaConf
cannot load (a key written twice). The finding is placed at the entry in `spec/runs.yaml` when the entry comes
from the spec, and carries Hydra's own first line.

Why: the composed config is what the program receives; a composition that fails is a run that cannot start.

Example: `sdmspec lint configs --loader hydra --config-name train --override experiment=nope`.

Fix: none automatic; fix the override, the entry or the defaults list.
"""

from __future__ import annotations

from collections.abc import Iterator

from sdmspec.lint.diagnostics import Finding, Severity
from sdmspec.lint.project import Project

CODE = "SDM010"
NAME = "compose-error"
SEVERITY = Severity.ERROR


def check(project: Project) -> Iterator[Finding]:
    # Composition is not a per-file check: sdmspec.compose.composed_lint reports it.
    yield from ()
