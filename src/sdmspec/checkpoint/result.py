"""The verdict of an iso-sparsity check as plain frozen records; ``to_json()`` is verify-sparsity's JSON contract."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class ReadReport:
    """What was read for one side: the format, the files, the dtypes of the tensors counted, how many were counted
    (the prunable ones) out of how many the checkpoint holds."""

    format: str
    files: tuple[str, ...]
    dtypes: tuple[str, ...]
    tensors_counted: int
    tensors_total: int

    def to_json(self) -> dict[str, object]:
        return {
            "format": self.format,
            "files": list(self.files),
            "dtypes": list(self.dtypes),
            "tensors_counted": self.tensors_counted,
            "tensors_total": self.tensors_total,
        }

    def describe(self) -> str:
        """One line: "safetensors, model/model.safetensors; float32; 8 of 22 tensors counted"."""
        files = ", ".join(self.files) if len(self.files) <= 3 else f"{self.files[0]} and {len(self.files) - 1} more"
        dtypes = "/".join(self.dtypes) or "no tensor read"
        where = f", {files}" if files else ""
        return f"{self.format}{where}; {dtypes}; {self.tensors_counted} of {self.tensors_total} tensors counted"


@dataclass(frozen=True)
class CheckpointSummary:
    """One side's totals over the prunable set, how far it is from the spec's target, and what was read (None for
    a count, a state dict or a live model given directly)."""

    label: str
    prunable_numel: int
    zeros: int
    sparsity: float
    target: float
    off_target: bool
    read: ReadReport | None = None


@dataclass(frozen=True)
class LayerComparison:
    """One prunable layer on both sides (``None`` where a side lacks it)."""

    name: str
    shapes: tuple[tuple[int, ...] | None, tuple[int, ...] | None]
    numels: tuple[int | None, int | None]
    zeros: tuple[int | None, int | None]
    sparsity: tuple[float | None, float | None]
    match: bool

    @property
    def numel(self) -> int:
        return next(numel for numel in self.numels if numel is not None)


@dataclass(frozen=True)
class IsoSparsityResult:
    """The verdict and everything behind it; ``to_json()`` is the stable JSON contract of verify-sparsity."""

    verdict: Literal["match", "mismatch"]
    tolerance: int
    per_layer: bool
    target: float
    target_tolerance: float
    rule_source: str
    checkpoints: tuple[CheckpointSummary, CheckpointSummary]
    layers: tuple[LayerComparison, ...]
    reasons: tuple[str, ...]
    warnings: tuple[str, ...]

    @property
    def passed(self) -> bool:
        return self.verdict == "match"

    def to_json(self) -> dict[str, object]:
        return {
            "verdict": self.verdict,
            "rule": {
                "tolerance": self.tolerance,
                "per_layer": self.per_layer,
                "target": self.target,
                "target_tolerance": self.target_tolerance,
                "source": self.rule_source,
            },
            "checkpoints": [
                {
                    "path": side.label,
                    "prunable_numel": side.prunable_numel,
                    "zeros": side.zeros,
                    "sparsity": side.sparsity,
                    "off_target": side.off_target,
                    "read": side.read.to_json() if side.read is not None else None,
                }
                for side in self.checkpoints
            ],
            "layers": [
                {
                    "name": layer.name,
                    "numel": layer.numel,
                    "shapes": [list(shape) if shape is not None else None for shape in layer.shapes],
                    "zeros": list(layer.zeros),
                    "sparsity": list(layer.sparsity),
                    "match": layer.match,
                }
                for layer in self.layers
            ],
            "reasons": list(self.reasons),
            "warnings": list(self.warnings),
        }
