"""Where the numbers were measured, and whether that is the paper's hardware (spec ``environment.*``).

The comparison is :func:`sdmspec.environment.check_environment` (GPU model and memory, CUDA, PyTorch, each through
its Setting); a run on the CPU is never on the spec's hardware, whatever GPU the machine has.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mamba_sdm.environment_rows import CAUSAL_CONV1D, MAMBA_SSM, pipeline_rows
from mamba_sdm.spec import Spec
from sdmspec.environment import check_environment, probe


@dataclass(frozen=True)
class Hardware:
    """The device profiled on and the environment around it."""

    device: str  # "cpu" or "cuda"
    on_spec_hardware: bool
    gpu: str | None
    gpu_memory_gb: float | None
    cuda: str | None
    pytorch: str | None
    threads: int
    fast_kernels: bool  # mamba-ssm and causal-conv1d usable: the GPU run takes transformers' fast path
    mismatches: tuple[str, ...]  # "gpu: expected NVIDIA A100 80GB, found no CUDA GPU", ...
    environment: dict[str, Any]

    @property
    def label(self) -> str:
        """What titles and tables say about the hardware: the device, marked when it is not the spec's."""
        name = self.gpu if self.device == "cuda" and self.gpu else self.device
        return name if self.on_spec_hardware else f"{name}, off spec hardware"

    def to_json(self) -> dict[str, Any]:
        return {
            "device": self.device,
            "on_spec_hardware": self.on_spec_hardware,
            "gpu": self.gpu,
            "gpu_memory_gb": self.gpu_memory_gb,
            "cuda": self.cuda,
            "pytorch": self.pytorch,
            "threads": self.threads,
            "fast_kernels": self.fast_kernels,
            "mismatches": list(self.mismatches),
            "spec_check": self.environment,
        }


def detect_hardware(spec: Spec, device: str) -> Hardware:
    """Probe the machine and compare it with the spec's environment settings."""
    import torch

    report = check_environment(spec, probe(pipeline_rows(spec)))
    live = report.live
    mismatches = [f"{row.name}: expected {row.expected}, found {row.found}" for row in report.deviations]
    if device != "cuda":
        mismatches.insert(0, f"device: profiled on {device}, the spec's hardware is a GPU")
    return Hardware(
        device=device,
        on_spec_hardware=device == "cuda" and report.matches,
        gpu=live.gpu,
        gpu_memory_gb=live.gpu_memory_gb,
        cuda=live.cuda,
        pytorch=live.torch,
        threads=torch.get_num_threads(),
        fast_kernels=device == "cuda" and live.usable(MAMBA_SSM.name) and live.usable(CAUSAL_CONV1D.name),
        mismatches=tuple(mismatches),
        environment=report.to_json(),
    )
