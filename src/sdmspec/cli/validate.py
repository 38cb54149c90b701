"""``sdmspec validate``: one report on whether this machine and repo can reproduce the paper's experimental setup.

Exit codes: 0 when no check fails (warnings and skips included), 1 when one fails, 2 when the spec cannot be read
or an option is wrong.
"""

from __future__ import annotations

import json
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from sdmspec.errors import EXIT_FINDINGS
from sdmspec.schema import load_spec

if TYPE_CHECKING:
    from sdmspec.validate import ValidationReport


class ValidateFormat(str, Enum):
    TEXT = "text"
    JSON = "json"


_STATUS_STYLE = {"pass": "green", "warn": "yellow", "fail": "red", "skip": "dim"}


def print_validation_report(report: ValidationReport) -> None:
    """The checks as a rich table, then a one-line summary."""
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    table = Table(title="Experimental setup validation", title_justify="left", show_lines=True)
    table.add_column("check", no_wrap=True)
    table.add_column("status", no_wrap=True)
    table.add_column("detail", overflow="fold")
    for check in report.checks:
        style = _STATUS_STYLE[check.status.value]
        table.add_row(escape(check.name), f"[{style}]{check.status.value}[/]", escape(check.detail))
    console = Console()
    console.print(table)
    counts = report.to_json()["summary"]
    summary = ", ".join(f"{count} {status}" for status, count in counts.items() if count)
    verdict = "[red]setup has failures[/]" if report.failed else "[green]no check failed[/]"
    console.print(f"{verdict}: {summary}")


def validate(
    output_format: ValidateFormat = typer.Option(ValidateFormat.TEXT, "--format", "-f", help="Output format."),
    spec_path: Path | None = typer.Option(
        None, "--spec", help="The spec folder or file (default: spec/ in this folder or a parent)."
    ),
    configs: Path = typer.Option(Path("configs"), "--configs", help="The configs folder to lint."),
    run_dir: Path | None = typer.Option(
        None, "--run-dir", help="A run folder: iso-sparsity is verified for the checkpoints found under it."
    ),
    data_dir: Path | None = typer.Option(
        None, "--data-dir", help="Local data in the jobs' layout (default: the Hugging Face cache, offline)."
    ),
    only: list[str] = typer.Option(
        [], "--check", help="Run only this area (repeatable): variants, hyperparameters, data, profiling, iso-sparsity."
    ),
) -> None:
    """Validate the experimental setup: the 7 variants build with the spec's parameter counts, the configs hold
    the paper's hyperparameters, WikiText-103 and GLUE load offline, profiling works here (and whether this is the
    paper's hardware), and checkpoints under --run-dir are iso-sparse. Each check passes, warns, fails or is
    skipped with the reason."""
    from sdmspec.validate import ValidateOptions, validate_setup

    spec = load_spec(spec_path)
    options = ValidateOptions(configs=configs, run_dir=run_dir, data_dir=data_dir)
    report = validate_setup(spec, options, areas=only or None)
    if output_format is ValidateFormat.JSON:
        typer.echo(json.dumps(report.to_json(), indent=2, default=str))
    else:
        print_validation_report(report)
    if report.failed:
        raise typer.Exit(EXIT_FINDINGS)


def register(app: typer.Typer) -> None:
    """Add ``sdmspec validate`` to the app."""
    app.command("validate")(validate)
