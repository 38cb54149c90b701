"""``sdmspec docs``: write EXPERIMENTAL_SETUP.md from spec/, or check that the committed copy is current.

Exit codes: 0 written or up to date; 1 with ``--check`` when the file is missing or differs (a short diff is shown);
2 when the spec cannot be read.
"""

from __future__ import annotations

from pathlib import Path

import typer

from sdmspec.errors import EXIT_FINDINGS
from sdmspec.io import file_option
from sdmspec.schema import find_spec_dir, load_spec

DIFF_LINES_SHOWN = 60


def docs(
    check: bool = typer.Option(False, "--check", help="Write nothing; exit 1 when the file differs from the spec."),
    output: Path | None = typer.Option(
        None,
        "--output",
        "-o",
        help="The document (default: EXPERIMENTAL_SETUP.md beside spec/).",
        callback=file_option("--output"),
    ),
    spec_path: Path | None = typer.Option(
        None, "--spec", help="The spec folder or file (default: spec/ in this folder or a parent)."
    ),
) -> None:
    """Write EXPERIMENTAL_SETUP.md from the spec: one part per titled section of its config tree (then data, models
    and variants, sparsity and profiling when the spec has those sections), each value with its source, assumptions
    and TODO sources listed. Deterministic, so CI can check it."""
    from sdmspec.docs import check_setup_doc, default_doc_path, write_setup_doc

    spec_location = spec_path if spec_path is not None else find_spec_dir()
    spec = load_spec(spec_location)
    path = output if output is not None else default_doc_path(spec_location)
    if not check:
        changed = write_setup_doc(path, spec)
        typer.echo(f"{'wrote' if changed else 'unchanged:'} {path}")
        return
    result = check_setup_doc(path, spec)
    if result.up_to_date:
        typer.echo(f"{path} is up to date")
        return
    if not result.exists:
        typer.echo(f"{path} is missing; run `sdmspec docs` to write it", err=True)
        raise typer.Exit(EXIT_FINDINGS)
    lines = [line.rstrip("\n") for line in result.diff]
    for line in lines[:DIFF_LINES_SHOWN]:
        typer.echo(line)
    if len(lines) > DIFF_LINES_SHOWN:
        typer.echo(f"... {len(lines) - DIFF_LINES_SHOWN} more diff lines")
    typer.echo(f"{path} differs from the spec; run `sdmspec docs` to regenerate it", err=True)
    raise typer.Exit(EXIT_FINDINGS)


def register(app: typer.Typer) -> None:
    """Add ``sdmspec docs`` to the app."""
    app.command("docs")(docs)
