"""What verifying finished stages costs a rerun of `sdmspec run`: the outputs check (sizes, then sha256) per stage.

Generates ``--stages`` stage folders, each with a ``result.json`` and a ``model/model.safetensors`` of ``--mib``
MiB (random bytes: Mamba-130m in fp32 is ~517 MB, Mamba-370m ~1.49 GB), records their digests as the runner does when
a stage finishes, then times, side by side in this run:

- ``sizes``: the size check alone (what catches a truncated file, without reading anything);
- ``serial``: the full check (:func:`sdmspec.runner.outputs.outputs_problem`: sizes, then every digest), one stage
  after another;
- ``check``: what a rerun does: the same checks in parallel threads (:func:`sdmspec.runner.outputs.check_stages`);
- ``read``: reading the same bytes without hashing (the floor).

Files are in the page cache (just written), as on a rerun soon after a run; ``--cold`` drops them first
(posix_fadvise DONTNEED). Run: ``.venv/bin/python benchmarks/bench_outputs_check.py [--stages 4] [--mib 512]``
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

from mamba_sdm.stages import Stage, StageKind
from sdmspec.runner.outputs import check_stages, digest_outputs, outputs_problem


def _stage(folder: Path, mib: int) -> Stage:
    (folder / "model").mkdir(parents=True)
    (folder / "result.json").write_text('{"steps": 1}\n')
    with (folder / "model" / "model.safetensors").open("wb") as handle:
        for _ in range(mib):
            handle.write(os.urandom(1 << 20))
    return Stage(folder.name, StageKind.PRETRAIN, (), (), (), (), marker=str(folder / "result.json"))


def _drop_cache(stages: list[Stage]) -> None:
    for stage in stages:
        for path in Path(stage.marker).parent.rglob("*"):
            if path.is_file():
                with path.open("rb") as handle:
                    os.posix_fadvise(handle.fileno(), 0, 0, os.POSIX_FADV_DONTNEED)


def _read(stages: list[Stage]) -> None:
    for stage in stages:
        for path in Path(stage.marker).parent.rglob("*"):
            if path.is_file():
                with path.open("rb") as handle:
                    while handle.read(1 << 20):
                        pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stages", type=int, default=4)
    parser.add_argument("--mib", type=int, default=512, help="Size of each stage's model file.")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--cold", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="sdmspec-bench-outputs-") as tmp:
        stages = [_stage(Path(tmp) / f"stage{i}", args.mib) for i in range(args.stages)]
        recorded = {stage.name: digest_outputs(stage) for stage in stages}
        sizes = {name: {key: value["size"] for key, value in digest.items()} for name, digest in recorded.items()}

        def sizes_only() -> None:
            for stage in stages:
                for name, size in sizes[stage.name].items():
                    assert (Path(stage.marker).parent / name).stat().st_size == size

        def one_by_one() -> None:
            for stage in stages:
                assert outputs_problem(stage, recorded[stage.name]) is None

        def check() -> None:  # what a rerun does: every stage's check, in parallel threads
            assert set(check_stages((stage, recorded[stage.name]) for stage in stages).values()) == {None}

        def read() -> None:
            _read(stages)

        total_mib = args.stages * args.mib
        print(f"{args.stages} stage(s) x {args.mib} MiB = {total_mib:,} MiB; {platform.node()}, "
              f"{os.cpu_count()} CPU(s), {platform.processor() or platform.machine()}; "
              f"{'cold' if args.cold else 'warm'} page cache; median of {args.repeats}")  # fmt: skip
        for label, work in (("sizes", sizes_only), ("read", read), ("serial", one_by_one), ("check", check)):
            times = []
            for _ in range(args.repeats):
                if args.cold:
                    _drop_cache(stages)
                started = time.perf_counter()
                work()
                times.append(time.perf_counter() - started)
            median = statistics.median(times)
            rate = f"{total_mib / median:,.0f} MiB/s" if label != "sizes" else "-"
            print(f"{label:>6}: {median:.4f} s  ({rate})")


if __name__ == "__main__":
    main()
