"""Benchmark `sdmspec verify-sparsity` on two Mamba-130m-sized fp32 checkpoints (~0.5 GB each).

Compares, each approach in a fresh process (so peak RSS is its own):

- ``read``: the time to read both files' bytes (16 MiB reads), the floor for anything that looks at every byte;
- ``usual``: what training scripts do: ``torch.load`` both checkpoints fully, then count zeros tensor by tensor
  (with the project's count_zeros, so that only the loading differs); ``usual_eq`` counts with ``(t == 0).sum()``
  as most scripts write it;
- ``library``: ``verify_iso_sparsity(a, b, spec)`` (mmap'd, streaming, prunable tensors only);
- ``cli``: the ``sdmspec verify-sparsity A B --format json`` command, wall time including interpreter start-up
  and imports; ``startup`` is that fixed cost alone (interpreter, torch, the CLI modules, the spec).

The checkpoints are generated in a temporary folder (the real Hugging Face Mamba-130m names and shapes, taken from
a meta-device model; 50% zeros in every prunable tensor; the LM head tied to the embedding as in ``state_dict()``).
``--cold`` drops the files from the page cache before each run (posix_fadvise DONTNEED; no root needed) so reads
come from disk; without it the files are in the page cache, as right after a training run writes them.

Run: ``.venv/bin/python benchmarks/bench_verify.py [--repeats 3] [--cold] [--formats pt,safetensors]``
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
REPO = Path(__file__).resolve().parent.parent
CHUNK = 16 * 2**20


def _peak_rss_mib(who: int = resource.RUSAGE_SELF) -> float:
    return resource.getrusage(who).ru_maxrss / 1024  # ru_maxrss is in KiB on Linux


def _current_rss_mib() -> float:
    import psutil

    return float(psutil.Process().memory_info().rss) / 2**20


def generate(folder: Path, formats: list[str]) -> dict[str, tuple[Path, Path]]:
    """Two checkpoints with 50% zeros in every prunable tensor, at different positions."""
    import torch
    from safetensors.torch import save_file

    from mamba_sdm.models.build import build_model
    from sdmspec.schema import load_spec

    spec = load_spec(REPO / "spec")
    meta = build_model(spec, "130m", device="meta")
    shapes = {name: tuple(t.shape) for name, t in meta.state_dict().items() if name != "lm_head.weight"}
    paths: dict[str, tuple[Path, Path]] = {fmt: (folder / f"sdm.{fmt}", folder / f"challenge.{fmt}") for fmt in formats}
    for side, seed in ((0, 1), (1, 2)):
        gen = torch.Generator().manual_seed(seed)
        state = {name: torch.randn(shape, generator=gen) for name, shape in shapes.items()}
        for name, tensor in state.items():
            # randn returns an exact 0.0 about once in 2**24 draws; keep the dense part dense so both sides match.
            tensor[tensor == 0] = 1.0
            if spec.sparsity.is_prunable(name):
                flat = tensor.view(-1)
                flat[torch.randperm(flat.numel(), generator=gen)[: flat.numel() // 2]] = 0
        if "safetensors" in paths:
            save_file(state, str(paths["safetensors"][side]))  # safetensors stores no shared tensors: no head
        if "pt" in paths:
            torch.save({**state, "lm_head.weight": state["backbone.embeddings.weight"]}, paths["pt"][side])
    return paths


def child(approach: str, a: Path, b: Path) -> dict[str, float]:
    """Run one approach in this (fresh) process; return its time and memory."""
    if approach == "startup":
        # What the cli row pays before reading anything: interpreter, torch, typer, rich, the spec.
        start = time.perf_counter()
        code = "import torch, sdmspec.cli.app, sdmspec.checkpoint.verify, sdmspec.schema; sdmspec.schema.load_spec()"
        subprocess.run([sys.executable, "-c", code], cwd=REPO, check=True)
        return {
            "seconds": time.perf_counter() - start,
            "peak_rss_mib": _peak_rss_mib(resource.RUSAGE_CHILDREN),
            "base_rss_mib": 0.0,
        }
    if approach == "cli":
        start = time.perf_counter()
        command = [str(REPO / ".venv/bin/sdmspec"), "verify-sparsity", str(a), str(b), "--format", "json"]
        done = subprocess.run([*command, "--spec", str(REPO / "spec")], capture_output=True, check=False)
        seconds = time.perf_counter() - start
        assert done.returncode == 0, done.stderr.decode()
        return {"seconds": seconds, "peak_rss_mib": _peak_rss_mib(resource.RUSAGE_CHILDREN), "base_rss_mib": 0.0}
    import torch

    from sdmspec.checkpoint.sparsity import count_zeros
    from sdmspec.checkpoint.verify import verify_iso_sparsity
    from sdmspec.schema import load_spec

    spec = load_spec(REPO / "spec")
    base = _current_rss_mib()
    start = time.perf_counter()
    if approach == "read":
        buffer = bytearray(CHUNK)
        for path in (a, b):
            with path.open("rb", buffering=0) as handle:
                while handle.readinto(buffer):
                    pass
    elif approach == "usual":
        first = torch.load(a, map_location="cpu", weights_only=True)
        second = torch.load(b, map_location="cpu", weights_only=True)
        zeros = [0, 0]
        for name in first:
            if spec.sparsity.is_prunable(name):
                zeros[0] += count_zeros(first[name])
                zeros[1] += count_zeros(second[name])
        assert zeros[0] == zeros[1]
    elif approach == "usual_eq":
        # The same, counting as most training scripts write it.
        first = torch.load(a, map_location="cpu", weights_only=True)
        second = torch.load(b, map_location="cpu", weights_only=True)
        counts = [0, 0]
        for name in first:
            if spec.sparsity.is_prunable(name):
                counts[0] += int((first[name] == 0).sum())
                counts[1] += int((second[name] == 0).sum())
        assert counts[0] == counts[1]
    elif approach == "library":
        assert verify_iso_sparsity(a, b, spec).passed
    else:
        raise SystemExit(f"unknown approach {approach}")
    return {"seconds": time.perf_counter() - start, "peak_rss_mib": _peak_rss_mib(), "base_rss_mib": base}


def _drop_cache(paths: tuple[Path, Path]) -> None:
    for path in paths:
        fd = os.open(path, os.O_RDONLY)
        try:
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)


def _run_child(approach: str, paths: tuple[Path, Path], cold: bool) -> dict[str, float]:
    if cold:
        _drop_cache(paths)
    command = [sys.executable, __file__, "--child", approach, str(paths[0]), str(paths[1])]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{approach} failed:\n{done.stderr}")
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def measure(
    approaches: tuple[str, ...], paths: tuple[Path, Path], repeats: int, cold: bool
) -> dict[str, dict[str, float]]:
    """Median time and largest peak RSS of each approach; repeats interleave the approaches, so that load from
    other processes on the machine falls on all of them alike."""
    runs: dict[str, list[dict[str, float]]] = {approach: [] for approach in approaches}
    for _ in range(repeats):
        for approach in approaches:
            runs[approach].append(_run_child(approach, paths, cold))
    return {
        approach: {
            "seconds": statistics.median(run["seconds"] for run in found),
            "min_seconds": min(run["seconds"] for run in found),
            "peak_rss_mib": max(run["peak_rss_mib"] for run in found),
            "base_rss_mib": min(run["base_rss_mib"] for run in found),
        }
        for approach, found in runs.items()
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--child", nargs=3, metavar=("APPROACH", "A", "B"), help=argparse.SUPPRESS)
    parser.add_argument("--generate", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--cold", action="store_true", help="drop the files from the page cache before each run")
    parser.add_argument("--formats", default="pt", help="comma-separated: pt, safetensors")
    parser.add_argument("--threads", type=int, help="OMP_NUM_THREADS for every approach (default: torch's own)")
    parser.add_argument("--keep", type=Path, help="generate the checkpoints here (or reuse them) instead of a temp dir")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    formats = args.formats.split(",")
    if args.threads:
        os.environ["OMP_NUM_THREADS"] = str(args.threads)  # inherited by the approaches' processes
    if args.child:
        approach, a, b = args.child
        print(json.dumps(child(approach, Path(a), Path(b))))
        return
    if args.generate:
        generate(args.generate, formats)
        return
    with tempfile.TemporaryDirectory(prefix="bench_verify_") as tmp:
        folder = args.keep or Path(tmp)
        paths_by_format = {fmt: (folder / f"sdm.{fmt}", folder / f"challenge.{fmt}") for fmt in formats}
        if not all(path.is_file() for paths in paths_by_format.values() for path in paths):
            # In a child process: this one's peak RSS is inherited by every child it starts (Linux keeps ru_maxrss
            # across fork and exec), so it must never hold the tensors itself.
            folder.mkdir(parents=True, exist_ok=True)
            command = [sys.executable, __file__, "--generate", str(folder), "--formats", args.formats]
            subprocess.run(command, check=True)
        results = {fmt: _report(fmt, paths, args.repeats, args.cold) for fmt, paths in paths_by_format.items()}
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")


def _report(fmt: str, paths: tuple[Path, Path], repeats: int, cold: bool) -> dict[str, dict[str, float]]:
    size = sum(path.stat().st_size for path in paths) / 2**20
    threads = os.environ.get("OMP_NUM_THREADS", "default")
    cache = "cold" if cold else "warm"
    print(f"\n{fmt}: two files, {size:.0f} MiB in all; {cache} page cache; {repeats} runs each; threads {threads}")
    approaches = (
        ("read", "usual", "usual_eq", "library", "cli", "startup") if fmt == "pt" else ("read", "library", "cli")
    )
    rows = measure(approaches, paths, repeats, cold)
    usual = rows["usual"]["seconds"] if "usual" in rows else float("nan")
    columns = ("median s", 10), ("min s", 8), ("vs usual", 10), ("vs read", 10), ("peak RSS MiB", 14), ("at start", 10)
    print(f"{'approach':<10}" + "".join(f"{name:>{width}}" for name, width in columns))
    for approach, row in rows.items():
        print(
            f"{approach:<10}{row['seconds']:>10.3f}{row['min_seconds']:>8.3f}{row['seconds'] / usual:>10.2f}"
            f"{row['seconds'] / rows['read']['seconds']:>10.2f}{row['peak_rss_mib']:>14.0f}{row['base_rss_mib']:>10.0f}"
        )
    return rows


if __name__ == "__main__":
    main()
