"""The SLURM launcher's job graph: run on submitit's local executor, and rendered as sbatch files for a cluster."""

from __future__ import annotations

import itertools
import json
import os
import re
import stat
import sys
from pathlib import Path

import pytest
from runner_fakes import GRAPH, copy_configs, fake_plan, run_fake, starts

from mamba_sdm.spec import Spec
from sdmspec.runner.launchers.base import Handle
from sdmspec.runner.launchers.slurm import SlurmLauncher, SlurmOptions, StageCommand
from sdmspec.runner.launchers.torchrun import TORCHRUN_MODULE
from sdmspec.runner.manifest import StageStatus
from sdmspec.runner.stage import Trigger


def test_the_job_graph_runs_on_submitits_local_executor(spec: Spec, tmp_path: Path) -> None:
    out, configs = tmp_path / "run", copy_configs(tmp_path)
    launcher = SlurmLauncher(SlurmOptions(folder=out / "slurm", cluster="local", use_gpus=False, timeout_min=10))
    outcome, manifest, _ = run_fake(spec, out, configs, launcher=launcher)
    assert outcome.exit_code == 0, {name: r.message for name, r in manifest.stages.items()}
    assert manifest.launcher == "slurm" and manifest.launcher_options["cluster"] == "local"

    jobs = {submission.stage: submission for submission in launcher.submissions}
    assert set(jobs) == {*GRAPH, "report"}  # one job per stage
    assert len({submission.job_id for submission in launcher.submissions}) == len(jobs)
    for name, (_, upstream, _) in GRAPH.items():
        assert jobs[name].after == tuple(jobs[dep].job_id for dep in upstream)
        assert manifest.stages[name].job_id == jobs[name].job_id
    assert set(jobs["report"].after) == {jobs[name].job_id for name in GRAPH}
    # Training stages are distributed (one torchrun per node); the others are single tasks without GPUs.
    assert jobs["pretrain/dense"].parameters["tasks_per_node"] == 1
    assert not any("gpus_per_node" in submission.parameters for submission in launcher.submissions)
    # Each stage's output is in its submitit log, recorded in the manifest.
    log = manifest.stages["pretrain/dense"].log
    assert log is not None and "fake job in" in Path(log).read_text()
    assert all(record.status is StageStatus.DONE for record in manifest.stages.values())


def _fake_cluster(bin_dir: Path, record: Path) -> None:
    """`sbatch` that keeps every submitted script and answers with increasing job ids; `srun` that exists."""
    bin_dir.mkdir()
    sbatch = bin_dir / "sbatch"
    sbatch.write_text(
        "#!/bin/sh\n"
        f'n=$(($(cat "{record}.count" 2>/dev/null || echo 1000) + 1)); echo $n > "{record}.count"\n'
        f'{{ echo "=== $n"; cat "$1"; }} >> "{record}"\n'
        'echo "Submitted batch job $n"\n'
    )
    srun = bin_dir / "srun"
    srun.write_text("#!/bin/sh\nexit 0\n")
    for tool in (sbatch, srun):
        tool.chmod(tool.stat().st_mode | stat.S_IEXEC)


def _scripts(record: Path) -> dict[str, str]:
    """Submitted sbatch scripts by stage name (from each script's --job-name)."""
    scripts = {}
    for chunk in record.read_text().split("=== ")[1:]:
        job_id, _, script = chunk.partition("\n")
        name = re.search(r"#SBATCH --job-name=sdmspec:(\S+)", script)
        assert name is not None
        scripts[name.group(1)] = f"{job_id}\n{script}"
    return scripts


def test_on_a_cluster_every_stage_waits_for_its_upstream_jobs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    record = tmp_path / "sbatch.record"
    _fake_cluster(tmp_path / "bin", record)
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}")
    plan = fake_plan(tmp_path / "run")
    options = SlurmOptions(folder=tmp_path / "slurm", nproc=4, nodes=2, partition="gpu", timeout_min=600)
    launcher = SlurmLauncher(options)
    assert launcher.supports_dependencies
    handles: dict[str, Handle] = {}
    for stage in plan.stages:  # what the pipeline does with a scheduler: submit everything, upstreams first
        handles[stage.name] = launcher.start(stage, {dep: handles[dep] for dep in stage.depends_on})

    scripts = _scripts(record)
    assert set(scripts) == set(plan.names)
    for stage in plan.stages:
        job_id = scripts[stage.name].split("\n", 1)[0]
        assert handles[stage.name].job_id == job_id
        dependency = re.search(r"#SBATCH --dependency=(\S+)", scripts[stage.name])
        if not stage.depends_on:
            assert dependency is None
            continue
        assert dependency is not None
        kind, *ids = dependency.group(1).split(":")
        assert kind == ("afterany" if stage.trigger is Trigger.AFTER_ANY else "afterok")
        assert ids == [handles[dep].job_id for dep in stage.depends_on]
        assert "#SBATCH --kill-on-invalid-dep=yes" in scripts[stage.name]
    pretrain, verify = scripts["pretrain/dense"], scripts["verify/base"]
    assert "#SBATCH --nodes=2" in pretrain and "#SBATCH --gpus-per-node=4" in pretrain
    assert "#SBATCH --partition=gpu" in pretrain and "#SBATCH --time=600" in pretrain
    assert "#SBATCH --nodes=1" in verify and "--gpus-per-node" not in verify
    assert "#SBATCH --signal=USR2@120" in pretrain  # submitit's checkpoint/requeue signal, 120 s before the limit


def test_a_multi_node_stage_runs_torchrun_with_its_node_rank(monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in {
        "SUBMITIT_EXECUTOR": "slurm",  # what submitit sets in its jobs
        "SLURM_JOB_ID": "42",
        "SLURM_JOB_NUM_NODES": "2",
        "SLURM_NODEID": "1",
        "SLURM_JOB_NODELIST": "gpu[07-08]",
        "SLURM_NTASKS": "2",
        "SLURM_PROCID": "1",
        "SLURM_LOCALID": "0",
    }.items():
        monkeypatch.setenv(key, value)
    argv = (sys.executable, "-m", "sdmspec", "job", "pretrain", "--variant", "v")
    command = StageCommand(argv=argv, distributed=True, nproc=8, nodes=2, cwd=None, env={}).command()
    assert command[:3] == [sys.executable, "-m", TORCHRUN_MODULE]
    assert {"--nproc-per-node=8", "--nnodes=2", "--node-rank=1", "--master-addr=gpu07"} <= set(command)
    assert command[-6:] == ["-m", "sdmspec", "job", "pretrain", "--variant", "v"]
    single = StageCommand(argv=argv, distributed=False, nproc=8, nodes=2, cwd=None, env={}).command()
    assert single == list(argv)


def test_at_the_time_limit_a_stage_saves_is_requeued_and_resumes(spec: Spec, tmp_path: Path) -> None:
    """submitit's own path, on its local executor: the time-limit signal reaches the job's submitit process, whose
    checkpoint() stops the stage (SIGTERM: it saves and exits 130); submitit requeues the same command, which
    resumes from the saved step."""
    out, configs = tmp_path / "run", copy_configs(tmp_path)
    options = SlurmOptions(folder=out / "slurm", cluster="local", use_gpus=False, timeout_min=4 / 60, signal_delay_s=1)
    launcher = SlurmLauncher(options)
    slow = {"pretrain/dense": ["--steps", "20", "--step-s", "0.15"]}
    outcome, manifest, _ = run_fake(spec, out, configs, slow, launcher=launcher)
    assert outcome.exit_code == 0, {name: r.message for name, r in manifest.stages.items()}
    launches = starts(out, "pretrain/dense")
    assert len(launches) >= 2 and launches[0][1] == 0
    assert all(later[1] > earlier[1] for earlier, later in itertools.pairwise(launches))  # each resumed further on
    assert json.loads((out / "pretrain/dense/result.json").read_text())["steps"] == 20
    log = Path(str(manifest.stages["pretrain/dense"].log)).read_text()
    assert "fake: stopped by SIGTERM at step" in log and "requeueing" in log
    assert manifest.stages["pretrain/dense"].status is StageStatus.DONE
