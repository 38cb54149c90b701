"""``sdmspec verify-sparsity SDM CHALLENGE``: prove from two checkpoints that the challenge has the SDM's sparsity.

Exit codes: 0 match, 1 mismatch, 2 a checkpoint that cannot be read or is refused (or a usage error).
"""

from __future__ import annotations

import enum
import io
import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from sdmspec.cli import choices
from sdmspec.errors import EXIT_FINDINGS, EXIT_OK
from sdmspec.io import file_option

if TYPE_CHECKING:
    from sdmspec.checkpoint.verify import IsoSparsityResult

# Show a progress bar when the two checkpoints together are at least this large (and stderr is a terminal).
PROGRESS_MIN_BYTES = 64 * 2**20


class OutputFormat(str, enum.Enum):
    text = "text"
    json = "json"


def verify_sparsity(
    sdm: Path = typer.Argument(
        ..., help="The SDM model: a .pt/.pth/.bin/.safetensors file, a Hugging Face folder, or a job's output folder."
    ),
    challenge: Path = typer.Argument(..., help="The challenge baseline, in any of the same forms."),
    spec_path: Path | None = typer.Option(None, "--spec", help="The spec file or folder (default: the nearest spec/)."),
    per_layer: bool = typer.Option(False, "--per-layer", help="Also require every layer's zero count to match."),
    output_format: OutputFormat = typer.Option(OutputFormat.text, "--format", help="Report format."),
    plot: Path | None = typer.Option(
        None, "--plot", help="Draw per-layer sparsity of both models (.png/.svg/.pdf).", callback=file_option("--plot")
    ),
    output: Path | None = typer.Option(
        None, "--output", "-o", help="Write the report to this file, not stdout.", callback=file_option("--output")
    ),
    device: str = typer.Option("cpu", "--device", metavar=choices.DEVICE, help="Where to count zeros."),
) -> None:
    """Check iso-sparsity: the two checkpoints' zero counts over the spec's prunable set must match by its rule."""
    from sdmspec.checkpoint.plot import plot_format, plot_layer_sparsity
    from sdmspec.checkpoint.verify import verify_iso_sparsity
    from sdmspec.io import atomic_write_text
    from sdmspec.schema import load_spec

    if plot is not None:
        plot_format(plot)  # refuse an unsupported image format before reading gigabytes
    spec = load_spec(spec_path)
    counting_device = _counting_device(device)
    with _progress((sdm, challenge)) as progress:
        result = verify_iso_sparsity(
            sdm, challenge, spec, per_layer=True if per_layer else None, progress=progress, device=counting_device
        )
    if output_format is OutputFormat.json:
        _emit(json.dumps(result.to_json(), indent=2) + "\n", output)
    elif output is not None:
        buffer = io.StringIO()
        _render(result, Console(file=buffer, width=120, highlight=False))
        atomic_write_text(output, buffer.getvalue())
    else:
        # Straight to stdout: colours on a terminal (and NO_COLOR respected), plain text in a pipe.
        _render(result, Console(highlight=False, width=None if sys.stdout.isatty() else 120))
    if plot is not None:
        plot_layer_sparsity(result, plot)
    raise typer.Exit(EXIT_OK if result.passed else EXIT_FINDINGS)


def _counting_device(device: str) -> str | None:
    """None for the CPU (tensors stay as the reader mapped them), else "cuda"; cuda without a GPU is exit 2."""
    from sdmspec.device import resolve_device

    return None if resolve_device(device) == "cpu" else "cuda"


def register(app: typer.Typer) -> None:
    app.command("verify-sparsity")(verify_sparsity)


@contextmanager
def _progress(paths: tuple[Path, Path]) -> Iterator[Callable[[str, int, int], None] | None]:
    console = Console(stderr=True)
    if not console.is_terminal or sum(_size(path) for path in paths) < PROGRESS_MIN_BYTES:
        yield None
        return
    from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeRemainingColumn

    tasks: dict[str, TaskID] = {}
    with Progress(
        TextColumn("{task.description}"), BarColumn(), TimeRemainingColumn(), console=console, transient=True
    ) as bar:

        def update(label: str, done: int, total: int) -> None:
            if label not in tasks:
                tasks[label] = bar.add_task(f"counting {Path(label).name}", total=total)
            bar.update(tasks[label], completed=done)

        yield update


def _size(path: Path) -> int:
    from sdmspec.checkpoint.folders import model_dir

    try:
        if path.is_dir():
            folder = model_dir(path)
            return sum(child.stat().st_size for child in folder.iterdir() if child.is_file())
        return path.stat().st_size
    except OSError:
        return 0  # unreadable: the loader reports it


def _emit(report: str, output: Path | None) -> None:
    from sdmspec.io import atomic_write_text

    if output is None:
        typer.echo(report, nl=False)
    else:
        atomic_write_text(output, report)


def _render(result: IsoSparsityResult, console: Console) -> None:
    sides = Table(title="Iso-sparsity over the prunable set", title_justify="left")
    for column in ("", "checkpoint", "prunable", "zeros", "sparsity", f"target {result.target}"):
        sides.add_column(column, justify="left" if column in ("", "checkpoint") else "right")
    for role, side in zip(("SDM", "challenge"), result.checkpoints, strict=True):
        target = "[yellow]off target[/]" if side.off_target else "ok"
        sides.add_row(
            role, escape(side.label), f"{side.prunable_numel:,}", f"{side.zeros:,}", f"{side.sparsity:.6f}", target
        )
    console.print(sides)
    for role, side in zip(("SDM", "challenge"), result.checkpoints, strict=True):
        if side.read is not None:
            console.print(f"{role} read: {escape(side.read.describe())}", soft_wrap=True)
    rows = Table(title="Per layer" + (" (required to match)" if result.per_layer else ""), title_justify="left")
    for column in ("layer", "numel", "zeros SDM", "zeros challenge", "sparsity SDM", "sparsity challenge", "match"):
        rows.add_column(column, justify="left" if column == "layer" else "right")
    for layer in result.layers:
        zeros = [f"{value:,}" if value is not None else "missing" for value in layer.zeros]
        sparsity = [f"{value:.6f}" if value is not None else "-" for value in layer.sparsity]
        style = None if layer.match else ("red" if result.per_layer or None in layer.shapes else "yellow")
        rows.add_row(layer.name, f"{layer.numel:,}", *zeros, *sparsity, "yes" if layer.match else "no", style=style)
    console.print(rows)
    for warning in result.warnings:
        console.print(f"[yellow]warning:[/] {escape(warning)}")
    if result.passed:
        rule = "every layer" if result.per_layer else "global zero counts"
        console.print(f"[green]MATCH[/]: {rule} equal within {result.tolerance} zeros")
    else:
        console.print("[red]MISMATCH[/]:")
        for reason in result.reasons:
            console.print(f"  - {escape(reason)}")
