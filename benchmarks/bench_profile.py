"""Full-size FLOPs of Mamba-130m and Mamba-370m, computed by sdmspec's profile library, and the smoke run's time.

``flops``: for each size at the spec's sequence lengths (batch 1 unless ``--batch-size``): the analytic count
(:func:`sdmspec.profile.analytic.analytic_flops`) and torch's FlopCounterMode (:func:`sdmspec.profile.counters.
count_torch`, the meta device, transformers' reference path), with the parts FlopCounterMode counts (mm, conv, bmm)
and the per-token figures. Full-size FlopCounterMode on the meta device does no arithmetic, but it walks the
reference scan's Python loop (n_layer x seq_len steps): about 45 s for Mamba-370m at 2048 tokens on this machine.
``--fvcore L``: also fvcore's count at sequence length L (a real CPU forward while tracing: slow at full size).
``smoke``: wall time of ``sdmspec profile --smoke --out TMP`` (all 7 variants, 16 and 32 tokens), start-up included.

Run: ``.venv/bin/python benchmarks/bench_profile.py flops [--sizes 130m,370m] [--fvcore 128]``
     ``.venv/bin/python benchmarks/bench_profile.py smoke``
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def flops(sizes: list[str], batch_size: int, fvcore_seq_len: int | None) -> None:
    from sdmspec.models.build import build_model, dimensions, mamba_config
    from sdmspec.profile.analytic import MambaShape, analytic_flops, block_macs_per_token
    from sdmspec.profile.counters import count_fvcore, count_torch
    from sdmspec.schema import load_spec

    spec = load_spec(None)
    print("| model | seq_len | analytic FLOPs | torch FLOPs | torch/analytic | analytic per token | mm+conv+bmm |")
    print("|---|---|---|---|---|---|---|")
    for size in sizes:
        config = mamba_config(dimensions(spec.models[size]))
        shape = MambaShape.from_config(config)
        weight_macs = shape.n_layer * block_macs_per_token(shape) + shape.d_model * shape.vocab_size
        print(f"<!-- {size}: {weight_macs:,} weight MACs per token -->", file=sys.stderr)
        for seq_len in spec.profiling.seq_lens:
            tokens = batch_size * seq_len
            analytic = analytic_flops(shape, tokens)
            started = time.perf_counter()
            counted = count_torch(config, batch_size, seq_len)
            took = time.perf_counter() - started
            ops = ", ".join(f"{op.removeprefix('aten.')} {n:.4g}" for op, n in counted.by_operator.items())
            print(
                f"| mamba-{size} | {seq_len} | {analytic.total_flops:,} | {counted.flops:,} | "
                f"{counted.flops / analytic.total_flops:.4f} | {analytic.total_flops // tokens:,} | {ops} |"
            )
            print(f"  (FlopCounterMode took {took:.1f} s)", file=sys.stderr)
        if fvcore_seq_len:
            model = build_model(spec, size).eval()
            started = time.perf_counter()
            fv = count_fvcore(model, batch_size, fvcore_seq_len)
            took = time.perf_counter() - started
            print(f"fvcore mamba-{size} at {fvcore_seq_len} tokens: {fv.macs:.6g} MACs ({took:.1f} s)")
            print(f"  fvcore skipped: {fv.skipped}")


def smoke() -> None:
    with tempfile.TemporaryDirectory() as out:
        started = time.perf_counter()
        cmd = [sys.executable, "-m", "sdmspec", "profile", "--smoke", "--device", "cpu", "--out", out]
        subprocess.run(cmd, check=True, capture_output=True)
        took = time.perf_counter() - started
        print(f"sdmspec profile --smoke (7 variants x 2 lengths, traces on): {took:.1f} s wall")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", choices=["flops", "smoke"])
    parser.add_argument("--sizes", default="130m,370m")
    parser.add_argument("--batch-size", type=int, default=1)
    parser.add_argument("--fvcore", type=int, default=None, metavar="SEQ_LEN")
    args = parser.parse_args()
    if args.what == "flops":
        flops(args.sizes.split(","), args.batch_size, args.fvcore)
    else:
        smoke()


if __name__ == "__main__":
    main()
