"""Run the rules over configs and collect every finding: exceptions mean "cannot run", findings are values.

:func:`lint_paths` reads every ``.yaml``/``.yml`` file under the paths, analyses them together (cross-file rules see
all of them and, for files given explicitly, the other configs of their folder: :mod:`sdmspec.lint.context`),
stamps each rule's code, name and severity on its findings, applies inline suppressions and returns a
:class:`LintResult`. A file that is not valid YAML, not UTF-8 or not a mapping is a finding, not an exception; a
path that does not exist or a file that cannot be read at all is a :class:`~sdmspec.errors.ConfigError` (exit 2).
How files are found, opened and bounded (links out of the repository, FIFOs, size) is :mod:`sdmspec.lint.reading`.
"""

from __future__ import annotations

import os
from collections.abc import Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from sdmspec.lint.context import context_files, read_context
from sdmspec.lint.diagnostics import Diagnostic, Finding, Severity
from sdmspec.lint.loaders import YAML_LOADER, ConfigLoader, get_loader
from sdmspec.lint.project import Project, analyse_file
from sdmspec.lint.reading import collect, context_data, read_collected, repository_root, sources_of
from sdmspec.lint.rules import UNUSED_SUPPRESSION, Rule
from sdmspec.lint.selection import find_rule, select_rules
from sdmspec.lint.source import Source, gc_paused, read_source
from sdmspec.lint.suppress import Suppression, find_suppressions
from sdmspec.schema import PaperSpec


@dataclass(frozen=True)
class LintResult:
    """Every diagnostic of one run, sorted by file and position, and how many files were linted.

    ``root`` is the folder holding every linted file (None when they share none): where reporters that need a path
    put a finding about the configs as a whole whose setting could not be found in the spec's files.
    """

    diagnostics: tuple[Diagnostic, ...]
    files: int
    root: str | None = None
    # The loader the files were read as (reports name it: what each value is depends on it).
    loader: str = "yaml"

    def count(self, severity: Severity) -> int:
        return sum(1 for diagnostic in self.diagnostics if diagnostic.severity is severity)

    @property
    def errors(self) -> int:
        return self.count(Severity.ERROR)

    @property
    def warnings(self) -> int:
        return self.count(Severity.WARNING)

    @property
    def infos(self) -> int:
        return self.count(Severity.INFO)

    def fixable(self, unsafe: bool = False) -> int:
        """How many diagnostics ``--fix`` (with ``--unsafe-fixes`` when ``unsafe``) would address."""
        return sum(1 for d in self.diagnostics if d.fix is not None and d.fix.applies(unsafe))


def lint_paths(
    paths: Sequence[Path],
    spec: PaperSpec,
    *,
    select: Collection[str] | None = None,
    ignore: Collection[str] | None = None,
    spec_path: Path | None = None,
    isolated: bool = False,
    loader: str = "auto",
) -> LintResult:
    """Lint every YAML file under ``paths`` (files as given, folders recursively) against ``spec``.

    ``loader`` names how the program reads the files (:mod:`sdmspec.lint.loaders`; ``auto``: detected from them).

    ``spec_path``, the folder or file ``spec`` was loaded from, lets findings about the configs as a whole point at
    the setting's definition; without it ``spec/`` is looked for above the current folder and the linted files.

    Files given explicitly are judged in the context of their config folder (:mod:`sdmspec.lint.context`): the
    cross-file rules weigh the other configs there, but findings are reported only for the files linted. With
    ``isolated`` the files are judged alone, as if no other config existed.
    """
    rules = select_rules(select, ignore)
    with gc_paused():
        collected = collect(paths)
        read = read_collected(collected)
        around = [] if isolated else context_files(paths, collected.files)
        contents = [data for data in read.values() if isinstance(data, bytes)]
        chosen = choose_loader(loader, contents, around)
        sources = sources_of(read, chosen)
        context = read_context(around, chosen)
        return lint_sources(sources, spec, rules, spec_path=spec_path, context=context)


def choose_loader(name: str, contents: Iterable[bytes], context: Iterable[Path] = ()) -> ConfigLoader:
    """The loader called ``name``; for ``auto``, the one the files' text (and their context's) calls for.

    The context counts: pre-commit may pass one changed file of a Hydra repository that itself holds no ``${``.
    """

    def texts() -> Iterator[str]:
        for data in contents:
            yield data.decode("utf-8", errors="replace")
        for path in context:
            # Bounded and inside the repository, as read_context reads them; an unreadable one is left out.
            around = context_data(path, repository_root(path))
            if around is not None:
                yield around.decode("utf-8", errors="replace")

    return get_loader(name, texts())


def lint_text(
    text: str | bytes,
    spec: PaperSpec,
    filename: str = "<string>",
    *,
    select: Collection[str] | None = None,
    ignore: Collection[str] | None = None,
    spec_path: Path | None = None,
    loader: str = "yaml",
) -> LintResult:
    """Lint one file's content held in memory (``str`` is encoded as UTF-8) as ``loader`` reads it."""
    data = text.encode("utf-8") if isinstance(text, str) else text
    source = read_source(data, filename, choose_loader(loader, [data]))
    return lint_sources([source], spec, select_rules(select, ignore), spec_path=spec_path)


def lint_sources(
    sources: Sequence[Source],
    spec: PaperSpec,
    rules: Sequence[Rule],
    *,
    spec_path: Path | None = None,
    context: Sequence[Source] = (),
) -> LintResult:
    """Run ``rules`` over already-read sources (the fixer re-lints edited text through this).

    ``context`` sources are read for their settings only (cross-file rules); nothing is reported in them.
    """
    with gc_paused():
        sections = spec.sections
        files = tuple(analyse_file(source, spec, sections) for source in sources)
        others = tuple(analyse_file(source, spec, sections) for source in context)
        loader = sources[0].loader if sources else YAML_LOADER
        project = Project(spec, files, spec_path=spec_path, context=others, loader=loader)
        diagnostics = [_stamp(rule, finding) for rule in rules for finding in rule.check(project)]
        active = {rule.CODE for rule in rules}
        diagnostics = _apply_suppressions(diagnostics, sources, active)
    ordered = tuple(sorted(diagnostics, key=lambda d: d.sort_key))
    root = common_folder(source.path for source in sources)
    return LintResult(ordered, files=len(sources), root=root, loader=loader.name)


def common_folder(paths: Iterable[str]) -> str | None:
    """The deepest folder holding every path (``.`` for bare names), or None for none or a mix of roots."""
    folders = [str(Path(path).parent) for path in paths]
    try:
        return os.path.commonpath(folders) if folders else None
    except ValueError:  # absolute and relative paths, or different drives
        return None


def _stamp(rule: Rule, finding: Finding) -> Diagnostic:
    span = finding.span
    return Diagnostic(
        file=finding.file,
        line=span.line if span else None,
        column=span.column if span else None,
        end_line=span.end_line if span else None,
        end_column=span.end_column if span else None,
        code=rule.CODE,
        name=rule.NAME,
        severity=rule.SEVERITY,
        message=finding.message,
        key=finding.key,
        expected=finding.expected,
        actual=finding.actual,
        source=finding.source,
        fix=finding.fix,
        related=finding.related,
        spec_location=finding.spec_location,
    )


def _covers(suppression: Suppression, diagnostic: Diagnostic) -> bool:
    if not suppression.codes:
        return True
    return any((rule := find_rule(code)) is not None and diagnostic.code == rule.CODE for code in suppression.codes)


def _apply_suppressions(
    diagnostics: Iterable[Diagnostic], sources: Sequence[Source], active: set[str]
) -> list[Diagnostic]:
    by_file = {source.path: find_suppressions(source) for source in sources}
    used: set[Suppression] = set()
    kept: list[Diagnostic] = []
    for diagnostic in diagnostics:
        on_line = [s for s in by_file.get(diagnostic.file or "", ()) if s.line == diagnostic.line]
        covering = [s for s in on_line if _covers(s, diagnostic)]
        # A suppression never silences the complaint about itself (SDM901 on the same line).
        if covering and diagnostic.code != "SDM901":
            used.update(covering)
        else:
            kept.append(diagnostic)
    if UNUSED_SUPPRESSION.CODE in active:
        for path, suppressions in by_file.items():
            for suppression in suppressions:
                message = _unused(suppression, active, used=suppression in used)
                if message:
                    kept.append(_stamp(UNUSED_SUPPRESSION, Finding(path, suppression.span, message)))
    return kept


def _unused(suppression: Suppression, active: set[str], used: bool) -> str | None:
    unknown = [code for code in suppression.codes if find_rule(code) is None]
    if unknown:
        return f"suppression names no rule: {', '.join(unknown)}"
    if used:
        return None
    rules = [find_rule(code) for code in suppression.codes]
    if all(rule is not None and rule.CODE in active for rule in rules):
        return "unused suppression: nothing to silence on this line"
    return None
