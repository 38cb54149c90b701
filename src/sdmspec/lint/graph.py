"""Walk YAML node graphs without recursion, each node once, and measure what aliases would expand to.

Composing never expands aliases (an alias is the same node object), so lint never does either: the walk visits
each node once. When some node is reached twice, a second pass computes the expanded size bottom-up (memoised)
to find alias bombs and recursive aliases.
"""

from __future__ import annotations

from collections.abc import Callable

from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode

from sdmspec.lint.diagnostics import Span
from sdmspec.lint.problems import Problem, ProblemKind
from sdmspec.yaml_nodes import WalkEvent, expanded_walk

# Deeper nesting than this is refused: PyYAML's pure-Python loader (what `yaml.safe_load` uses without libyaml)
# raises RecursionError a little above 300 levels, and no config needs more than a handful.
MAX_DEPTH = 200
# An alias re-uses a node; a document whose aliases expand it past this many nodes (and ten times its real size)
# is an alias bomb ("billion laughs"): anything that copies the data (json.dumps, OmegaConf) runs out of memory.
MAX_EXPANDED_NODES = 100_000
_MERGE_TAG = "tag:yaml.org,2002:merge"
SAFE_TAGS = frozenset(tag for tag in SafeConstructor.yaml_constructors if tag is not None) | {_MERGE_TAG}


class GraphWalk:
    """Walk document graphs without recursion, each node once, and measure what aliases expand to.

    The first pass (pre-order) collects nodes and notices shared nodes (the targets of aliases); only when there are
    some does the second pass (post-order) compute expanded sizes and find cycles: most configs use no aliases.
    """

    def __init__(self, span: Callable[[Node], Span]) -> None:
        self.span = span
        self.scalars: list[tuple[ScalarNode, bool]] = []
        self.mappings: list[MappingNode] = []
        self.foreign_tags: list[Node] = []
        self.problems: list[Problem] = []
        self._seen: set[int] = set()

    def visit(self, root: Node) -> None:
        shared = False
        too_deep = False
        seen, scalars, mappings = self._seen, self.scalars, self.mappings
        stack: list[tuple[Node, int, bool]] = [(root, 0, False)]
        pop, push = stack.pop, stack.append
        while stack:
            node, depth, is_key = pop()
            ident = id(node)
            if ident in seen:
                shared = True
                continue
            seen.add(ident)
            if depth > MAX_DEPTH and not too_deep:
                too_deep = True
                message = f"nested more than {MAX_DEPTH} levels deep: yaml.safe_load may fail with RecursionError"
                self.problems.append(Problem(ProblemKind.TOO_DEEP, message, self.span(node)))
            if node.tag not in SAFE_TAGS:
                self.foreign_tags.append(node)
            kind = node.__class__
            if kind is ScalarNode:
                scalars.append((node, is_key))  # type: ignore[arg-type]
            elif kind is MappingNode:
                mappings.append(node)  # type: ignore[arg-type]
                for key, value in reversed(node.value):
                    push((value, depth + 1, False))
                    push((key, depth + 1, True))
            else:
                for item in reversed(node.value):
                    push((item, depth + 1, False))
        if shared:
            self._measure_aliases(root)

    def _measure_aliases(self, root: Node) -> None:
        """Sizes with aliases expanded (:func:`~sdmspec.yaml_nodes.expanded_walk`): one alias bomb and one recursive
        alias reported at most."""
        bomb = cycle = False
        measured = 0
        for event, node, measure in expanded_walk(root):
            if event is WalkEvent.SIZE:
                measured += 1
                if not bomb and measure > MAX_EXPANDED_NODES and measure > 10 * measured:
                    bomb = True
                    message = f"aliases expand this node to {measure:,} nodes (alias bomb); refusing to expand it"
                    self.problems.append(Problem(ProblemKind.ALIAS_BOMB, message, self.span(node)))
            elif event is WalkEvent.CYCLE and not cycle:
                cycle = True
                message = "an alias refers to a node that contains it (recursive alias)"
                self.problems.append(Problem(ProblemKind.ALIAS_BOMB, message, self.span(node)))
