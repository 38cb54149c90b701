"""``sdmspec validate``: one report on whether this machine and repo can reproduce the paper's experimental setup.

Exit codes: 0 when no check fails (warnings and skips included), 1 when one fails, 2 when the spec cannot be read
or an option is wrong.

The output is the report alone: what the libraries print while the checks run (transformers' kernel-fallback
warnings, torch.profiler's lines, Python warnings) goes to a log file, named in the report's last line (``log`` in
JSON), or to the terminal with ``--verbose``.
"""

from __future__ import annotations

import json
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from sdmspec.cli import choices
from sdmspec.errors import EXIT_FINDINGS
from sdmspec.schema import load_spec

if TYPE_CHECKING:
    from sdmspec.capture import CapturedOutput
    from sdmspec.validate import ValidationReport


class ValidateFormat(str, Enum):
    TEXT = "text"
    JSON = "json"


_STATUS_STYLE = {"pass": "green", "warn": "yellow", "fail": "red", "skip": "dim"}


def print_validation_report(report: ValidationReport, captured: CapturedOutput | None = None) -> None:
    """The checks as a rich table, a one-line summary, then where the libraries' messages went (if they spoke)."""
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
    if captured is not None and captured.lines:
        console.print(
            f"[dim]library output ({captured.lines} line(s)) went to {escape(str(captured.path))};"
            " --verbose prints it instead[/]",
            soft_wrap=True,
        )


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
    device: str = typer.Option(
        "auto",
        "--device",
        metavar=choices.DEVICE,
        help="Where the profiling check times the model: auto (the GPU when there is one), cpu or cuda.",
    ),
    verbose: bool = typer.Option(
        False, "--verbose", "-v", help="Let the libraries' messages (transformers, torch...) through as they come."
    ),
    log: Path | None = typer.Option(
        None,
        "--log",
        help="Where the libraries' messages go without --verbose (default: ~/.cache/sdmspec/validate.log, or under"
        " $XDG_CACHE_HOME); rewritten by every run.",
    ),
) -> None:
    """Validate the experimental setup: the 7 variants build with the spec's parameter counts, the configs hold
    the paper's hyperparameters, WikiText-103 and GLUE load offline, profiling works here (and whether this is the
    paper's hardware), and checkpoints under --run-dir are iso-sparse. Each check passes, warns, fails or is
    skipped with the reason."""
    from sdmspec.capture import capture_output, default_log_path
    from sdmspec.device import resolve_device
    from sdmspec.validate import ValidateOptions, validate_setup

    resolve_device(device)  # an unknown name, or cuda without a GPU: one line, exit 2, before any check runs
    spec = load_spec(spec_path)
    options = ValidateOptions(configs=configs, run_dir=run_dir, data_dir=data_dir, device=device)
    captured = None
    if verbose:
        report = validate_setup(spec, options, areas=only or None)
    else:
        with capture_output(log or default_log_path()) as captured:
            report = validate_setup(spec, options, areas=only or None)
    if output_format is ValidateFormat.JSON:
        document = report.to_json()
        document["log"] = None if captured is None else {"path": str(captured.path), "lines": captured.lines}
        typer.echo(json.dumps(document, indent=2, default=str))
    else:
        print_validation_report(report, captured)
    if report.failed:
        raise typer.Exit(EXIT_FINDINGS)


def register(app: typer.Typer) -> None:
    """Add ``sdmspec validate`` to the app."""
    app.command("validate")(validate)
