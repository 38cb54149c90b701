"""`sdmspec run -- CMD`: a real @hydra.main program (tests/hydra_app/train.py) gated on its composed config."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sdmspec.errors import ConfigError
from sdmspec.runner.command import exit_status, parse_overrides, split_command
from sdmspec_cli import OFFLINE, run_sdmspec

APP = Path(__file__).resolve().parents[1] / "hydra_app"
PYTHON = sys.executable


@pytest.fixture
def app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    target = tmp_path / "app"
    shutil.copytree(APP, target)
    monkeypatch.delenv("SDMSPEC_TEST_DATA_ROOT", raising=False)
    monkeypatch.setenv("SDMSPEC_CACHE", str(tmp_path / "cache"))  # compositions kept between runs
    return target


def sdmspec_run(app: Path, *command: str, out: str = "runs/one") -> subprocess.CompletedProcess[str]:
    return run_sdmspec("run", "--configs", "conf", "--out", out, "--", PYTHON, "train.py", *command, cwd=app)


def test_the_overrides_are_the_program_s_arguments() -> None:
    args = split_command(["torchrun", "--nproc_per_node", "8", "train.py", "experiment=x", "-cn", "paper", "lr=3e-4"])
    assert args.overrides == ("experiment=x", "lr=3e-4") and args.config_name == "paper"
    assert split_command(["python", "-m", "pkg.train", "--config-name=t", "+a=1", "~b"]).overrides == ("+a=1", "~b")
    assert split_command(["python", "train.py", "-cp", "conf", "a=1", "--multirun"]).multirun
    assert split_command(["./launch", "a=1"]).overrides == ("a=1",)


def test_overrides_are_checked_by_hydra_s_parser() -> None:
    parse_overrides(["experiment=x", "+a.b=3e-4", "~c", "d='quoted, with comma'"])
    with pytest.raises(ConfigError, match="do not parse"):
        parse_overrides(["a=[1,"])
    with pytest.raises(ConfigError, match="sweep"):
        parse_overrides(["lr=1e-3,1e-4"])


def test_a_signal_s_death_is_reported_as_a_shell_does() -> None:
    assert (exit_status(0), exit_status(3), exit_status(-signal.SIGTERM)) == (0, 3, 128 + signal.SIGTERM)


def test_a_finding_refuses_and_the_command_never_starts(app: Path) -> None:
    done = sdmspec_run(app, "data.workers=4", "optimizer.lr=3e-4")
    assert done.returncode == 1, done.stderr
    assert "SDM201" in done.stdout and "optimizer.lr is 0.0003" in done.stdout
    assert "refused:" in done.stdout and "it was not started" in done.stdout
    assert not (app / "received.json").exists() and not (app / "runs").exists()


def test_a_clean_command_runs_and_is_recorded(app: Path) -> None:
    done = sdmspec_run(app, "data.workers=4", "+exit_code=7")
    assert done.returncode == 7, done.stderr  # its exit code is sdmspec's
    assert json.loads((app / "received.json").read_text()) == {"lr": 0.0001, "max_epochs": 20, "workers": 4}
    record = json.loads((app / "runs" / "one" / "record.json").read_text())
    assert record["command"] == [PYTHON, "train.py", "data.workers=4", "+exit_code=7"]
    assert (record["config_name"], record["overrides"]) == ("train", ["data.workers=4", "+exit_code=7"])
    assert record["exit_code"] == 7 and record["started_at"] <= record["ended_at"]
    assert record["composed_config"]["optimizer"] == {"name": "adam", "lr": 0.0001, "weight_decay": 0.01,
                                                      "betas": [0.9, 0.999]}  # fmt: skip
    assert record["composed_config"]["data"]["root"] == "${oc.env:SDMSPEC_TEST_DATA_ROOT}"  # unresolved: as written
    assert sorted(record["config_hashes"]) == ["data/small.yaml", "optimizer/adam.yaml", "train.yaml"]
    assert len(record["spec_hash"]) == 64 and record["lint"]["errors"] == 0
    assert record["git_commit"] is None  # the copy is in no repository


def test_the_git_state_of_the_repository_is_recorded(app: Path) -> None:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@t"}  # fmt: skip
    for command in (["git", "init", "-q"], ["git", "add", "conf", "spec", "train.py"], ["git", "commit", "-qm", "x"]):
        subprocess.run(command, cwd=app, check=True, env=env)
    commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=app, capture_output=True, text=True, check=True)
    (app / "conf" / "train.yaml").write_text((app / "conf" / "train.yaml").read_text() + "# edited\n")
    done = sdmspec_run(app, "data.workers=4")
    assert done.returncode == 0, done.stderr
    record = json.loads((app / "runs" / "one" / "record.json").read_text())
    assert (record["git_commit"], record["git_dirty"]) == (commit.stdout.strip(), True)


def test_a_bad_override_or_a_sweep_is_one_line(app: Path) -> None:
    for words, expected in ((["a=[1,"], "do not parse"), (["lr=1,2"], "sweep"), (["--multirun"], "sweep")):
        done = sdmspec_run(app, *words)
        assert done.returncode == 2 and expected in done.stderr, done.stderr
        assert len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr


def test_a_command_that_does_not_exist_is_one_line(app: Path) -> None:
    done = run_sdmspec(
        "run", "--configs", "conf", "--config-name", "train", "--", "no-such-program-x", "data.workers=4", cwd=app
    )  # fmt: skip
    assert done.returncode == 2 and "cannot start no-such-program-x" in done.stderr, done.stderr


def test_sigterm_is_forwarded_and_the_stop_recorded(app: Path) -> None:
    process = subprocess.Popen(
        [PYTHON, "-m", "sdmspec", "run", "--configs", "conf", "--out", "runs/stop", "--", PYTHON, "train.py",
         "data.workers=4", "+wait=true"],
        cwd=app, env={**os.environ, **OFFLINE}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while not (app / "ready.txt").exists():
            assert process.poll() is None, process.communicate()
            assert time.monotonic() < deadline
            time.sleep(0.1)
        process.send_signal(signal.SIGTERM)  # to sdmspec, not to the program
        _, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 3, stderr  # the program's own exit after it handled SIGTERM
    assert (app / "stopped.txt").read_text() == "SIGTERM"
    record = json.loads((app / "runs" / "stop" / "record.json").read_text())
    assert (record["exit_code"], record["signals"]) == (3, ["SIGTERM"])
