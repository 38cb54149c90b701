"""Findings are placed on the line an editor, GitHub and SARIF count (breaks are CR, LF and CRLF only).

PyYAML's marks also count NEL (U+0085), LINE SEPARATOR (U+2028) and PARAGRAPH SEPARATOR (U+2029) as line breaks, so
a config with one of them inside a string had every later finding placed lines too low, and a `--fix` or a
suppression comment on the reported line missed it.
"""

from __future__ import annotations

import pytest
from lint_helpers import found

from mamba_sdm.spec import Spec
from sdmspec.lint import lint_text


@pytest.mark.parametrize("separator", ["\u0085", "\u2028", "\u2029"])
def test_a_unicode_line_separator_in_a_string_is_not_a_line(spec: Spec, separator: str) -> None:
    text = f'note: "one{separator}two"\nx: yes\n'
    assert found(text, spec, select=["SDM103"]) == {(2, 4, "SDM103")}


@pytest.mark.parametrize("separator", ["\u2028", "\u0085"])
def test_a_suppression_on_the_reported_line_applies(spec: Spec, separator: str) -> None:
    text = f'note: "a{separator}b{separator}c"\nx: yes  # sdmspec: ignore[SDM103] the program reads it as a string\n'
    assert [d.code for d in lint_text(text, spec, "config.yaml", select=["SDM103"]).diagnostics] == []


def test_carriage_returns_still_break_lines(spec: Spec) -> None:
    assert found("a: 1\r\nx: yes\r\n", spec, select=["SDM103"]) == {(2, 4, "SDM103")}
    assert found("a: 1\rx: yes\r", spec, select=["SDM103"]) == {(2, 4, "SDM103")}
