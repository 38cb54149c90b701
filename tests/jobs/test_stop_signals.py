"""A stop is a checkpoint: real signals to real smoke jobs (subprocesses, as the runner launches them), then a rerun
that must end exactly where an uninterrupted run ends."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from job_helpers import REPO, assert_same_weights, read_events, read_json

import sdmspec_cli
from fault_injection import STEP_DELAY, environment
from mamba_sdm.jobs.stop import STOP_SIGNALS_ENV
from sdmspec.errors import EXIT_INTERRUPTED

pytestmark = pytest.mark.slow

DENSE = "mamba-130m-dense"


def _command(out: Path, data: Path) -> list[str]:
    return ["job", "pretrain", "--variant", DENSE, "--out", str(out), "--smoke", "--data-dir", str(data), "--quiet"]


def _start(args: list[str], stderr: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    with stderr.open("wb") as sink:
        return subprocess.Popen(
            [sys.executable, "-m", "sdmspec", *args],
            cwd=REPO,
            env={**os.environ, **sdmspec_cli.OFFLINE, **env},
            stdout=subprocess.DEVNULL,
            stderr=sink,
        )


def _wait_for_train_step(metrics: Path, step: int, job: subprocess.Popen[bytes], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert job.poll() is None, "the job ended before it was signalled"
        if metrics.is_file() and any(
            e["event"] == "train" and e["step"] >= step for e in read_events_tolerant(metrics)
        ):
            return
        time.sleep(0.05)
    raise AssertionError(f"no train event for step {step}")


def read_events_tolerant(metrics: Path) -> list[dict[str, object]]:
    try:
        return read_events(metrics)
    except ValueError:  # a line being written
        return []


@pytest.mark.parametrize(
    ("number", "env"),
    [
        (signal.SIGTERM, {}),
        (signal.SIGINT, {}),
        (signal.SIGUSR1, {}),
        (signal.SIGUSR2, {STOP_SIGNALS_ENV: "TERM,USR2"}),
    ],
    ids=["TERM", "INT", "USR1", "USR2-configured"],
)
def test_a_stop_signal_saves_and_the_rerun_ends_as_an_uninterrupted_run(
    pretrained: dict[str, Path], smoke_data: Path, tmp_path: Path, number: signal.Signals, env: dict[str, str]
) -> None:
    out = tmp_path / "job"
    # Checkpoints only at epoch ends (6 steps): without the stop's own checkpoint, steps would be lost.
    args = [*_command(out, smoke_data), "--checkpoint-every", "0"]
    job = _start(args, tmp_path / "stderr", {**environment(step_delay=0.4), **env})
    _wait_for_train_step(out / "metrics.jsonl", 2, job)
    job.send_signal(number)
    assert job.wait(timeout=60) == EXIT_INTERRUPTED
    stderr = (tmp_path / "stderr").read_text()
    last = stderr.strip().splitlines()[-1]
    stopped = int(last.split(" at step ")[1].split(";")[0])
    assert last == (
        f"sdmspec: pretrain {DENSE}: stopped by {number.name} at step {stopped}; checkpoint saved; rerun to resume"
    )
    assert 2 <= stopped < 6 and "Traceback" not in stderr
    assert (out / "checkpoints/latest").read_text().strip() == f"step-{stopped:08d}"
    assert not (out / "result.json").exists()

    resumed = sdmspec_cli.run_sdmspec(*args, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    result, reference = read_json(out / "result.json"), read_json(pretrained[DENSE] / "result.json")
    assert result["resumed_from_step"] == stopped and result["steps"] == reference["steps"]
    steps = [e["step"] for e in read_events(out / "metrics.jsonl") if e["event"] == "train"]
    assert steps == list(range(1, reference["steps"] + 1))
    assert result["metrics"]["train_loss_last"] == pytest.approx(reference["metrics"]["train_loss_last"], rel=1e-5)
    assert_same_weights(out, pretrained[DENSE], atol=1e-5)


def test_a_second_signal_exits_at_once(smoke_data: Path, tmp_path: Path) -> None:
    out = tmp_path / "job"
    # A 3 s step: the first signal would wait for it to end; the second must not.
    args = [*_command(out, smoke_data), "--checkpoint-every", "0"]
    job = _start(args, tmp_path / "stderr", environment(step_delay=3))
    _wait_for_train_step(out / "metrics.jsonl", 1, job)
    job.send_signal(signal.SIGTERM)
    time.sleep(0.2)
    sent = time.monotonic()
    job.send_signal(signal.SIGINT)
    assert job.wait(timeout=30) == EXIT_INTERRUPTED
    assert time.monotonic() - sent < 2.0
    stderr = (tmp_path / "stderr").read_text()
    assert stderr.strip().splitlines()[-1] == f"sdmspec: pretrain {DENSE}: second signal (SIGINT): exiting now"
    assert not (out / "checkpoints").exists()  # nothing half-written either: no checkpoint was due yet


@pytest.mark.gpu
def test_stop_and_resume_round_trip_on_cuda(smoke_data: Path, tmp_path: Path) -> None:
    """SIGTERM to a job on the GPU, then a rerun: the same steps and (fp32, so kernels' atomics aside) the same weights
    as an uninterrupted GPU run, which runs beside it."""
    options = ["--device", "cuda", "--precision", "fp32", "--checkpoint-every", "0"]
    reference_out, out = tmp_path / "reference", tmp_path / "job"
    reference = _start([*_command(reference_out, smoke_data), *options], tmp_path / "reference.err", {})
    args = [*_command(out, smoke_data), *options]
    job = _start(args, tmp_path / "stderr", environment(step_delay=0.4))
    _wait_for_train_step(out / "metrics.jsonl", 2, job, timeout=240)
    job.send_signal(signal.SIGTERM)
    assert job.wait(timeout=60) == EXIT_INTERRUPTED, (tmp_path / "stderr").read_text()[-2000:]
    assert reference.wait(timeout=300) == 0, (tmp_path / "reference.err").read_text()[-2000:]
    stopped = int((out / "checkpoints/latest").read_text().strip().removeprefix("step-"))
    resumed = sdmspec_cli.run_sdmspec(*args, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    result, expected = read_json(out / "result.json"), read_json(reference_out / "result.json")
    assert result["device"].startswith("cuda") and result["resumed_from_step"] == stopped >= 2
    assert result["steps"] == expected["steps"]
    assert_same_weights(out, reference_out, atol=1e-4)


def _worker_with_rank(parent: int, rank: int) -> int:
    """The torchrun worker of ``parent`` whose environment says RANK=``rank``."""
    children = Path(f"/proc/{parent}/task/{parent}/children").read_text().split()
    for child in children:
        environ = Path(f"/proc/{child}/environ").read_bytes().split(b"\0")
        if f"RANK={rank}".encode() in environ:
            return int(child)
    raise AssertionError(f"no worker with RANK={rank} among {children}")


def test_under_ddp_a_signal_to_one_rank_stops_every_rank_after_the_same_step(
    pretrained: dict[str, Path], smoke_data: Path, tmp_path: Path
) -> None:
    out = tmp_path / "ddp"
    launch = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2", "-m", "sdmspec"]
    args = [*_command(out, smoke_data), "--checkpoint-every", "0"]
    env = {**os.environ, **sdmspec_cli.OFFLINE, **environment(step_delay=0.4)}
    with (tmp_path / "stderr").open("wb") as sink:
        torchrun = subprocess.Popen([*launch, *args], cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=sink)
    _wait_for_train_step(out / "metrics.jsonl", 2, torchrun)
    os.kill(_worker_with_rank(torchrun.pid, 1), signal.SIGTERM)  # rank 0 gets nothing: it learns it from the step
    assert torchrun.wait(timeout=120) != 0
    stderr = (tmp_path / "stderr").read_text()
    stopped = int((out / "checkpoints/latest").read_text().strip().removeprefix("step-"))
    assert f"stopped by SIGTERM at step {stopped}; checkpoint saved" in stderr  # rank 1
    assert f"stopped by a stop signal (received by another rank) at step {stopped}; checkpoint saved" in stderr

    env.pop(STEP_DELAY)
    done = subprocess.run([*launch, *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    result = read_json(out / "result.json")
    assert result["world_size"] == 2 and result["resumed_from_step"] == stopped >= 2
    assert_same_weights(out, pretrained[DENSE], atol=1e-4)
