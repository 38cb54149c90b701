"""A stand-in for an `sdmspec job` command with the same contract, cheap enough for runner tests.

Contract kept: it trains for ``--steps`` steps (``--step-s`` seconds each), saves a checkpoint after every step and
resumes from it when rerun, stops cleanly on SIGTERM or SIGINT (finishes its step, keeps its checkpoint, says so in
one line, exits 130; a second signal exits at once), writes ``model/weights.bin`` and, last, ``result.json``.
``--save-s`` makes the stop take that long; ``--stubborn`` ignores the stop (the runner must kill it);
``--disk-full`` fails as a job whose disk filled does (its one line, exit 4: ``sdmspec.errors.EXIT_DISK_FULL``).
``--fail`` makes it exit 1 without a result; ``--verdict`` writes a verify-style JSON verdict instead.
Each step appends a ``train`` event to ``metrics.jsonl`` (step, total_steps, loss, tokens_per_s, eta_s).
Every start appends its time and resume step to ``starts.log`` so tests can count launches and resumes.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import time
from pathlib import Path


def _atomic_json(path: Path, data: object) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(data))
    os.replace(tmp, path)


def _atomic_bytes(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--steps", type=int, default=1)
    parser.add_argument("--step-s", type=float, default=0.0)
    parser.add_argument("--fail", action="store_true")
    parser.add_argument("--verdict", choices=("match", "mismatch"))
    parser.add_argument("--marker", default="result.json")
    parser.add_argument("--save-s", type=float, default=0.0)
    parser.add_argument("--stubborn", action="store_true")
    parser.add_argument("--disk-full", action="store_true")
    parser.add_argument("--precision", choices=("auto", "bf16", "fp32"))
    args = parser.parse_args()
    out: Path = args.out
    # Under torchrun every rank trains; rank 0 alone writes (as the real jobs do).
    rank, world_size = int(os.environ.get("RANK", "0")), int(os.environ.get("WORLD_SIZE", "1"))
    if rank != 0:
        time.sleep(args.steps * args.step_s)
        return 0
    out.mkdir(parents=True, exist_ok=True)
    print(f"fake job in {out}", flush=True)

    stop: dict[str, str | None] = {"by": None}

    def on_stop(signum: int, frame: object) -> None:
        if args.stubborn:
            return
        if stop["by"] is not None:  # a second signal: exit at once
            os._exit(130)
        stop["by"] = signal.Signals(signum).name

    signal.signal(signal.SIGINT, on_stop)
    signal.signal(signal.SIGTERM, on_stop)
    checkpoint = out / "checkpoint.json"
    step = json.loads(checkpoint.read_text())["step"] if checkpoint.exists() else 0
    with (out / "starts.log").open("a") as log:  # when, and from which step: tests count launches and resumes
        log.write(f"{time.time()} {step}\n")
    while step < args.steps:
        time.sleep(args.step_s)
        if stop["by"] is not None:
            time.sleep(args.save_s)
            (out / "interrupted").write_text(str(step))
            print(f"fake: stopped by {stop['by']} at step {step}; checkpoint saved; rerun to resume", flush=True)
            return 130
        step += 1
        _atomic_json(checkpoint, {"step": step})
        event = {"event": "train", "step": step, "total_steps": args.steps, "loss": round(4.0 / step, 4),
                 "tokens_per_s": 1000.0, "eta_s": (args.steps - step) * args.step_s}  # fmt: skip
        with (out / "metrics.jsonl").open("a") as metrics:
            metrics.write(json.dumps(event) + "\n")
    if args.disk_full:  # what a real job prints when a write finds no space (sdmspec.io, the CLI's handler)
        print(f"sdmspec: error: no space left on device writing {out}/model/model.safetensors (needs 1.0 KiB; "
              "0 B free on that filesystem)", file=sys.stderr, flush=True)  # fmt: skip
        return 4  # EXIT_DISK_FULL: what tells the runner, not the line
    if args.fail:
        print("failing on purpose", file=sys.stderr, flush=True)
        return 1
    if args.verdict:
        _atomic_json(out / args.marker, {"verdict": args.verdict, "checkpoints": [], "layers": []})
        return 0 if args.verdict == "match" else 1
    (out / "model").mkdir(exist_ok=True)
    _atomic_bytes(out / "model" / "weights.bin", bytes(range(256)) * 4)
    result: dict[str, object] = {
        "steps": step, "world_size": world_size, "sparsity": {"sparsity": 0.5}, "metrics": {"val_accuracy": 0.5}
    }  # fmt: skip
    if args.precision:  # recorded as the real training jobs record it (INTERFACES.md)
        autocast = "bf16" if args.precision == "bf16" else None
        result["precision"] = {"requested": args.precision, "autocast": autocast, "tf32": False, "reason": "fake job"}
    _atomic_json(out / args.marker, result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
