"""SDM301 unknown-key: a key the spec does not know inside a section it does, with a did-you-mean suggestion.

What: inside a section the spec describes (`training.pretrain`, `environment`, `epochs`, ...), a key that is
neither a setting nor a subsection of it. A close match (by difflib) is suggested.

Why: the jobs read settings by key path, so `learning_rte: 2.0e-4` is never read: the run silently uses the default
learning rate. Configs are checked like a schema with extra keys forbidden; a setting the paper does not cover goes
into spec/ (as `unspecified: true`) before a config may use it.

Example::

    training:
      pretrain:
        learning_rte: 2.0e-4   # did you mean learning_rate?

Fix (unsafe: the job then reads the value): rename the key to the suggestion, when there is one.
"""

from __future__ import annotations

from collections.abc import Iterator

from yaml.nodes import ScalarNode

from sdmspec.lint.diagnostics import Applicability, Finding, Severity
from sdmspec.lint.project import Project
from sdmspec.lint.rules._helpers import at, close_match, replace
from sdmspec.lint.values import is_plain
from sdmspec.schema import Spec

CODE = "SDM301"
NAME = "unknown-key"
SEVERITY = Severity.ERROR


def children(spec: Spec, parent: str) -> list[str]:
    """The names the spec knows directly under ``parent`` ("" for the top level)."""
    prefix = f"{parent}." if parent else ""
    names = {key[len(prefix) :].split(".")[0] for key in spec.settings if key.startswith(prefix)}
    return sorted(names)


def check(project: Project) -> Iterator[Finding]:
    for file in project.files:
        for stray in file.stray_keys:
            if not stray.parent:
                continue
            name = stray.key_node.value
            known = children(project.spec, stray.parent)
            match = close_match(name, known, cutoff=0.6)
            close = [match] if match else []
            message = f"unknown key {name!r} in {stray.parent}"
            fix = None
            if close:
                message += f"; did you mean {close[0]!r}?"
                if isinstance(stray.key_node, ScalarNode) and is_plain(stray.key_node):
                    fix = replace(file, stray.key_node, close[0], f"rename to {close[0]}", Applicability.UNSAFE)
            else:
                message += f" (known: {', '.join(known)})"
            yield at(file, stray.key_node, message, key=stray.path, expected=close[0] if close else None, fix=fix)
