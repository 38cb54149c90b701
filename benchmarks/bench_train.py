"""Training throughput (tokens/s) of the Phase A step at smoke scale: CPU always, and CUDA when a GPU is present.

``step``: the job's own optimizer step on a smoke-size Mamba (d_model 64, 2 layers, vocab 512): the variant built by
:func:`sdmspec.models.variants.build_variant`, AdamW groups from :func:`sdmspec.jobs.loop.build_optimizer`, the SDM
strategy attached and its sparsity moved every step (as the pretrain job does), micro-batches with gradient
accumulation. Reports the median of ``--repeats`` timed runs of ``--steps`` optimizer steps after warm-up steps.
``--full`` also times one full-size Mamba-130m step (GPU only: too slow through transformers' reference scan on CPU).
``job``: wall time of ``sdmspec job pretrain --smoke`` and ``sdmspec job finetune --smoke`` as subprocesses (what
``sdmspec run --smoke`` pays per stage, start-up and imports included).

Run: ``.venv/bin/python benchmarks/bench_train.py step [--seq-len 32] [--batch 8] [--micro 4] [--steps 10]``
     ``.venv/bin/python benchmarks/bench_train.py job``
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")


def step_throughput(
    device: str, method: str, seq_len: int, batch: int, micro: int, steps: int, repeats: int, full: bool
) -> float:
    import torch

    from sdmspec.jobs.loop import build_optimizer
    from sdmspec.models.masking import cubic_sparsity, get_strategy
    from sdmspec.models.variants import build_variant
    from sdmspec.schema import load_spec

    spec = load_spec(None)
    model = build_variant(spec, f"mamba-130m-{method}", smoke=not full, device=device, seed=0)
    strategy = get_strategy("sdm") if method == "sdm" else None
    if strategy is not None:
        strategy.attach(model, spec.sparsity)
    optimizer = build_optimizer(model, "AdamW", 2e-4, 0.01)
    vocab = model.config.vocab_size
    generator = torch.Generator().manual_seed(0)
    data = torch.randint(0, vocab, (batch // micro, micro, seq_len), generator=generator).to(device)
    total = steps * (repeats + 1)

    def one_step(step: int) -> None:
        if strategy is not None:
            strategy.set_sparsity(model, cubic_sparsity(step + 1, total, 0.5))
        for ids in data:
            (model(input_ids=ids, labels=ids).loss / len(data)).backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    def sync() -> None:
        if device == "cuda":
            torch.cuda.synchronize()

    for step in range(min(3, steps)):  # warm-up: allocator, autotuning, first-call overheads
        one_step(step)
    times = []
    for repeat in range(repeats):
        sync()
        start = time.perf_counter()
        for step in range(steps):
            one_step(steps * (repeat + 1) + step)
        sync()
        times.append(time.perf_counter() - start)
    return batch * seq_len * steps / statistics.median(times)


def job_wall_times() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        base = [sys.executable, "-m", "sdmspec", "job"]
        runs = {
            "pretrain dense": [*base, "pretrain", "--variant", "mamba-130m-dense", "--out", f"{tmp}/dense"],
            "pretrain sdm": [*base, "pretrain", "--variant", "mamba-130m-sdm", "--out", f"{tmp}/sdm"],
            "challenge": [
                *base, "challenge", "--variant", "mamba-130m-challenge", "--dense", f"{tmp}/dense",
                "--sdm", f"{tmp}/sdm", "--out", f"{tmp}/challenge",
            ],
            "finetune sst2": [
                *base, "finetune", "--variant", "mamba-130m-sdm", "--task", "sst2", "--checkpoint", f"{tmp}/sdm",
                "--out", f"{tmp}/ft-sst2",
            ],
            "finetune mnli": [
                *base, "finetune", "--variant", "mamba-130m-sdm", "--task", "mnli", "--checkpoint", f"{tmp}/sdm",
                "--out", f"{tmp}/ft-mnli",
            ],
        }  # fmt: skip
        # CPU seconds (user + system of the child) say what a stage costs even when other work shares the cores.
        print("| job (--smoke) | wall s | cpu s |")
        print("|---|---|---|")
        for name, argv in runs.items():
            extra = ["--smoke"] + ([] if name == "challenge" else ["--data-dir", str(data), "--quiet"])
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            start = time.perf_counter()
            subprocess.run([*argv, *extra], check=True, capture_output=True)
            wall = time.perf_counter() - start
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
            print(f"| {name} | {wall:.2f} | {cpu:.2f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="what", required=True)
    step = sub.add_parser("step")
    step.add_argument("--seq-len", type=int, default=32)
    step.add_argument("--batch", type=int, default=8)
    step.add_argument("--micro", type=int, default=4)
    step.add_argument("--steps", type=int, default=10)
    step.add_argument("--repeats", type=int, default=3)
    step.add_argument("--threads", type=int, default=1, help="CPU intra-op threads (the smoke jobs use 1)")
    step.add_argument("--full", action="store_true", help="also a full-size Mamba-130m step (GPU only)")
    sub.add_parser("job")
    args = parser.parse_args()
    if args.what == "job":
        job_wall_times()
        return
    import torch

    torch.set_num_threads(args.threads)
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    print(f"smoke model, batch {args.batch} (micro {args.micro}) x {args.seq_len} tokens, {args.steps} steps")
    print("| device | model | method | tokens/s |")
    print("|---|---|---|---|")
    for device in devices:
        for method in ("dense", "sdm"):
            rate = step_throughput(
                device, method, args.seq_len, args.batch, args.micro, args.steps, args.repeats, full=False
            )
            print(f"| {device} | smoke | {method} | {rate:,.0f} |")
        if args.full and device == "cuda":
            for method in ("dense", "sdm"):
                rate = step_throughput(device, method, 1024, 8, 8, 3, 3, full=True)
                print(f"| {device} | 130m full, 8x1024 | {method} | {rate:,.0f} |")


if __name__ == "__main__":
    main()
