"""SDM107 sexagesimal-number: `1:30` is the integer 90 under YAML 1.1 (base 60).

What: an unquoted scalar of digits separated by colons (`1:30`, `12:30:00`, `190:20:30.15`) that PyYAML reads as a
base-60 integer or float.

Why: a time, a ratio or a port mapping (`8080:80`) silently becomes an unrelated number; YAML 1.2 reads a string.

Example::

    eval_every: 1:30   # the integer 90 under yaml.safe_load

Fix (unsafe: it changes what the script receives): quote it, `"1:30"`. For a setting the spec types as a number the
quoted string would be the wrong type, so the fix writes the number the script already receives (`90`), a safe fix.
"""

from __future__ import annotations

from collections.abc import Iterator

from sdmspec.lint.diagnostics import Applicability, Finding, Severity
from sdmspec.lint.project import Project
from sdmspec.lint.rules._helpers import at, quote, replace
from sdmspec.lint.values import FLOAT_TAG, INT_TAG, describe, is_plain, received, render
from sdmspec.schema import SettingType

CODE = "SDM107"
NAME = "sexagesimal-number"
SEVERITY = Severity.WARNING


def check(project: Project) -> Iterator[Finding]:
    program = project.loader.program
    for file in project.files:
        for node, is_key in file.source.scalars:
            if not is_plain(node) or node.tag not in (INT_TAG, FLOAT_TAG) or ":" not in node.value:
                continue
            occurrence = None if is_key else file.occurrence_of(node)
            key = occurrence.key if occurrence else None
            value = received(node)
            read = occurrence.reading.value if occurrence else None
            numeric = occurrence is not None and occurrence.kind in (SettingType.INT, SettingType.FLOAT)
            if occurrence and numeric and isinstance(read, int | float) and isinstance(value, int | float):
                # The number the program already receives, in its own type (90, not 90.0): the value stays.
                kind = SettingType.INT if isinstance(value, int) else SettingType.FLOAT
                written, applicability = render(value, kind, node), Applicability.SAFE
            else:
                written, applicability = quote(node.value), Applicability.UNSAFE
            message = f"{node.value} is {describe(value)} under {program} (base 60); write {written}"
            fix = replace(file, node, written, f"write {written}", applicability)
            yield at(file, node, message, key=key, expected=written, actual=node.value, fix=fix)
