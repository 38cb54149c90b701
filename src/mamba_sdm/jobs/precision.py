"""How a training job computes: the spec setting ``training.precision`` (or ``--precision``) resolved for the device.

``auto`` (the spec's assumption; the paper does not say) is bf16 autocast on a CUDA GPU that supports it and fp32
elsewhere (the CPU included: CPU bf16 autocast is slower than fp32 on most CPUs and the smoke runs compare exactly).
``bf16`` refuses a device without bf16 support; ``fp32`` is plain fp32. On Ampere and later GPUs, fp32 matrix
products use TF32 tensor cores (``torch.backends.cuda.matmul.allow_tf32``), as in PyTorch's own guidance: under bf16
autocast that covers what autocast leaves in fp32. Weights, gradients and AdamW's state stay fp32 in every case
(autocast casts on the fly), so a checkpoint does not depend on the precision. ``result.json`` records the outcome.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sdmspec.device import usage_error
from sdmspec.errors import JobError, SdmspecError

PRECISIONS = ("auto", "bf16", "fp32")


@dataclass(frozen=True)
class Precision:
    """What was asked for and what runs: the autocast dtype (None: none), TF32 matmuls, and why."""

    requested: str
    autocast: str | None
    tf32: bool
    reason: str

    @property
    def bf16(self) -> bool:
        return self.autocast == "bf16"

    def record(self) -> dict[str, Any]:
        return {"requested": self.requested, "autocast": self.autocast, "tf32": self.tf32, "reason": self.reason}


def check_precision(requested: str) -> str:
    """Refuse a value outside auto, bf16, fp32 (a usage error: exit 2)."""
    if requested not in PRECISIONS:
        raise SdmspecError(f"precision must be one of {', '.join(PRECISIONS)}, got {requested!r}")
    return requested


def resolve_precision(requested: str, device_type: str) -> Precision:
    """``requested`` (auto, bf16, fp32) for a job on ``device_type`` ("cpu", "cuda"), refused when it cannot run."""
    check_precision(requested)
    bf16_ok, ampere, name = _cuda_support() if device_type == "cuda" else (False, False, device_type)
    if requested == "bf16" and not bf16_ok:
        where = "the CPU" if device_type != "cuda" else f"{name}, which has no bfloat16 support"
        # Like --device cuda without a GPU: an option this machine cannot honour is a usage error (exit 2).
        raise usage_error(
            JobError,
            f"--precision bf16 (or --bf16) needs a CUDA GPU with bfloat16 support; this job would run on {where}",
        )
    tf32_note = "; TF32 matmuls on (Ampere or later)" if ampere else ""
    if requested == "fp32":
        return Precision(requested, None, ampere, f"asked for fp32{tf32_note}")
    if bf16_ok:
        how = "asked for" if requested == "bf16" else f"auto: {name} supports it"
        return Precision(requested, "bf16", ampere, f"bf16 autocast ({how}){tf32_note}")
    why = "no bfloat16 support on " + name if device_type == "cuda" else f"auto: fp32 on {device_type}"
    return Precision(requested, None, ampere, why + tf32_note)


def apply_precision(precision: Precision) -> None:
    """Enable TF32 matmuls and convolutions where the precision says so (process-wide, like the GPU's own mode)."""
    if precision.tf32:
        import torch

        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True


def cuda_bf16() -> bool:
    """Whether the current CUDA device computes bfloat16 natively (Ampere or later). torch's default check also counts
    emulation (a V100 "supports" bf16 through fp32, slower than fp32), and finds that out by allocating on the current
    device, which under torchrun is still GPU 0 for every rank when the precision is resolved."""
    import torch

    return bool(torch.cuda.is_bf16_supported(including_emulation=False))


def _cuda_support() -> tuple[bool, bool, str]:
    """(bf16 supported natively, Ampere or later, device name) of the current CUDA device."""
    import torch

    major, _ = torch.cuda.get_device_capability()
    return cuda_bf16(), major >= 8, torch.cuda.get_device_name()
