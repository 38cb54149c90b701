"""The walk over the graph with light stages: order, skipping finished work, failures, invalidation, --only."""

from __future__ import annotations

import json
import sys
from dataclasses import replace
from pathlib import Path

import pytest
from runner_fakes import GRAPH, copy_configs, cpu_env, prepare, ran, run_fake, starts

from mamba_sdm.spec import Spec
from sdmspec.errors import SdmspecError
from sdmspec.runner.execute import execute
from sdmspec.runner.launchers.local import LocalLauncher
from sdmspec.runner.launchers.torchrun import TorchrunLauncher
from sdmspec.runner.manifest import StageStatus
from sdmspec.runner.prepare import prepare_run
from sdmspec.runner.stage import Plan

ALL = {*GRAPH, "report"}


def _ended(out: Path, stage: str) -> float:
    return (out / stage / ("iso_sparsity.json" if stage.startswith("verify") else "result.json")).stat().st_mtime


def test_every_stage_runs_after_its_upstreams(spec: Spec, tmp_path: Path) -> None:
    out, configs = tmp_path / "run", copy_configs(tmp_path)
    outcome, manifest, events = run_fake(spec, out, configs)
    assert outcome.exit_code == 0
    assert {name: record.status for name, record in manifest.stages.items()} == dict.fromkeys(ALL, StageStatus.DONE)
    for name, (_, upstream, _) in GRAPH.items():
        (started, _), *_ = starts(out, name)
        for dep in upstream:
            assert started >= _ended(out, dep), f"{name} started before {dep} ended"
    assert (out / "report.md").is_file()
    assert ran(events) == ALL


def test_a_second_run_reuses_every_finished_stage(spec: Spec, tmp_path: Path) -> None:
    out, configs = tmp_path / "run", copy_configs(tmp_path)
    run_fake(spec, out, configs)
    outcome, manifest, events = run_fake(spec, out, configs)
    assert outcome.exit_code == 0
    assert ran(events) == set()
    assert {event.stage for event in events if event.kind == "reused"} == ALL
    assert all(len(starts(out, name)) == 1 for name in GRAPH)
    assert len(manifest.invocations) == 2


def test_parallel_jobs_overlap_independent_stages(spec: Spec, tmp_path: Path) -> None:
    out, configs = tmp_path / "run", copy_configs(tmp_path)
    slow = {
        "pretrain/dense": ["--steps", "4", "--step-s", "0.15"],
        "pretrain/sdm": ["--steps", "4", "--step-s", "0.15"],
    }
    outcome, _, _ = run_fake(spec, out, configs, slow, jobs=2)
    assert outcome.exit_code == 0
    (dense_start, _), (sdm_start, _) = starts(out, "pretrain/dense")[0], starts(out, "pretrain/sdm")[0]
    assert sdm_start < _ended(out, "pretrain/dense") and dense_start < _ended(out, "pretrain/sdm")


def test_a_failure_skips_its_downstream_and_the_report_is_still_written(spec: Spec, tmp_path: Path) -> None:
    out, configs = tmp_path / "run", copy_configs(tmp_path)
    outcome, manifest, events = run_fake(spec, out, configs, {"pretrain/sdm": ["--fail"]})
    status = {name: record.status for name, record in manifest.stages.items()}
    assert outcome.exit_code == 1
    assert status["pretrain/sdm"] is StageStatus.FAILED
    assert manifest.stages["pretrain/sdm"].returncode == 1
    for name in ("challenge/base", "verify/base", "finetune/base/sst2"):
        assert status[name] is StageStatus.SKIPPED
        assert not (out / name).exists()
    assert status["finetune/dense/sst2"] is StageStatus.DONE
    assert status["report"] is StageStatus.DONE
    report = (out / "report.md").read_text()
    assert "pretrain/sdm | failed" in report
    failed = next(event for event in events if event.kind == "failed")
    assert failed.log is not None and "failing on purpose" in Path(failed.log).read_text()

    # Fixed: the failed stage and what it blocked run; finished work is kept.
    outcome, manifest, events = run_fake(spec, out, configs)
    assert outcome.exit_code == 0
    assert ran(events) == {"pretrain/sdm", "challenge/base", "verify/base", "finetune/base/sst2", "report"}
    assert len(starts(out, "finetune/dense/sst2")) == 1


def test_an_iso_sparsity_mismatch_stops_everything_downstream(spec: Spec, tmp_path: Path) -> None:
    out, configs = tmp_path / "run", copy_configs(tmp_path)
    outcome, manifest, _ = run_fake(spec, out, configs, {"verify/base": ["--verdict", "mismatch"]})
    assert outcome.exit_code == 1
    assert manifest.stages["verify/base"].status is StageStatus.FAILED
    assert "iso-sparsity mismatch" in (manifest.stages["verify/base"].message or "")
    assert manifest.stages["finetune/base/sst2"].status is StageStatus.SKIPPED
    # The verdict stays for the reader, but does not count as done: the next run verifies again.
    assert json.loads((out / "verify/base/iso_sparsity.json").read_text())["verdict"] == "mismatch"
    _, _, events = run_fake(spec, out, configs, {"verify/base": ["--verdict", "mismatch"]})
    assert "verify/base" in ran(events)


def _edit(configs: Path, file: str, old: str, new: str) -> None:
    path = configs / file
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


def test_a_changed_setting_reruns_only_the_stages_that_read_it(spec: Spec, tmp_path: Path) -> None:
    out, configs = tmp_path / "run", copy_configs(tmp_path)
    run_fake(spec, out, configs)

    _edit(configs, "mamba_130m.yaml", "mrpc: 8", "mrpc: 9")  # one task's epochs
    prepared = prepare(spec, out, configs)
    assert prepared.states["finetune/dense/mrpc"].reason == "settings changed: epochs.mrpc"
    _, manifest, events = run_fake(spec, out, configs)
    assert ran(events) == {"finetune/dense/mrpc", "report"}
    assert manifest.stages["finetune/dense/mrpc"].settings["epochs.mrpc"] == 9

    _edit(configs, "finetune_glue.yaml", "learning_rate: 1.0e-4", "learning_rate: 3.0e-4")  # every fine-tuning
    _, _, events = run_fake(spec, out, configs)
    assert ran(events) == {"finetune/dense/sst2", "finetune/dense/mrpc", "finetune/base/sst2", "report"}

    _edit(configs, "pretrain_sdm.yaml", "# Phase A", "# Phase A (a comment edit changes no value)")
    _, _, events = run_fake(spec, out, configs)
    assert ran(events) == set()

    _edit(configs, "pretrain_sdm.yaml", "max_epochs: 20", "max_epochs: 21")  # pre-training: everything below it
    _, _, events = run_fake(spec, out, configs)
    assert ran(events) == ALL


def test_a_changed_spec_reruns_everything(spec: Spec, tmp_path: Path) -> None:
    out, configs = tmp_path / "run", copy_configs(tmp_path)
    run_fake(spec, out, configs)
    edited = spec.model_copy(update={"digest": "0" * 64})
    prepared = prepare(edited, out, configs)
    assert set(prepared.to_run) == ALL
    assert prepared.states["pretrain/dense"].reason == "spec changed"


def test_an_upstream_rerun_makes_its_downstream_stale(spec: Spec, tmp_path: Path) -> None:
    out, configs = tmp_path / "run", copy_configs(tmp_path)
    run_fake(spec, out, configs)
    (out / "pretrain/dense/result.json").unlink()  # e.g. a user deleted it to retrain
    _, _, events = run_fake(spec, out, configs)
    downstream = {"challenge/base", "verify/base", "finetune/dense/sst2", "finetune/dense/mrpc", "finetune/base/sst2"}
    assert ran(events) == {"pretrain/dense", *downstream, "report"}


def test_only_selects_by_name_glob_and_kind_and_refuses_unfinished_upstreams(spec: Spec, tmp_path: Path) -> None:
    out, configs = tmp_path / "run", copy_configs(tmp_path)
    with pytest.raises(SdmspecError, match="upstream pretrain/dense is not done"):
        prepare(spec, out, configs, only=("finetune/dense/*",))
    with pytest.raises(SdmspecError, match="matches no stage"):
        prepare(spec, out, configs, only=("pretrian",))
    outcome, _, events = run_fake(spec, out, configs, only=("pretrain",))
    assert ran(events) == {"pretrain/dense", "pretrain/sdm"}
    assert set(outcome.statuses) == {"pretrain/dense", "pretrain/sdm"}
    _, _, events = run_fake(spec, out, configs, only=("finetune/dense/*",))
    assert ran(events) == {"finetune/dense/sst2", "finetune/dense/mrpc"}
    assert not (out / "challenge").exists()


def test_torchrun_runs_training_stages_on_several_processes(spec: Spec, tmp_path: Path) -> None:
    out, configs = tmp_path / "run", copy_configs(tmp_path)
    launcher = TorchrunLauncher(out / "logs", nproc=2)
    outcome, manifest, _ = run_fake(spec, out, configs, launcher=launcher, only=("pretrain/dense",))
    assert outcome.exit_code == 0, manifest.stages["pretrain/dense"].message
    assert json.loads((out / "pretrain/dense/result.json").read_text())["world_size"] == 2
    assert manifest.launcher == "torchrun" and manifest.launcher_options["nproc"] == 2


def test_a_stage_that_cannot_start_fails_and_the_run_goes_on(spec: Spec, tmp_path: Path) -> None:
    out, configs = tmp_path / "run", copy_configs(tmp_path)
    (out / "pretrain").mkdir(parents=True)
    (out / "pretrain" / "sdm").write_text("a file where the stage's folder belongs\n")
    outcome, manifest, _ = run_fake(spec, out, configs)
    status = {name: record.status for name, record in manifest.stages.items()}
    assert outcome.exit_code == 1
    assert status["pretrain/sdm"] is StageStatus.FAILED
    assert (manifest.stages["pretrain/sdm"].message or "").startswith("cannot start: ")
    assert status["challenge/base"] is StageStatus.SKIPPED
    assert status["finetune/dense/sst2"] is StageStatus.DONE and status["report"] is StageStatus.DONE


def test_a_run_prepared_before_another_run_used_the_folder_refuses_rather_than_overwrite_it(
    spec: Spec, tmp_path: Path
) -> None:
    out, configs = tmp_path / "run", copy_configs(tmp_path)
    stale = prepare(spec, out, configs)  # read the folder (no manifest yet), then waited for the lock
    run_fake(spec, out, configs)  # meanwhile another run did everything
    finished = (out / "manifest.json").read_bytes()
    with pytest.raises(SdmspecError, match="changed this folder while this run was being prepared"):
        execute(stale, LocalLauncher(out / "logs"))
    assert (out / "manifest.json").read_bytes() == finished  # its records stand; nothing ran twice
    assert all(len(starts(out, name)) == 1 for name in GRAPH)


def test_a_run_folder_whose_report_ran_another_command_reruns_only_the_report(spec: Spec, tmp_path: Path) -> None:
    """A folder written when the report stage was ``python -m sdmspec.runner.report --out OUT``: its fingerprint
    differs, and the report has no downstream, so the rerun redoes the report alone."""
    out, configs = tmp_path / "run", copy_configs(tmp_path)
    prepared = prepare(spec, out, configs)
    written = "import sys, pathlib; from mamba_sdm.run_report import *; write_report(pathlib.Path(sys.argv[1]))"
    old = replace(prepared.plan["report"], argv=(sys.executable, "-c", written, str(out)))
    plan = Plan(tuple(old if stage.name == "report" else stage for stage in prepared.plan.stages))
    request = prepared.request
    assert execute(prepare_run(request, spec, cpu_env(spec), plan=plan), LocalLauncher(out / "logs")).exit_code == 0

    again = prepare(spec, out, configs)
    assert again.to_run == ("report",) and again.states["report"].reason == "command or upstream changed"
    outcome, _, events = run_fake(spec, out, configs)
    assert outcome.exit_code == 0 and ran(events) == {"report"}
