"""SDM103 yaml11-boolean: `yes`, `no`, `on`, `off` (any case PyYAML accepts) are booleans under YAML 1.1.

What: an unquoted `yes/Yes/YES/no/No/NO/on/On/ON/off/Off/OFF`, as a value or as a key.

Why: PyYAML turns them into True/False, while YAML 1.2 tools read strings: the classic "Norway problem" (`country:
no` is False) and GitHub's `on:` key that loads as True. The author's intent is ambiguous, so write it explicitly.

Example::

    shuffle: yes      # True under PyYAML, the string "yes" under YAML 1.2
    shuffle: true

Fix: where the spec expects a boolean (or knows nothing of the key), write `true`/`false`, exactly what the loader
already reads (safe); where it expects a string, and for keys, quote it (`"no"`), which is what was meant but
changes what the program receives (unsafe).
"""

from __future__ import annotations

from collections.abc import Iterator

from sdmspec.lint.diagnostics import Applicability, Finding, Severity
from sdmspec.lint.project import Project
from sdmspec.lint.rules._helpers import at, quote, replace
from sdmspec.lint.values import BOOL_TAG, YAML11_ONLY_BOOLEANS, is_plain
from sdmspec.schema import SettingType

CODE = "SDM103"
NAME = "yaml11-boolean"
SEVERITY = Severity.WARNING


def check(project: Project) -> Iterator[Finding]:
    program = project.loader.program
    for file in project.files:
        for node, is_key in file.source.scalars:
            if node.tag != BOOL_TAG or not is_plain(node) or node.value not in YAML11_ONLY_BOOLEANS:
                continue
            occurrence = None if is_key else file.occurrence_of(node)
            wants_text = is_key or (occurrence is not None and SettingType.BOOL not in occurrence.setting.kinds)
            written = quote(node.value) if wants_text else str(YAML11_ONLY_BOOLEANS[node.value]).lower()
            value = str(YAML11_ONLY_BOOLEANS[node.value]).lower()
            what = "key" if is_key else "value"
            message = f"the {what} {node.value} is the boolean {value} under {program} (YAML 1.1); write {written}"
            applicability = Applicability.UNSAFE if wants_text else Applicability.SAFE
            fix = replace(file, node, written, f"write {written}", applicability)
            key = occurrence.key if occurrence else None
            yield at(file, node, message, key=key, expected=written, actual=node.value, fix=fix)
