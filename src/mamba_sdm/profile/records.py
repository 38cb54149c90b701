"""The profile's results as frozen records, and their JSON and CSV forms (the stable contract of profile.json and
profile.csv: fields may be added, never renamed)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from mamba_sdm.models.scan import ScanChoice
from mamba_sdm.profile.analytic import AnalyticFlops, MambaShape
from mamba_sdm.profile.counters import FvcoreCount, TorchCount
from mamba_sdm.profile.hardware import Hardware
from mamba_sdm.profile.latency import Latency

FLOPS_UNITS = {
    "fvcore": "MACs: fvcore's FlopCountAnalysis counts one multiply-add as one flop (fvcore#69)",
    "torch": "FLOPs: torch.utils.flop_counter.FlopCounterMode counts 2 per multiply-add",
    "analytic": "FLOPs: 2 per weight multiply-add + the selective scan's 9*D_in*N per layer and token",
    "effective": "FLOPs: analytic, with each prunable weight's multiply-adds scaled by its fraction of non-zeros",
}

_COUNTED_ON = {
    "parallel": "transformers' PyTorch path with mambapy's parallel scan",
    "reference": "transformers' PyTorch path with the sequential reference scan",
}


def counting_path(scan: ScanChoice, fvcore_device: str) -> str:
    """profile.json's ``counting_path``: how every count of the run was made."""
    where = _COUNTED_ON.get(scan.path.value, scan.path.value)
    return (
        f"FLOPs counted on {where} (mamba-ssm/causal-conv1d kernels switched off), once per architecture and shape "
        f"and shared by its variants: torch's FlopCounterMode on the meta device, fvcore on {fvcore_device}; "
        "forward pass over batch x seq_len tokens, use_cache=False"
    )


@dataclass(frozen=True)
class FlopCount:
    """fvcore's and FlopCounterMode's counts of one architecture at one (batch size, sequence length). They depend
    on shapes only, so they are counted once and shared by every variant with that architecture (``index`` is what
    each result's ``flop_count`` points at); ``counted_on`` is the variant whose model fvcore traced."""

    index: int
    shape: MambaShape
    batch_size: int
    seq_len: int
    torch: TorchCount
    fvcore: FvcoreCount
    counted_on: str

    def to_json(self, variants: list[str]) -> dict[str, Any]:
        return {
            "index": self.index,
            "shape": asdict(self.shape),
            "batch_size": self.batch_size,
            "seq_len": self.seq_len,
            "variants": variants,
            "counted_on": self.counted_on,
            "torch": {
                "flops": self.torch.flops,
                "scan": self.torch.scan,
                "device": self.torch.device,
                "seconds": round(self.torch.seconds, 4),
            },
            "fvcore": {
                "macs": self.fvcore.macs,
                "scan": self.fvcore.scan,
                "device": self.fvcore.device,
                "seconds": round(self.fvcore.seconds, 4),
            },
        }


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
    latency_path: str  # what the latency ran on, e.g. "parallel scan (mambapy, PyTorch)"
    scan: ScanChoice  # the scan the latency (and the trace) ran on, asked for and resolved, with the reason
    flop_count: int  # the index of the shared FlopCount (profile.json's flop_counts) these FLOPs come from
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
            **self.scan.record(),
            "flop_count": self.flop_count,
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
            **self.scan.record(),
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
    "scan",
    "scan_requested",
    "scan_reason",
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
    scan: ScanChoice  # the latency's scan
    counting_scan: ScanChoice  # the path the counters traced
    flop_counts: tuple[FlopCount, ...] = ()

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
            **self.scan.record(),
            "flops_units": dict(FLOPS_UNITS),
            "counting_path": counting_path(self.counting_scan, self._fvcore_devices()),
            "counting_scan": self.counting_scan.record(),
            "flop_counts": [count.to_json(self._variants_of(count)) for count in self.flop_counts],
            "files": list(self.files),
        }

    def _variants_of(self, count: FlopCount) -> list[str]:
        return list(dict.fromkeys(r.variant for r in self.results if r.flop_count == count.index))

    def _fvcore_devices(self) -> str:
        devices = dict.fromkeys(count.fvcore.device for count in self.flop_counts)
        return " and ".join(devices) or "the profiling device"
