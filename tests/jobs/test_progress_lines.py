"""Progress a SLURM log shows: plain lines on stderr when it is not a terminal, and train events with every field
the runner's display and `sdmspec status` read."""

from __future__ import annotations

import io
from pathlib import Path

from job_helpers import read_events, run_cli

from mamba_sdm.jobs.progress import PROGRESS_EVERY_ENV, PlainProgress

INTERFACE_FIELDS = {
    "step", "total_steps", "epoch", "loss", "lr", "grad_norm", "tokens_per_s", "eta_s", "data_wait_s", "skipped_steps"
}  # fmt: skip


def test_lines_come_at_most_every_interval_and_at_the_last_step() -> None:
    now = [0.0]
    sink = io.StringIO()
    progress = PlainProgress(interval_s=30, stream=sink, clock=lambda: now[0])
    progress.start(100, 0, "pretrain x")
    for step, at in ((1, 0.0), (2, 10.0), (3, 31.0), (4, 40.0), (100, 41.0)):
        now[0] = at
        progress.advance(step, {"loss": 2.5, "epoch": 0, "tokens_per_s": 41950.2, "eta_s": 93784.0})
    lines = sink.getvalue().splitlines()
    assert [line.split(" step ")[1].split(" ")[0] for line in lines] == ["1/100", "3/100", "100/100"]
    assert lines[1] == "pretrain x: step 3/100 (3.0%) epoch 0 loss 2.5000 41,950 tokens/s ETA 1d 2h"


def test_a_job_without_a_terminal_prints_progress_lines(tmp_path: Path, smoke_data: Path) -> None:
    out = tmp_path / "job"
    args = ["job", "pretrain", "--variant", "mamba-130m-dense", "--out", str(out), "--smoke"]
    done = run_cli(*args, "--data-dir", str(smoke_data), "--max-steps", "5", env={PROGRESS_EVERY_ENV: "0"})
    assert done.returncode == 0, done.stderr
    lines = [line for line in done.stderr.splitlines() if ": step " in line]
    assert [line.split(" step ")[1].split(" ")[0] for line in lines] == [f"{n}/5" for n in range(1, 6)]
    assert lines[-1].startswith("pretrain mamba-130m-dense: step 5/5 (100.0%) epoch 0 loss ")
    assert "tokens/s ETA " in lines[-1]


def test_train_events_carry_the_agreed_fields(pretrained: dict[str, Path]) -> None:
    train = [e for e in read_events(pretrained["mamba-130m-sdm"] / "metrics.jsonl") if e["event"] == "train"]
    # tokens/s and the ETA exist once a step was timed (the first step of a process is not).
    assert all(set(event) >= INTERFACE_FIELDS for event in train[1:])
    assert all(event["data_wait_s"] >= 0 for event in train)
