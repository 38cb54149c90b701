"""SDM203 missing-setting: the paper pins a setting that no config sets, so a job's default decides it.

What: a setting the spec pins and marks required (the default) appears in none of the linted files. The finding has
no file or line: it is about the configs as a whole. It carries where the spec defines the setting (its
`spec_location`), which SARIF and GitHub annotations use as the place to show it. Settings marked `required: false`
in the spec (the GPU model, for instance, which no job reads from configs) are exempt.

Why: the job then runs with its own default, which may or may not be the paper's value; the config should say so
explicitly so that a reader (and lint) can see it. Files given one by one (pre-commit passes the changed ones) are
judged with the other configs of their folder, so a setting another config sets is not reported; with `--isolated`
only the given files count.

Example: no config sets `training.finetune.warmup_steps_ratio` (the paper says 10% of the steps).

Fix: none; add the setting to the config of its phase.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path

from sdmspec.lint.diagnostics import Finding, Location, Severity
from sdmspec.lint.project import Project
from sdmspec.lint.spec_positions import setting_definitions

CODE = "SDM203"
NAME = "missing-setting"
SEVERITY = Severity.WARNING


def check(project: Project) -> Iterator[Finding]:
    present = {occurrence.key for file in (*project.files, *project.context) for occurrence in file.occurrences}
    definitions: Mapping[str, Location] | None = None
    for key, setting in project.spec.settings.items():
        if key in present or not setting.pinned or not setting.required:
            continue
        if definitions is None:  # read the spec's files only when there is something to anchor
            linted = (Path(file.path) for file in project.files)
            definitions = setting_definitions(project.spec, project.spec_path, linted)
        expected = setting.expected_text()
        message = f"{key} is set by no config: the paper says {expected}; the job's default decides"
        yield Finding(
            None, None, message, key=key, expected=expected, source=setting.source, spec_location=definitions.get(key)
        )
