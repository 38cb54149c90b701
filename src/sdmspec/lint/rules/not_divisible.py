"""SDM402 not-divisible: a `divides` rule of the spec fails (the micro-batch must divide the batch size).

What: for each rule `kind: divides` in the spec's `rules`, the divisor setting must be a positive integer dividing
the dividend setting. Values come from the configs; a side no config sets takes the spec's value (or default), as
the job would. Checked when at least one side is set by a config; reported at the divisor where a config sets it,
else at the dividend.

Why: gradient accumulation reaches the batch size as micro-batch x steps: with batch 32 and micro-batch 12 the job
either fails or trains with another effective batch size than the paper's.

Example::

    training:
      finetune:
        batch_size: 32
        micro_batch_size: 12   # does not divide 32

Fix: none; pick a micro-batch size that divides the batch size.
"""

from __future__ import annotations

from collections.abc import Iterator

from sdmspec.lint.diagnostics import Finding, Severity
from sdmspec.lint.project import ConfigFile, Occurrence, Project
from sdmspec.lint.rules._helpers import at, location, occurrences

CODE = "SDM402"
NAME = "not-divisible"
SEVERITY = Severity.ERROR

_Side = tuple[ConfigFile, Occurrence] | None


def _sides(project: Project, key: str) -> list[_Side]:
    found: list[_Side] = [
        (file, occurrence)
        for file, occurrence in occurrences(project)
        if occurrence.key == key and isinstance(occurrence.reading.value, int)
    ]
    return found or [None]


def _value(project: Project, key: str, side: _Side) -> int | None:
    value = side[1].reading.value if side else project.spec.settings[key].expected_value()
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _where(side: _Side, here: ConfigFile) -> str:
    if side is None:
        return "the spec's value"
    there = location(side[1], side[0])
    return f"line {there.line}" if side[0] is here else f"{there.file}:{there.line}"


def check(project: Project) -> Iterator[Finding]:
    for rule in project.spec.rules:
        for divisor_side in _sides(project, rule.divisor):
            for dividend_side in _sides(project, rule.dividend):
                if divisor_side is None and dividend_side is None:
                    continue
                divisor = _value(project, rule.divisor, divisor_side)
                dividend = _value(project, rule.dividend, dividend_side)
                if divisor is None or dividend is None or (divisor > 0 and dividend % divisor == 0):
                    continue
                target = divisor_side or dividend_side
                assert target is not None
                file, occurrence = target
                if divisor_side is not None:
                    where = _where(dividend_side, file)
                    message = f"{rule.divisor} = {divisor} does not divide {rule.dividend} = {dividend} ({where})"
                else:
                    message = f"{rule.dividend} = {dividend} is not a multiple of {rule.divisor} = {divisor} (spec)"
                yield at(
                    file,
                    occurrence.value_node,
                    message,
                    key=occurrence.key,
                    expected=f"a divisor of {dividend}" if divisor_side else f"a multiple of {divisor}",
                    actual=occurrence.reading.text,
                    source=rule.source,
                )
