"""SDM302 unknown-section: a top-level key that looks like a misspelt section of the spec.

What: a top-level key the spec does not know but that is close (by difflib, ratio 0.8 or more) to one it does:
`trainig:`, `enviroment:`. Other unknown top-level keys are ignored, so arbitrary YAML (CI files, other tools'
configs) is never an error.

Why: every setting under a misspelt section is invisible to the jobs, which then run on defaults.

Example::

    trainig:            # did you mean training?
      pretrain:
        batch_size: 128

Fix (unsafe: the jobs then read the settings): rename the key to the suggestion.
"""

from __future__ import annotations

from collections.abc import Iterator

from yaml.nodes import ScalarNode

from sdmspec.lint.diagnostics import Applicability, Finding, Severity
from sdmspec.lint.project import Project
from sdmspec.lint.rules._helpers import at, close_match, replace
from sdmspec.lint.rules.unknown_key import children
from sdmspec.lint.values import is_plain

CODE = "SDM302"
NAME = "unknown-section"
SEVERITY = Severity.WARNING


def check(project: Project) -> Iterator[Finding]:
    sections = children(project.spec, "")
    for file in project.files:
        for stray in file.stray_keys:
            if stray.parent:
                continue
            match = close_match(stray.key_node.value, sections)
            if match is None:
                continue
            close = [match]
            message = f"unknown top-level key {stray.key_node.value!r}; did you mean {close[0]!r}?"
            fix = None
            if isinstance(stray.key_node, ScalarNode) and is_plain(stray.key_node):
                fix = replace(file, stray.key_node, close[0], f"rename to {close[0]}", Applicability.UNSAFE)
            yield at(file, stray.key_node, message, key=stray.path, expected=close[0], fix=fix)
