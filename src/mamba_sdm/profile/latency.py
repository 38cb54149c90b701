"""Latency the way a benchmark measures it, and where the time goes.

The headline figure comes from ``torch.utils.benchmark.Timer.adaptive_autorange``: explicit warm-up passes first
(Triton autotuning and allocator growth make first calls slow, state-spaces/mamba#355), then repeated blocks until
the median is stable, reported as median and interquartile range, never as a mean of a few runs. On CUDA the Timer
synchronises the device around each block, so kernels are timed to completion. The trace is a separate
``torch.profiler`` pass (profiling overhead must not leak into the headline figure).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sdmspec.io import atomic_save, atomic_write_text

if TYPE_CHECKING:
    import torch

WARMUP_RUNS = 3
TOP_OPERATORS = 25


@dataclass(frozen=True)
class Latency:
    """One forward pass's wall time in milliseconds: median and interquartile range over ``runs`` blocks of
    ``number_per_run`` calls each, measured with ``threads`` intra-op threads after ``warmup_runs`` warm-up calls."""

    median: float
    iqr: float
    mean: float
    runs: int
    number_per_run: int
    warmup_runs: int
    threads: int

    def to_json(self) -> dict[str, float | int]:
        return {
            "median": self.median,
            "iqr": self.iqr,
            "mean": self.mean,
            "runs": self.runs,
            "number_per_run": self.number_per_run,
            "warmup_runs": self.warmup_runs,
            "threads": self.threads,
        }


def _forward(model: torch.nn.Module, input_ids: torch.Tensor) -> Any:
    return model(input_ids=input_ids, use_cache=False).logits


def measure_latency(
    model: torch.nn.Module, input_ids: torch.Tensor, *, min_run_time: float, max_run_time: float
) -> Latency:
    """Time ``model``'s forward pass (prefill over ``input_ids``, no cache) under ``torch.inference_mode``."""
    import torch
    from torch.utils import benchmark

    threads = torch.get_num_threads()
    with torch.inference_mode():
        for _ in range(WARMUP_RUNS):
            _forward(model, input_ids)
        if input_ids.is_cuda:
            torch.cuda.synchronize()
        timer = benchmark.Timer(
            stmt="forward(model, input_ids)",
            globals={"forward": _forward, "model": model, "input_ids": input_ids},
            num_threads=threads,  # the Timer's default is 1 thread: measure what the run really uses
        )
        measurement = timer.adaptive_autorange(min_run_time=min_run_time, max_run_time=max_run_time)
    return Latency(
        median=measurement.median * 1e3,
        iqr=measurement.iqr * 1e3,
        mean=measurement.mean * 1e3,
        runs=len(measurement.times),
        number_per_run=int(measurement.number_per_run),
        warmup_runs=WARMUP_RUNS,
        threads=threads,
    )


def write_trace(model: torch.nn.Module, input_ids: torch.Tensor, trace_path: Path, table_path: Path) -> None:
    """One profiled forward pass: a Chrome trace (open in chrome://tracing or Perfetto) and a top-operators table."""
    import torch
    from torch.profiler import ProfilerActivity, profile

    activities = [ProfilerActivity.CPU]
    if input_ids.is_cuda:
        activities.append(ProfilerActivity.CUDA)
    with torch.inference_mode():
        _forward(model, input_ids)  # warm-up outside the trace
        with profile(activities=activities, record_shapes=True) as prof:
            _forward(model, input_ids)
            if input_ids.is_cuda:
                torch.cuda.synchronize()
    atomic_save(trace_path, lambda tmp: prof.export_chrome_trace(str(tmp)))
    sort_by = "self_cuda_time_total" if input_ids.is_cuda else "self_cpu_time_total"
    table = prof.key_averages().table(sort_by=sort_by, row_limit=TOP_OPERATORS)
    atomic_write_text(table_path, table + "\n")
