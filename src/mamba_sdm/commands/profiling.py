"""``sdmspec profile``: FLOPs (fvcore, torch, analytic, effective) and latency per variant; a runner stage too.

Parse, call :func:`mamba_sdm.profile.run_profile`, print a table. torch and the profiling stack load inside the
command only.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from mamba_sdm.commands import choices as pipeline_choices
from sdmspec.cli import choices
from sdmspec.errors import SdmspecError

if TYPE_CHECKING:
    from mamba_sdm.profile import ProfileReport


def _parse_checkpoints(values: list[str]) -> dict[str, Path]:
    checkpoints: dict[str, Path] = {}
    for value in values:
        name, sep, path = value.partition("=")
        if not sep or not name or not path:
            raise SdmspecError(f"--checkpoint takes NAME=PATH (a variant and its checkpoint), got {value!r}")
        if name in checkpoints:
            raise SdmspecError(f"--checkpoint given twice for {name}")
        checkpoints[name] = Path(path)
    return checkpoints


def _print_table(report: ProfileReport) -> None:
    from rich.console import Console
    from rich.table import Table

    hardware = report.hardware.label
    title = f"sdmspec profile [{hardware}]" + (" (smoke)" if report.smoke else "")
    table = Table(title=title, caption=f"latency on the {report.scan.path.value} scan ({report.scan.reason})")
    table.add_column("variant", no_wrap=True)
    for column in ("B", "L", "fvcore GMAC", "torch GFLOP", "analytic GFLOP", "effective GFLOP", "ms median", "ms IQR"):
        table.add_column(column, justify="right")
    for r in report.results:
        table.add_row(
            r.variant,
            str(r.batch_size),
            str(r.seq_len),
            f"{r.flops.fvcore / 1e9:.4g}",
            f"{r.flops.torch / 1e9:.4g}",
            f"{r.flops.analytic / 1e9:.4g}",
            f"{r.flops.effective / 1e9:.4g}",
            f"{r.latency.median:.4g}",
            f"{r.latency.iqr:.2g}",
        )
    console = Console()
    console.print(table)
    if not report.on_spec_hardware:
        console.print("[yellow]off the spec's hardware:[/yellow] " + "; ".join(report.hardware.mismatches))
    console.print(f"wrote {report.out_dir / 'profile.json'} and {len(report.files) - 1} more files")


def profile(
    variant: list[str] = typer.Option(None, "--variant", help="Variant to profile (repeatable; default: all)."),
    checkpoint: list[str] = typer.Option(
        None,
        "--checkpoint",
        metavar="NAME=PATH",
        help="A variant's checkpoint: a Hugging Face model folder or a checkpoint file (repeatable).",
    ),
    batch_size: list[int] = typer.Option(None, "--batch-size", min=1, help="Batch size (repeatable; default: spec)."),
    seq_len: list[int] = typer.Option(None, "--seq-len", min=1, help="Sequence length (repeatable; default: spec)."),
    smoke: bool = typer.Option(False, "--smoke", help="Tiny models and 16/32-token sequences: seconds on a CPU."),
    spec_path: Path | None = typer.Option(None, "--spec", help="Spec file or folder (default: the repo's spec/)."),
    out: Path = typer.Option(..., "--out", help="Output folder: profile.json, profile.csv, plots, traces/."),
    device: str = typer.Option("auto", "--device", metavar=choices.DEVICE, help="auto: cuda when available."),
    scan: str = typer.Option(
        "auto",
        "--scan",
        metavar=pipeline_choices.SCAN,
        help="Mamba's selective scan for the latency: auto (mamba-ssm's kernels where usable, else parallel), "
        "kernels, parallel (mambapy, pure PyTorch) or reference (the sequential loop, slow). FLOPs are counted "
        "on the parallel scan whatever is timed (the same counts as the loop; reference: on the loop). Recorded "
        "in profile.json and profile.csv.",
    ),
    no_trace: bool = typer.Option(False, "--no-trace", help="Skip the torch.profiler traces (large at full size)."),
) -> None:
    """Count FLOPs four ways (fvcore MACs, torch FLOPs, analytic, effective) and time each variant's forward pass."""
    from mamba_sdm.models.scan import parse_scan
    from mamba_sdm.profile import run_profile
    from mamba_sdm.spec import load_mamba_spec
    from sdmspec.device import check_device_name

    check_device_name(device)
    requested = parse_scan(scan)
    report = run_profile(
        load_mamba_spec(spec_path),
        variant or None,
        checkpoints=_parse_checkpoints(checkpoint or []),
        batch_sizes=batch_size or None,
        seq_lens=seq_len or None,
        smoke=smoke,
        out_dir=out,
        device=device,
        scan=requested,
        trace=not no_trace,
        progress=lambda message: typer.echo(f"profiling {message}", err=True),
    )
    _print_table(report)


def register(app: typer.Typer) -> None:
    app.command("profile")(profile)
