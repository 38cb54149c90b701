"""``sdmspec env``: this machine's environment against the spec's (GPU, CUDA, PyTorch, kernels, FLOP counter).

Exit codes: 0 after the report, whatever it finds (it is a report, like ``torch.utils.collect_env``); with
``--strict``, 1 when a gating row (the paper's hardware and versions) does not match; 2 when the spec cannot be read.
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
    from sdmspec.environment import EnvReport


class EnvFormat(str, Enum):
    TEXT = "text"
    JSON = "json"


_STATUS_STYLE = {"ok": "green", "mismatch": "red", "missing": "yellow", "info": "cyan"}


def print_env_report(report: EnvReport) -> None:
    """The rows as a rich table, then the verdict and any probe notes."""
    from rich.console import Console
    from rich.table import Table

    table = Table(title="Environment against the spec", title_justify="left")
    for column in ("check", "expected", "found", "status", "gates run"):
        table.add_column(column, overflow="fold")
    for row in report.rows:
        style = _STATUS_STYLE.get(row.status.value, "")
        table.add_row(
            row.name, row.expected, row.found, f"[{style}]{row.status.value}[/]", "yes" if row.gating else "no"
        )
    console = Console()
    console.print(table)
    for note in report.live.notes:
        console.print(f"note: {note}")
    if report.matches:
        console.print("[green]This machine matches the spec's environment.[/]")
    else:
        names = ", ".join(row.name for row in report.deviations)
        console.print(
            f"[yellow]{len(report.deviations)} gating deviation(s): {names}.[/] `sdmspec run` refuses to start here "
            "unless the deviation is accepted and recorded."
        )


def env(
    output_format: EnvFormat = typer.Option(EnvFormat.TEXT, "--format", "-f", help="Output format."),
    spec_path: Path | None = typer.Option(
        None, "--spec", help="The spec folder or file (default: spec/ in this folder or a parent)."
    ),
    strict: bool = typer.Option(False, "--strict", help="Exit 1 when a gating row does not match the spec."),
) -> None:
    """Compare this machine with the spec's `environment.*` settings (GPU model, memory and count, CUDA, PyTorch
    version and build, Python, any package's version), plus mamba-ssm, causal-conv1d and fvcore when the spec has
    this pipeline's sections. One row each with expected, found and status."""
    from sdmspec.environment import check_environment

    report = check_environment(load_spec(spec_path))
    if output_format is EnvFormat.JSON:
        typer.echo(json.dumps(report.to_json(), indent=2))
    else:
        print_env_report(report)
    if strict and not report.matches:
        raise typer.Exit(EXIT_FINDINGS)


def register(app: typer.Typer) -> None:
    """Add ``sdmspec env`` to the app."""
    app.command("env")(env)
