"""SDM108 mistyped-number: a string that looks like a number with a typo, where the spec expects a number.

What: a value of a setting typed int or float (or a union of numbers) made of digits, one dot and an exponent whose
sign slipped, that no loader reads as a number: `eps: 1.0e_8` (meant `1.0e-8`), `lr: 1e__4`.

Why: the program receives the string "1.0e_8": an optimizer given it raises, or a `float(...)` somewhere fails in
one code path only. Where the other configs hold that setting as a number (gpt-neox's `gmlp_small.yml` writes
`"eps": 1.0e_8`, every other config `1.0e-8`), the string is almost certainly a typo, not a choice.

Example::

    eps: 1.0e_8    # the string '1.0e_8'
    eps: 1.0e-8    # the float

Fix: none automatic (which character slipped is a guess); write the number meant.
"""

from __future__ import annotations

from collections.abc import Iterator

from sdmspec.lint.diagnostics import Finding, Severity
from sdmspec.lint.project import Project
from sdmspec.lint.rules._helpers import at
from sdmspec.lint.values import mistyped_number
from sdmspec.schema.setting import format_value

CODE = "SDM108"
NAME = "mistyped-number"
SEVERITY = Severity.WARNING


def check(project: Project) -> Iterator[Finding]:
    program = project.loader.program
    for file in project.files:
        for occurrence in file.occurrences:
            node = occurrence.value_node
            if occurrence.merged or not mistyped_number(node, occurrence.setting.kinds):
                continue
            others = {
                format_value(other.reading.value)
                for config in (*project.files, *project.context)
                for other in config.occurrences
                if other.key == occurrence.key and other.reading.value is not None
            }
            written = getattr(node, "value", "")
            elsewhere = f"; the other configs write {', '.join(sorted(others)[:3])}" if others else ""
            message = (
                f"{written} is the string {written!r} under {program}, not a number: a mistyped number?{elsewhere}"
            )
            yield at(file, node, message, key=occurrence.key, expected="a number", actual=written)
