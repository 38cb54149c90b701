"""bf16 against fp32 on the fast path, and how long a real step waits for data: full-size Mamba-130m (dense) trained
as the job trains it, side by side in one process.

Each precision (``--precisions``, default bf16,fp32) gets a fresh model (``build_variant``, the scan ``auto`` picks,
``accelerate``'s activation-checkpointing decision, AdamW groups of the job), TF32 and autocast as
:mod:`mamba_sdm.jobs.precision` resolves them, and micro-batches from :class:`mamba_sdm.jobs.feeding.BatchFeeder` over a
generated memory-mapped Arrow dataset (random token ids, benchmarks/bench_data.py's ``make_blocks``). After warm-up
steps, ``--steps`` optimizer steps of ``--accumulation`` micro-batches of 8 x ``--seq-len`` tokens are timed; the table
gives tokens/s and the share of the step the main thread waited for data (``data_wait_s`` in the job's events).

Run: ``python benchmarks/bench_gpu_step.py`` (CUDA); ``.venv/bin/python benchmarks/bench_gpu_step.py --device cpu
--smoke --seq-len 64 --precisions auto,bf16,fp32`` checks the script on a CPU (toy model; bf16 is refused there).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
sys.path.insert(0, str(Path(__file__).parent))

from bench_data import make_blocks


def measure(args: argparse.Namespace, precision_name: str, data: object) -> str:
    import torch

    from mamba_sdm.jobs.acceleration import accelerate, choose_scan
    from mamba_sdm.jobs.feeding import BatchFeeder, tensor_view
    from mamba_sdm.jobs.loop import build_optimizer
    from mamba_sdm.jobs.precision import apply_precision, resolve_precision
    from mamba_sdm.jobs.runtime import Runtime
    from mamba_sdm.jobs.text import collate_lm
    from mamba_sdm.models.variants import build_variant
    from sdmspec.errors import SdmspecError
    from sdmspec.schema import load_spec

    device = torch.device(args.device)
    try:
        precision = resolve_precision(precision_name, device.type)
    except SdmspecError as err:
        return f"| {precision_name} | refused: {err} | - | - | - | - |"
    apply_precision(precision)
    runtime = Runtime(0, 1, 0, device, bf16=precision.bf16, precision=precision)
    model = build_variant(load_spec(None), "mamba-130m-dense", smoke=args.smoke, device=args.device, seed=0)
    acceleration = accelerate(
        model, choose_scan("auto", runtime), "auto", runtime, micro_batch=args.micro, seq_len=args.seq_len
    )
    optimizer = build_optimizer(model, "AdamW", 2e-4, 0.01)
    steps = args.warmup + args.steps
    order = list(range(steps * args.accumulation * args.micro))
    feeder = BatchFeeder(tensor_view(data), collate_lm, order, args.micro, (0, steps * args.accumulation), device)

    def sync() -> None:
        if device.type == "cuda":
            torch.cuda.synchronize()

    with feeder:
        for step in range(steps):
            if step == args.warmup:
                sync()
                feeder.waited_s, started = 0.0, time.perf_counter()
            for _ in range(args.accumulation):
                ids = feeder.next()["input_ids"]
                with torch.autocast(device.type, dtype=torch.bfloat16, enabled=precision.bf16):
                    loss = model(input_ids=ids, labels=ids).loss / args.accumulation
                loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
        sync()
        seconds = time.perf_counter() - started
    tokens = args.steps * args.accumulation * args.micro * args.seq_len
    record = acceleration.record()
    del model, optimizer
    if device.type == "cuda":
        torch.cuda.empty_cache()
    return (
        f"| {precision_name} | {precision.autocast or 'fp32'} | {precision.tf32} | {record['scan']} | "
        f"{tokens / seconds:,.0f} | {feeder.waited_s / seconds:.2%} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--precisions", default="bf16,fp32")
    parser.add_argument("--seq-len", type=int, default=1024)
    parser.add_argument("--micro", type=int, default=8)
    parser.add_argument("--accumulation", type=int, default=4)
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--smoke", action="store_true", help="the toy model (to check the script on a CPU)")
    parser.add_argument("--folder", type=Path, default=Path(tempfile.gettempdir()) / "sdmspec-bench-gpu-step")
    args = parser.parse_args()

    import torch

    blocks = (args.warmup + args.steps) * args.accumulation * args.micro
    args.folder.mkdir(parents=True, exist_ok=True)
    from mamba_sdm.models.build import SMOKE_VOCAB_SIZE, dimensions
    from sdmspec.schema import load_spec

    vocab = SMOKE_VOCAB_SIZE if args.smoke else dimensions(load_spec(None).models["130m"]).vocab_size
    data = make_blocks(args.folder, blocks, args.seq_len, vocab)
    name = torch.cuda.get_device_name() if args.device == "cuda" else "cpu"
    size = "smoke" if args.smoke else "full-size"
    print(
        f"{size} mamba-130m-dense on {name}: {args.accumulation} x {args.micro} x {args.seq_len} tokens a step, "
        f"{args.steps} timed steps after {args.warmup} warm-up"
    )
    print("| precision | autocast | tf32 | scan | tokens/s | data wait / step |")
    print("|---|---|---|---|---|---|")
    for precision in args.precisions.split(","):
        print(measure(args, precision, data), flush=True)


if __name__ == "__main__":
    main()
