"""SDM402 not-divisible: a `divides` rule of the spec fails (the micro-batch must divide the batch size).

What: for each rule `kind: divides` in the spec's `rules`, the divisor setting must be a positive integer dividing
the dividend setting. Values come from the configs; a side no config sets takes the spec's value (or default), as
the job would. Checked when at least one side is set by a config; reported at the divisor where a config sets it,
else at the dividend. Files given one by one are checked with the values of the other configs of their folder;
a divisor set only there is reported at the given file's dividend.

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
from sdmspec.lint.rules._helpers import at, location

CODE = "SDM402"
NAME = "not-divisible"
SEVERITY = Severity.ERROR

_Side = tuple[ConfigFile, Occurrence]


def _sides(files: tuple[ConfigFile, ...], key: str) -> list[_Side]:
    return [
        (file, occurrence)
        for file in files
        for occurrence in file.occurrences
        if occurrence.key == key and isinstance(occurrence.reading.value, int)
    ]


def _int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _where(side: _Side | None, here: ConfigFile) -> str:
    if side is None:
        return "the spec's value"
    there = location(side[1], side[0])
    return f"line {there.line}" if side[0] is here else f"{there.file}:{there.line}"


def _values(project: Project, key: str, sides: list[_Side]) -> dict[int, _Side | None]:
    """Each distinct value with the first place it is written; the spec's value (no place) when no config sets it."""
    first: dict[int, _Side | None] = {}
    for side in sides:
        value = _int(side[1].reading.value)
        if value is not None:
            first.setdefault(value, side)
    if not sides and (value := _int(project.spec.settings[key].expected_value())) is not None:
        first[value] = None
    return first


def check(project: Project) -> Iterator[Finding]:
    everything = (*project.files, *project.context)
    given = {id(file) for file in project.files}
    for rule in project.spec.rules:
        divisors, dividends = _sides(everything, rule.divisor), _sides(everything, rule.dividend)
        if not divisors and not dividends:
            continue
        # Report at the divisor where a linted file sets it, else at the dividend: a divisor set only by a context
        # file (an unchanged config) is still checked against the dividend the user is changing.
        at_divisor = any(id(file) in given for file, _ in divisors)
        # Compare distinct values only (a thousand configs hold a handful of values), then report every place.
        divisor_values = _values(project, rule.divisor, divisors)
        dividend_values = _values(project, rule.dividend, dividends)
        failing: dict[int, tuple[int, _Side | None]] = {}  # a value at the reported side -> the value it fails with
        for divisor, divisor_side in divisor_values.items():
            for dividend, dividend_side in dividend_values.items():
                if divisor > 0 and dividend % divisor == 0:
                    continue
                if at_divisor:
                    failing.setdefault(divisor, (dividend, dividend_side))
                else:
                    failing.setdefault(dividend, (divisor, divisor_side))
        for file, occurrence in divisors if at_divisor else dividends:
            value = _int(occurrence.reading.value)
            if id(file) not in given or value is None or value not in failing:
                continue
            other, other_side = failing[value]
            where = _where(other_side, file)
            if at_divisor:
                message = f"{rule.divisor} = {value} does not divide {rule.dividend} = {other} ({where})"
                expected = f"a divisor of {other}"
            else:
                message = f"{rule.dividend} = {value} is not a multiple of {rule.divisor} = {other} ({where})"
                expected = f"a multiple of {other}"
            yield at(
                file,
                occurrence.value_node,
                message,
                key=occurrence.key,
                expected=expected,
                actual=occurrence.reading.text,
                source=rule.source,
            )
