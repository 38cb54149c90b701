"""Composed lint of a Hydra repository (`--loader hydra`, a handful of entries) beside per-file lint of the same folder.

Data: ``../shared/realworld/ashleve__lightning-hydra-template/configs`` (34 files) and a spec of our own (the MNIST
example's settings) whose ``runs.yaml`` lists ``--entries`` entries (default 5: train, and train with
experiment=example, trainer=cpu, logger=csv, debug=fdr). Each entry is composed once.

Each the median of ``--repeats`` runs, the paths interleaved so load on the machine hits them alike:

* **cold**: ``sdmspec lint configs`` and ``sdmspec lint configs --loader hydra``, each a fresh process (what a
  pre-commit hook or a CI step pays: interpreter, imports, spec; Hydra's import on the composed path), the composed
  one twice: with an empty composition cache (a fresh clone in CI: every entry composed by Hydra) and with the
  compositions kept by the previous run (unchanged configs: :mod:`sdmspec.compose.cache`);
* **warm**: the same work in this process (``lint_paths`` and ``hydra_lint``, empty cache each time), imports paid.

The goal (issue 22): the composed lint within 2x of the per-file lint. The ratio is printed for both.

Run: ``.venv/bin/python benchmarks/bench_compose.py [--repeats 5] [--entries 5]``
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
TEMPLATE = REPO.parent / "shared" / "realworld" / "ashleve__lightning-hydra-template" / "configs"
ENTRIES = ["", "experiment=example", "trainer=cpu", "logger=csv", "debug=fdr", "trainer=gpu", "callbacks=none"]
SPEC = {
    "paper.yaml": "paper: {title: MNIST, source: the template's README}\n",
    "config.yaml": """\
config:
  model:
    optimizer:
      lr: {type: float, exact: 0.001, source: "a learning rate of 1e-3"}
      weight_decay: {type: float, exact: 0.0, source: "no weight decay"}
  trainer:
    max_epochs: {type: int, exact: 10, source: "10 epochs"}
  data:
    batch_size: {type: int, exact: 64, source: "batches of 64"}
""",
}


def make_project(folder: Path, entries: int) -> None:
    (folder / "configs").symlink_to(TEMPLATE, target_is_directory=True)
    spec = folder / "spec"
    spec.mkdir()
    for name, text in SPEC.items():
        (spec / name).write_text(text)
    lines = ["runs:"]
    for index, override in enumerate(ENTRIES[:entries]):
        overrides = f"[{override}]" if override else "[]"
        lines.append(f"  - {{config-name: train, overrides: {overrides}, source: entry {index}}}")
    (spec / "runs.yaml").write_text("\n".join(lines) + "\n")


def cold(folder: Path, *args: str, cache: Path | None = None) -> float:
    sdmspec = Path(sys.executable).parent / "sdmspec"
    env = {**os.environ, "SDMSPEC_CACHE": str(cache or Path(tempfile.mkdtemp(dir=folder)))}
    start = time.perf_counter()
    subprocess.run([str(sdmspec), "lint", "configs", *args], cwd=folder, env=env, capture_output=True, check=False)
    return time.perf_counter() - start


def warm(folder: Path, repeats: int) -> tuple[list[float], list[float]]:
    from sdmspec.compose.lint_command import hydra_lint
    from sdmspec.lint.engine import lint_paths
    from sdmspec.schema import load_spec

    os.chdir(folder)
    spec = load_spec(folder / "spec")
    per_file: list[float] = []
    composed: list[float] = []
    os.environ["SDMSPEC_CACHE"] = tempfile.mkdtemp(dir=folder)
    hydra_lint([Path("configs")], spec, config_name=None)  # Hydra's own first-use costs, paid once
    for _ in range(repeats):
        start = time.perf_counter()
        lint_paths([Path("configs")], spec)
        per_file.append(time.perf_counter() - start)
        os.environ["SDMSPEC_CACHE"] = tempfile.mkdtemp(dir=folder)  # every entry composed by Hydra
        start = time.perf_counter()
        hydra_lint([Path("configs")], spec, config_name=None)
        composed.append(time.perf_counter() - start)
    return per_file, composed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--entries", type=int, default=5, choices=range(1, len(ENTRIES) + 1))
    options = parser.parse_args()
    if not TEMPLATE.is_dir():
        sys.exit(f"needs {TEMPLATE} (../shared beside the clone)")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        make_project(folder, options.entries)
        cold_per_file: list[float] = []
        cold_composed: list[float] = []
        cold_kept: list[float] = []
        kept = folder / "kept-compositions"
        cold(folder)  # the first start pays for the disk cache
        cold(folder, "--loader", "hydra", cache=kept)  # and fills the composition cache
        for _ in range(options.repeats):
            cold_per_file.append(cold(folder))
            cold_composed.append(cold(folder, "--loader", "hydra"))
            cold_kept.append(cold(folder, "--loader", "hydra", cache=kept))
        warm_per_file, warm_composed = warm(folder, options.repeats)
    cpu = platform.processor() or platform.machine()
    print(f"machine: {cpu}, {os.cpu_count()} CPUs, Python {platform.python_version()}")
    print(f"lightning-hydra-template configs (34 files), {options.entries} entries, median of {options.repeats}")
    print(f"{'':28} {'per-file lint':>14} {'--loader hydra':>15} {'ratio':>6}")
    rows = (
        ("cold, compositions kept", cold_per_file, cold_kept),
        ("cold, empty cache", cold_per_file, cold_composed),
        ("warm, empty cache", warm_per_file, warm_composed),
    )
    for name, left, right in rows:
        a, b = statistics.median(left), statistics.median(right)
        print(f"{name:28} {a * 1000:11.0f} ms {b * 1000:12.0f} ms {b / a:5.1f}x")


if __name__ == "__main__":
    main()
