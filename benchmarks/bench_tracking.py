"""What `--report-to` costs a job: the time ``MetricsLog.log`` holds the training loop per `train` event with no
tracker, with TensorBoard (SummaryWriter, event files) and with MLflow (MlflowClient on a local SQLite store), side by
side in one run on the same events; and, beside it, the time the trackers' background thread takes to send them
(which overlaps training; on a GPU run the loop mostly waits for the device).

Each configuration logs ``--events`` train events (the fields a real `train` event carries) into a fresh folder and
then waits until the trackers have sent everything. A job logs one such event every ``--log-every`` optimizer steps
(10 by default, 1 at smoke scale).

Run: ``.venv/bin/python benchmarks/bench_tracking.py [--events 300] [--repeats 3]``
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path


def _event(step: int) -> dict[str, float | int]:
    return {
        "step": step, "total_steps": 100_000, "epoch": 0, "loss": 3.0 + 1.0 / step, "lr": 2e-4, "grad_norm": 0.8,
        "tokens_per_s": 61_000.0, "eta_s": 36_000.0, "data_wait_s": 0.0004, "skipped_steps": 0, "sparsity": 0.5,
    }  # fmt: skip


def _run(trackers: list[str], folder: Path, events: int) -> tuple[float, float, float]:
    """(seconds the trackers took to start, in the background; seconds per event that log() holds the caller;
    seconds per event until every event was sent)."""
    from mamba_sdm.jobs.metrics import MetricsLog
    from sdmspec.tracking import reporting

    os.environ["MLFLOW_TRACKING_URI"] = f"sqlite:///{folder / 'mlflow.db'}"
    with reporting(trackers, run_name="bench"):
        log = MetricsLog(folder / "metrics.jsonl", enabled=True)
        start = time.perf_counter()
        log.log("setup", step=0)  # opens the trackers (MLflow: creates the SQLite store's tables)
        if log.trackers is not None:
            log.trackers.flush()
        started = time.perf_counter() - start
        start = time.perf_counter()
        for step in range(1, events + 1):
            log.log("train", **_event(step))
        held = (time.perf_counter() - start) / events
        if log.trackers is not None:
            log.trackers.flush()
        sent = (time.perf_counter() - start) / events
    return started, held, sent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=500)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    configurations = {"none": [], "tensorboard": ["tensorboard"], "mlflow (sqlite)": ["mlflow"]}
    machine = f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs"
    print(f"machine: {machine}; python {platform.python_version()}; {args.events} events, median of {args.repeats}")
    print(f"{'trackers':<18} {'start (s)':>10} {'log() holds (ms/event)':>23} {'sent after (ms/event)':>22}")
    for name, trackers in configurations.items():
        runs = []
        for _ in range(args.repeats):
            with tempfile.TemporaryDirectory() as tmp:
                runs.append(_run(trackers, Path(tmp), args.events))
        started, held, sent = (statistics.median(column) for column in zip(*runs, strict=True))
        print(f"{name:<18} {started:>10.3f} {held * 1e3:>23.3f} {sent * 1e3:>22.3f}")

if __name__ == "__main__":
    main()
