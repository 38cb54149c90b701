"""Benchmark `sdmspec lint` against `yamllint` on the same files: cold start, each run a fresh process.

Scenarios:

- ``configs``: the repo's configs/ (4 files): what a pre-commit hook or CI step runs on every commit, so start-up
  (interpreter, imports, loading spec/) dominates;
- ``1000-files``: 1,000 generated config files in the repo's layout (pre-training, fine-tuning and model configs
  with comments, flow and block style), linted in one invocation;
- ``4mb-file`` (with ``--big``): one generated 4 MB config.

Both tools run with their defaults (yamllint's default rule set, sdmspec's text report) and output discarded; each
timing is the median wall time of ``--repeats`` runs, the tools interleaved so load on the machine hits both alike.
sdmspec does more per file (the spec's values, types and cross-file checks, on top of the YAML pitfalls) but parses
with libyaml, while yamllint tokenises in pure Python.

Run: ``.venv/bin/python benchmarks/bench_lint.py [--repeats 5] [--big]``
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent

PRETRAIN = """# Phase A: SDM pre-training on WikiText-103 (run {i})
training:
  pretrain:
    batch_size: 128
    max_epochs: 20
    learning_rate: 2.0e-4
    warmup_steps_ratio: 0.1
    optimizer: AdamW
    micro_batch_size: 8
"""
FINETUNE = """# Phase B: GLUE fine-tuning (run {i})
training:
  finetune: {{learning_rate: 1.0e-4, batch_size: 32, micro_batch_size: 8, optimizer: AdamW,
             warmup_steps_ratio: 0.1, early_stopping: {{metric: val_accuracy, patience: 3}}}}
"""
MODEL = """model:
  name: mamba-{size}
environment:
  pytorch: "2.1"
  cuda: "12.1"
epochs:
  sst2: 5
  mnli: 10
  qnli: 5
  mrpc: 8
"""


def generate(folder: Path, count: int) -> Path:
    for i in range(count):
        kind = i % 3
        text = PRETRAIN if kind == 0 else FINETUNE if kind == 1 else MODEL
        (folder / f"config_{i:04d}.yaml").write_text(text.format(i=i, size="130m" if i % 2 else "370m"))
    return folder


def generate_big(folder: Path) -> Path:
    lines = [MODEL.format(size="130m")]
    i = 0
    while sum(map(len, lines)) < 4_000_000:
        lines.append(f"run_{i}:\n  learning_rate: 2.0e-4\n  batch_size: {i}\n  tags: [a, b, c]\n  note: 'run {i}'\n")
        i += 1
    (folder / "big.yaml").write_text("".join(lines))
    return folder


def timed(command: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    return time.perf_counter() - start


def compare(name: str, target: Path, repeats: int) -> tuple[float, float]:
    commands = {
        "sdmspec": [str(BIN / "sdmspec"), "lint", str(target)],
        "yamllint": [str(BIN / "yamllint"), str(target)],
    }
    for command in commands.values():  # warm the page cache and .pyc files once
        timed(command)
    times: dict[str, list[float]] = {tool: [] for tool in commands}
    for _ in range(repeats):
        for tool, command in commands.items():
            times[tool].append(timed(command))
    ours, theirs = (statistics.median(times[tool]) for tool in commands)
    print(f"{name:<12} sdmspec {ours:7.3f} s   yamllint {theirs:7.3f} s   sdmspec/yamllint = {ours / theirs:5.2f}x")
    return ours, theirs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--big", action="store_true", help="also lint a generated 4 MB file")
    args = parser.parse_args()
    for tool in ("sdmspec", "yamllint"):
        if shutil.which(tool, path=str(BIN)) is None:
            sys.exit(f"{tool} is not installed in {BIN}")
    print(f"median of {args.repeats} cold runs each (fresh process), python {sys.version.split()[0]}")
    compare("configs", REPO / "configs", args.repeats)
    with tempfile.TemporaryDirectory() as scratch:
        compare("1000-files", generate(_mkdir(Path(scratch) / "many"), 1000), args.repeats)
        if args.big:
            compare("4mb-file", generate_big(_mkdir(Path(scratch) / "big")), max(1, args.repeats // 2))


def _mkdir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path


if __name__ == "__main__":
    main()
