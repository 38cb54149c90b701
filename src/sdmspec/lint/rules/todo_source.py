"""SDM204 todo-source: the spec still says "TODO" where it should quote the paper (information).

What: a setting whose `source` starts with `TODO` (what `sdmspec spec init` writes for every key it finds:
`source: "TODO: quote the paper"`). The finding is about the spec, not a config: it has no file or line of its
own and carries where the spec defines the setting (`spec_location`), which SARIF and GitHub annotations use.

Why: every value of the spec must say where it comes from; a started spec is not finished until each TODO quotes
the paper's words (or says "assumption: ..." for a value the paper does not give).

Example::

    config:
      training:
        lr:
          type: float
          unspecified: true
          default: 0.1
          source: "TODO: quote the paper"

Fix: none automatic; replace the TODO with the paper's words and pin the value (`exact`, `one_of`).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from sdmspec.lint.diagnostics import Finding, Severity
from sdmspec.lint.project import Project
from sdmspec.lint.spec_positions import setting_definitions

CODE = "SDM204"
NAME = "todo-source"
SEVERITY = Severity.INFO


def check(project: Project) -> Iterator[Finding]:
    todo = [setting for setting in project.spec.settings.values() if setting.is_todo]
    if not todo:
        return
    definitions = setting_definitions(project.spec, project.spec_path, (Path(file.path) for file in project.files))
    for setting in todo:
        message = f"{setting.key}: the spec's source is still {setting.source!r}; quote the paper"
        yield Finding(
            None,
            None,
            message,
            key=setting.key,
            expected=setting.expected_text(),
            source=setting.source,
            spec_location=definitions.get(setting.key),
        )
