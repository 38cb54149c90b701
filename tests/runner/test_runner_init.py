"""The runner and Phase A's starting weights: their digest in the pre-training fingerprints (a changed checkpoint
reruns Phase A and everything after it), `--init-from SIZE=DIR` in the plan, the record in the manifest and report."""

from __future__ import annotations

import os
import shutil
from dataclasses import replace
from pathlib import Path

import pytest
import torch
from runner_fakes import GRAPH, REPO, copy_configs, cpu_env, fake_plan, ran

from mamba_sdm.initial_weights import parse_init_from
from mamba_sdm.models.build import dimensions, mamba_config
from mamba_sdm.models.pretrained import FROM_CACHE, weights_digest
from mamba_sdm.spec import Spec
from mamba_sdm.stages import PlanOptions, StageKind, build_plan
from sdmspec.checkpoint.folders import weight_files
from sdmspec.errors import EXIT_USAGE, CheckpointError, SdmspecError
from sdmspec.runner.execute import RunEvent, execute
from sdmspec.runner.launchers.local import LocalLauncher
from sdmspec.runner.manifest import Manifest, read_manifest
from sdmspec.runner.prepare import PreparedRun, RunRequest, prepare_run
from sdmspec.runner.stage import Plan

ALL = {*GRAPH, "report"}


def _start(folder: Path, spec: Spec, value: float = 0.0) -> Path:
    """A full-size 130m config.json with a tiny weights file: found, checked and hashed like the released one."""
    from safetensors.torch import save_file

    folder.mkdir(parents=True, exist_ok=True)
    mamba_config(dimensions(spec.models["130m"])).save_pretrained(str(folder))
    save_file({"w": torch.full((4,), value)}, str(folder / "model.safetensors"))
    return folder


def _plan(out: Path) -> Plan:
    """The fake pipeline, its two pre-training stages starting from the 130m weights as the real ones do."""
    stages = fake_plan(out).stages
    return Plan(tuple(replace(s, reads_init="130m") if s.kind == StageKind.PRETRAIN else s for s in stages))


def _prepare(spec: Spec, out: Path, configs: Path, **options: object) -> PreparedRun:
    """The fake pipeline prepared with the paper's hooks; ``options``: the paper's run options (``init_from``)."""
    req = RunRequest(configs=configs, spec_path=REPO / "spec", out=out, argv=("test",), pipeline_options=options)
    return prepare_run(req, spec, cpu_env(spec), plan=_plan(out))


def _run(spec: Spec, out: Path, configs: Path, **request: object) -> tuple[Manifest, list[RunEvent]]:
    events: list[RunEvent] = []
    outcome = execute(_prepare(spec, out, configs, **request), LocalLauncher(out / "logs", jobs=1), events.append)
    assert outcome.exit_code == 0
    manifest = read_manifest(out)
    assert manifest is not None
    return manifest, events


def test_changed_starting_weights_rerun_phase_a_and_everything_after_it(spec: Spec, tmp_path: Path) -> None:
    out, configs = tmp_path / "run", copy_configs(tmp_path)
    start = _start(tmp_path / "start", spec)
    manifest, events = _run(spec, out, configs, init_from=(("130m", start),))
    assert ran(events) == ALL
    record = manifest.stages["pretrain/dense"].init
    assert record is not None and record["digest"] == weights_digest(weight_files(start))
    assert manifest.stages["pretrain/sdm"].init == record  # the dense and SDM variants start from the same weights
    assert manifest.stages["challenge/base"].init is None  # baselines start from the trained dense model
    report = (out / "report.md").read_text()
    assert "## Phase A start" in report and "`state-spaces/mamba-130m-hf`" in report and "--init-from" in report

    _, events = _run(spec, out, configs, init_from=(("130m", start),))
    assert ran(events) == set()

    _start(start, spec, value=1.0)  # new weights in the same folder
    prepared = _prepare(spec, out, configs, init_from=(("130m", start),))
    reason = prepared.states["pretrain/dense"].reason
    assert reason.startswith("initial weights changed (sha256:") and prepared.states["finetune/base/sst2"].done is False
    manifest, events = _run(spec, out, configs, init_from=(("130m", start),))
    assert ran(events) == ALL
    assert manifest.stages["pretrain/sdm"].init["digest"] == weights_digest(weight_files(start))  # type: ignore[index]


def _cache_snapshot(hub: Path, hf_name: str, source: Path) -> Path:
    repo = hub / f"models--{hf_name.replace('/', '--')}"
    snapshot = repo / "snapshots" / "0123abcd"
    snapshot.mkdir(parents=True)
    (repo / "blobs").mkdir()
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text("0123abcd")
    for file in source.iterdir():
        blob = repo / "blobs" / file.name
        shutil.copy(file, blob)
        (snapshot / file.name).symlink_to(os.path.relpath(blob, snapshot))
    return snapshot


def test_weights_gone_from_the_cache_after_phase_a_keep_its_stages_finished(
    spec: Spec, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from huggingface_hub import constants

    hub = tmp_path / "hub"
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(hub))
    snapshot = _cache_snapshot(hub, "state-spaces/mamba-130m-hf", _start(tmp_path / "start", spec))
    out, configs = tmp_path / "run", copy_configs(tmp_path)
    manifest, _ = _run(spec, out, configs)
    record = manifest.stages["pretrain/dense"].init
    assert record is not None and (record["origin"], record["path"]) == (FROM_CACHE, str(snapshot))

    shutil.rmtree(hub)  # a cleaned cache: Phase B can still go on from the finished Phase A
    assert _prepare(spec, out, configs).to_run == ()
    # With nothing recorded either, the stages still plan (their job says what to download when it runs).
    assert set(_prepare(spec, tmp_path / "fresh", configs).to_run) == ALL


def test_the_plan_passes_each_sizes_folder_to_both_of_its_pretrainings(spec: Spec, tmp_path: Path) -> None:
    options = PlanOptions(out=Path("/o"), configs=Path("/c"), spec_path=Path("/s"), init_from={"130m": Path("/w")})
    plan = build_plan(spec, options)
    for stage in plan.stages:
        if stage.kind == StageKind.PRETRAIN:
            assert stage.reads_init == stage.name.split("-")[1]
            assert stage.config is not None
            has = stage.config["what"]["init_from"] == "/w"  # type: ignore[index]
            assert has == stage.name.startswith("pretrain/mamba-130m")
            assert (stage.inputs == ("/w",)) == has
        else:
            assert stage.reads_init is None and "--init-from" not in stage.argv
            assert stage.config is None or "init_from" not in stage.config["what"]  # type: ignore[operator]


def test_init_from_values_are_checked(spec: Spec, tmp_path: Path) -> None:
    assert parse_init_from(["130m=a", "370m=b=c"]) == (("130m", Path("a")), ("370m", Path("b=c")))
    for bad in (["130m"], ["=x"], ["130m="], ["130m=a", "130m=b"]):
        with pytest.raises(SdmspecError):
            parse_init_from(bad)
    configs = copy_configs(tmp_path)
    with pytest.raises(SdmspecError, match="no pre-training stage starts a 999m model"):
        _prepare(spec, tmp_path / "run", configs, init_from=(("999m", tmp_path),))
    with pytest.raises(CheckpointError, match="no such folder"):
        _prepare(spec, tmp_path / "run", configs, init_from=(("130m", tmp_path / "missing"),))


def test_a_start_of_another_size_refuses_the_run_before_anything_starts(
    spec: Spec, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from mamba_sdm.models.smoke_checkpoint import write_smoke_checkpoint
    from sdmspec.cli.app import main

    monkeypatch.setenv("SDMSPEC_CACHE", str(tmp_path / "cache"))
    other = write_smoke_checkpoint(spec, "370m", tmp_path / "370m")
    out = tmp_path / "run"
    with pytest.raises(SystemExit) as exit_info:
        main(["run", "--configs", str(REPO / "configs"), "--smoke", "--out", str(out), "--dry-run",
              "--init-from", f"130m={other}"])  # fmt: skip
    assert exit_info.value.code == EXIT_USAGE
    lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert len(lines) == 1 and "n_layer (num_hidden_layers) 4, expected 2" in lines[0]
    assert not out.exists()
