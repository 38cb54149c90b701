"""YAML node graphs as lint's graph walk and the spec's bounds check both read them: a node's children, and the walk
that measures what aliases expand to (one definition for both: schema cannot import lint, lint imports schema)."""

from __future__ import annotations

from collections.abc import Iterator
from enum import Enum

from yaml.nodes import MappingNode, Node, SequenceNode


def node_children(node: Node) -> list[Node]:
    """A mapping's keys and values in order, a sequence's items, nothing for a scalar."""
    if isinstance(node, MappingNode):
        return [child for pair in node.value for child in pair]
    if isinstance(node, SequenceNode):
        return list(node.value)
    return []


class WalkEvent(Enum):
    """What :func:`expanded_walk` reports: a node entered (at a depth), a node's expanded size, a recursive alias."""

    ENTER = "enter"
    SIZE = "size"
    CYCLE = "cycle"


def expanded_walk(root: Node) -> Iterator[tuple[WalkEvent, Node, int]]:
    """Walk ``root`` without recursion and report what its aliases expand to, each node entered once.

    Yields ``(ENTER, node, depth)`` before a node's children, ``(SIZE, node, size)`` after them (its size with aliases
    expanded, memoised, so the walk itself never expands them), and ``(CYCLE, node, depth)`` where an alias refers to
    a node that contains it. A caller stops at the first event past its bounds: the spec's loader refuses the file, lint
    reports it once and goes on.
    """
    size: dict[int, int] = {}
    active: set[int] = set()
    stack: list[tuple[Node, int, bool]] = [(root, 0, True)]
    while stack:
        node, depth, entering = stack.pop()
        ident = id(node)
        if not entering:
            active.discard(ident)
            size[ident] = 1 + sum(size.get(id(child), 1) for child in node_children(node))
            yield WalkEvent.SIZE, node, size[ident]
            continue
        if ident in size:
            continue
        if ident in active:
            yield WalkEvent.CYCLE, node, depth
            continue
        yield WalkEvent.ENTER, node, depth
        active.add(ident)
        stack.append((node, depth, False))
        stack.extend((child, depth + 1, True) for child in reversed(node_children(node)))
