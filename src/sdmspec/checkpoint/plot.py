"""Per-layer sparsity of both models side by side, as an image (matplotlib, Agg: no display needed)."""

from __future__ import annotations

from pathlib import Path

from sdmspec.checkpoint.verify import IsoSparsityResult
from sdmspec.errors import SdmspecError
from sdmspec.io import atomic_save

_MISMATCH_COLOR = "#c62828"
# Image formats --plot accepts, by file suffix.
PLOT_FORMATS = ("png", "svg", "pdf")


def plot_layer_sparsity(result: IsoSparsityResult, path: Path) -> None:
    """Draw grouped bars (one pair per prunable layer) with the spec's target as a line; layers that differ are
    labelled in red. The format follows the file's suffix (png, svg, pdf); the file is written atomically."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fmt = plot_format(path)
    names = [layer.name for layer in result.layers]
    width = 0.4
    positions = range(len(names))
    figure, axes = plt.subplots(figsize=(min(max(6.0, 0.28 * len(names) + 2), 60.0), 4.5), layout="constrained")
    try:
        sides = zip(("SDM", "challenge"), result.checkpoints, (-width / 2, width / 2), strict=True)
        for side, (role, summary, offset) in enumerate(sides):
            values = [layer.sparsity[side] or 0.0 for layer in result.layers]
            label = f"{role} ({Path(summary.label).name or summary.label}): {summary.sparsity:.4f} overall"
            axes.bar([x + offset for x in positions], values, width, label=label)
        axes.axhline(result.target, color="black", linestyle="--", linewidth=1, label=f"target {result.target}")
        axes.set_xticks(list(positions), [_short(name) for name in names], rotation=90, fontsize=7)
        for tick, layer in zip(axes.get_xticklabels(), result.layers, strict=True):
            if not layer.match:
                tick.set_color(_MISMATCH_COLOR)
        axes.set_ylabel("sparsity (fraction of zeros)")
        axes.set_ylim(0, 1)
        axes.set_title(f"Per-layer sparsity: {result.verdict} (tolerance {result.tolerance} zeros)")
        axes.legend(loc="upper right", fontsize=8)
        atomic_save(path, lambda tmp: figure.savefig(tmp, format=fmt, dpi=120))
    finally:
        plt.close(figure)


def plot_format(path: Path) -> str:
    """The image format for ``path`` (by suffix; png when it has none); SdmspecError for an unsupported one."""
    fmt = path.suffix.lstrip(".").lower() or "png"
    if fmt not in PLOT_FORMATS:
        raise SdmspecError(f"{path}: cannot draw a .{fmt} plot; use one of {', '.join(PLOT_FORMATS)}")
    return fmt


def _short(name: str) -> str:
    # "backbone.layers.3.mixer.in_proj" -> "3.in_proj": the rest is the same for every prunable layer.
    return name.removeprefix("backbone.layers.").replace(".mixer.", ".")
