"""The profile's results as frozen records, and their JSON and CSV forms (the stable contract of profile.json and
profile.csv: fields may be added, never renamed)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sdmspec.profile.analytic import AnalyticFlops
from sdmspec.profile.hardware import Hardware
from sdmspec.profile.latency import Latency

FLOPS_UNITS = {
    "fvcore": "MACs: fvcore's FlopCountAnalysis counts one multiply-add as one flop (fvcore#69)",
    "torch": "FLOPs: torch.utils.flop_counter.FlopCounterMode counts 2 per multiply-add",
    "analytic": "FLOPs: 2 per weight multiply-add + the selective scan's 9*D_in*N per layer and token",
    "effective": "FLOPs: analytic, with each prunable weight's multiply-adds scaled by its fraction of non-zeros",
}

COUNTING_PATH = (
    "FLOPs counted on transformers' reference PyTorch path (mamba-ssm/causal-conv1d kernels switched off): torch's "
    "FlopCounterMode on the meta device, fvcore on the CPU; forward pass over batch x seq_len tokens, use_cache=False"
)


@dataclass(frozen=True)
class FlopFigures:
    fvcore: int
    torch: int
    analytic: int
    effective: int

    def to_json(self) -> dict[str, int]:
        return {"fvcore": self.fvcore, "torch": self.torch, "analytic": self.analytic, "effective": self.effective}


@dataclass(frozen=True)
class ProfileResult:
    """One variant at one (batch size, sequence length)."""

    variant: str
    size: str
    method: str
    batch_size: int
    seq_len: int
    flops: FlopFigures
    analytic: AnalyticFlops
    torch_by_operator: dict[str, int]
    fvcore_by_operator: dict[str, int]
    fvcore_skipped_ops: dict[str, int]
    latency: Latency
    hardware: Hardware
    checkpoint: str | None
    sparsity: float
    sparsity_source: str
    latency_path: str  # "reference PyTorch" or "fast kernels (mamba-ssm, causal-conv1d)"
    trace: str | None = None  # relative to the output folder
    top_operators: str | None = None
    notes: tuple[str, ...] = field(default=())

    def to_json(self) -> dict[str, Any]:
        return {
            "variant": self.variant,
            "size": self.size,
            "method": self.method,
            "batch_size": self.batch_size,
            "seq_len": self.seq_len,
            "tokens": self.analytic.tokens,
            "flops": self.flops.to_json(),
            "flops_units": dict(FLOPS_UNITS),
            "flops_per_token": {k: v / self.analytic.tokens for k, v in self.flops.to_json().items()},
            "torch_over_fvcore": self.flops.torch / self.flops.fvcore if self.flops.fvcore else None,
            "analytic_breakdown": self.analytic.to_json(),
            "torch_by_operator": self.torch_by_operator,
            "fvcore_by_operator": self.fvcore_by_operator,
            "fvcore_skipped_ops": self.fvcore_skipped_ops,
            "latency_ms": self.latency.to_json(),
            "latency_path": self.latency_path,
            "device": self.hardware.device,
            "hardware": self.hardware.label,
            "on_spec_hardware": self.hardware.on_spec_hardware,
            "checkpoint": self.checkpoint,
            "sparsity": self.sparsity,
            "sparsity_source": self.sparsity_source,
            "trace": self.trace,
            "top_operators": self.top_operators,
            "notes": list(self.notes),
        }

    def csv_row(self) -> dict[str, Any]:
        return {
            "variant": self.variant,
            "batch_size": self.batch_size,
            "seq_len": self.seq_len,
            "tokens": self.analytic.tokens,
            "flops_fvcore_macs": self.flops.fvcore,
            "flops_torch": self.flops.torch,
            "flops_analytic": self.flops.analytic,
            "flops_effective": self.flops.effective,
            "latency_median_ms": f"{self.latency.median:.6g}",
            "latency_iqr_ms": f"{self.latency.iqr:.6g}",
            "latency_runs": self.latency.runs,
            "threads": self.latency.threads,
            "device": self.hardware.device,
            "hardware": self.hardware.label,
            "on_spec_hardware": self.hardware.on_spec_hardware,
            "sparsity": f"{self.sparsity:.6g}",
            "sparsity_source": self.sparsity_source,
            "checkpoint": self.checkpoint or "",
        }


CSV_COLUMNS = (
    "variant",
    "batch_size",
    "seq_len",
    "tokens",
    "flops_fvcore_macs",
    "flops_torch",
    "flops_analytic",
    "flops_effective",
    "latency_median_ms",
    "latency_iqr_ms",
    "latency_runs",
    "threads",
    "device",
    "hardware",
    "on_spec_hardware",
    "sparsity",
    "sparsity_source",
    "checkpoint",
)


@dataclass(frozen=True)
class ProfileReport:
    """Everything one ``sdmspec profile`` run measured, and the files it wrote (relative to ``out_dir``)."""

    results: tuple[ProfileResult, ...]
    hardware: Hardware
    smoke: bool
    spec_digest: str
    out_dir: Path
    files: tuple[str, ...]
    versions: dict[str, str | None]

    @property
    def on_spec_hardware(self) -> bool:
        return self.hardware.on_spec_hardware

    def to_json(self) -> dict[str, Any]:
        return {
            "results": [result.to_json() for result in self.results],
            "environment": {**self.hardware.to_json(), "versions": self.versions},
            "on_spec_hardware": self.hardware.on_spec_hardware,
            "smoke": self.smoke,
            "spec_digest": self.spec_digest,
            "flops_units": dict(FLOPS_UNITS),
            "counting_path": COUNTING_PATH,
            "files": list(self.files),
        }
