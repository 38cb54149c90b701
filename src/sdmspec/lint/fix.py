"""``--fix``: rewrite the offending scalars in place, and nothing else.

Edits replace character ranges of a file's decoded text, so comments, key order, quoting elsewhere, CRLF line
endings and a UTF-8 byte-order mark stay byte for byte. Fixes whose edits overlap are applied one per round and the
file is re-linted between rounds (as ruff does), so ``2e-4`` may first become ``2.0e-4`` and then, with
``--unsafe-fixes``, the paper's value. Files are written atomically; a fixed file gives no fix on the next run. A
file that changed since it was read (an editor, another ``--fix``) is left as it is and named in
:attr:`FixOutcome.conflicts`: its stale fix is never written over newer content. A symlinked config is fixed
through the link.
"""

from __future__ import annotations

import codecs
import difflib
import itertools
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from pathlib import Path

from sdmspec.io import replace_if_unchanged
from sdmspec.lint.context import context_files, read_context
from sdmspec.lint.diagnostics import Edit
from sdmspec.lint.engine import LintResult, choose_loader, lint_sources
from sdmspec.lint.loaders import YAML_LOADER, ConfigLoader
from sdmspec.lint.reading import collect, read_collected, read_config
from sdmspec.lint.rules import Rule
from sdmspec.lint.selection import select_rules
from sdmspec.lint.source import Source, read_source
from sdmspec.schema import PaperSpec

MAX_ROUNDS = 10


@dataclass(frozen=True)
class FileChange:
    """One file's content before and after fixing, and how many findings the edits removed."""

    path: Path
    before: bytes
    after: bytes
    fixed: int

    def diff(self) -> str:
        """A unified diff of the change (``--diff``)."""
        old = self.before.decode("utf-8", errors="replace").splitlines(keepends=True)
        new = self.after.decode("utf-8", errors="replace").splitlines(keepends=True)
        lines = difflib.unified_diff(old, new, fromfile=f"a/{self.path}", tofile=f"b/{self.path}")
        return "".join(
            line if line.endswith(("\n", "\r")) else line + "\n\\ No newline at end of file\n" for line in lines
        )


@dataclass(frozen=True)
class FixOutcome:
    """The files that changed (or would change) and the findings that remain afterwards."""

    changes: tuple[FileChange, ...]
    result: LintResult
    # Files left unfixed because they changed while this run fixed them (another writer): rerun to fix them.
    conflicts: tuple[Path, ...] = ()

    @property
    def fixed(self) -> int:
        return sum(change.fixed for change in self.changes)


def apply_edits(text: str, edits: Sequence[Edit]) -> str:
    """``text`` with non-overlapping ``edits`` applied."""
    pieces: list[str] = []
    position = 0
    for edit in sorted(edits, key=lambda edit: edit.span.start):
        pieces.append(text[position : edit.span.start])
        pieces.append(edit.content)
        position = edit.span.end
    pieces.append(text[position:])
    return "".join(pieces)


def fix_bytes(
    data: bytes, path: str, spec: PaperSpec, rules: Sequence[Rule], *, unsafe: bool, loader: ConfigLoader = YAML_LOADER
) -> tuple[bytes, int]:
    """``data`` (a file's bytes, read by ``loader``) with every applicable fix applied, and how many findings they
    fixed."""
    source = read_source(data, path, loader)
    fixed = 0
    for _ in range(MAX_ROUNDS):
        if source.problems and not source.documents:
            break
        result = lint_sources([source], spec, rules)
        chosen: list[Edit] = []
        taken_until = -1
        applicable = [d.fix for d in result.diagnostics if d.fix is not None and d.fix.applies(unsafe)]
        for fix in sorted(applicable, key=lambda fix: min(edit.span.start for edit in fix.edits)):
            edits = sorted(fix.edits, key=lambda edit: edit.span.start)
            if edits[0].span.start <= taken_until or _overlap(edits):
                continue
            chosen.extend(edits)
            taken_until = edits[-1].span.end
            fixed += 1
        if not chosen:
            break
        text = apply_edits(source.text, chosen)
        if text == source.text:
            break
        source = read_source((codecs.BOM_UTF8 if source.bom else b"") + text.encode("utf-8"), path, loader)
    if fixed == 0:
        return data, 0
    return (codecs.BOM_UTF8 if source.bom else b"") + source.text.encode("utf-8"), fixed


def _overlap(edits: Sequence[Edit]) -> bool:
    return any(later.span.start < earlier.span.end for earlier, later in itertools.pairwise(edits))


def fix_paths(
    paths: Sequence[Path],
    spec: PaperSpec,
    *,
    unsafe: bool = False,
    write: bool = True,
    select: Collection[str] | None = None,
    ignore: Collection[str] | None = None,
    spec_path: Path | None = None,
    isolated: bool = False,
    loader: str = "auto",
) -> FixOutcome:
    """Fix every file under ``paths``; with ``write=False`` only compute the changes (``--diff``).

    The returned result lints the fixed contents (all files together), so it lists what is left to do by hand.
    ``spec_path`` and ``isolated`` are as for :func:`~sdmspec.lint.engine.lint_paths`: only the files under
    ``paths`` are ever edited, their context is only read.
    """
    rules = select_rules(select, ignore)
    changes: list[FileChange] = []
    conflicts: list[Path] = []
    sources: list[Source] = []
    collected = collect(paths)
    read = read_collected(collected)
    around = [] if isolated else context_files(paths, collected.files)
    chosen = choose_loader(loader, [data for data in read.values() if isinstance(data, bytes)], around)
    context = read_context(around, chosen)
    for path, before in read.items():
        if isinstance(before, Source):
            sources.append(before)  # outside the repository or too large: its finding, never written
            continue
        after, fixed = fix_bytes(before, str(path), spec, rules, unsafe=unsafe, loader=chosen)
        if after != before:
            if write and not replace_if_unchanged(path, before, after):
                conflicts.append(path)
                sources.append(read_config(path, chosen))  # what is there now is what is left to do
                continue
            changes.append(FileChange(path, before, after, fixed))
        sources.append(read_source(after, str(path), chosen))
    result = lint_sources(sources, spec, rules, spec_path=spec_path, context=context)
    return FixOutcome(tuple(changes), result, tuple(conflicts))
