"""Does profiling work on this machine, and is this the paper's hardware?

A smoke-size Mamba (the same code path as the full model) runs one forward pass under torch's FlopCounterMode,
under the spec's FLOP counter (fvcore) and under torch.profiler, and is timed with torch.utils.benchmark. The counts
are compared with the closed form of :mod:`mamba_sdm.profile.analytic` (counters that disagree with it would make the
paper's FLOP figures unreproducible). Latency measured on other hardware than the paper's is not comparable: warn.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from mamba_sdm.spec import Spec
from sdmspec.validate.report import CheckResult, CheckStatus, ValidateOptions

if TYPE_CHECKING:
    import torch

SMOKE_SEQ_LEN = 64
# FlopCounterMode also counts small matmuls of the reference scan; 10% is far above that and far below a miscount.
AGREEMENT = 0.10
MIN_RUN_TIME_S = 0.3


def _fvcore_macs(model: torch.nn.Module, ids: torch.Tensor) -> int:
    """fvcore's count (one multiply-add = one "flop"), on a wrapper returning logits only: its JIT tracer cannot
    follow transformers' cache objects."""
    import torch
    from fvcore.nn import FlopCountAnalysis

    class LogitsOnly(torch.nn.Module):
        def __init__(self, inner: torch.nn.Module) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
            return self.inner(input_ids=input_ids, use_cache=False).logits  # type: ignore[no-any-return]

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # TracerWarnings from data-dependent Python branches in transformers
        analysis = FlopCountAnalysis(LogitsOnly(model), (ids,))
        analysis.unsupported_ops_warnings(False).uncalled_modules_warnings(False)
        return int(analysis.total())


def _measure(spec: Spec, requested_device: str) -> dict[str, Any]:
    import torch
    from torch.utils import benchmark
    from torch.utils.flop_counter import FlopCounterMode

    from mamba_sdm.models.build import build_model
    from mamba_sdm.profile.analytic import MambaShape, analytic_flops

    size = next(iter(spec.models))
    model = build_model(spec, size, smoke=True, seed=0)
    torch.nn.Module.eval(model)  # inference: no dropout, no autograd graph kept
    ids = torch.randint(0, int(model.config.vocab_size), (1, SMOKE_SEQ_LEN), generator=torch.Generator().manual_seed(0))
    # FLOPs are counted on CPU, on transformers' reference path: on a GPU with mamba-ssm the fused kernels hide the
    # conv and the scan from the counters. Latency is measured where the jobs run: the GPU when there is one.
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        model(input_ids=ids)
    figures: dict[str, Any] = {"model": f"{size} smoke overlay", "tokens": SMOKE_SEQ_LEN}
    figures["flop_counter_flops"] = int(counter.get_total_flops())
    if spec.profiling.flops_tool == "fvcore":
        try:
            figures["fvcore_macs"] = _fvcore_macs(model, ids)
        except ModuleNotFoundError:
            figures["fvcore_macs"] = None
    analytic = analytic_flops(MambaShape.from_config(model.config), SMOKE_SEQ_LEN)
    figures["analytic_weight_macs"] = analytic.weight_macs
    figures["analytic_weight_flops"] = 2 * analytic.weight_macs
    from mamba_sdm.models.scan import apply_scan, resolve_scan
    from sdmspec.device import resolve_device

    # `sdmspec validate --device cuda` refuses a machine without a GPU before any check runs.
    device = resolve_device(requested_device)
    model, ids = torch.nn.Module.to(model, device), ids.to(device)
    # Timed on the scan the jobs would use on this device (the counts above ran on the reference loop).
    scan = resolve_scan("auto", device)
    apply_scan(model, scan)
    figures["scan"] = scan.path.value
    activities = [torch.profiler.ProfilerActivity.CPU]
    if device == "cuda":
        activities.append(torch.profiler.ProfilerActivity.CUDA)
    with torch.no_grad():
        with torch.profiler.profile(activities=activities) as prof:
            model(input_ids=ids)
        timer = benchmark.Timer(stmt="model(input_ids=ids)", globals={"model": model, "ids": ids})
        median_ms = timer.blocked_autorange(min_run_time=MIN_RUN_TIME_S).median * 1e3
    figures["profiler_events"] = len(prof.key_averages())
    figures["median_latency_ms"] = round(median_ms, 3)
    figures["device"] = torch.cuda.get_device_name(0) if device == "cuda" else "cpu"
    return figures


def _off(counted: int, expected: int) -> float:
    return abs(counted - expected) / expected


def check_profiling(spec: Spec, options: ValidateOptions) -> Iterator[CheckResult]:
    """One result for the measurement, one for the hardware it ran on."""
    figures = _measure(spec, options.device)
    problems, notes = [], []
    flops, analytic = figures["flop_counter_flops"], figures["analytic_weight_flops"]
    if _off(flops, analytic) > AGREEMENT:
        problems.append(f"FlopCounterMode counted {flops:,} FLOPs, the closed form gives {analytic:,}")
    fvcore = figures.get("fvcore_macs", "not used")
    if fvcore is None:
        notes.append(f"fvcore (the spec's FLOP counter: {spec.profiling.source}) is not installed")
    elif isinstance(fvcore, int) and _off(fvcore, figures["analytic_weight_macs"]) > AGREEMENT:
        problems.append(f"fvcore counted {fvcore:,} MACs, the closed form gives {figures['analytic_weight_macs']:,}")
    if figures["profiler_events"] == 0:
        problems.append("torch.profiler recorded no events")
    fvcore_text = f", fvcore {fvcore:,} MACs" if isinstance(fvcore, int) else ""
    detail = (
        f"smoke model, {figures['tokens']} tokens: FlopCounterMode {flops:,} FLOPs{fvcore_text} (closed form "
        f"{analytic:,}); torch.profiler {figures['profiler_events']} ops; median latency "
        f"{figures['median_latency_ms']} ms on {figures['device']}, {figures['scan']} scan (torch.utils.benchmark)"
    )
    status = CheckStatus.FAIL if problems else (CheckStatus.WARN if notes else CheckStatus.PASS)
    yield CheckResult("profiling", status, "; ".join([*problems, *notes, detail]), figures)
    yield _hardware(spec)


def _hardware(spec: Spec) -> CheckResult:
    from sdmspec.environment import check_environment

    report = check_environment(spec)
    data = {"rows": [row.to_json() for row in report.rows]}
    if report.matches:
        return CheckResult("profiling: hardware", CheckStatus.PASS, "this machine is the spec's environment", data)
    deviations = "; ".join(f"{row.name}: {row.found} (spec {row.expected})" for row in report.deviations)
    detail = f"not the spec's environment, so latency here is not comparable with the paper's: {deviations}"
    return CheckResult("profiling: hardware", CheckStatus.WARN, detail, data)
