"""Small builders the rule modules share: findings at a node, and fixes that replace one scalar."""

from __future__ import annotations

import difflib
import functools
import json
from collections.abc import Iterator

from yaml.nodes import Node, ScalarNode

from sdmspec.lint.diagnostics import Applicability, Edit, Finding, Fix, Location
from sdmspec.lint.problems import Problem, ProblemKind
from sdmspec.lint.project import ConfigFile, Occurrence, Project


def at(
    file: ConfigFile,
    node: Node,
    message: str,
    *,
    key: str | None = None,
    expected: str | None = None,
    actual: str | None = None,
    source: str | None = None,
    fix: Fix | None = None,
    related: tuple[Location, ...] = (),
) -> Finding:
    """A finding at ``node``'s position in ``file``."""
    span = file.source.span(node)
    return Finding(file.path, span, message, key, expected, actual, source, fix, related)


def replace(file: ConfigFile, node: ScalarNode, content: str, message: str, applicability: Applicability) -> Fix:
    """A fix that rewrites one scalar (keeping any anchor or tag written before it)."""
    return Fix(message, (Edit(file.source.value_span(node), content),), applicability)


def location(occurrence: Occurrence, file: ConfigFile) -> Location:
    span = file.source.span(occurrence.value_node)
    return Location(file.path, span.line, span.column)


def problems(project: Project, kind: ProblemKind) -> Iterator[tuple[ConfigFile, Problem]]:
    """The load problems of one kind in every file (the SDM0xx rules report them)."""
    for file in project.files:
        for problem in file.source.problems:
            if problem.kind is kind:
                yield file, problem


def occurrences(project: Project) -> Iterator[tuple[ConfigFile, Occurrence]]:
    for file in project.files:
        for occurrence in file.occurrences:
            yield file, occurrence


def quote(text: str) -> str:
    """``text`` as a double-quoted YAML scalar (JSON's string syntax is valid YAML)."""
    return json.dumps(text, ensure_ascii=False)


@functools.cache
def _matcher(candidate: str) -> difflib.SequenceMatcher[str]:
    # difflib caches its analysis of the second sequence: keep the candidate there and vary the word.
    return difflib.SequenceMatcher(None, "", candidate)


# Below this length one letter is a quarter of the word: `ff` and `cff`, `lr` and `dr` are different keys, not typos.
MIN_SUGGESTED = 4
# A did-you-mean must be really close: difflib's ratio of a one-letter slip in a word of five or more letters.
SUGGEST_CUTOFF = 0.8


def close_match(word: str, candidates: list[str], cutoff: float = SUGGEST_CUTOFF) -> str | None:
    """The candidate most similar to ``word`` (difflib's ratio >= ``cutoff``), or None; none for a short word.

    Same answer as ``difflib.get_close_matches(word, candidates, 1, cutoff)``, but the candidates' analysis is
    cached, so a file with thousands of unknown keys stays fast.
    """
    best: tuple[float, str] | None = None
    if len(word) < MIN_SUGGESTED:
        return None
    for candidate in candidates:
        matcher = _matcher(candidate)
        matcher.set_seq1(word)
        if matcher.real_quick_ratio() >= cutoff and matcher.quick_ratio() >= cutoff:
            score = matcher.ratio()
            if score >= cutoff and (best is None or score > best[0]):
                best = (score, candidate)
    return best[1] if best else None
