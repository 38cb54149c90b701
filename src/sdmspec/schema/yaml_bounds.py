"""Bounds on a spec file's YAML node graph, checked before anything walks it recursively or expands its aliases.

The spec is read by every command, so a hostile ``spec/config.yaml`` in a pull request must cost bounded time:
nesting deeper than :data:`MAX_SPEC_DEPTH` (a spec is a handful of levels; 990 overflowed the stack) and aliases
that expand the document past :data:`MAX_SPEC_NODES` nodes (an alias bomb: recording each expanded place was
exponential) are refused as one problem at their place. The walk is iterative and visits each node once.
"""

from __future__ import annotations

from yaml.nodes import Node

from sdmspec.yaml_nodes import node_children

MAX_SPEC_DEPTH = 100
MAX_SPEC_NODES = 100_000


def graph_problem(root: Node) -> tuple[Node, str] | None:
    """The first node past a bound and why, or None when the document is within them.

    A recursive alias (``&a [*a]``) is left to the reader, which reports it with its own words.
    """
    # Post-order sizes with aliases expanded (memoised): the walk itself never expands them.
    size: dict[int, int] = {}
    active: set[int] = set()
    stack: list[tuple[Node, int, bool]] = [(root, 0, True)]
    while stack:
        node, depth, entering = stack.pop()
        ident = id(node)
        if not entering:
            active.discard(ident)
            size[ident] = 1 + sum(size.get(id(child), 1) for child in node_children(node))
            if size[ident] > MAX_SPEC_NODES:
                return node, (
                    f"aliases expand this node to more than {MAX_SPEC_NODES:,} nodes (an alias bomb?); a spec is "
                    "read with its aliases expanded, so this one is refused"
                )
            continue
        if ident in size or ident in active:
            continue
        if depth > MAX_SPEC_DEPTH:
            return node, f"nested more than {MAX_SPEC_DEPTH} levels deep; a spec needs a handful"
        active.add(ident)
        stack.append((node, depth, False))
        stack.extend((child, depth + 1, True) for child in reversed(node_children(node)))
    return None
