"""Feeding the training step: the old main-thread path and the background feeder, side by side on the same data.

Data: ``--blocks`` blocks of ``--seq-len`` random token ids (default 117,000 x 1024: WikiText-103's ~120M training
tokens) in the schema ``lm_blocks`` writes (an ``input_ids`` list<int64> column), saved with ``save_to_disk`` and
read back memory-mapped, as a job reads its tokenization cache. Nothing is downloaded.

* **old**: ``collate_lm(data[order[...]])`` on the main thread (the loop before mamba_sdm.jobs.feeding), then ``.to``;
* **new**: :class:`mamba_sdm.jobs.feeding.BatchFeeder` over the tensor-formatted view (pinned and copied with
  ``non_blocking`` on CUDA).

Reports (1) host time to prepare one micro-batch (median over ``--micro-batches``; the new path's preparation runs in
the background thread, timed there with the same function the thread calls) and (2) a simulated training epoch: each
micro-batch followed by ``--compute-ms`` of device work (``time.sleep``: it releases the GIL, as a thread waiting on
CUDA does), giving the main thread's data wait as a share of the step. Goal (issue 16): host time >= 4x lower, wait
under 1% of a step.

Run: ``.venv/bin/python benchmarks/bench_data.py [--blocks 117000] [--compute-ms 50] [--device cpu|cuda]``
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_DATASETS_OFFLINE", "1")


def make_blocks(folder: Path, blocks: int, seq_len: int, vocab: int = 50_277) -> Any:
    """The random-token dataset (ids below ``vocab``), generated once into ``folder`` and memory-mapped from there."""
    import datasets
    import numpy as np
    import pyarrow as pa

    marker = folder / "bench_data.json"
    wanted = {"blocks": blocks, "seq_len": seq_len, "vocab": vocab}
    if not (marker.is_file() and json.loads(marker.read_text()) == wanted):
        started = time.perf_counter()
        ids = np.random.default_rng(0).integers(0, vocab, size=blocks * seq_len, dtype=np.int64)
        offsets = np.arange(0, blocks * seq_len + 1, seq_len, dtype=np.int32)
        column = pa.ListArray.from_arrays(pa.array(offsets), pa.array(ids))
        datasets.Dataset(pa.table({"input_ids": column})).save_to_disk(str(folder / "blocks"))
        marker.write_text(json.dumps(wanted))
        print(f"generated {blocks:,} x {seq_len} tokens in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    return datasets.load_from_disk(str(folder / "blocks"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--blocks", type=int, default=117_000)
    parser.add_argument("--seq-len", type=int, default=1024)
    parser.add_argument("--micro", type=int, default=8, help="micro-batch size (the paper's Phase A: 8)")
    parser.add_argument("--micro-batches", type=int, default=300, help="micro-batches timed per path")
    parser.add_argument("--compute-ms", type=float, default=50.0, help="simulated device time per micro-batch")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--folder", type=Path, default=Path(tempfile.gettempdir()) / "sdmspec-bench-data")
    args = parser.parse_args()

    import torch
    from torch.utils.data import DistributedSampler

    from mamba_sdm.jobs.feeding import BatchFeeder, prepare, tensor_view
    from mamba_sdm.jobs.text import collate_lm

    args.folder.mkdir(parents=True, exist_ok=True)
    data = make_blocks(args.folder, args.blocks, args.seq_len)
    device = torch.device(args.device)
    sampler: DistributedSampler[int] = DistributedSampler(data, num_replicas=1, rank=0, seed=0)
    order = list(sampler)
    count, micro = args.micro_batches, args.micro
    rows = tensor_view(data)

    def old_batch(index: int) -> dict[str, torch.Tensor]:
        batch = collate_lm(data[order[index * micro : (index + 1) * micro]])
        return {key: value.to(device) for key, value in batch.items()}

    def timed(make: Any, indices: range) -> list[float]:
        seconds = []
        for index in indices:
            started = time.perf_counter()
            make(index)
            seconds.append(time.perf_counter() - started)
        return seconds

    # Interleaved halves, so load on the (shared) machine falls on both paths alike.
    half = count // 2
    old_s = timed(old_batch, range(half))
    new_s = timed(lambda i: prepare(rows, collate_lm, order, micro, i), range(half, 2 * half))
    old_s += timed(old_batch, range(2 * half, 3 * half))
    new_s += timed(lambda i: prepare(rows, collate_lm, order, micro, i), range(3 * half, 4 * half))
    old_host, new_host = statistics.median(old_s), statistics.median(new_s)

    compute = args.compute_ms / 1000
    start = 4 * half
    old_wait = 0.0
    old_started = time.perf_counter()
    for index in range(start, start + count):
        began = time.perf_counter()
        old_batch(index)
        old_wait += time.perf_counter() - began
        time.sleep(compute)
    old_total = time.perf_counter() - old_started
    start += count
    # One untimed micro-batch first, as for the old path (whose first call above came before timing): the thread's
    # start and the formatter's first call are paid once per epoch, not per step.
    with BatchFeeder(rows, collate_lm, order, micro, (start, start + count + 1), device) as feeder:
        feeder.next()
        feeder.waited_s = 0.0
        new_started = time.perf_counter()
        for _ in range(count):
            feeder.next()
            time.sleep(compute)
        new_total = time.perf_counter() - new_started

    name = torch.cuda.get_device_name() if device.type == "cuda" else platform.processor() or platform.machine()
    print(
        f"machine: {name}, {os.cpu_count()} CPUs, torch {torch.__version__}; data: {len(data):,} blocks x "
        f"{args.seq_len} tokens (memory-mapped Arrow); micro-batch {micro}; {count} micro-batches a path"
    )
    print("| path | host ms / micro-batch (median) | data wait / step | simulated step |")
    print("|---|---|---|---|")
    print(
        f"| old: main-thread collate | {old_host * 1e3:.3f} | {old_wait / old_total:.2%} | "
        f"{args.compute_ms:g} ms compute / micro-batch |"
    )
    print(
        f"| new: tensor view + background feeder | {new_host * 1e3:.3f} | {feeder.waited_s / new_total:.2%} | "
        f"{args.compute_ms:g} ms compute / micro-batch |"
    )
    print(f"host time ratio old/new: {old_host / new_host:.1f}x (goal >= 4x); new wait share goal < 1%")


if __name__ == "__main__":
    main()
