"""The readable report: findings grouped by file, each with position, severity, code and name, the message, and
expected/actual/source where the rule gives them; then a summary with the fix hints. The only module importing rich.
"""

from __future__ import annotations

import io
from collections import Counter
from itertools import groupby
from pathlib import Path

from rich.console import Console
from rich.table import Table
from rich.text import Text

from sdmspec.lint.diagnostics import Diagnostic, Severity
from sdmspec.lint.engine import LintResult
from sdmspec.report import ReportOptions

_STYLE = {Severity.ERROR: "bold red", Severity.WARNING: "yellow", Severity.INFO: "cyan"}
_WHOLE = "(the configs as a whole)"


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def _source_line(diagnostic: Diagnostic) -> Text | None:
    if diagnostic.file is None or diagnostic.line is None or diagnostic.column is None:
        return None
    try:
        lines = Path(diagnostic.file).read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return None
    if not 0 < diagnostic.line <= len(lines):
        return None
    width = 1
    if diagnostic.end_line == diagnostic.line and diagnostic.end_column:
        width = max(1, diagnostic.end_column - diagnostic.column)
    text = Text(f"      {diagnostic.line:>4} | {lines[diagnostic.line - 1]}\n", style="dim")
    text.append(f"           | {' ' * (diagnostic.column - 1)}{'^' * width}", style=_STYLE[diagnostic.severity])
    return text


def _entry(diagnostic: Diagnostic, options: ReportOptions) -> list[Text]:
    where = f"{diagnostic.line}:{diagnostic.column}" if diagnostic.line is not None else "-"
    line = Text(f"  {where:>7}  ")
    line.append(f"{diagnostic.severity.value:<7}", style=_STYLE[diagnostic.severity])
    line.append(f"  {diagnostic.code} ", style="bold")
    line.append(f"{diagnostic.name}  ", style="dim")
    line.append(diagnostic.message)
    if diagnostic.fix is not None:
        line.append(" [*]" if diagnostic.fix.applies(False) else " [unsafe fix]", style="green")
    entries = [line]
    details = []
    if diagnostic.expected is not None and diagnostic.actual is not None:
        details.append(f"expected {diagnostic.expected}, actual {diagnostic.actual}")
    if diagnostic.source:
        details.append(f"source: {diagnostic.source}")
    if diagnostic.file is None and (anchor := diagnostic.spec_location) is not None:
        details.append(f"defined in {anchor.file}:{anchor.line}:{anchor.column}")
    if details:
        entries.append(Text(" " * 20 + "; ".join(details), style="dim"))
    if options.show_source and (snippet := _source_line(diagnostic)) is not None:
        entries.append(snippet)
    return entries


def _statistics(result: LintResult) -> Table:
    table = Table(title="Statistics", show_edge=False)
    for column in ("count", "code", "name", "severity", "fixable"):
        table.add_column(column, justify="right" if column == "count" else "left")
    counts = Counter(d.code for d in result.diagnostics)
    first = {d.code: d for d in reversed(result.diagnostics)}
    for code, count in sorted(counts.items(), key=lambda item: (-item[1], item[0])):
        fixable = sum(1 for d in result.diagnostics if d.code == code and d.fix is not None)
        table.add_row(str(count), code, first[code].name, first[code].severity.value, str(fixable))
    return table


def _summary(result: LintResult, options: ReportOptions) -> list[Text]:
    lines = []
    if options.fixed:
        lines.append(Text(f"Fixed {_plural(options.fixed, 'finding')}.", style="green"))
    loader = Text(f" Loader: {result.loader}.", style="dim")
    if not result.diagnostics:
        lines.append(Text(f"All checks passed ({_plural(result.files, 'file')}).", style="bold green") + loader)
        return lines
    summary = Text("Found ")
    summary.append(_plural(result.errors, "error"), style=_STYLE[Severity.ERROR] if result.errors else "")
    summary.append(f", {_plural(result.warnings, 'warning')}, {_plural(result.infos, 'info')}")
    summary.append(f" in {_plural(result.files, 'file')}.")
    summary.append_text(loader)
    if result.infos and not options.show_infos:
        summary.append(" Infos not listed (--show-infos lists them).", style="dim")
    lines.append(summary)
    safe, unsafe = result.fixable(unsafe=False), result.fixable(unsafe=True)
    if safe:
        lines.append(Text(f"[*] {safe} fixable with --fix.", style="green"))
    if unsafe > safe and not options.unsafe_fixes:
        lines.append(Text(f"{unsafe - safe} more fixable with --fix --unsafe-fixes (they change values).", style="dim"))
    return lines


def render(result: LintResult, options: ReportOptions) -> str:
    buffer = io.StringIO()
    console = Console(
        file=buffer,
        force_terminal=options.color,
        color_system="auto" if options.color else None,
        width=160,
        soft_wrap=True,
        highlight=False,
    )
    # One Text printed once: rich's per-print overhead dominated reports of thousands of findings.
    body = Text()
    # Infos (a TODO source per setting of a started spec) would bury the findings: counted, listed on request.
    listed = [d for d in result.diagnostics if options.show_infos or d.severity is not Severity.INFO]
    for file, group in groupby(listed, key=lambda d: d.file):
        body.append(file if file is not None else _WHOLE, style="bold underline")
        body.append("\n")
        for diagnostic in group:
            for entry in _entry(diagnostic, options):
                body.append_text(entry)
                body.append("\n")
        body.append("\n")
    if body:
        console.print(body, end="")
    if options.statistics and result.diagnostics:
        console.print(_statistics(result))
        console.print()
    for line in _summary(result, options):
        console.print(line)
    return buffer.getvalue()
