"""Training throughput (tokens/s) of the Phase A step on each scan path, side by side in one run.

``step``: the job's own optimizer step: the variant built by :func:`mamba_sdm.models.variants.build_variant`, the scan
and activation checkpointing set by :func:`mamba_sdm.jobs.acceleration.accelerate` (as the jobs do), AdamW groups from
:func:`mamba_sdm.jobs.loop.build_optimizer`, the SDM strategy attached and its sparsity moved every step,
micro-batches with gradient accumulation. Every scan path usable here (``reference``, ``parallel``, ``kernels`` on a
GPU with mamba-ssm) is timed in the same process, and the table gives each path's speed-up over the reference.
Reports the median of ``--repeats`` timed runs of ``--steps`` optimizer steps after warm-up steps; on CUDA also the
peak memory and the fraction of the GPU's dense bf16 peak that 6 x parameters FLOPs a token reach.

``--full`` (CUDA only) also times full-size Mamba-130m and Mamba-370m steps at the paper's micro-batch (8 x 1024
tokens, bf16 autocast, batch = one micro-batch); the reference loop only for the sizes in ``--full-reference``
(a step takes tens of seconds there).

``job``: wall time of ``sdmspec job pretrain --smoke`` and ``sdmspec job finetune --smoke`` as subprocesses (what
``sdmspec run --smoke`` pays per stage, start-up and imports included).

Run: ``.venv/bin/python benchmarks/bench_train.py step [--seq-len 512] [--batch 8] [--micro 4] [--steps 5]``
     ``python benchmarks/bench_train.py step --full --devices cuda``   (on a GPU)
     ``.venv/bin/python benchmarks/bench_train.py job``
"""

from __future__ import annotations

import argparse
import gc
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")

# Dense bf16 tensor-core peak (TFLOP/s, no sparsity) from the vendors' datasheets, by a substring of the device name.
BF16_PEAK_TFLOPS = {
    "H200": 989.0,
    "H100 PCIe": 756.0,
    "H100 NVL": 835.0,
    "H100": 989.0,
    "A100": 312.0,
    "L40S": 362.0,
    "A10": 125.0,
}


@dataclass(frozen=True)
class Measurement:
    tokens_per_s: float
    peak_gib: float | None
    checkpointing: bool
    parameters: int


def bf16_peak_tflops(name: str, override: float | None) -> float | None:
    if override is not None:
        return override
    for key, tflops in BF16_PEAK_TFLOPS.items():
        if key in name:
            return tflops
    return None


def step_throughput(
    device: str,
    method: str,
    scan: str,
    seq_len: int,
    batch: int,
    micro: int,
    steps: int,
    repeats: int,
    *,
    full: bool,
    size: str = "130m",
    bf16: bool = False,
    warmup: int = 2,
) -> Measurement:
    import torch

    from mamba_sdm.jobs.acceleration import accelerate, choose_scan
    from mamba_sdm.jobs.loop import build_optimizer
    from mamba_sdm.jobs.runtime import Runtime
    from mamba_sdm.models.masking import cubic_sparsity, get_strategy
    from mamba_sdm.models.variants import build_variant
    from sdmspec.schema import load_spec

    spec = load_spec(None)
    runtime = Runtime(rank=0, world_size=1, local_rank=0, device=torch.device(device), bf16=bf16)
    model = build_variant(spec, f"mamba-{size}-{method}", smoke=not full, device=device, seed=0)
    # 6 x the model's own weights FLOPs a token (the tied LM head counted once); SDM's scores are left out: they
    # add elementwise work, not matrix products.
    parameters = sum(p.numel() for p in model.parameters())
    strategy = get_strategy("sdm") if method == "sdm" else None
    if strategy is not None:
        strategy.attach(model, spec.sparsity)
    acceleration = accelerate(model, choose_scan(scan, runtime), "auto", runtime, micro_batch=micro, seq_len=seq_len)
    optimizer = build_optimizer(model, "AdamW", 2e-4, 0.01)
    vocab = model.config.vocab_size
    generator = torch.Generator().manual_seed(0)
    data = torch.randint(0, vocab, (batch // micro, micro, seq_len), generator=generator).to(device)
    total = steps * (repeats + 1)

    def one_step(step: int) -> None:
        if strategy is not None:
            strategy.set_sparsity(model, cubic_sparsity(step + 1, total, 0.5))
        for ids in data:
            with torch.autocast(runtime.device.type, dtype=torch.bfloat16, enabled=bf16):
                loss = model(input_ids=ids, labels=ids).loss / len(data)
            loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    def sync() -> None:
        if device == "cuda":
            torch.cuda.synchronize()

    if device == "cuda":
        torch.cuda.reset_peak_memory_stats()
    for step in range(min(warmup, steps)):  # warm-up: allocator, autotuning, first-call overheads
        one_step(step)
    times = []
    for repeat in range(repeats):
        sync()
        start = time.perf_counter()
        for step in range(steps):
            one_step(steps * (repeat + 1) + step)
        sync()
        times.append(time.perf_counter() - start)
    peak = torch.cuda.max_memory_allocated() / 2**30 if device == "cuda" else None
    checkpointing = bool(acceleration.checkpointing["enabled"])
    return Measurement(batch * seq_len * steps / statistics.median(times), peak, checkpointing, parameters)


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


def usable_scans(device: str) -> tuple[list[str], list[str]]:
    """The scan paths that run on ``device``, and one line for each that does not (printed under the table)."""
    from mamba_sdm.models.scan import resolve_scan
    from sdmspec.errors import SdmspecError

    found, missing = [], []
    for scan in ("reference", "parallel", "kernels"):
        try:
            resolve_scan(scan, device)
        except SdmspecError as err:
            missing.append(f"{device}: no {scan} row: {err}")
            continue
        found.append(scan)
    return found, missing


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="what", required=True)
    step = sub.add_parser("step")
    step.add_argument("--seq-len", type=int, default=512)
    step.add_argument("--batch", type=int, default=8)
    step.add_argument("--micro", type=int, default=4)
    step.add_argument("--steps", type=int, default=3)
    step.add_argument("--repeats", type=int, default=3)
    step.add_argument("--threads", type=int, default=1, help="CPU intra-op threads (the smoke jobs use 1)")
    step.add_argument("--methods", default="dense,sdm", help="comma-separated: dense, sdm")
    step.add_argument("--devices", default=None, help="comma-separated (default: cpu, and cuda when present)")
    step.add_argument("--full", action="store_true", help="also full-size 130m and 370m steps (CUDA only)")
    step.add_argument("--full-reference", default="130m", help="sizes whose full-size reference step is timed")
    step.add_argument("--peak-tflops", type=float, default=None, help="the GPU's dense bf16 peak (default: table)")
    sub.add_parser("job")
    args = parser.parse_args()
    if args.what == "job":
        job_wall_times()
        return
    import torch

    torch.set_num_threads(args.threads)
    devices = args.devices.split(",") if args.devices else ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    methods = args.methods.split(",")
    print(f"torch {torch.__version__}, {args.threads} CPU thread(s)")
    print(f"smoke model, batch {args.batch} (micro {args.micro}) x {args.seq_len} tokens, {args.steps} steps a run")
    print("| device | model | method | scan | tokens/s | vs reference | peak GiB |")
    print("|---|---|---|---|---|---|---|")
    notes: list[str] = []
    for device in devices:
        scans, missing = usable_scans(device)
        notes += missing
        for method in methods:
            rates: dict[str, float] = {}
            for scan in scans:
                found = step_throughput(
                    device, method, scan, args.seq_len, args.batch, args.micro, args.steps, args.repeats, full=False
                )
                rates[scan] = found.tokens_per_s
                ratio = f"{found.tokens_per_s / rates['reference']:.1f}x" if "reference" in rates else "-"
                peak = f"{found.peak_gib:.2f}" if found.peak_gib is not None else "-"
                print(f"| {device} | smoke | {method} | {scan} | {found.tokens_per_s:,.0f} | {ratio} | {peak} |")
    for note in notes:
        print(f"({note})")
    if args.full and "cuda" in devices:
        full_size(args, methods)


def full_size(args: argparse.Namespace, methods: list[str]) -> None:
    import torch

    name = torch.cuda.get_device_name()
    peak_tflops = bf16_peak_tflops(name, args.peak_tflops)
    print(f"\nfull size on {name} (bf16 peak {peak_tflops or '?'} TFLOP/s), 8 x 1024 tokens a step, bf16 autocast")
    print("| model | method | scan | tokens/s | vs reference | peak GiB | act. ckpt | % of bf16 peak |")
    print("|---|---|---|---|---|---|---|---|")
    scans, _ = usable_scans("cuda")  # the smoke table already listed the paths that cannot run
    for size in ("130m", "370m"):
        for method in methods:
            rates: dict[str, float] = {}
            for scan in scans:
                if scan == "reference" and size not in args.full_reference.split(","):
                    continue
                # The loop takes tens of seconds a step at full size: one timed step, no warm-up (what a warm-up
                # saves, allocation and kernel selection, is well under 1% of such a step).
                steps, repeats, warmup = (1, 1, 0) if scan == "reference" else (3, 3, 2)
                try:
                    found = step_throughput(
                        "cuda", method, scan, 1024, 8, 8, steps, repeats, full=True, size=size, bf16=True, warmup=warmup
                    )
                except torch.cuda.OutOfMemoryError:
                    torch.cuda.empty_cache()
                    print(f"| {size} | {method} | {scan} | out of memory | - | - | - | - |")
                    continue
                gc.collect()
                torch.cuda.empty_cache()  # the next path starts from an empty cache: its peak is its own
                rates[scan] = found.tokens_per_s
                ratio = f"{found.tokens_per_s / rates['reference']:.1f}x" if "reference" in rates else "-"
                use = "-"
                if peak_tflops:
                    use = f"{100 * 6 * found.parameters * found.tokens_per_s / (peak_tflops * 1e12):.1f}%"
                print(
                    f"| {size} | {method} | {scan} | {found.tokens_per_s:,.0f} | {ratio} | {found.peak_gib:.1f} | "
                    f"{'on' if found.checkpointing else 'off'} | {use} |"
                )


if __name__ == "__main__":
    main()
