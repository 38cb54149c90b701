"""A run you can watch: progress read from metrics.jsonl, the live display and plain lines of `sdmspec run`, and
`sdmspec status OUT` from another process."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from rich.console import Console
from runner_fakes import copy_configs, run_fake

from mamba_sdm.spec import Spec
from sdmspec.cli.app import main
from sdmspec.cli.run_watch import RunWatcher
from sdmspec.runner.execute import log_tail
from sdmspec.runner.progress import describe, read_progress
from sdmspec.runner.status import run_status

DRIVER = str(Path(__file__).with_name("interrupt_driver.py"))
SLOW = {"pretrain/dense": ["--steps", "400", "--step-s", "0.05"]}


def _write_metrics(folder: Path, *lines: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "metrics.jsonl").write_text("".join(line + "\n" for line in lines))


def test_progress_is_the_last_train_event_past_garbled_lines_and_missing_fields(tmp_path: Path) -> None:
    train = {"event": "train", "step": 120, "total_steps": 1000, "loss": 3.2109, "tokens_per_s": 8865.2, "eta_s": 723}
    _write_metrics(
        tmp_path,
        json.dumps({"event": "train", "step": 119, "loss": 3.3}),
        json.dumps(train),
        json.dumps({"event": "eval", "step": 120, "val_loss": 3.0}),  # not a training step
        '{"event": "train", "step": 121, "lo',  # cut by a crash
        "\x00garbage",
    )
    progress = read_progress(tmp_path)
    assert progress is not None
    assert (progress.step, progress.total_steps, progress.loss, progress.eta_s) == (120, 1000, 3.2109, 723.0)
    assert progress.grad_norm is None and progress.data_wait_s is None  # not logged: unknown, not an error
    assert describe(progress) == "step 120/1,000 (12%), loss 3.211, 8,865 tokens/s, ETA 12m 03s"

    _write_metrics(tmp_path, json.dumps({"event": "train", "step": 7, "loss": None, "eta_s": "soon"}))
    assert describe(read_progress(tmp_path)) == "step 7, ETA ?"
    assert read_progress(tmp_path / "nowhere") is None
    assert describe(None) == "starting (no training step logged yet)"


def test_only_the_end_of_a_long_metrics_log_is_read(tmp_path: Path) -> None:
    lines = [json.dumps({"event": "train", "step": step, "total_steps": 50_000}) for step in range(1, 50_001)]
    _write_metrics(tmp_path, *lines)
    assert (tmp_path / "metrics.jsonl").stat().st_size > 2_000_000
    started = time.perf_counter()
    progress = read_progress(tmp_path)
    assert progress is not None and progress.step == 50_000
    assert time.perf_counter() - started < 0.5  # a tail read; the whole file would be ~100x the work


def _watch(console: Console, folder: Path) -> None:
    with RunWatcher(console, every_s=0.1) as watcher:
        watcher.started("pretrain/x", folder)
        time.sleep(1.3)
        watcher.ended("pretrain/x")


def test_off_a_terminal_the_run_prints_periodic_plain_progress_lines(tmp_path: Path) -> None:
    train = {"event": "train", "step": 5, "total_steps": 10, "loss": 2.5, "tokens_per_s": 1000, "eta_s": 5}
    _write_metrics(tmp_path, json.dumps(train))
    buffer = io.StringIO()
    _watch(Console(file=buffer, force_terminal=False, width=200), tmp_path)
    lines = [line for line in buffer.getvalue().splitlines() if line.strip()]
    assert len(lines) >= 3
    assert set(lines) == {"   progress pretrain/x: step 5/10 (50%), loss 2.5, 1,000 tokens/s, ETA 5s"}


def test_on_a_terminal_the_run_shows_a_live_table(tmp_path: Path) -> None:
    train = {"event": "train", "step": 5, "total_steps": 10, "loss": 2.5, "tokens_per_s": 1000, "eta_s": 65}
    _write_metrics(tmp_path, json.dumps(train))
    buffer = io.StringIO()
    _watch(Console(file=buffer, force_terminal=True, width=120), tmp_path)
    shown = buffer.getvalue()
    assert "pretrain/x" in shown and "5/10" in shown and "1m 05s" in shown and "1,000" in shown


def _step(folder: Path) -> int:
    progress = read_progress(folder)
    return progress.step or 0 if progress is not None else 0


def _wait_for(predicate: object, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return
        time.sleep(0.05)
    raise AssertionError("timed out")


def test_status_reads_a_running_run_from_another_process(
    spec: Spec, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out, configs = tmp_path / "run", copy_configs(tmp_path)
    runner = subprocess.Popen([sys.executable, DRIVER, str(out), str(configs), json.dumps(SLOW), "1"])
    try:
        _wait_for(lambda: _step(out / "pretrain/dense") >= 3)
        found = run_status(out)
        assert found.runner is not None and found.runner.startswith(f"pid {runner.pid} on ")
        states = {view.name: view for view in found.stages}
        dense = states["pretrain/dense"]
        assert dense.state == "running" and dense.progress is not None and dense.progress.total_steps == 400
        assert dense.holder is not None
        assert states["challenge/base"].state == "pending"

        with pytest.raises(SystemExit) as caught:
            main(["status", str(out), "--format", "json"])
        assert caught.value.code == 0
        document = json.loads(capsys.readouterr().out)
        running = [stage for stage in document["stages"] if stage["state"] == "running"]
        assert [stage["name"] for stage in running] == ["pretrain/dense"]
        assert running[0]["progress"]["step"] >= 3 and running[0]["progress"]["loss"] > 0

        with pytest.raises(SystemExit) as caught:
            main(["status", str(out)])
        assert caught.value.code == 0
        text = capsys.readouterr().out
        assert "1 running" in text and "sdmspec run active" in text and "/400" in text

        # The runner and its stage die without a word (SIGKILL): the manifest still says running; status does not.
        pid = int(json.loads((out / "manifest.json").read_text())["stages"]["pretrain/dense"]["pid"])
        runner.kill()
        runner.wait()
        os.killpg(pid, signal.SIGKILL)
        _wait_for(lambda: run_status(out).runner is None and
                  {v.name: v.state for v in run_status(out).stages}["pretrain/dense"] == "stopped")  # fmt: skip
    finally:
        if runner.poll() is None:
            runner.kill()
            runner.wait()


def test_status_shows_the_log_tail_of_a_failed_stage(spec: Spec, tmp_path: Path) -> None:
    out, configs = tmp_path / "run", copy_configs(tmp_path)
    run_fake(spec, out, configs, {"finetune/dense/sst2": ["--fail"]})
    found = run_status(out)
    failed = {view.name: view for view in found.stages if view.state == "failed"}
    assert set(failed) == {"finetune/dense/sst2"}
    assert failed["finetune/dense/sst2"].log_tail[-1] == "failing on purpose"
    assert found.counts()["done"] == 7 and found.runner is None


def test_status_lines_0_shows_no_log_lines(tmp_path: Path) -> None:
    log = tmp_path / "stage.log"
    log.write_text("first\nsecond\nlast\n")
    assert log_tail(str(log), 1) == ["last"]
    assert log_tail(str(log), 0) == []  # `sdmspec status --lines 0`: none, not the whole tail


def test_status_of_a_file_says_it_is_a_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "manifest.json").write_text("{}\n")
    with pytest.raises(SystemExit) as caught:
        main(["status", str(tmp_path / "manifest.json")])
    assert caught.value.code == 2
    where = tmp_path / "manifest.json"
    assert capsys.readouterr().err.splitlines() == [
        f"sdmspec: error: {where}: is a file, not a run folder (give the folder: `sdmspec status OUT`)"
    ]


def test_status_of_a_folder_without_a_run_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["status", str(tmp_path)])
    assert caught.value.code == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and "not a run folder (no manifest.json" in err[0]
