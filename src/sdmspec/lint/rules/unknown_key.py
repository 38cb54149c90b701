"""SDM301 unknown-key: a key the spec does not know inside a section it does, with a did-you-mean suggestion.

What: inside a section the spec describes (`training.pretrain`, `environment`, `epochs`, ...), a key that is
neither a setting nor a subsection of it. A really close match (difflib's ratio 0.8 or more, a one-letter slip;
none for keys under four letters) is suggested; otherwise the known keys are listed.

Why: the jobs read settings by key path, so `learning_rte: 2.0e-4` is never read: the run silently uses the default
learning rate. Configs are checked like a schema with extra keys forbidden; a setting the paper does not cover goes
into spec/ (as `unspecified: true`) before a config may use it.

Example::

    training:
      pretrain:
        learning_rte: 2.0e-4   # did you mean learning_rate?

Fix (unsafe: the job then reads the value): rename the key to the suggestion, when there is one. When the suggested
key is already set in the same file, a rename would write a duplicate key (SDM104, and PyYAML would keep the last
one): the typo is offered for deletion instead when both values agree with the spec (for a setting the paper does
not pin, when they mean the same), and otherwise left for a person to decide, with a note saying why. A misspelt
section beside the real one (``finetnue:`` and ``finetune:``) is never renamed: PyYAML would keep only the last.
"""

from __future__ import annotations

from collections.abc import Iterator

from yaml.nodes import ScalarNode

from sdmspec.lint.diagnostics import Applicability, Edit, Finding, Fix, Severity, Span
from sdmspec.lint.project import ConfigFile, Occurrence, Project, StrayKey
from sdmspec.lint.rules._helpers import at, close_match, replace
from sdmspec.lint.values import is_plain, read_setting
from sdmspec.schema import PaperSpec

CODE = "SDM301"
NAME = "unknown-key"
SEVERITY = Severity.ERROR
# A section's known keys listed in the message at most: a long list is a paragraph, not a hint.
_LISTED = 8


def children(spec: PaperSpec, parent: str) -> list[str]:
    """The names the spec knows directly under ``parent`` ("" for the top level)."""
    prefix = f"{parent}." if parent else ""
    names = {key[len(prefix) :].split(".")[0] for key in spec.settings if key.startswith(prefix)}
    return sorted(names)


def check(project: Project) -> Iterator[Finding]:
    for file in project.files:
        # Two misspellings of one key must not both be renamed onto it in one pass: the first claims the name.
        claimed: dict[str, int] = {}
        for stray in file.stray_keys:
            if not stray.parent:
                continue
            name = stray.key_node.value
            known = children(project.spec, stray.parent)
            match = close_match(name, known)
            close = [match] if match else []
            message = f"unknown key {name!r} in {stray.parent}"
            fix = None
            if close:
                message += f"; did you mean {close[0]!r}?"
                target = f"{stray.parent}.{close[0]}"
                taken = _occurrence(file, target)
                if taken is not None:
                    note, fix = _when_the_key_exists(file, stray, taken)
                    message += note
                elif _section_written(file, target):
                    # A misspelt section beside the real one: a rename would write the section twice and PyYAML
                    # would keep only the last, losing every setting of the other.
                    message += f" ({target} is already in this file: not renamed; merge the two by hand)"
                elif target in claimed:
                    message += f" (so is the key on line {claimed[target]}: not renamed until that one is)"
                elif isinstance(stray.key_node, ScalarNode) and is_plain(stray.key_node):
                    claimed[target] = file.source.span(stray.key_node).line
                    fix = replace(file, stray.key_node, close[0], f"rename to {close[0]}", Applicability.UNSAFE)
            else:
                more = f" and {len(known) - _LISTED} more" if len(known) > _LISTED else ""
                shown = ", ".join(known[:_LISTED]) + more
                message += f" (known: {shown})"
            yield at(file, stray.key_node, message, key=stray.path, expected=close[0] if close else None, fix=fix)


def _occurrence(file: ConfigFile, key: str) -> Occurrence | None:
    return next((occurrence for occurrence in file.occurrences if occurrence.key == key), None)


def _section_written(file: ConfigFile, key: str) -> bool:
    """Whether the file writes anything under ``key`` (a section: its settings, or keys the spec does not know)."""
    inside = (f"{key}.", f"{key}[")
    return any(o.key.startswith(inside) for o in file.occurrences) or any(
        s.path == key or s.path.startswith(inside) for s in file.stray_keys
    )


def _when_the_key_exists(file: ConfigFile, stray: StrayKey, taken: Occurrence) -> tuple[str, Fix | None]:
    """A rename onto a key the file already sets would duplicate it: delete the typo when nothing is lost."""
    line = file.source.span(taken.key_node).line
    setting = taken.setting
    ours, theirs = read_setting(stray.value_node, setting.type).value, taken.reading.value
    if ours is None or theirs is None:
        agree = False
    elif setting.pinned:
        agree = setting.accepts(ours) and setting.accepts(theirs)
    else:
        agree = setting.compatible(ours, theirs)
    if not agree:
        return f" ({taken.key} is already set on line {line} to another value: not renamed; keep one by hand)", None
    entry = _entry_span(file, stray)
    if entry is None:
        return f" ({taken.key} is already set on line {line} to the same value: delete this key)", None
    fix = Fix(f"delete it ({taken.key} is set on line {line})", (Edit(entry, ""),), Applicability.UNSAFE)
    return f" ({taken.key} is already set on line {line} to the same value)", fix


def _entry_span(file: ConfigFile, stray: StrayKey) -> Span | None:
    """The whole lines of a block mapping entry ``key: value`` (its comment included), or None when the entry shares
    a line with anything else (flow style, ``a: {b: 1}``) and cannot be cut out as lines."""
    text = file.source.text
    start = stray.key_node.start_mark.index
    line_start = text.rfind("\n", 0, start) + 1
    if text[line_start:start].strip():
        return None
    end = stray.value_node.end_mark.index
    line_end = text.find("\n", end)
    line_end = len(text) if line_end < 0 else line_end + 1
    rest = text[end:line_end].strip()
    if rest and not rest.startswith("#"):
        return None
    first_line, first_column = file.source.position(line_start)
    last_line, last_column = file.source.position(line_end)
    return Span(line_start, line_end, first_line, first_column, last_line, last_column)
