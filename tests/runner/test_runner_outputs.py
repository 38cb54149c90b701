"""Done means verified: finished stages' outputs are checked before reuse, launches are recorded before they happen,
and a stage whose process still runs (its folder lock held) is never started twice."""

from __future__ import annotations

import hashlib
import json
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path

import pytest
from runner_fakes import copy_configs, prepare, ran, run_fake, starts

from mamba_sdm.jobs.common import start_output
from mamba_sdm.spec import Spec
from mamba_sdm.stages import StageKind
from sdmspec import stage_lock
from sdmspec.errors import EXIT_USAGE, SdmspecError
from sdmspec.runner import outputs
from sdmspec.runner.launchers.base import Handle
from sdmspec.runner.launchers.local import LocalLauncher
from sdmspec.runner.manifest import StageStatus
from sdmspec.runner.stage import Stage

HOLD = (
    "import sys, time; from pathlib import Path; from sdmspec import stage_lock; "
    "stage_lock.hold(Path(sys.argv[1])); print('held', flush=True); time.sleep(60)"
)


def _edit(configs: Path, name: str, old: str, new: str) -> None:
    path = configs / name
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


def _holder(folder: Path) -> subprocess.Popen[str]:
    """Another process holding ``folder``'s lock, as a job started by hand would."""
    process = subprocess.Popen([sys.executable, "-c", HOLD, str(folder)], stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None and process.stdout.readline().strip() == "held"
    return process


def _stop(holder: subprocess.Popen[str]) -> None:
    holder.kill()
    holder.communicate()


def test_a_finished_stage_records_the_size_and_sha256_of_its_outputs(spec: Spec, tmp_path: Path) -> None:
    out, configs = tmp_path / "run", copy_configs(tmp_path)
    _, manifest, _ = run_fake(spec, out, configs)
    digest = manifest.stages["pretrain/dense"].outputs_digest
    assert digest is not None and set(digest) == {"result.json", "model/weights.bin"}
    assert digest["model/weights.bin"]["size"] == 1024
    weights = (out / "pretrain/dense/model/weights.bin").read_bytes()
    assert digest["model/weights.bin"]["sha256"] == hashlib.sha256(weights).hexdigest()
    assert set(manifest.stages["verify/base"].outputs_digest or {}) == {"iso_sparsity.json"}


def test_a_truncated_model_reruns_its_stage_and_everything_below_it(spec: Spec, tmp_path: Path) -> None:
    out, configs = tmp_path / "run", copy_configs(tmp_path)
    run_fake(spec, out, configs)
    weights = out / "pretrain/dense/model/weights.bin"
    weights.write_bytes(weights.read_bytes()[:512])  # half of it cut off

    prepared = prepare(spec, out, configs)
    assert prepared.states["pretrain/dense"].reason == "outputs changed: model/weights.bin is 512 bytes, was 1,024"
    assert prepared.states["pretrain/sdm"].done
    _, manifest, events = run_fake(spec, out, configs)
    assert {"pretrain/dense", "challenge/base", "finetune/dense/sst2"} <= ran(events)
    assert "pretrain/sdm" not in ran(events)
    assert len(weights.read_bytes()) == 1024
    assert manifest.stages["pretrain/dense"].outputs_digest["model/weights.bin"]["size"] == 1024  # type: ignore[index]
    _, _, events = run_fake(spec, out, configs)
    assert ran(events) == set()  # verified again, and reused


def test_a_same_size_edit_is_caught_by_the_digest(spec: Spec, tmp_path: Path) -> None:
    out, configs = tmp_path / "run", copy_configs(tmp_path)
    run_fake(spec, out, configs)
    result = out / "finetune/dense/sst2/result.json"
    text = result.read_text()
    result.write_text(text.replace("0.5", "0.9", 1))  # same length, another accuracy
    reason = prepare(spec, out, configs).states["finetune/dense/sst2"].reason
    assert reason.startswith("outputs changed: result.json (sha256 ")
    weights = out / "pretrain/sdm/model/weights.bin"
    weights.unlink()
    assert prepare(spec, out, configs).states["pretrain/sdm"].reason == "outputs changed: model/weights.bin is missing"


def test_an_unreadable_output_is_a_reason_to_rerun(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "pretrain"
    (folder / "model").mkdir(parents=True)
    (folder / "result.json").write_text("{}")
    (folder / "model" / "model.safetensors").write_bytes(b"x" * 10)
    stage = Stage("pretrain/x", StageKind.PRETRAIN.value, (), (), (), (), marker=str(folder / "result.json"))
    recorded = outputs.digest_outputs(stage)
    assert outputs.outputs_problem(stage, recorded) is None

    def unreadable(path: Path) -> str:
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(outputs, "sha256_file", unreadable)
    assert outputs.outputs_problem(stage, recorded) == "outputs unreadable: result.json (Permission denied)"


def test_stages_that_never_started_are_labelled_not_started(spec: Spec, tmp_path: Path) -> None:
    out, configs = tmp_path / "run", copy_configs(tmp_path)
    failing = {"pretrain/dense": ["--fail"]}
    _, manifest, _ = run_fake(spec, out, configs, failing)
    assert manifest.stages["finetune/dense/sst2"].status is StageStatus.SKIPPED
    _edit(configs, "finetune_glue.yaml", "learning_rate: 1.0e-4", "learning_rate: 3.0e-4")
    states = prepare(spec, out, configs, failing).states
    assert states["finetune/dense/sst2"].reason == "not started"
    assert states["pretrain/dense"].reason == "failed last time"


class _Witness(LocalLauncher):
    """The local launcher, reading the manifest on disk at the instant before it starts each stage's process."""

    def __init__(self, logs: Path, out: Path) -> None:
        super().__init__(logs)
        self.out = out
        self.seen: dict[str, Mapping[str, object]] = {}

    def start(self, stage: Stage, running_upstream: Mapping[str, Handle]) -> Handle:
        self.seen[stage.name] = json.loads((self.out / "manifest.json").read_text())["stages"][stage.name]
        return super().start(stage, running_upstream)


def test_a_stage_is_recorded_as_launched_before_its_process_starts(spec: Spec, tmp_path: Path) -> None:
    out, configs = tmp_path / "run", copy_configs(tmp_path)
    witness = _Witness(out / "logs", out)
    _, manifest, _ = run_fake(spec, out, configs, launcher=witness)
    before = witness.seen["pretrain/dense"]
    assert before["status"] == "running" and before["started_at"] and before["host"] and before["attempts"] == 1
    assert before["pid"] is None  # not known yet: the process does not exist
    assert manifest.stages["pretrain/dense"].pid is not None


def test_a_second_job_on_the_same_folder_exits_2_naming_the_pid(tmp_path: Path) -> None:
    folder = tmp_path / "job"
    holder = _holder(folder)
    try:
        with pytest.raises(stage_lock.FolderBusyError, match=rf"pid {holder.pid} on ") as caught:
            start_output(folder)
        assert caught.value.exit_code == EXIT_USAGE
    finally:
        _stop(holder)
    start_output(folder)  # the holder is gone (killed: the kernel released its lock)
    stage_lock.release(folder)


def test_the_runner_never_starts_a_stage_whose_folder_is_held(spec: Spec, tmp_path: Path) -> None:
    out, configs = tmp_path / "run", copy_configs(tmp_path)
    holder = _holder(out / "pretrain/dense")
    try:
        with pytest.raises(SdmspecError, match=rf"stage pretrain/dense still running \(pid {holder.pid} on .*wait or"):
            run_fake(spec, out, configs)
    finally:
        _stop(holder)
    outcome, _, events = run_fake(spec, out, configs)
    assert outcome.exit_code == 0 and "pretrain/dense" in ran(events)


def test_a_runner_killed_right_after_a_launch_leaves_the_stage_held(spec: Spec, tmp_path: Path) -> None:
    """The stage inherits its lock from the runner: even a stage that never took a lock itself (the fake job) is
    seen as running by the next runner, until it exits."""
    out, configs = tmp_path / "run", copy_configs(tmp_path)
    driver = Path(__file__).with_name("interrupt_driver.py")
    slow = {"pretrain/dense": ["--steps", "30", "--step-s", "0.05"]}
    runner = subprocess.Popen([sys.executable, str(driver), str(out), str(configs), json.dumps(slow), "1"])
    deadline = time.monotonic() + 30
    while not starts(out, "pretrain/dense") and time.monotonic() < deadline:
        time.sleep(0.01)
    runner.kill()
    runner.wait()
    assert stage_lock.holder(out / "pretrain/dense") is not None
    with pytest.raises(SdmspecError, match="stage pretrain/dense still running"):
        run_fake(spec, out, configs, slow)
    while stage_lock.holder(out / "pretrain/dense") is not None and time.monotonic() < deadline + 30:
        time.sleep(0.05)
    outcome, _, events = run_fake(spec, out, configs, slow)
    assert outcome.exit_code == 0 and "pretrain/dense" not in ran(events)
    assert len(starts(out, "pretrain/dense")) == 1


def test_a_job_whose_launcher_holds_its_lock_runs_under_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Under `sdmspec run` the launcher holds the stage's lock (the torchrun agent, for its workers); the job's
    start_output then proceeds. Named for another folder, the variable grants nothing."""
    folder = tmp_path / "stage"
    holder = _holder(folder)
    try:
        monkeypatch.setenv(stage_lock.INHERITED_ENV, str(tmp_path / "elsewhere"))
        with pytest.raises(stage_lock.FolderBusyError):
            start_output(folder)
        monkeypatch.setenv(stage_lock.INHERITED_ENV, str(folder))
        (folder / "result.json").write_text("{}")
        start_output(folder)
        assert not (folder / "result.json").exists()  # the previous result forgotten, as in any start
        assert stage_lock.holder(folder) == f"pid {holder.pid} on {socket.gethostname()}"
    finally:
        _stop(holder)
