"""SDM303 wrong-type: a setting or section holds a value of the wrong type.

What: a list, a mapping, a boolean, null or non-numeric text where the spec expects a number; a float where it
expects an integer (`batch_size: 128.0`); a list or mapping where it expects a string; a scalar or list where it
expects a section (`training: 5`). YAML 1.1 spellings the author evidently meant as the right type are not wrong
types but pitfalls (SDM101, SDM102, SDM105, SDM106).

Why: the job's settings resolution refuses the value (or, in code that reads YAML directly, computes with it).

Example::

    batch_size: [128]   # a list
    learning_rate:      # null

Fix: none; write a value of the expected type.
"""

from __future__ import annotations

from collections.abc import Iterator

from yaml.nodes import MappingNode, ScalarNode, SequenceNode

from sdmspec.lint.diagnostics import Finding, Severity
from sdmspec.lint.project import Project
from sdmspec.lint.rules._helpers import at
from sdmspec.lint.values import describe, is_null, mistyped_number, received
from sdmspec.schema import SettingType

CODE = "SDM303"
NAME = "wrong-type"
SEVERITY = Severity.ERROR


def check(project: Project) -> Iterator[Finding]:
    nullable_sections = project.spec.nullable_sections
    for file in project.files:
        for occurrence in file.occurrences:
            reading = occurrence.reading
            if reading.value is not None or reading.deferred is not None:
                continue  # an interpolation or ??? has no value to judge until the program runs (SDM208)
            if occurrence.setting.nullable and is_null(occurrence.value_node):
                continue
            if mistyped_number(occurrence.value_node, occurrence.setting.kinds):
                continue  # `eps: 1.0e_8`: a mistyped number, reported as such (SDM108)
            node = occurrence.value_node
            kind = occurrence.setting.type_text
            if reading.bad_element is not None and isinstance(node, SequenceNode):
                # A list with an element of the wrong type: point at that element.
                element = node.value[reading.bad_element]
                element_kind = occurrence.setting.type.element
                where = f"{occurrence.key}[{reading.bad_element}]"
                listed = occurrence.kind is SettingType.LIST_MAPPING
                expected = element_kind.value if element_kind else ("mapping" if listed else kind)
                message = f"{where} must be {_article(expected)}; got {reading.problem}"
                yield at(file, element, message, key=occurrence.key, expected=kind, actual=reading.problem)
                continue
            # An empty value (`learning_rate:`) has no text of its own: point at its key.
            empty = isinstance(node, ScalarNode) and node.start_mark.index == node.end_mark.index
            message = f"{occurrence.key} must be {_article(kind)}; got {reading.problem}"
            actual = reading.problem if reading.problem else None
            yield at(
                file, occurrence.key_node if empty else node, message, key=occurrence.key, expected=kind, actual=actual
            )
        for section in file.misshapen:
            node = section.value_node
            got = describe(received(node)) if isinstance(node, ScalarNode) else "a list"
            if isinstance(node, MappingNode) or (section.path in nullable_sections and is_null(node)):
                continue
            message = f"{section.path} must be a mapping of settings; got {got}"
            yield at(file, section.key_node, message, key=section.path, expected="mapping", actual=got)


def _article(kind: str) -> str:
    if kind.startswith("["):
        return "one of " + kind
    articles = {
        "int": "an integer",
        "float": "a number",
        "str": "a string",
        "bool": "a boolean",
        "mapping": "a mapping",
        "any": "a value",
    }
    if kind.startswith("list["):
        return f"a list of {articles.get(kind[5:-1], kind[5:-1])[2:].lstrip()}s ({kind})"
    return articles.get(kind, f"a {kind}")
