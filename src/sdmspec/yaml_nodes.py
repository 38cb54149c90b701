"""The one definition of a YAML node's children, shared by lint's graph walk and the spec's bounds check (schema
cannot import lint: lint imports schema)."""

from __future__ import annotations

from yaml.nodes import MappingNode, Node, SequenceNode


def node_children(node: Node) -> list[Node]:
    """A mapping's keys and values in order, a sequence's items, nothing for a scalar."""
    if isinstance(node, MappingNode):
        return [child for pair in node.value for child in pair]
    if isinstance(node, SequenceNode):
        return list(node.value)
    return []
