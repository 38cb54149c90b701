"""`sdmspec status OUT`: where a run stands, from another shell or a login node, while it runs or after.

Stages done, running (step/total, ETA, last metrics; only while a process holds the stage's folder), failed (the last
lines of its log), interrupted, stopped (recorded as running, but no process holds it: its runner died), skipped and
pending. Exit 0 whenever the run folder can be read, whatever the stages' states; 2 when it cannot.
"""

from __future__ import annotations

import json
import sys
from enum import Enum
from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from sdmspec.errors import EXIT_OK

_STYLE = {"running": "cyan", "done": "green", "failed": "red", "interrupted": "yellow", "stopped": "yellow"}


class StatusFormat(str, Enum):
    TEXT = "text"
    JSON = "json"


def status(
    out: Path = typer.Argument(..., help="The run folder (`sdmspec run --out`)."),
    output_format: StatusFormat = typer.Option(StatusFormat.TEXT, "--format", help="text or json (one document)."),
    lines: int = typer.Option(10, "--lines", min=0, help="Last lines of each failed stage's log to show."),
) -> None:
    """Show where a run stands: stages done, running (step, ETA, last metrics), failed (log tail), pending."""
    from sdmspec.runner.progress import duration
    from sdmspec.runner.status import run_status

    found = run_status(out.resolve(), lines)
    if output_format is StatusFormat.JSON:
        typer.echo(json.dumps(found.to_json(), indent=2))
        raise typer.Exit(EXIT_OK)
    console = Console(highlight=False, width=None if sys.stdout.isatty() else 160)
    counts = ", ".join(f"{n} {state}" for state, n in found.counts().items())
    runner = f"sdmspec run active ({found.runner})" if found.runner else "no sdmspec run active"
    console.print(f"{escape(str(found.out))}: {counts}; {runner}; manifest updated {found.updated_at}")
    running = [view for view in found.stages if view.state == "running"]
    if running:
        table = Table(box=None, pad_edge=False)
        for column in ("running", "step", "loss", "tokens/s", "ETA", "grad norm", "data wait", "logged"):
            table.add_column(column, justify="left" if column == "running" else "right")
        for view in running:
            p = view.progress
            if p is None:
                table.add_row(escape(view.name), "starting", "", "", "", "", "", "")
                continue
            total = f"/{p.total_steps:,}" if p.total_steps else ""
            table.add_row(
                escape(view.name),
                (f"{p.step:,}" if p.step is not None else "?") + total,
                f"{p.loss:.4g}" if p.loss is not None else "?",
                f"{p.tokens_per_s:,.0f}" if p.tokens_per_s is not None else "?",
                duration(p.eta_s),
                f"{p.grad_norm:.3g}" if p.grad_norm is not None else "?",
                f"{p.data_wait_s * 1000:.1f} ms" if p.data_wait_s is not None else "?",
                f"{duration(p.age_s)} ago",
            )
        console.print(table)
    for view in found.stages:
        if view.state in ("running", "done", "pending"):
            continue
        style = _STYLE.get(view.state, "magenta")
        why = f": {view.message}" if view.message else ""
        console.print(f"[{style}]{view.state:>11}[/] {escape(view.name)}{escape(why)}")
        if view.log and view.state in ("failed", "interrupted", "stopped"):
            console.print(f"            log: {escape(view.log)}")
        for line in view.log_tail:
            console.print(f"            | {escape(line)}")
    pending = [view.name for view in found.stages if view.state == "pending"]
    if pending:
        shown = ", ".join(pending[:6]) + (f" and {len(pending) - 6} more" if len(pending) > 6 else "")
        console.print(f"[dim]{'pending':>11}[/] {escape(shown)}")
    raise typer.Exit(EXIT_OK)


def register(app: typer.Typer) -> None:
    app.command("status")(status)
