"""``sdmspec lint``: parse the options, call :mod:`sdmspec.lint`, render with :mod:`sdmspec.report`, exit.

Exit codes: 0 no errors (warnings and infos do not fail), 1 errors found (or, with ``--diff``, files would change),
2 usage error or input that cannot be read at all (a missing path, a missing or invalid spec).

With ``--format json`` or ``sarif``, stdout (or ``--output``) holds exactly one document whenever the exit code is 0
or 1, also when there is nothing to lint (an empty report whose notices say so); exit 2 prints one error line on
stderr and no document, except for a spec that does not load: its problems (SDM000, each at spec/FILE:LINE:COL)
are the report, in the chosen format, and the exit code is 2 whether or not there is anything to lint.
"""

from __future__ import annotations

import os
import sys
from enum import Enum
from pathlib import Path

import typer

from sdmspec.errors import EXIT_FINDINGS, EXIT_OK, EXIT_USAGE
from sdmspec.io import file_option
from sdmspec.schema.problems import InvalidSpecError


class OutputFormat(str, Enum):
    TEXT = "text"
    JSON = "json"
    GITHUB = "github"
    SARIF = "sarif"


def _explain(selector: str) -> int:
    from sdmspec.lint.rules import RULES, rule_help, rule_summary
    from sdmspec.lint.selection import find_rule

    if selector.lower() == "all":
        for code, rule in RULES.items():
            typer.echo(f"{code}  {rule.NAME:<28} {rule.SEVERITY.value:<8} {rule_summary(rule)}")
        return EXIT_OK
    found = find_rule(selector)
    if found is None:
        typer.echo(f"sdmspec: error: no rule {selector!r} (try --explain all)", err=True)
        return EXIT_USAGE
    typer.echo(f"{found.CODE} ({found.NAME}), default severity {found.SEVERITY.value}\n")
    typer.echo(rule_help(found))
    return EXIT_OK


def _emit(report: str, output: Path | None) -> None:
    if output is not None:
        from sdmspec.io import atomic_write_text

        atomic_write_text(output, report)
    else:
        typer.echo(report, nl=False)


def report_invalid_spec(err: InvalidSpecError, output_format: str, output: Path | None) -> None:
    """A spec that does not load, reported as lint reports configs (SDM000 findings), and the one-line error."""
    from sdmspec.lint.spec_report import spec_result
    from sdmspec.report import ReportOptions, render

    color = output is None and output_format == "text" and sys.stdout.isatty() and "NO_COLOR" not in os.environ
    _emit(render(output_format, spec_result(err.problems), ReportOptions(color=color)), output)
    count = len(err.problems)
    typer.echo(f"sdmspec: error: the spec does not load ({count} problem{'s' if count != 1 else ''})", err=True)


def lint(
    paths: list[Path] | None = typer.Argument(
        None,
        help="YAML files or folders to lint (folders recursively). Default: configs/. A file is judged in the context"
        " of its config folder (configs/ when it holds the file, else the file's folder): cross-file rules weigh the"
        " other configs there, but only the given files are reported on and fixed.",
    ),
    spec_path: Path | None = typer.Option(
        None, "--spec", help="The spec folder or file. Default: spec/ in this folder or a parent."
    ),
    output_format: OutputFormat = typer.Option(
        OutputFormat.TEXT, "--format", "--output-format", "-f", help="Report format.", case_sensitive=False
    ),
    output: Path | None = typer.Option(
        None, "--output", "-o", help="Write the report to this file.", callback=file_option("--output")
    ),
    select: list[str] | None = typer.Option(
        None, "--select", help="Rules to run: codes, prefixes (SDM1), names or ALL; comma-separated or repeated."
    ),
    ignore: list[str] | None = typer.Option(None, "--ignore", help="Rules to skip (same forms as --select)."),
    fix: bool = typer.Option(False, "--fix", help="Apply safe fixes in place (atomically)."),
    unsafe_fixes: bool = typer.Option(
        False, "--unsafe-fixes", help="With --fix or --diff, also apply fixes that change values or types."
    ),
    diff: bool = typer.Option(False, "--diff", help="Print the fixes as a unified diff; write nothing."),
    statistics: bool = typer.Option(False, "--statistics", help="Add a count of findings per rule (text format)."),
    show_source: bool = typer.Option(False, "--show-source", help="Show the offending line (text format)."),
    exit_zero: bool = typer.Option(False, "--exit-zero", help="Exit 0 even when errors are found."),
    isolated: bool = typer.Option(
        False, "--isolated", help="Judge the given files alone, without the other configs of their folder."
    ),
    explain: str | None = typer.Option(
        None, "--explain", metavar="CODE", help="Print a rule's documentation (or 'all' for the list) and exit."
    ),
) -> None:
    """Check YAML configs against the paper's spec: values, YAML 1.1 pitfalls, structure, cross-file conflicts."""
    if explain is not None:
        raise typer.Exit(_explain(explain))

    from sdmspec.lint.context import DEFAULT_CONFIG_FOLDER
    from sdmspec.lint.engine import LintResult, lint_paths
    from sdmspec.lint.fix import fix_paths
    from sdmspec.lint.reading import collect
    from sdmspec.report import ReportOptions, render
    from sdmspec.schema import load_spec

    targets = list(paths) if paths else [DEFAULT_CONFIG_FOLDER]
    try:
        spec = load_spec(spec_path)  # first: a broken spec is an error also when there is nothing to lint
    except InvalidSpecError as err:
        report_invalid_spec(err, output_format.value, output)
        raise typer.Exit(EXIT_USAGE) from err
    if not collect(targets).files:
        # Nothing to lint (an empty folder, a folder named like a file): not an error, but machine formats still
        # print their one document (an empty report carrying the notice), so a pipe into `jq` or an upload works.
        notice = f"no YAML files under {', '.join(map(str, targets))}"
        typer.echo(f"sdmspec: warning: {notice}", err=True)
        if output_format is not OutputFormat.TEXT and not diff:
            empty = LintResult(diagnostics=(), files=0)
            _emit(render(output_format.value, empty, ReportOptions(notices=(notice,))), output)
        raise typer.Exit(EXIT_OK)
    if diff:
        outcome = fix_paths(
            targets,
            spec,
            unsafe=unsafe_fixes,
            write=False,
            select=select,
            ignore=ignore,
            spec_path=spec_path,
            isolated=isolated,
        )
        for change in outcome.changes:
            typer.echo(change.diff(), nl=False)
        typer.echo(f"Would fix {outcome.fixed} finding(s) in {len(outcome.changes)} file(s).", err=True)
        raise typer.Exit(EXIT_FINDINGS if outcome.changes else EXIT_OK)
    fixed = 0
    if fix:
        outcome = fix_paths(
            targets,
            spec,
            unsafe=unsafe_fixes,
            write=True,
            select=select,
            ignore=ignore,
            spec_path=spec_path,
            isolated=isolated,
        )
        result, fixed = outcome.result, outcome.fixed
        for path in outcome.conflicts:
            typer.echo(f"sdmspec: warning: {path}: changed while being fixed; left as it is (rerun --fix)", err=True)
    else:
        result = lint_paths(targets, spec, select=select, ignore=ignore, spec_path=spec_path, isolated=isolated)
    color = output is None and output_format is OutputFormat.TEXT and sys.stdout.isatty()
    options = ReportOptions(
        fixed=fixed,
        unsafe_fixes=unsafe_fixes,
        statistics=statistics,
        show_source=show_source,
        color=color and "NO_COLOR" not in os.environ,
    )
    _emit(render(output_format.value, result, options), output)
    raise typer.Exit(EXIT_FINDINGS if result.errors and not exit_zero else EXIT_OK)


def register(app: typer.Typer) -> None:
    app.command("lint")(lint)
