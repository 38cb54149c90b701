"""A config file as lint sees it: its decoded text and YAML node graph, with positions, or the problems that stop it.

Lint works on PyYAML's node graph (``yaml.compose_all``), never on constructed Python objects: nodes keep positions,
duplicate keys and how each scalar was written, and composing never runs a constructor, so a ``!!python/object``
tag is only ever a tag. libyaml's composer (``CSafeLoader``) is used when PyYAML was built with it: it is several
times faster on large files and refuses nesting deeper than 1,000 levels instead of overflowing the stack.

Each file is composed with the program's loader (:mod:`sdmspec.lint.loaders`): its resolver decides each scalar's
tag, so ``2e-4`` is a float node under OmegaConf's loader and a string node under PyYAML's.

Marks are 0-based; :func:`span` is the one place they become the 1-based positions diagnostics carry.
"""

from __future__ import annotations

import bisect
import codecs
import dataclasses
import gc
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode

from sdmspec.lint.diagnostics import Span
from sdmspec.lint.graph import GraphWalk
from sdmspec.lint.loaders import YAML_LOADER, ConfigLoader
from sdmspec.lint.problems import Problem, ProblemKind

_BINARY_SNIFF = 8192
# Integers written with more digits than this are not linted: Python refuses to convert a decimal string of more
# than 4,300 digits (sys.get_int_max_str_digits), so yaml.safe_load raises on them, and a base-60 one (1:2:3:...)
# grows by a factor of 60 per part. 1,000 digits in any base stays below the interpreter's limit.
MAX_INT_DIGITS = 1000
_INT_TAG = "tag:yaml.org,2002:int"
_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_FOREIGN_BOMS = (
    (codecs.BOM_UTF32_LE, "UTF-32"),
    (codecs.BOM_UTF32_BE, "UTF-32"),
    (codecs.BOM_UTF16_LE, "UTF-16"),
    (codecs.BOM_UTF16_BE, "UTF-16"),
)


@dataclass(frozen=True, eq=False)
class Source:
    """One file: ``text`` is decoded (UTF-8, byte-order mark removed and remembered in ``bom``)."""

    path: str
    text: str = ""
    # The loader whose resolver tagged the scalars: what the program receives for each.
    loader: ConfigLoader = YAML_LOADER
    bom: bool = False
    documents: tuple[Node, ...] = ()
    problems: tuple[Problem, ...] = ()
    # Every distinct node of every document, found by one iterative walk (aliases visited once).
    scalars: tuple[tuple[ScalarNode, bool], ...] = ()  # (node, is a mapping key)
    mappings: tuple[MappingNode, ...] = ()
    foreign_tags: tuple[Node, ...] = ()  # nodes whose tag yaml.safe_load has no constructor for
    _line_starts: list[int] = field(default_factory=list, repr=False)

    def raw(self, node: Node) -> str:
        """The node's text as written, including any anchor or tag in front of it."""
        return self.text[node.start_mark.index : node.end_mark.index]

    def span(self, node: Node) -> Span:
        return self.mark_span(node.start_mark, node.end_mark)

    def mark_span(self, start: yaml.Mark, end: yaml.Mark) -> Span:
        """The one conversion from PyYAML's marks to 1-based positions: from their character offsets, because a mark's
        own line counts NEL, U+2028 and U+2029 as line breaks, which editors, GitHub and SARIF (CR, LF, CRLF) do not."""
        line, column = self.position(start.index)
        end_line, end_column = self.position(end.index)
        return Span(start.index, end.index, line, column, end_line, end_column)

    def value_span(self, node: ScalarNode) -> Span:
        """The span of a scalar without its properties (``&anchor``, ``!tag``): what a fix may replace."""
        start, end = node.start_mark.index, node.end_mark.index
        raw = self.text[start:end]
        offset = 0
        while offset < len(raw) and raw[offset] in "&!":
            while offset < len(raw) and not raw[offset].isspace():
                offset += 1
            while offset < len(raw) and raw[offset].isspace():
                offset += 1
        if offset == 0:
            return self.span(node)
        line, column = self.position(start + offset)
        return dataclasses.replace(self.span(node), start=start + offset, line=line, column=column)

    def position(self, index: int) -> tuple[int, int]:
        """1-based (line, column) of a character offset."""
        if not self._line_starts:
            self._line_starts.append(0)
            self._line_starts.extend(match.end() for match in _LINE_BREAK.finditer(self.text))
        line = bisect.bisect_right(self._line_starts, index)
        return line, index - self._line_starts[line - 1] + 1


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector (lint allocates a node per scalar and none of them is garbage).

    With hundreds of thousands of live nodes each automatic collection rescans them all: on a 4 MB file that was
    most of the run time. Reference counting still frees everything as usual.
    """
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.enable()


def _point(source: Source, index: int) -> Span:
    index = max(0, min(index, len(source.text)))
    line, column = source.position(index)
    return Span(index, index, line, column, line, column)


def _decode(data: bytes, path: str) -> Source | tuple[str, bool]:
    """The text and whether it had a UTF-8 byte-order mark, or a Source holding the problem that stops linting."""
    for mark, name in _FOREIGN_BOMS:
        if data.startswith(mark):
            problem = Problem(ProblemKind.ENCODING, f"the file is {name}-encoded; configs must be UTF-8", None)
            return Source(path, problems=(problem,))
    if b"\x00" in data[:_BINARY_SNIFF]:
        problem = Problem(ProblemKind.BINARY, "binary file (NUL bytes): not a YAML config", None)
        return Source(path, problems=(problem,))
    bom = data.startswith(codecs.BOM_UTF8)
    body = data[len(codecs.BOM_UTF8) :] if bom else data
    try:
        return body.decode("utf-8"), bom
    except UnicodeDecodeError as err:
        line = body.count(b"\n", 0, err.start) + 1
        line_start = body.rfind(b"\n", 0, err.start) + 1
        column = len(body[line_start : err.start].decode("utf-8", errors="replace")) + 1
        bad = body[err.start]
        message = f"not valid UTF-8 (byte 0x{bad:02x}; Latin-1 or cp1252 text?): PyYAML fails on it; re-save as UTF-8"
        at = Span(err.start, err.start, line, column, line, column)
        return Source(path, problems=(Problem(ProblemKind.ENCODING, message, at),))


def _compose(source: Source) -> tuple[list[Node], list[Problem]]:
    documents: list[Node] = []
    try:
        for document in yaml.compose_all(source.text, Loader=source.loader.yaml_loader):
            if document is not None:
                documents.append(document)
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        problem = " ".join(part for part in (err.context, err.problem) if part) or "invalid YAML"
        kind = ProblemKind.TOO_DEEP if "nesting depth" in problem else ProblemKind.SYNTAX
        at = source.mark_span(mark, mark) if mark is not None else None
        if at is not None and source.text[at.start : at.start + 1] == "\t":
            problem += " (a tab: YAML indents with spaces only)"
        if kind is ProblemKind.TOO_DEEP:
            problem += " (the parser's limit is 1,000 levels)"
        return documents, [Problem(kind, problem.replace("\n", " "), at)]
    except yaml.reader.ReaderError as err:
        message = f"unacceptable character #x{err.character:04x}: {err.reason}" if err.character else err.reason
        return documents, [Problem(ProblemKind.SYNTAX, message, _point(source, err.position))]
    except yaml.YAMLError as err:
        return documents, [Problem(ProblemKind.SYNTAX, str(err).splitlines()[0], None)]
    except RecursionError:
        message = "nesting too deep for the YAML parser (RecursionError)"
        return documents, [Problem(ProblemKind.TOO_DEEP, message, None)]
    return documents, []


def read_source(data: bytes, path: str, loader: ConfigLoader = YAML_LOADER) -> Source:
    """Decode and compose ``data`` (the bytes of ``path``) as ``loader`` resolves scalars; never raises for bad
    input, it records problems."""
    decoded = _decode(data, path)
    if isinstance(decoded, Source):
        return dataclasses.replace(decoded, loader=loader)
    text, bom = decoded
    source = Source(path, text=text, bom=bom, loader=loader)
    with gc_paused():
        documents, problems = _compose(source)
        walk = GraphWalk(source.span)
        for document in documents:
            walk.visit(document)
    huge = next(
        (node for node, _ in walk.scalars if node.tag == _INT_TAG and _digits(node.value) > MAX_INT_DIGITS), None
    )
    if huge is not None:
        # Nothing of the file is linted further: every rule that reads values would convert this one.
        message = (
            f"an integer of {_digits(huge.value):,} digits, over the {MAX_INT_DIGITS:,} lint reads "
            "(yaml.safe_load refuses integers of more than 4,300 digits)"
        )
        return Source(path, text=text, bom=bom, problems=(Problem(ProblemKind.TOO_LARGE, message, source.span(huge)),))
    return Source(
        path,
        text=text,
        bom=bom,
        loader=loader,
        documents=tuple(documents),
        problems=(*problems, *walk.problems),
        scalars=tuple(walk.scalars),
        mappings=tuple(walk.mappings),
        foreign_tags=tuple(walk.foreign_tags),
        _line_starts=source._line_starts,
    )


def _digits(text: str) -> int:
    # Cheap on any length: counting is linear, and only integer-tagged scalars are counted.
    return sum(1 for char in text if char.isalnum())
