"""SDM102 unquoted-version: a version (or another string setting) written as a bare number.

What: a setting the spec types as a version or a string whose value is written unquoted and so is read as a number:
`pytorch: 2.10` is the float 2.1, `cuda: 12.1` the float 12.1, `name: 130` the integer 130.

Why: the script receives a number, not the version the author wrote, and trailing zeros vanish: `2.10` becomes 2.1,
a different release. Value checks (SDM2xx) compare the text as written, so `pytorch: 2.10` where the paper says 2.1
is also a value-mismatch error.

Example::

    environment:
      pytorch: 2.10     # the float 2.1
      pytorch: "2.10"   # the string "2.10"

Fix (unsafe: the program then receives the string instead of the number it gets today): quote the value exactly as
written.
"""

from __future__ import annotations

from collections.abc import Iterator

from yaml.nodes import ScalarNode

from sdmspec.lint.diagnostics import Applicability, Finding, Severity
from sdmspec.lint.project import Project
from sdmspec.lint.rules._helpers import at, occurrences, quote, replace
from sdmspec.lint.values import FLOAT_TAG, INT_TAG, describe, is_plain, received
from sdmspec.schema import SettingType

CODE = "SDM102"
NAME = "unquoted-version"
SEVERITY = Severity.WARNING


def check(project: Project) -> Iterator[Finding]:
    program = project.loader.program
    for file, occurrence in occurrences(project):
        node = occurrence.value_node
        if occurrence.kind not in (SettingType.VERSION, SettingType.STR) or not isinstance(node, ScalarNode):
            continue
        if not is_plain(node) or node.tag not in (INT_TAG, FLOAT_TAG):
            continue
        quoted = quote(node.value)
        fix = None if occurrence.merged else replace(file, node, quoted, f"write {quoted}", Applicability.UNSAFE)
        message = f"{node.value} is {describe(received(node))} under {program}, not a string; write {quoted}"
        yield at(file, node, message, key=occurrence.key, expected=quoted, actual=node.value, fix=fix)
