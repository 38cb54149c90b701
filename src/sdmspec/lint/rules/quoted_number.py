"""SDM105 quoted-number: a number written in quotes where the spec expects a number.

What: a setting typed int or float whose value is a quoted number: `batch_size: "128"`, `learning_rate: '2e-4'`.

Why: the script receives the string "128"; arithmetic on it fails or, worse, `"128" * 2` is "128128". The value
checks (SDM2xx) use the number inside the quotes.

Example::

    batch_size: "128"   # the string "128"
    batch_size: 128

Fix: remove the quotes, writing floats in a form the loader reads as floats (`'2e-4'` -> `2.0e-4`): safe under the
`yaml` loader (the string was meant as that number), unsafe under others.
"""

from __future__ import annotations

from collections.abc import Iterator

from yaml.nodes import ScalarNode

from sdmspec.lint.diagnostics import Applicability, Finding, Severity
from sdmspec.lint.project import Project
from sdmspec.lint.rules._helpers import at, occurrences, replace
from sdmspec.lint.values import STR_TAG, is_plain, plain_number_text
from sdmspec.schema import SettingType

CODE = "SDM105"
NAME = "quoted-number"
SEVERITY = Severity.WARNING


def check(project: Project) -> Iterator[Finding]:
    program = project.loader.program
    applicability = Applicability.SAFE if project.loader.name == "yaml" else Applicability.UNSAFE
    for file, occurrence in occurrences(project):
        node = occurrence.value_node
        if occurrence.kind not in (SettingType.INT, SettingType.FLOAT) or not isinstance(node, ScalarNode):
            continue
        if is_plain(node) or node.tag != STR_TAG or occurrence.reading.value is None:
            continue
        written = plain_number_text(node.value.strip())
        fix = None
        if written is not None and not occurrence.merged:
            fix = replace(file, node, written, f"write {written}", applicability)
        number = written or node.value.strip()
        message = f"the number {number} is quoted: {program} gives the string {node.value!r}, not the number"
        # `actual` is the scalar as written, quotes included: "expected 4, actual 4" said nothing.
        span = file.source.value_span(node)
        raw = file.source.text[span.start : span.end]
        yield at(file, node, message, key=occurrence.key, expected=written, actual=raw, fix=fix)
