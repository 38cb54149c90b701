"""Inline suppressions: ``# sdmspec: ignore[CODE, ...] reason`` on the line of a finding silences it there.

Semantics follow ruff's ``# noqa``: the comment applies to findings that start on its own line; codes may be rule
codes (``SDM201``) or names (``value-mismatch``); without brackets it silences every rule on the line. Unlike noqa,
a reason is required (a suppression is a claim that the paper's value does not apply here, and a reviewer needs to
know why): a suppression without one still applies but is itself reported (SDM901). A suppression that silences
nothing is reported too (SDM902).
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass

from sdmspec.lint.diagnostics import Span
from sdmspec.lint.source import Source
from sdmspec.lint.values import is_plain

_DIRECTIVE = re.compile(r"#[ \t]*sdmspec:[ \t]*ignore(?:\[([^\]\r\n]*)\])?([^\r\n]*)")


@dataclass(frozen=True)
class Suppression:
    span: Span
    codes: tuple[str, ...]  # as written (codes or names); empty: every rule
    reason: str

    @property
    def line(self) -> int:
        return self.span.line


def find_suppressions(source: Source) -> tuple[Suppression, ...]:
    """Every suppression comment in ``source``: a ``#`` that starts a comment, not one inside a quoted scalar."""
    text = source.text
    if "sdmspec:" not in text:
        return ()
    # A '#' inside a quoted or block scalar is text, not a comment: find those scalars' spans to rule them out.
    spans = sorted((node.start_mark.index, node.end_mark.index) for node, _ in source.scalars if not is_plain(node))
    starts = [start for start, _ in spans]
    found = []
    for match in _DIRECTIVE.finditer(text):
        where = match.start()
        if where > 0 and text[where - 1] not in " \t\r\n":
            continue
        inside = bisect.bisect_right(starts, where) - 1
        if inside >= 0 and spans[inside][0] <= where < spans[inside][1]:
            continue
        codes = tuple(code.strip() for code in (match.group(1) or "").split(",") if code.strip())
        line, column = source.position(where)
        end_line, end_column = source.position(match.end())
        span = Span(where, match.end(), line, column, end_line, end_column)
        found.append(Suppression(span, codes, match.group(2).strip().lstrip(":-—").strip()))
    return tuple(found)
