"""PNG plots of a profile: latency against sequence length, and dense against effective FLOPs, per variant.

matplotlib is imported inside the functions with the Agg backend (no display, safe in threads and on servers).
Titles carry the hardware label, so a figure measured off the spec's hardware says so.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from mamba_sdm.profile.records import ProfileResult
from sdmspec.io import atomic_write_bytes


def _save(figure: Any, path: Path) -> None:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=120, bbox_inches="tight")
    atomic_write_bytes(path, buffer.getvalue())


def _figure(width: float, height: float) -> tuple[Any, Any]:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    # A bare Figure, not pyplot: no global state, nothing left open between calls.
    figure = Figure(figsize=(width, height))
    return figure, figure.add_subplot(1, 1, 1)


def plot_latency(results: Sequence[ProfileResult], path: Path, hardware: str) -> None:
    """Median latency (IQR as error bars) against sequence length, one line per variant and batch size."""
    figure, axes = _figure(7.0, 4.5)
    series: dict[tuple[str, int], list[ProfileResult]] = {}
    for result in results:
        series.setdefault((result.variant, result.batch_size), []).append(result)
    for (variant, batch), points in series.items():
        points = sorted(points, key=lambda r: r.seq_len)
        axes.errorbar(
            [p.seq_len for p in points],
            [p.latency.median for p in points],
            yerr=[p.latency.iqr / 2 for p in points],
            marker="o",
            capsize=3,
            label=f"{variant} (batch {batch})",
        )
    axes.set_xlabel("sequence length (tokens)")
    axes.set_ylabel("forward latency, median (ms)")
    axes.set_title(f"Latency against sequence length [{hardware}]")
    axes.legend(fontsize="small")
    axes.grid(True, alpha=0.3)
    _save(figure, path)


def plot_flops(results: Sequence[ProfileResult], path: Path, hardware: str) -> None:
    """Dense (analytic) against effective GFLOPs per token, per variant (FLOPs per token do not depend on the
    shape, save the conv's padding; the first profiled shape of each variant is shown)."""
    figure, axes = _figure(7.0, 4.5)
    first: dict[str, ProfileResult] = {}
    for result in results:
        first.setdefault(result.variant, result)
    names = list(first)
    dense = [first[n].flops.analytic / first[n].analytic.tokens / 1e9 for n in names]
    effective = [first[n].flops.effective / first[n].analytic.tokens / 1e9 for n in names]
    positions = range(len(names))
    width = 0.4
    axes.bar([p - width / 2 for p in positions], dense, width, label="dense (analytic)")
    axes.bar([p + width / 2 for p in positions], effective, width, label="effective")
    axes.set_xticks(list(positions), names, rotation=30, ha="right", fontsize="small")
    axes.set_ylabel("GFLOPs per token")
    axes.set_title(f"Dense against effective FLOPs [{hardware}]")
    axes.legend(fontsize="small")
    _save(figure, path)
