"""SDM401 conflicting-values: the same setting holds incompatible values in two places.

What: a setting set in two files (or two documents) with values that a job could not both honour. Values are
compared as their authors meant them, by the setting's type:

* numbers compare by value: `2e-4` (a string under PyYAML, meant as 0.0002, as SDM201 reads it), `2.0e-4` and
  `0.0002` are one value; `5` and `5.0e+0` too;
* versions (`type: version`) compare by release, and conflict only when neither release is a prefix of the other:
  `"2.1"` and `"2.1.2+cu121"` are two statements about one environment (the second refines the first, and both
  satisfy a pin of 2.1), while `"2.1.0"` and `"2.1.2"`, or `"2.1"` and `"2.10"`, name different releases. Local
  labels (`+cu121`) are not compared here; pin the build as its own setting;
* everything else compares exactly.

Each later place is compared with every earlier value of the setting (refinement is not transitive: `"2.1"` is
compatible with both `"2.1.0"` and `"2.1.2"`, which conflict with each other) and reported at most once, naming
the first earlier place it conflicts with. Settings the spec scopes `per_file` (`model.name`: one per model config)
may differ.

Files given one by one (pre-commit passes the changed ones) are compared with the other configs of their folder too,
which count as earlier places: a conflict with an unchanged config is reported at the given file, naming the other
place; conflicts among the unchanged configs are not reported.

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
from sdmspec.schema import Setting, SettingType
from sdmspec.schema.setting import Value

CODE = "SDM401"
NAME = "conflicting-values"
SEVERITY = Severity.ERROR


def _identical(setting: Setting, left: Value, right: Value) -> bool:
    # A refinement ("2.1.2" after "2.1") is kept as a value of its own: later values are checked against it too.
    return left == right if setting.type is SettingType.VERSION else setting.compatible(left, right)


def check(project: Project) -> Iterator[Finding]:
    # Per key, the distinct values seen so far, each with its first place: few per key, so the scan stays linear.
    earlier: dict[str, list[tuple[Value, ConfigFile, Occurrence]]] = {}
    # Context files (read for their settings only) come first, so a conflict lands on the given file.
    context = [(file, occurrence) for file in project.context for occurrence in file.occurrences]
    reported = {id(file) for file in project.files}
    for file, occurrence in (*context, *occurrences(project)):
        value = occurrence.reading.value
        if value is None or occurrence.setting.scope == "per_file":
            continue
        seen = earlier.setdefault(occurrence.key, [])
        setting = occurrence.setting
        conflict = next((entry for entry in seen if not setting.compatible(value, entry[0])), None)
        if not any(_identical(setting, value, entry[0]) for entry in seen):
            seen.append((value, file, occurrence))
        if conflict is None or id(file) not in reported:
            continue
        _, other_file, other = conflict
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
