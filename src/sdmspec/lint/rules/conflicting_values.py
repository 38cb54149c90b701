"""SDM401 conflicting-values: the same setting holds different values in two places.

What: a setting set in two files (or two documents) with values that differ, compared as the author meant them
(`2e-4` and `2.0e-4` agree; versions compare by release). Reported at each later place, naming the first. Settings
the spec scopes `per_file` (`model.name`: one per model config) may differ.

Why: which value a job uses then depends on which file it reads, or on the order it merges them; a reviewer cannot
tell which one produced the results. The seed repo had batch size 24 in the pre-training config and 128 in the
370m model config.

Example::

    # configs/pretrain_sdm.yaml          # configs/mamba_370m.yaml
    training: {pretrain: {batch_size: 24}}   training: {pretrain: {batch_size: 128}}

Fix: none; keep one value (the paper's), preferably in one file.
"""

from __future__ import annotations

from collections.abc import Iterator

from sdmspec.lint.diagnostics import Finding, Severity
from sdmspec.lint.project import ConfigFile, Occurrence, Project
from sdmspec.lint.rules._helpers import at, location, occurrences
from sdmspec.schema import SettingType
from sdmspec.schema.setting import Scalar, version_release

CODE = "SDM401"
NAME = "conflicting-values"
SEVERITY = Severity.ERROR


def _same(kind: SettingType, left: Scalar, right: Scalar) -> bool:
    if kind is SettingType.VERSION:
        return version_release(str(left)) == version_release(str(right))
    return left == right


def check(project: Project) -> Iterator[Finding]:
    first: dict[str, tuple[ConfigFile, Occurrence]] = {}
    for file, occurrence in occurrences(project):
        value = occurrence.reading.value
        if value is None or occurrence.setting.scope == "per_file":
            continue
        seen = first.setdefault(occurrence.key, (file, occurrence))
        other_file, other = seen
        if other is occurrence or other.reading.value is None:
            continue
        if _same(occurrence.setting.type, value, other.reading.value):
            continue
        there = location(other, other_file)
        message = (
            f"{occurrence.key} is {occurrence.reading.text} here but {other.reading.text} in "
            f"{there.file}:{there.line}:{there.column}"
        )
        yield at(
            file,
            occurrence.value_node,
            message,
            key=occurrence.key,
            expected=other.reading.text,
            actual=occurrence.reading.text,
            source=occurrence.setting.source,
            related=(there,),
        )
