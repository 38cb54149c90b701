"""Ctrl-C, a killed stage and a killed runner: the manifest stays consistent and the next run resumes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from runner_fakes import copy_configs, ran, run_fake, starts

from mamba_sdm.spec import Spec
from sdmspec.errors import EXIT_INTERRUPTED, SdmspecError
from sdmspec.runner.manifest import StageStatus

DRIVER = str(Path(__file__).with_name("interrupt_driver.py"))
SLOW = {"pretrain/dense": ["--steps", "40", "--step-s", "0.05"]}


def _start_runner(
    out: Path, configs: Path, jobs: int = 1, extra: dict[str, list[str]] = SLOW, grace_s: float = 20.0
) -> subprocess.Popen[bytes]:
    argv = [sys.executable, DRIVER, str(out), str(configs), json.dumps(extra), str(jobs), str(grace_s)]
    return subprocess.Popen(argv)


def _wait_for_step(out: Path, stage: str, step: int, timeout: float = 30.0) -> None:
    checkpoint = out / stage / "checkpoint.json"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if json.loads(checkpoint.read_text())["step"] >= step:
                return
        except (OSError, ValueError):
            pass
        time.sleep(0.02)
    raise AssertionError(f"{stage} never reached step {step}")


def _manifest(out: Path) -> dict[str, object]:
    data: dict[str, object] = json.loads((out / "manifest.json").read_text())
    return data


def test_ctrl_c_stops_the_stage_cleanly_and_the_next_run_resumes_it(spec: Spec, tmp_path: Path) -> None:
    out, configs = tmp_path / "run", copy_configs(tmp_path)
    runner = _start_runner(out, configs)
    _wait_for_step(out, "pretrain/dense", 3)
    runner.send_signal(signal.SIGINT)
    assert runner.wait(timeout=30) == 130

    stages = _manifest(out)["stages"]
    assert isinstance(stages, dict)
    assert stages["pretrain/dense"]["status"] == "interrupted"
    assert stages["pretrain/dense"]["ended_at"] is not None
    assert (out / "pretrain/dense/interrupted").is_file()  # the job saw SIGINT and stopped itself
    assert stages["challenge/base"]["status"] == "pending"
    assert not any(record["status"] == "running" for record in stages.values())
    stopped_at = int((out / "pretrain/dense/interrupted").read_text())

    outcome, manifest, events = run_fake(spec, out, configs, SLOW)
    assert outcome.exit_code == 0
    assert "pretrain/dense" in ran(events)
    (_, first), (_, resumed) = starts(out, "pretrain/dense")
    assert first == 0 and resumed == stopped_at >= 3
    assert json.loads((out / "pretrain/dense/result.json").read_text())["steps"] == 40
    assert manifest.stages["pretrain/dense"].attempts == 2
    assert [invocation.outcome for invocation in manifest.invocations] == ["interrupted", "ok"]


def test_a_killed_stage_fails_and_the_next_run_resumes_from_its_checkpoint(spec: Spec, tmp_path: Path) -> None:
    out, configs = tmp_path / "run", copy_configs(tmp_path)
    runner = _start_runner(out, configs)
    _wait_for_step(out, "pretrain/dense", 3)
    pid = int(_manifest(out)["stages"]["pretrain/dense"]["job_id"])  # type: ignore[index]
    os.kill(pid, signal.SIGKILL)  # the OOM killer, say
    assert runner.wait(timeout=60) == 1
    record = _manifest(out)["stages"]["pretrain/dense"]  # type: ignore[index]
    assert record["status"] == "failed" and record["returncode"] == -signal.SIGKILL
    assert "SIGKILL" in record["message"]

    outcome, _, _ = run_fake(spec, out, configs, SLOW)
    assert outcome.exit_code == 0
    assert starts(out, "pretrain/dense")[1][1] >= 3


def test_a_killed_runner_leaves_its_stage_running_and_a_rerun_waits_for_it(spec: Spec, tmp_path: Path) -> None:
    out, configs = tmp_path / "run", copy_configs(tmp_path)
    runner = _start_runner(out, configs)
    _wait_for_step(out, "pretrain/dense", 1)
    runner.kill()
    runner.wait(timeout=30)
    assert _manifest(out)["stages"]["pretrain/dense"]["status"] == "running"  # type: ignore[index]
    with pytest.raises(SdmspecError, match=r"stage pretrain/dense still running \(pid \d+"):
        run_fake(spec, out, configs, SLOW)
    deadline = time.monotonic() + 30  # the orphaned job finishes on its own
    while not (out / "pretrain/dense/result.json").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.2)  # let it exit after writing its result
    outcome, manifest, events = run_fake(spec, out, configs, SLOW)
    assert outcome.exit_code == 0
    assert "pretrain/dense" not in ran(events)  # its result was adopted, not recomputed
    assert manifest.stages["pretrain/dense"].status is StageStatus.DONE
    assert len(starts(out, "pretrain/dense")) == 1


TWO_SLOW = {
    "pretrain/dense": ["--steps", "60", "--step-s", "0.05", "--save-s", "0.3"],
    "pretrain/sdm": ["--steps", "60", "--step-s", "0.05", "--save-s", "0.3"],
}


def test_sigterm_to_the_runner_stops_every_stage_after_it_saves_and_a_rerun_resumes_each(
    spec: Spec, tmp_path: Path
) -> None:
    out, configs = tmp_path / "run", copy_configs(tmp_path)
    runner = _start_runner(out, configs, jobs=2, extra=TWO_SLOW)
    _wait_for_step(out, "pretrain/dense", 3)
    _wait_for_step(out, "pretrain/sdm", 3)
    runner.send_signal(signal.SIGTERM)
    assert runner.wait(timeout=30) == EXIT_INTERRUPTED

    stages = _manifest(out)["stages"]
    assert isinstance(stages, dict)
    saved = {}
    for name in ("pretrain/dense", "pretrain/sdm"):
        record = stages[name]
        assert record["status"] == "interrupted" and record["returncode"] == 130
        assert record["message"].startswith("fake: stopped by SIGTERM at step ")  # the job's own line, once
        saved[name] = int((out / name / "interrupted").read_text())
    assert not any(record["status"] == "running" for record in stages.values())

    outcome, _, _ = run_fake(spec, out, configs, TWO_SLOW)
    assert outcome.exit_code == 0
    for name, step in saved.items():
        assert [resumed for _, resumed in starts(out, name)] == [0, step]
        assert json.loads((out / name / "result.json").read_text())["steps"] == 60


def test_a_stage_that_does_not_stop_within_the_grace_period_is_killed(spec: Spec, tmp_path: Path) -> None:
    out, configs = tmp_path / "run", copy_configs(tmp_path)
    stubborn = {"pretrain/dense": ["--steps", "200", "--step-s", "0.05", "--stubborn"]}
    runner = _start_runner(out, configs, extra=stubborn, grace_s=1.0)
    _wait_for_step(out, "pretrain/dense", 2)
    started = time.monotonic()
    runner.send_signal(signal.SIGTERM)
    assert runner.wait(timeout=30) == EXIT_INTERRUPTED
    assert time.monotonic() - started < 10
    record = _manifest(out)["stages"]["pretrain/dense"]  # type: ignore[index]
    assert record["status"] == "interrupted" and record["returncode"] == -signal.SIGKILL
    assert record["message"].startswith("did not stop within 1 s: killed")


def test_under_torchrun_the_stop_reaches_each_worker_once_and_it_saves(spec: Spec, tmp_path: Path) -> None:
    """SIGTERM goes to the torchrun agent, which passes it on to its workers (they run in sessions of their own); rank
    0 finishes its step and saves (a second signal within its 0.5 s save would have made it exit unsaved)."""
    from sdmspec.runner.launchers.torchrun import TorchrunLauncher

    out, configs = tmp_path / "run", copy_configs(tmp_path)
    slow = {"pretrain/dense": ["--steps", "200", "--step-s", "0.05", "--save-s", "0.5"]}

    def stop_when_training() -> None:
        _wait_for_step(out, "pretrain/dense", 3, timeout=60)
        os.kill(os.getpid(), signal.SIGTERM)  # to this process: the runner, whose handler is installed

    stopper = threading.Thread(target=stop_when_training, daemon=True)
    stopper.start()
    outcome, manifest, _ = run_fake(
        spec, out, configs, slow, launcher=TorchrunLauncher(out / "logs", nproc=2), only=("pretrain/dense",)
    )
    stopper.join(timeout=5)
    assert outcome.exit_code == EXIT_INTERRUPTED
    record = manifest.stages["pretrain/dense"]
    assert record.status is StageStatus.INTERRUPTED
    assert (out / "pretrain/dense/interrupted").is_file()  # rank 0 finished its step and saved
    assert "fake: stopped by SIGTERM at step" in Path(str(record.log)).read_text()


def _processes_mentioning(text: str) -> list[int]:
    found = []
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            if text in (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace"):
                found.append(int(entry.name))
        except OSError:
            continue
    return found


def test_a_stubborn_torchrun_worker_is_killed_with_its_agent(spec: Spec, tmp_path: Path) -> None:
    """torch starts the workers in sessions of their own: killing the agent's group alone would leave a worker
    writing a folder nobody holds."""
    from sdmspec.runner.launchers.torchrun import TorchrunLauncher

    out, configs = tmp_path / "run", copy_configs(tmp_path)
    stubborn = {"pretrain/dense": ["--steps", "400", "--step-s", "0.05", "--stubborn"]}

    def stop_when_training() -> None:
        _wait_for_step(out, "pretrain/dense", 3, timeout=60)
        os.kill(os.getpid(), signal.SIGTERM)

    stopper = threading.Thread(target=stop_when_training, daemon=True)
    stopper.start()
    launcher = TorchrunLauncher(out / "logs", nproc=2)
    outcome, manifest, _ = run_fake(
        spec, out, configs, stubborn, launcher=launcher, only=("pretrain/dense",), grace_s=1.0
    )
    stopper.join(timeout=5)
    assert outcome.exit_code == EXIT_INTERRUPTED
    assert manifest.stages["pretrain/dense"].message.startswith("did not stop within 1 s: killed")  # type: ignore[union-attr]
    time.sleep(0.3)
    assert _processes_mentioning(str(out / "pretrain/dense")) == []


def test_a_stage_stopped_from_elsewhere_is_recorded_interrupted_and_resumes(spec: Spec, tmp_path: Path) -> None:
    out, configs = tmp_path / "run", copy_configs(tmp_path)
    runner = _start_runner(out, configs)
    _wait_for_step(out, "pretrain/dense", 3)
    pid = int(_manifest(out)["stages"]["pretrain/dense"]["pid"])  # type: ignore[index]
    os.kill(pid, signal.SIGTERM)  # a user's `kill`, not the runner's stop: the stage saves and exits 130
    assert runner.wait(timeout=60) == 1  # the run itself was not stopped: it finished what did not need the stage
    stages = _manifest(out)["stages"]
    assert isinstance(stages, dict)
    assert stages["pretrain/dense"]["status"] == "interrupted"
    assert stages["pretrain/dense"]["message"].startswith("fake: stopped by SIGTERM at step ")
    assert stages["challenge/base"]["status"] == "skipped" and stages["pretrain/sdm"]["status"] == "done"
    outcome, _, _ = run_fake(spec, out, configs, SLOW)
    assert outcome.exit_code == 0 and starts(out, "pretrain/dense")[1][1] >= 3
