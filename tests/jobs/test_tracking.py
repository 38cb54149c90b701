"""--report-to: every logged event reaches TensorBoard and MLflow (read back with their own readers), a resumed job
continues its runs, and a tracker that is missing or fails never stops the job."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path
from typing import Any

import pytest
from job_helpers import options, read_events, read_json, run_cli

from mamba_sdm.jobs.finetune import run_finetune
from mamba_sdm.jobs.metrics import MetricsLog
from mamba_sdm.jobs.pretrain import run_pretrain
from sdmspec.errors import SdmspecError
from sdmspec.tracking import parse_report_to, reporting

pytest.importorskip("tensorboard", reason="the track extra (tensorboard) is part of the dev install")
pytest.importorskip("mlflow", reason="the track extra (mlflow) is part of the dev install")


def _scalars(folder: Path) -> Any:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    accumulator = EventAccumulator(str(folder))
    accumulator.Reload()
    return accumulator


def _mlflow(uri: str) -> Any:
    from mlflow.tracking import MlflowClient

    return MlflowClient(uri)


@pytest.fixture
def mlflow_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A local SQLite tracking store, chosen the way users choose one: MLFLOW_TRACKING_URI."""
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    monkeypatch.setenv("MLFLOW_EXPERIMENT_NAME", "sdmspec-tests")
    return uri


def test_tensorboard_holds_every_train_event_of_a_pretraining(smoke_data: Path, tmp_path: Path) -> None:
    out = tmp_path / "pretrain"
    with reporting(["tensorboard"], run_name="pretrain mamba-130m-sdm"):
        run_pretrain(options("mamba-130m-sdm", out, smoke_data))
    train = [e for e in read_events(out / "metrics.jsonl") if e["event"] == "train"]
    accumulator = _scalars(out / "tensorboard")
    logged = [(event.step, event.value) for event in accumulator.Scalars("train/loss")]
    # TensorBoard stores scalars as float32.
    assert [step for step, _ in logged] == [e["step"] for e in train]
    assert [value for _, value in logged] == pytest.approx([e["loss"] for e in train], rel=1e-6)
    assert [e.value for e in accumulator.Scalars("train/sparsity")] == pytest.approx([e["sparsity"] for e in train])
    evals = [e for e in read_events(out / "metrics.jsonl") if e["event"] == "eval"]
    assert [e.value for e in accumulator.Scalars("eval/val_ppl")] == pytest.approx([e["val_ppl"] for e in evals])


def test_mlflow_run_of_a_finetune_in_a_sqlite_store(
    pretrained: dict[str, Path], smoke_data: Path, tmp_path: Path, mlflow_store: str
) -> None:
    from mamba_sdm.jobs.finetune import SETTINGS
    from mamba_sdm.jobs.tracker_params import job_params

    out = tmp_path / "finetune"
    job = options("mamba-130m-sdm", out, smoke_data, max_steps=4)
    params = job_params(job, [*SETTINGS, "epochs.sst2"], task="sst2")
    with reporting(["mlflow"], run_name="finetune mamba-130m-sdm sst2", params=params):
        run_finetune(job, task="sst2", checkpoint=pretrained["mamba-130m-sdm"])
    run_id = read_json(out / "tracking.json")["mlflow"]["run_id"]
    client = _mlflow(mlflow_store)
    run = client.get_run(run_id)
    assert run.info.run_name == "finetune mamba-130m-sdm sst2" and run.info.status == "FINISHED"
    assert client.get_experiment(run.info.experiment_id).name == "sdmspec-tests"
    result = read_json(out / "result.json")
    assert run.data.params["training.finetune.learning_rate"] == json.dumps(
        result["settings"]["training.finetune.learning_rate"]["value"]
    )
    assert run.data.params["job.task"] == "sst2" and run.data.params["job.variant"] == "mamba-130m-sdm"
    train = [e for e in read_events(out / "metrics.jsonl") if e["event"] == "train"]
    history = client.get_metric_history(run_id, "train/loss")
    assert [(m.step, m.value) for m in history] == [(e["step"], e["loss"]) for e in train]
    accuracy = client.get_metric_history(run_id, "eval/val_accuracy")
    assert result["metrics"]["val_accuracy"] in [m.value for m in accuracy]


def test_the_job_cli_reports_to_both(
    pretrained: dict[str, Path], smoke_data: Path, tmp_path: Path, mlflow_store: str
) -> None:
    out = tmp_path / "challenge"
    done = run_cli(
        "job", "challenge", "--variant", "mamba-130m-challenge", "--smoke", "--out", str(out),
        "--dense", str(pretrained["mamba-130m-dense"]), "--sdm", str(pretrained["mamba-130m-sdm"]),
        "--report-to", "tensorboard", "--report-to", "mlflow",
        env={"MLFLOW_TRACKING_URI": mlflow_store, "MLFLOW_EXPERIMENT_NAME": "sdmspec-tests"},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    zeros = read_json(out / "result.json")["sparsity"]["zeros"]
    assert zeros in [e.value for e in _scalars(out / "tensorboard").Scalars("sparsity/zeros")]
    run = _mlflow(mlflow_store).get_run(read_json(out / "tracking.json")["mlflow"]["run_id"])
    assert run.info.run_name == "challenge mamba-130m-challenge" and run.info.status == "FINISHED"
    assert zeros in [m.value for m in _mlflow(mlflow_store).get_metric_history(run.info.run_id, "sparsity/zeros")]


def _log_steps(out: Path, steps: range, loss: float) -> MetricsLog:
    log = MetricsLog(out / "metrics.jsonl", enabled=True)
    for step in steps:
        log.log("train", step=step, loss=loss + step, lr=1e-3, note="text is not a scalar", finite=float("nan"))
    return log


def test_a_resumed_job_continues_its_runs(tmp_path: Path, mlflow_store: str) -> None:
    """The interrupted process logged steps 1-5 and was killed; its checkpoint was at step 2, so the rerun keeps
    the first 2 events of metrics.jsonl, starts with its setup event at step 2 and logs from 3 again: TensorBoard
    holds exactly what metrics.jsonl holds (the rerun's values from step 3 on), MLflow continues the same run."""
    with pytest.raises(KeyboardInterrupt), reporting(["tensorboard", "mlflow"], run_name="job"):
        _log_steps(tmp_path, range(1, 6), loss=0.0)
        raise KeyboardInterrupt
    first = read_json(tmp_path / "tracking.json")["mlflow"]["run_id"]
    assert _mlflow(mlflow_store).get_run(first).info.status == "KILLED"
    with reporting(["tensorboard", "mlflow"], run_name="job"):
        resumed = MetricsLog(tmp_path / "metrics.jsonl", enabled=True)
        resumed.rewind(2)  # as the training loop does on resume: the events its checkpoint had seen
        resumed.log("setup", step=2, scan="parallel")
        for step in range(3, 8):
            resumed.log("train", step=step, loss=100.0 + step)
    assert read_json(tmp_path / "tracking.json")["mlflow"]["run_id"] == first
    assert _mlflow(mlflow_store).get_run(first).info.status == "FINISHED"
    losses = {e.step: e.value for e in _scalars(tmp_path / "tensorboard").Scalars("train/loss")}
    assert losses == {1: 1.0, 2: 2.0, 3: 103.0, 4: 104.0, 5: 105.0, 6: 106.0, 7: 107.0}
    assert "train/note" not in _scalars(tmp_path / "tensorboard").Tags()["scalars"]
    assert "train/finite" not in _scalars(tmp_path / "tensorboard").Tags()["scalars"]


def test_a_step_the_tracker_got_only_part_of_is_completed_on_resume(tmp_path: Path, mlflow_store: str) -> None:
    """Events reach the trackers from a background thread, so a process killed right after an epoch-end checkpoint
    can leave MLflow with the step's train event but not its eval event, which metrics.jsonl (and the checkpoint)
    hold: the resumed job sends that eval event, though MLflow already has other metrics at that step."""
    with pytest.raises(KeyboardInterrupt), reporting(["mlflow"], run_name="job"):
        _log_steps(tmp_path, range(1, 3), loss=0.0)
        raise KeyboardInterrupt
    first = read_json(tmp_path / "tracking.json")["mlflow"]["run_id"]
    # Written to metrics.jsonl, then the process died before its tracking thread sent it.
    with (tmp_path / "metrics.jsonl").open("a", encoding="utf-8") as handle:
        handle.write(json.dumps({"event": "eval", "step": 2, "epoch": 0, "val_ppl": 42.0}) + "\n")
    with reporting(["mlflow"], run_name="job"):
        resumed = MetricsLog(tmp_path / "metrics.jsonl", enabled=True)
        resumed.rewind(3, 2)  # the checkpoint at step 2 had seen all three events
        resumed.log("setup", step=2, scan="parallel")
        resumed.log("train", step=3, loss=103.0)
    client = _mlflow(mlflow_store)
    assert [(m.step, m.value) for m in client.get_metric_history(first, "eval/val_ppl")] == [(2, 42.0)]
    losses = {(m.step, m.value) for m in client.get_metric_history(first, "train/loss")}
    assert losses == {(1, 1.0), (2, 2.0), (3, 103.0)}


def test_a_missing_tracker_package_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # As when the packages are not installed: importing them raises ImportError.
    for module in ("mlflow", "mlflow.tracking", "torch.utils.tensorboard", "tensorboardX"):
        monkeypatch.setitem(sys.modules, module, None)
    notices = io.StringIO()
    with reporting(["tensorboard", "mlflow"], run_name="job", stream=notices):
        _log_steps(tmp_path, range(1, 4), loss=0.0)
    lines = notices.getvalue().splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("sdmspec: tracking: tensorboard is not installed (")
    assert lines[1].startswith("sdmspec: tracking: mlflow is not installed (")
    assert all(line.endswith("pip install 'sdmspec[track]'); the run goes on without it") for line in lines)
    assert [e["step"] for e in read_events(tmp_path / "metrics.jsonl")] == [1, 2, 3]
    assert not (tmp_path / "tensorboard").exists()


def test_a_tracker_failing_mid_run_is_one_warning(tmp_path: Path, mlflow_store: str) -> None:
    """The run is deleted from the store while the job runs: MLflow refuses further metrics. One warning, the other
    tracker and metrics.jsonl go on."""
    notices = io.StringIO()
    with reporting(["mlflow", "tensorboard"], run_name="job", stream=notices):
        log = _log_steps(tmp_path, range(1, 3), loss=0.0)
        assert log.trackers is not None
        log.trackers.flush()  # the trackers run in a background thread: the run exists once they have started
        _mlflow(mlflow_store).delete_run(read_json(tmp_path / "tracking.json")["mlflow"]["run_id"])
        for step in range(3, 7):
            log.log("train", step=step, loss=float(step))
        log.trackers.flush()
        assert log.trackers.active == ["tensorboard"]
    lines = notices.getvalue().splitlines()
    assert len(lines) == 1 and lines[0].startswith("sdmspec: tracking: warning: mlflow failed (")
    assert "the run goes on" in lines[0]
    assert [e["step"] for e in read_events(tmp_path / "metrics.jsonl")] == [1, 2, 3, 4, 5, 6]
    assert [e.step for e in _scalars(tmp_path / "tensorboard").Scalars("train/loss")] == [1, 2, 3, 4, 5, 6]


def test_other_ranks_track_nothing(tmp_path: Path) -> None:
    with reporting(["tensorboard"], run_name="job"):
        log = MetricsLog(tmp_path / "metrics.jsonl", enabled=False)  # what a rank other than 0 opens
        log.log("train", step=1, loss=1.0)
    assert log.trackers is None and not (tmp_path / "tensorboard").exists()


def test_report_to_choices() -> None:
    assert parse_report_to(["tensorboard", "mlflow,tensorboard", "WandB"]) == ("tensorboard", "mlflow", "wandb")
    with pytest.raises(SdmspecError, match="not a tracker; choose from tensorboard, mlflow, wandb"):
        parse_report_to(["comet"])
    done = run_cli("job", "pretrain", "--variant", "mamba-130m-sdm", "--out", "x", "--report-to", "comet")
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "sdmspec: error: --report-to 'comet': not a tracker; choose from tensorboard, mlflow, wandb"
    ]


def test_a_crashed_and_resumed_job_tracks_every_step_once(smoke_data: Path, tmp_path: Path, mlflow_store: str) -> None:
    from fault_injection import CRASH_EXIT_CODE, environment

    out = tmp_path / "dense"
    command = ["job", "pretrain", "--variant", "mamba-130m-dense", "--out", str(out), "--smoke", "--quiet"]
    command += ["--data-dir", str(smoke_data), "--checkpoint-every", "3", "--report-to", "tensorboard,mlflow"]
    env = {"MLFLOW_TRACKING_URI": mlflow_store, "MLFLOW_EXPERIMENT_NAME": "sdmspec-tests"}
    # The store exists before the job that is killed, as a user's does: a fresh SQLite store is created by MLflow's
    # schema migration, and a process killed in the middle of it (os._exit below) leaves a half-migrated database
    # no later run can open (MLflow's `_alembic_tmp_*` tables), which is MLflow's to survive, not this test's subject.
    _mlflow(mlflow_store).search_experiments()
    crashed = run_cli(*command, env={**env, **environment(crash_after=5)})  # dies after step 5; checkpoint at step 3
    assert crashed.returncode == CRASH_EXIT_CODE, crashed.stderr
    # The trackers start in the background: a process killed this early may die before MLflow's run exists (then
    # the rerun starts one; continuing a run is tested above without the race).
    started = (out / "tracking.json").is_file()
    run_id = read_json(out / "tracking.json")["mlflow"]["run_id"] if started else None
    finished = run_cli(*command, env=env)
    assert finished.returncode == 0, finished.stderr
    train = [e for e in read_events(out / "metrics.jsonl") if e["event"] == "train"]
    logged = _scalars(out / "tensorboard").Scalars("train/loss")
    assert [e.step for e in logged] == [e["step"] for e in train] == list(range(1, len(train) + 1))
    assert [e.value for e in logged] == pytest.approx([e["loss"] for e in train], rel=1e-6)
    run_id = run_id or read_json(out / "tracking.json")["mlflow"]["run_id"]
    assert read_json(out / "tracking.json")["mlflow"]["run_id"] == run_id
    client = _mlflow(mlflow_store)
    assert client.get_run(run_id).info.status == "FINISHED"
    history = {(m.step, m.value) for m in client.get_metric_history(run_id, "train/loss")}
    assert {(e["step"], e["loss"]) for e in train} <= history
