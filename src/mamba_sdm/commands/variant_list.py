"""`sdmspec variants`: the spec's model variants, with full-size parameter counts built on the meta device."""

from __future__ import annotations

import dataclasses
import json
from enum import Enum
from pathlib import Path

import typer

from mamba_sdm.spec import load_mamba_spec


class OutputFormat(str, Enum):
    TEXT = "text"
    JSON = "json"


def variants(
    output_format: OutputFormat = typer.Option(OutputFormat.TEXT, "--format", help="Output format."),
    spec_path: Path | None = typer.Option(None, "--spec", help="The spec directory or file (default: the repo's)."),
) -> None:
    """List the paper's model variants: name, size, method, target sparsity and full-size parameter count."""
    # Builds models on the meta device: torch and transformers load here, never when other commands start.
    from mamba_sdm.models.variants import variant_table

    table = variant_table(load_mamba_spec(spec_path))
    if output_format is OutputFormat.JSON:
        typer.echo(json.dumps([dataclasses.asdict(info) for info in table], indent=2))
        return
    from rich import box
    from rich.console import Console
    from rich.table import Table

    view = Table(title="Model variants", box=box.SIMPLE_HEAD)
    view.add_column("variant", no_wrap=True)
    view.add_column("method", no_wrap=True)
    view.add_column("target", justify="right", no_wrap=True)
    view.add_column("params", justify="right", no_wrap=True)
    view.add_column("matches zeros of")
    for info in table:
        view.add_row(
            info.name + ("*" if info.assumption else ""),
            info.method,
            f"{info.target_sparsity:g}",
            f"{info.params:,}",
            info.match_sparsity_of or "",
        )
    console = Console()
    console.print(view)
    if any(info.assumption for info in table):
        console.print("* assumption: the paper does not list its variants (spec/models.yaml)")


def register(app: typer.Typer) -> None:
    """Add `sdmspec variants` to the app."""
    app.command("variants")(variants)
