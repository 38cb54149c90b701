"""Jobs as the runner launches them: interrupted runs resume exactly, and two processes match one.

Each test runs ``python -m sdmspec job ...`` subprocesses (and torchrun), so these are the slowest job tests.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from job_helpers import REPO, assert_same_weights, read_events, read_json, run_cli

from fault_injection import CRASH_EXIT_CODE, environment

pytestmark = pytest.mark.slow


def test_interrupted_pretrain_resumes_with_the_same_steps_and_weights(
    pretrained: dict[str, Path], smoke_data: Path, tmp_path: Path
) -> None:
    out = tmp_path / "dense"
    command = ["job", "pretrain", "--variant", "mamba-130m-dense", "--out", str(out), "--smoke"]
    command += ["--data-dir", str(smoke_data), "--checkpoint-every", "3", "--quiet"]
    # Killed mid-epoch 0 (last checkpoint: step 3), then again after step 8 (last checkpoint: step 6, an epoch end).
    for crash_after, resumes_at in ((5, 3), (5, 6)):
        crashed = run_cli(*command, env=environment(crash_after=crash_after))
        assert crashed.returncode == CRASH_EXIT_CODE, crashed.stderr
        assert not (out / "result.json").exists()
        assert (out / "checkpoints" / "latest").read_text().strip() == f"step-{resumes_at:08d}"
    finished = run_cli(*command)
    assert finished.returncode == 0, finished.stderr
    result = read_json(out / "result.json")
    reference = read_json(pretrained["mamba-130m-dense"] / "result.json")
    assert result["steps"] == reference["steps"] and result["resumed_from_step"] == 6
    steps = [e["step"] for e in read_events(out / "metrics.jsonl") if e["event"] == "train"]
    assert steps == list(range(1, reference["steps"] + 1))
    assert result["metrics"]["train_loss_last"] == pytest.approx(reference["metrics"]["train_loss_last"], rel=1e-5)
    assert_same_weights(out, pretrained["mamba-130m-dense"], atol=1e-5)


def test_two_processes_match_one_with_the_same_effective_batch(
    pretrained: dict[str, Path], smoke_data: Path, tmp_path: Path
) -> None:
    import os
    import subprocess

    out = tmp_path / "ddp"
    launch = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2", "-m", "sdmspec"]
    job = [
        "job",
        "pretrain",
        "--variant",
        "mamba-130m-dense",
        "--out",
        str(out),
        "--smoke",
        "--data-dir",
        str(smoke_data),
    ]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
    done = subprocess.run([*launch, *job], cwd=REPO, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    result = read_json(out / "result.json")
    reference = read_json(pretrained["mamba-130m-dense"] / "result.json")
    assert result["world_size"] == 2 and result["schedule"]["accumulation"] == 1
    assert reference["world_size"] == 1 and reference["schedule"]["accumulation"] == 2
    assert result["steps"] == reference["steps"]
    assert result["metrics"]["train_loss_last"] == pytest.approx(reference["metrics"]["train_loss_last"], rel=1e-4)
    assert result["metrics"]["val_ppl"] == pytest.approx(reference["metrics"]["val_ppl"], rel=1e-4)
    assert_same_weights(out, pretrained["mamba-130m-dense"], atol=1e-4)


def test_two_processes_resume_past_a_truncated_checkpoint_together(
    pretrained: dict[str, Path], smoke_data: Path, tmp_path: Path
) -> None:
    """Rank 0 alone moves an unreadable checkpoint aside; the other rank loads the one rank 0 resumed from (before,
    both ranks renamed the same folder: one of them died on a FileNotFoundError or deleted what the other moved)."""
    import os
    import subprocess

    out = tmp_path / "ddp"
    job = ["job", "pretrain", "--variant", "mamba-130m-dense", "--out", str(out), "--smoke"]
    job += ["--data-dir", str(smoke_data), "--checkpoint-every", "2", "--quiet"]
    crashed = run_cli(*job, env=environment(crash_after=5))
    assert crashed.returncode == CRASH_EXIT_CODE, crashed.stderr
    model_file = out / "checkpoints/step-00000004/model.safetensors"
    model_file.write_bytes(model_file.read_bytes()[:100])
    launch = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2", "-m", "sdmspec"]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
    done = subprocess.run([*launch, *job], cwd=REPO, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Traceback" not in done.stderr
    warnings = [line for line in done.stderr.splitlines() if "is unreadable; moved to" in line]
    assert len(warnings) == 1, done.stderr[-3000:]
    assert (out / "checkpoints/unreadable-step-00000004/model.safetensors").is_file()
    assert read_json(out / "result.json")["resumed_from_step"] == 2
    assert_same_weights(out, pretrained["mamba-130m-dense"], atol=1e-4)


def test_when_rank_0_cannot_resume_every_rank_stops_with_one_line(smoke_data: Path, tmp_path: Path) -> None:
    """No checkpoint is readable: rank 0 says so in one line and the other rank stops with it (it no longer waits in a
    barrier rank 0 never joins: a traceback under gloo when rank 0 exits, a hang under NCCL)."""
    import os
    import subprocess

    out = tmp_path / "ddp"
    job = ["job", "pretrain", "--variant", "mamba-130m-dense", "--out", str(out), "--smoke"]
    job += ["--data-dir", str(smoke_data), "--checkpoint-every", "2", "--quiet"]
    crashed = run_cli(*job, env=environment(crash_after=5))
    assert crashed.returncode == CRASH_EXIT_CODE, crashed.stderr
    for step in (2, 4):
        trainer = out / f"checkpoints/step-{step:08d}/trainer.pt"
        trainer.write_bytes(trainer.read_bytes()[:100])
    launch = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2", "-m", "sdmspec"]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
    done = subprocess.run([*launch, *job], cwd=REPO, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode != 0
    lines = [line for line in done.stderr.splitlines() if line.startswith("sdmspec: error: ")]
    assert any(f"no checkpoint under {out / 'checkpoints'} can be read" in line for line in lines), done.stderr[-3000:]
    assert any("rank 0 could not resume" in line and "rank 1 stops too" in line for line in lines)
    assert "[rank1]:" not in done.stderr, done.stderr[-3000:]  # a worker's traceback, as torchrun prefixes it
