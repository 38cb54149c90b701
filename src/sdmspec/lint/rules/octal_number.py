"""SDM106 octal-number: a number with a leading zero, which YAML 1.1 reads as octal (or as a string).

What: an unquoted integer written with a leading zero: `010` is the integer 8 under PyYAML (octal) but 10 under
YAML 1.2; `09` and `0009` are not valid octal, so PyYAML reads them as *strings*.

Why: the script gets 8 where the author wrote 10, or a string where it expects a number. Value checks (SDM2xx) use
the decimal number as written (YAML 1.2), which is what a reader of the config sees.

Example::

    max_epochs: 010   # the integer 8 under yaml.safe_load
    max_epochs: 10

Fix (unsafe: a file mode such as `0755` really is octal): drop the leading zeros, `010` -> `10`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from sdmspec.lint.diagnostics import Applicability, Finding, Severity
from sdmspec.lint.project import Project
from sdmspec.lint.rules._helpers import at, replace
from sdmspec.lint.values import INT_TAG, STR_TAG, describe, is_plain, received

CODE = "SDM106"
NAME = "octal-number"
SEVERITY = Severity.WARNING

_LEADING_ZERO = re.compile(r"([-+]?)0+([0-9]+)")


def check(project: Project) -> Iterator[Finding]:
    program = project.loader.program
    for file in project.files:
        for node, is_key in file.source.scalars:
            if is_key or not is_plain(node) or node.tag not in (INT_TAG, STR_TAG):
                continue
            match = _LEADING_ZERO.fullmatch(node.value)
            if match is None:
                continue
            decimal = match.group(1) + match.group(2)
            value = received(node)
            if value == int(decimal):
                continue  # 05 is 5 either way
            got = describe(value)
            message = f"{node.value} is {got} under {program} (YAML 1.1 octal); YAML 1.2 reads {decimal}"
            fix = replace(file, node, decimal, f"write {decimal}", Applicability.UNSAFE)
            occurrence = file.occurrence_of(node)
            key = occurrence.key if occurrence else None
            yield at(file, node, message, key=key, expected=decimal, actual=node.value, fix=fix)
