"""SDM202 unspecified-value: a config sets a value the paper does not give (information, never an error).

What: a setting the spec marks `unspecified: true` (QNLI and MRPC epochs, the pre-training micro-batch size, ...)
holds a well-typed value.

Why: the value is this repo's choice, not the paper's: a reader of the results should know which numbers come from
the description and which were chosen here. Nothing is wrong, so it is reported as information.

Example::

    epochs:
      qnli: 5    # not given by the paper

Fix: none needed.
"""

from __future__ import annotations

from collections.abc import Iterator

from sdmspec.lint.diagnostics import Finding, Severity
from sdmspec.lint.project import Project
from sdmspec.lint.rules._helpers import at, occurrences

CODE = "SDM202"
NAME = "unspecified-value"
SEVERITY = Severity.INFO


def check(project: Project) -> Iterator[Finding]:
    for file, occurrence in occurrences(project):
        setting = occurrence.setting
        if setting.pinned or occurrence.reading.value is None:
            continue
        message = f"{occurrence.key} = {occurrence.reading.text} is this repo's choice: the paper does not give it"
        yield at(
            file,
            occurrence.value_node,
            message,
            key=occurrence.key,
            expected="unspecified",
            actual=occurrence.reading.text,
            source=setting.source,
        )
