"""Which scan the runner's model stages will use, and why: shown by ``--dry-run``, checked before launching, kept
in the manifest. Each job resolves ``--scan`` again on its own device and records what it ran in its result."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mamba_sdm.models.scan import ScanChoice, resolve_scan
from sdmspec.device import check_device_name, cuda_available
from sdmspec.errors import SdmspecError
from sdmspec.runner.launchers import capabilities

# The stage kinds whose jobs run the model (and take --scan).
MODEL_STAGES = ("pretrain", "finetune", "profile")


@dataclass(frozen=True)
class ExpectedScan:
    """The scan the model stages are expected to run: resolved for ``device`` here, or the reason it cannot be."""

    requested: str
    device: str
    where: str
    choice: ScanChoice | None
    problem: str | None

    def describe(self) -> str:
        if self.choice is None:
            return f"scan: --scan {self.requested} cannot run {self.where}: {self.problem}"
        return f"scan: {self.choice.path.value} {self.where} ({self.choice.reason})"

    def record(self) -> dict[str, Any]:
        record: dict[str, Any] = {"requested": self.requested, "device": self.device, "where": self.where}
        if self.choice is not None:
            record |= self.choice.record()
        if self.problem is not None:
            record["problem"] = self.problem
        return record


def expect_scan(scan: str, requested_device: str, launcher: str) -> ExpectedScan:
    """Resolve ``--scan`` for the device the stages get here (a GPU when there is one, as the jobs' ``auto`` device
    does); with ``launcher`` slurm the nodes decide, and this machine's answer is only indicative."""
    check_device_name(requested_device)
    has_gpu = cuda_available()
    device = requested_device if requested_device != "auto" else ("cuda" if has_gpu else "cpu")
    where = f"on this machine's {device}"
    here = capabilities(launcher).stages_run_here
    if not here:
        where = f"({where}; each node the launcher runs a stage on resolves it again)"
    if device == "cuda" and not has_gpu and here:
        return ExpectedScan(scan, device, where, None, "--device cuda: no CUDA GPU is available here")
    try:
        return ExpectedScan(scan, device, where, resolve_scan(scan, device), None)
    except SdmspecError as err:
        return ExpectedScan(scan, device, where, None, str(err))


# What a finished model stage's result (result.json, profile.json) says about how it ran.
_RESULT_KEYS = ("scan", "scan_requested", "scan_reason", "activation_checkpointing")


def stage_precision(marker: str) -> dict[str, Any] | None:
    """The precision a finished training stage's job recorded in its result.json (``precision``), if it did."""
    from mamba_sdm.jobs.result import read_result

    try:
        precision = read_result(Path(marker)).precision
    except SdmspecError:  # missing or unreadable: the stage's state says so, not this column
        return None
    return precision.model_dump(exclude_unset=True) if precision is not None else None


def stage_acceleration(marker: str) -> dict[str, Any] | None:
    """The scan (and activation checkpointing) a finished stage's job recorded in its marker file, if it did."""
    try:
        result = json.loads(Path(marker).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(result, dict):
        return None
    found = {key: result[key] for key in _RESULT_KEYS if key in result}
    return found or None
