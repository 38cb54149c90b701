"""Iso-sparsity: does the challenge baseline have exactly the SDM model's sparsity, by the spec's rule?

Both sides are counted by the project's one count (:func:`sdmspec.checkpoint.sparsity.count_sparsity`), one after
the other and streaming, so two checkpoints are never resident at once. The rule (spec/sparsity.yaml): the global
zero counts may differ by at most ``rule.tolerance``; with ``per_layer`` every layer's zero count must also be within
that tolerance. Prunable sets that differ (a layer on one side only, a shape differing) are always a mismatch, and a
side with no prunable parameter at all is one too (there would be nothing to compare). Being off the spec's target
sparsity is a warning, not a failure: iso-sparsity is about the two models matching each other.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from sdmspec.checkpoint.folders import open_source
from sdmspec.checkpoint.load import CheckpointReader, prunable_items
from sdmspec.checkpoint.result import CheckpointSummary, IsoSparsityResult, LayerComparison, ReadReport
from sdmspec.checkpoint.sources import MappingSource
from sdmspec.checkpoint.sparsity import LayerCount, SparsityCount, count_sparsity, model_sparsity
from sdmspec.schema import PaperSpec, SparsitySpec

if TYPE_CHECKING:
    import torch

    CheckpointLike = Path | str | SparsityCount | Mapping[str, torch.Tensor] | torch.nn.Module

# Called with (side label, elements read so far, elements to read) while a checkpoint is counted.
SideProgress = Callable[[str, int, int], None]
__all__ = [
    "CheckpointSummary",
    "IsoSparsityResult",
    "LayerComparison",
    "ReadReport",
    "compare_counts",
    "verify_iso_sparsity",
]

# Mismatching layers named in the global reason before "and N more".
_NAMED_LAYERS = 5


def compare_counts(
    sdm: SparsityCount,
    challenge: SparsityCount,
    spec: PaperSpec,
    *,
    per_layer: bool | None = None,
    labels: tuple[str, str] = ("sdm", "challenge"),
    warnings: tuple[str, ...] = (),
    reads: tuple[ReadReport | None, ReadReport | None] = (None, None),
) -> IsoSparsityResult:
    """Judge two counts by the spec's iso-sparsity rule (``per_layer`` overrides the spec's); ``reads`` say what
    was read for each side, when it was read from files."""
    rule = spec.sparsity.rule
    per_layer = rule.per_layer if per_layer is None else per_layer
    layers = _compare_layers(sdm, challenge, rule.tolerance)
    reasons: list[str] = []
    for label, count in zip(labels, (sdm, challenge), strict=True):
        if not count.layers:
            reasons.append(f"{label}: no parameter is in the spec's prunable set; there is nothing to compare")
    for layer in layers:
        if None in layer.shapes:
            missing = labels[layer.shapes.index(None)]
            reasons.append(f"{layer.name}: missing from {missing}")
        elif layer.shapes[0] != layer.shapes[1]:
            reasons.append(f"{layer.name}: shape {layer.shapes[0]} in {labels[0]}, {layer.shapes[1]} in {labels[1]}")
    differing = [layer for layer in layers if not layer.match and None not in layer.shapes]
    gap = abs(sdm.zeros - challenge.zeros)
    if gap > rule.tolerance:
        # Per-layer mode names each differing layer in its own reason below.
        named = ", ".join(f"{layer.name} ({layer.zeros[0]} vs {layer.zeros[1]})" for layer in differing[:_NAMED_LAYERS])
        more = f" and {len(differing) - _NAMED_LAYERS} more" if len(differing) > _NAMED_LAYERS else ""
        reasons.append(
            f"zero counts differ by {gap} ({sdm.zeros} in {labels[0]}, {challenge.zeros} in {labels[1]}; "
            f"tolerance {rule.tolerance})" + (f"; layers that differ: {named}{more}" if named and not per_layer else "")
        )
    if per_layer:
        reasons.extend(
            f"{layer.name}: zeros differ by {abs(_int(layer.zeros[0]) - _int(layer.zeros[1]))} "
            f"({layer.zeros[0]} vs {layer.zeros[1]}; tolerance {rule.tolerance} per layer)"
            for layer in differing
            if layer.shapes[0] == layer.shapes[1]
        )
    summaries = (
        _summary(labels[0], sdm, spec.sparsity, reads[0]),
        _summary(labels[1], challenge, spec.sparsity, reads[1]),
    )
    off_target = tuple(
        f"{side.label}: sparsity {side.sparsity:.4f} is {abs(side.sparsity - side.target):.4f} off the spec's target "
        f"{side.target} (tolerance {spec.sparsity.target_tolerance})"
        for side in summaries
        if side.off_target
    )
    return IsoSparsityResult(
        verdict="mismatch" if reasons else "match",
        tolerance=rule.tolerance,
        per_layer=per_layer,
        target=spec.sparsity.target,
        target_tolerance=spec.sparsity.target_tolerance,
        rule_source=rule.source,
        checkpoints=summaries,
        layers=layers,
        reasons=tuple(reasons),
        warnings=(*warnings, *off_target),
    )


def verify_iso_sparsity(
    sdm: CheckpointLike,
    challenge: CheckpointLike,
    spec: PaperSpec,
    *,
    per_layer: bool | None = None,
    labels: tuple[str, str] | None = None,
    progress: SideProgress | None = None,
    device: str | None = None,
) -> IsoSparsityResult:
    """Count both sides (a checkpoint path, a SparsityCount, a state dict, or a live model) and judge them.

    Checkpoints are counted on ``device`` when given (their tensors moved there one at a time), else on the CPU.
    Raises CheckpointError when a checkpoint cannot be read or is refused.
    """
    names = labels or (_label(sdm, "sdm"), _label(challenge, "challenge"))
    counts: list[SparsityCount] = []
    notes: list[str] = []
    reads: list[ReadReport | None] = []
    for label, side in zip(names, (sdm, challenge), strict=True):
        count, side_notes, read = _count(side, label, spec.sparsity, progress, device)
        counts.append(count)
        reads.append(read)
        notes.extend(f"{label}: {note}" for note in side_notes)
    return compare_counts(
        counts[0], counts[1], spec, per_layer=per_layer, labels=names, warnings=tuple(notes),
        reads=(reads[0], reads[1]),
    )  # fmt: skip


def _count(
    side: CheckpointLike, label: str, spec: SparsitySpec, progress: SideProgress | None, device: str | None
) -> tuple[SparsityCount, tuple[str, ...], ReadReport | None]:
    if isinstance(side, SparsityCount):
        return side, (), None
    if isinstance(side, (str, Path)):
        source = open_source(Path(side))
    elif isinstance(side, Mapping):
        source = MappingSource(side, label)
    else:
        return model_sparsity(side, spec), (), None
    try:
        reader = CheckpointReader(Path(label), source)
        report = None if progress is None else lambda done, total: progress(label, done, total)
        dtypes: set[str] = set()
        counted = 0

        def noted(items: Iterator[tuple[str, torch.Tensor]]) -> Iterator[tuple[str, torch.Tensor]]:
            nonlocal counted
            for name, tensor in items:
                dtypes.add(str(tensor.dtype).removeprefix("torch."))
                counted += 1
                yield name, tensor

        count = count_sparsity(noted(prunable_items(reader, spec, report, device)), spec)
        read = ReadReport(source.info.format, source.info.files, tuple(sorted(dtypes)), counted, len(reader.names()))
        return count, reader.warnings, read
    finally:
        source.close()


def _label(side: object, default: str) -> str:
    return str(side) if isinstance(side, (str, Path)) else default


def _int(value: int | None) -> int:
    return 0 if value is None else value


def _summary(label: str, count: SparsityCount, spec: SparsitySpec, read: ReadReport | None) -> CheckpointSummary:
    return CheckpointSummary(
        read=read,
        label=label,
        prunable_numel=count.numel,
        zeros=count.zeros,
        sparsity=count.sparsity,
        target=spec.target,
        off_target=abs(count.sparsity - spec.target) > spec.target_tolerance,
    )


def _compare_layers(sdm: SparsityCount, challenge: SparsityCount, tolerance: int) -> tuple[LayerComparison, ...]:
    left, right = sdm.by_name(), challenge.by_name()
    # sdm's order (natural, from count_sparsity), then layers only the challenge has.
    names = [*left, *(name for name in right if name not in left)]
    return tuple(_layer(name, left.get(name), right.get(name), tolerance) for name in names)


def _layer(name: str, a: LayerCount | None, b: LayerCount | None, tolerance: int) -> LayerComparison:
    match = a is not None and b is not None and a.shape == b.shape and abs(a.zeros - b.zeros) <= tolerance
    return LayerComparison(
        name=name,
        shapes=(a.shape if a else None, b.shape if b else None),
        numels=(a.numel if a else None, b.numel if b else None),
        zeros=(a.zeros if a else None, b.zeros if b else None),
        sparsity=(a.sparsity if a else None, b.sparsity if b else None),
        match=match,
    )
