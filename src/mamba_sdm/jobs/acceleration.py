"""How a job's model runs on its device: the scan implementation and activation checkpointing, chosen once and
recorded in metrics.jsonl and result.json (see :mod:`mamba_sdm.models.scan` and :mod:`mamba_sdm.models.memory`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mamba_sdm.jobs.runtime import Runtime
from mamba_sdm.models.scan import ScanChoice, resolve_scan

if TYPE_CHECKING:
    import torch


@dataclass(frozen=True)
class Acceleration:
    """The job's resolved scan and its activation-checkpointing decision (:func:`accelerate` makes both)."""

    scan: ScanChoice
    checkpointing: dict[str, Any]
    precision: dict[str, Any] | None = None

    def record(self) -> dict[str, Any]:
        precision = {"precision": self.precision} if self.precision is not None else {}
        return {**self.scan.record(), "activation_checkpointing": self.checkpointing, **precision}


def choose_scan(requested: str, runtime: Runtime) -> ScanChoice:
    """Resolve ``--scan`` for this rank's device before any data is read, so a refusal costs nothing."""
    return resolve_scan(requested, runtime.device.type)


def accelerate(
    model: torch.nn.Module,
    scan: ScanChoice,
    checkpointing: str,
    runtime: Runtime,
    *,
    micro_batch: int,
    seq_len: int,
) -> Acceleration:
    """Set ``model``'s scan and, when asked for or needed to fit the GPU, activation checkpointing (its memory
    estimate made for the precision that will run: bf16 autocast saves bf16 activations)."""
    from mamba_sdm.models.memory import choose_checkpointing, enable_checkpointing
    from mamba_sdm.models.scan import apply_scan

    apply_scan(model, scan)
    decision = choose_checkpointing(checkpointing, model, runtime.device, micro_batch, seq_len, scan, bf16=runtime.bf16)
    if decision.enabled:
        enable_checkpointing(model)
    precision = runtime.precision.record() if runtime.precision is not None else None
    return Acceleration(scan, decision.record(), precision)
