"""SDM201 value-mismatch: a setting's value differs from the paper's.

What: a setting the spec pins (exactly, within a tolerance, or as one of a set) holds another value. The finding
carries the expected value, the actual value as written, and the source: the words of the experimental description
the value comes from, or "assumption" for a value the description does not give (confirm those with the authors).

The value compared is the one the author meant (see SDM101/SDM102/SDM105/SDM106): `3e-4` is compared as 0.0003,
`pytorch: 2.10` as the version "2.10", `"128"` as 128. Versions match by release series: "2.1" accepts 2.1, 2.1.0 and
2.1.2+cu121 but not 2.10 or 2.2.

Why: this is the drift the audit found by hand (batch size 24 for 128, 15 epochs for 20, learning rate 3e-4 for
1e-4): results no longer answer the paper's setup.

Example::

    training:
      pretrain:
        batch_size: 24    # expected 128 (Phase A, SDM pre-training: batch size 128)

A list setting (`list[int]`, ...) pinned to one exact list of the same length is reported element by element, at
each element that differs (`lr_milestones[2] is 90; the paper says 80`); a list of another length, or one not in a
`one_of` set, is reported at the list.

Fix (unsafe: it changes a hyperparameter): write the paper's value, for settings pinned to one exact value (for a
list, each differing element).
"""

from __future__ import annotations

from collections.abc import Iterator

from yaml.nodes import ScalarNode, SequenceNode

from sdmspec.lint.diagnostics import Applicability, Finding, Severity
from sdmspec.lint.project import ConfigFile, Occurrence, Project
from sdmspec.lint.rules._helpers import at, occurrences, replace
from sdmspec.lint.values import render
from sdmspec.schema.setting import Scalar, format_value

CODE = "SDM201"
NAME = "value-mismatch"
SEVERITY = Severity.ERROR


def check(project: Project) -> Iterator[Finding]:
    for file, occurrence in occurrences(project):
        setting, value = occurrence.setting, occurrence.reading.value
        if value is None or not setting.pinned or setting.accepts(value):
            continue
        node = occurrence.value_node
        exact = setting.exact
        if (
            isinstance(node, SequenceNode)
            and isinstance(exact, tuple)
            and isinstance(value, tuple)
            and len(value) == len(exact) == len(node.value)
        ):
            # A list of the paper's length: judge element by element, each at its place.
            yield from _elements(file, occurrence, node, value, exact)
            continue
        expected = setting.expected_text()
        note = " (an assumption to confirm)" if setting.is_assumption else ""
        message = f"{occurrence.key} is {occurrence.reading.text}; the paper says {expected}{note}"
        fix = None
        if setting.exact is not None and isinstance(node, ScalarNode) and not occurrence.merged:
            written = render(setting.exact, setting.type, node)
            fix = replace(file, node, written, f"write {written}", Applicability.UNSAFE)
        yield at(
            file,
            node,
            message,
            key=occurrence.key,
            expected=expected,
            actual=occurrence.reading.text,
            source=setting.source,
            fix=fix,
        )


def _elements(
    file: ConfigFile, occurrence: Occurrence, node: SequenceNode, value: tuple[Scalar, ...], exact: tuple[Scalar, ...]
) -> Iterator[Finding]:
    """One finding per element that differs from the paper's list, at the element."""
    setting = occurrence.setting
    element = setting.element_setting
    assert element is not None
    pinned = element.model_copy(update={"unspecified": False, "exact": None})
    for index, (got, want) in enumerate(zip(value, exact, strict=True)):
        if pinned._equal(got, want):
            continue
        item = node.value[index]
        key = f"{occurrence.key}[{index}]"
        message = f"{key} is {got!r}; the paper says {format_value(want)} (the list: {setting.expected_text()})"
        fix = None
        if isinstance(item, ScalarNode) and not occurrence.merged:
            written = render(want, element.type, item)
            fix = replace(file, item, written, f"write {written}", Applicability.UNSAFE)
        expected, actual = format_value(want), format_value(got)
        yield at(file, item, message, key=key, expected=expected, actual=actual, source=setting.source, fix=fix)
