"""Bounds on a spec file's YAML node graph, checked before anything walks it recursively or expands its aliases.

The spec is read by every command, so a hostile ``spec/config.yaml`` in a pull request must cost bounded time:
nesting deeper than :data:`MAX_SPEC_DEPTH` (a spec is a handful of levels; 990 overflowed the stack) and aliases
that expand the document past :data:`MAX_SPEC_NODES` nodes (an alias bomb: recording each expanded place was
exponential) are refused as one problem at their place. The walk is iterative and visits each node once.
"""

from __future__ import annotations

from yaml.nodes import Node

from sdmspec.yaml_nodes import WalkEvent, expanded_walk

MAX_SPEC_DEPTH = 100
MAX_SPEC_NODES = 100_000


def graph_problem(root: Node) -> tuple[Node, str] | None:
    """The first node past a bound and why, or None when the document is within them.

    A recursive alias (``&a [*a]``) is left to the reader, which reports it with its own words.
    """
    for event, node, measure in expanded_walk(root):
        if event is WalkEvent.ENTER and measure > MAX_SPEC_DEPTH:
            return node, f"nested more than {MAX_SPEC_DEPTH} levels deep; a spec needs a handful"
        if event is WalkEvent.SIZE and measure > MAX_SPEC_NODES:
            return node, (
                f"aliases expand this node to more than {MAX_SPEC_NODES:,} nodes (an alias bomb?); a spec is "
                "read with its aliases expanded, so this one is refused"
            )
    return None
