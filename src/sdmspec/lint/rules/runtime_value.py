"""SDM205 runtime-value: a setting's value is known only when the program runs (information).

What: with `--loader hydra`, the composed value of a setting the spec knows goes through a resolver that is not
one of OmegaConf's built-ins: one the program registers in its Python code (`${eval:...}`, `${div_up:...}`), or
Hydra's own run-time ones (`${hydra:runtime.output_dir}`, `${now:...}`). Lint never evaluates such a resolver (it
would run the repository's code, or whatever a config writes there), so it cannot check the value.

Why: the finding says which settings lint could not see, instead of passing them silently.

Example::

    model:
      d_inner: ${eval:4 * ${model.d_model}}

Fix: none automatic; write the value (or an interpolation of plain values) where the paper pins it.
"""

from __future__ import annotations

from collections.abc import Iterator

from sdmspec.lint.diagnostics import Finding, Severity
from sdmspec.lint.project import Project

CODE = "SDM205"
NAME = "runtime-value"
SEVERITY = Severity.INFO


def check(project: Project) -> Iterator[Finding]:
    # Interpolation is resolved on the composed config only: sdmspec.compose.composed_lint reports it.
    yield from ()
