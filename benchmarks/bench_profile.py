"""Full-size FLOPs of Mamba-130m and Mamba-370m, computed by sdmspec's profile library, the time counting them
takes on each scan path, and the smoke run's time.

``flops``: for each size at the spec's sequence lengths (batch 1 unless ``--batch-size``): the analytic count
(:func:`mamba_sdm.profile.analytic.analytic_flops`) and torch's FlopCounterMode (:func:`mamba_sdm.profile.counters.
count_torch`, the meta device, the parallel scan), with the parts FlopCounterMode counts (mm, conv, bmm) and the
per-token figures. ``--fvcore L``: also fvcore's count at sequence length L (one real forward pass while tracing).
``counting``: what ``sdmspec profile`` spends counting FLOPs for one architecture and shape, before and after, side
by side in one run: "before" is FlopCounterMode on the meta device plus fvcore on the CPU, both tracing the
sequential reference loop (n_layer x seq_len Python steps; what the profile did before ``--scan``); "after" is the
same two counters on the parallel scan (mambapy). The counts must be equal (checked; the row says so). On the CPU,
"after" fvcore is one real forward pass (fvcore cannot trace on the meta device); on a GPU that pass runs there.
``--before-max-seq-len L`` skips the reference loop above L tokens: it takes minutes per row on this machine, and at
Mamba-370m x 2048 tokens fvcore's trace of the loop outgrew 23 GiB and was killed (use ``--before-max-seq-len 1024``
there; the parallel path's trace peaked at 8.7 GB).
``smoke``: wall time of ``sdmspec profile --smoke --out TMP`` (all 7 variants, 16 and 32 tokens), start-up included.

Run: ``.venv/bin/python benchmarks/bench_profile.py flops [--sizes 130m,370m] [--fvcore 128]``
     ``.venv/bin/python benchmarks/bench_profile.py counting [--sizes 130m,370m] [--before-max-seq-len 2048]``
     ``.venv/bin/python benchmarks/bench_profile.py smoke``
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def flops(sizes: list[str], batch_size: int, fvcore_seq_len: int | None) -> None:
    from mamba_sdm.models.build import build_model, dimensions, mamba_config
    from mamba_sdm.profile.analytic import MambaShape, analytic_flops, block_macs_per_token
    from mamba_sdm.profile.counters import count_fvcore, count_torch
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
            counted = count_torch(config, batch_size, seq_len)  # the parallel scan, as the profile counts
            took = time.perf_counter() - started
            ops = ", ".join(f"{op.removeprefix('aten.')} {n:.4g}" for op, n in counted.by_operator.items())
            print(
                f"| mamba-{size} | {seq_len} | {analytic.total_flops:,} | {counted.flops:,} | "
                f"{counted.flops / analytic.total_flops:.4f} | {analytic.total_flops // tokens:,} | {ops} |"
            )
            print(f"  (FlopCounterMode took {took:.1f} s)", file=sys.stderr)
        if fvcore_seq_len:
            model: Any = build_model(spec, size)
            model.eval()
            started = time.perf_counter()
            fv = count_fvcore(model, batch_size, fvcore_seq_len)
            took = time.perf_counter() - started
            print(f"fvcore mamba-{size} at {fvcore_seq_len} tokens: {fv.macs:.6g} MACs ({took:.1f} s)")
            print(f"  fvcore skipped: {fv.skipped}")


def counting(sizes: list[str], batch_size: int, before_max_seq_len: int) -> None:
    import torch

    from mamba_sdm.models.build import build_model
    from mamba_sdm.models.scan import Scan, ScanChoice
    from mamba_sdm.profile.counters import count_fvcore, count_torch
    from sdmspec.schema import load_spec

    spec = load_spec(None)
    reference, parallel = (ScanChoice(Scan(p), Scan(p), "bench") for p in ("reference", "parallel"))
    print(f"<!-- torch {torch.__version__}, {torch.get_num_threads()} threads, batch {batch_size} -->")
    print("| model | seq len | before: torch + fvcore (s) | after: torch + fvcore (s) | before / after | counts |")
    print("|---|---|---|---|---|---|")
    totals = [0.0, 0.0]
    for size in sizes:
        model: Any = build_model(spec, size, seed=0)  # the profiled model: fvcore traces it, on its device
        model.eval()
        for seq_len in spec.profiling.seq_lens:
            after_torch = count_torch(model.config, batch_size, seq_len, parallel)
            after_fv = count_fvcore(model, batch_size, seq_len, parallel)
            after = after_torch.seconds + after_fv.seconds
            cells = [f"mamba-{size}", str(seq_len)]
            if seq_len > before_max_seq_len:
                cells += ["not run", f"{after_torch.seconds:.2f} + {after_fv.seconds:.1f} = {after:.1f}", "-", "-"]
            else:
                before_torch = count_torch(model.config, batch_size, seq_len, reference)
                before_fv = count_fvcore(model, batch_size, seq_len, reference)
                before = before_torch.seconds + before_fv.seconds
                same = (before_torch.flops, before_torch.by_operator, before_fv.macs, before_fv.by_operator) == (
                    after_torch.flops,
                    after_torch.by_operator,
                    after_fv.macs,
                    after_fv.by_operator,
                )
                totals[0] += before
                totals[1] += after
                cells += [
                    f"{before_torch.seconds:.1f} + {before_fv.seconds:.1f} = {before:.1f}",
                    f"{after_torch.seconds:.2f} + {after_fv.seconds:.1f} = {after:.1f}",
                    f"{before / after:.1f}x",
                    "equal" if same else "DIFFERENT",
                ]
            print("| " + " | ".join(cells) + " |", flush=True)
        del model
    if totals[1]:
        print(f"| all rows run both ways | | {totals[0]:.0f} | {totals[1]:.0f} | {totals[0] / totals[1]:.1f}x | |")


def smoke() -> None:
    with tempfile.TemporaryDirectory() as out:
        started = time.perf_counter()
        cmd = [sys.executable, "-m", "sdmspec", "profile", "--smoke", "--device", "cpu", "--out", out]
        subprocess.run(cmd, check=True, capture_output=True)
        took = time.perf_counter() - started
        print(f"sdmspec profile --smoke (7 variants x 2 lengths, traces on): {took:.1f} s wall")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", choices=["flops", "counting", "smoke"])
    parser.add_argument("--sizes", default="130m,370m")
    parser.add_argument("--batch-size", type=int, default=1)
    parser.add_argument("--fvcore", type=int, default=None, metavar="SEQ_LEN")
    parser.add_argument("--before-max-seq-len", type=int, default=1 << 30, metavar="SEQ_LEN")
    args = parser.parse_args()
    if args.what == "flops":
        flops(args.sizes.split(","), args.batch_size, args.fvcore)
    elif args.what == "counting":
        counting(args.sizes.split(","), args.batch_size, args.before_max_seq_len)
    else:
        smoke()


if __name__ == "__main__":
    main()
