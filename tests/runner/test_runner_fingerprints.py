"""Fingerprints by declaration: a job stage's fingerprint is its declared ``what``, not its command line.

Changing how a stage runs (the device, the scan, a tracker, a flag's name) reruns nothing; changing what it
computes reruns it; moving the repository reruns nothing. A run folder recorded by an earlier version (every stage
fingerprinted by its command line) is recognised as done and its records upgraded.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from runner_fakes import GRAPH, copy_configs, cpu_env, fake_plan, prepare, ran, run_fake

from mamba_sdm.spec import Spec
from mamba_sdm.stages import PlanOptions, StageKind, build_plan
from sdmspec.runner.execute import execute
from sdmspec.runner.fingerprint import FINGERPRINT_SCHEME, StageInit, fingerprint_plan
from sdmspec.runner.launchers.local import LocalLauncher
from sdmspec.runner.manifest import read_manifest
from sdmspec.runner.prepare import prepare_run
from sdmspec.runner.stage import Plan, Stage
from sdmspec.settings import ExperimentSettings, resolve_settings

REPO = Path(__file__).resolve().parents[2]
OUT = Path("/runs/paper")


def _inits(spec: Spec) -> dict[str, StageInit]:
    return {size: StageInit({"init": "pretrained", "digest": f"sha256:{size}"}, {}) for size in spec.models}


def _fingerprints(spec: Spec, options: PlanOptions, settings: ExperimentSettings) -> dict[str, str]:
    plan = build_plan(spec, options)
    stand_ins = {str(options.spec_path): "$SPEC", str(options.configs): "$CONFIGS"}
    found = fingerprint_plan(
        plan, options.out, options.python, spec.digest, settings, _inits(spec), stand_ins=stand_ins
    )
    return {name: inputs.fingerprint for name, inputs in found.items()}


def _options(**changes: object) -> PlanOptions:
    base = PlanOptions(out=OUT, configs=REPO / "configs", spec_path=REPO / "spec", python="/venv/bin/python")
    return replace(base, **changes)  # type: ignore[arg-type]


def test_how_a_stage_runs_changes_no_fingerprint(spec: Spec) -> None:
    settings = resolve_settings([REPO / "configs"], spec)
    before = _fingerprints(spec, _options(), settings)
    how = _options(scan="parallel", device="cpu", activation_checkpointing="on", report_to=("tensorboard",))
    assert _fingerprints(spec, how, settings) == before


def test_what_a_stage_computes_changes_it_and_its_downstream(spec: Spec) -> None:
    settings = resolve_settings([REPO / "configs"], spec)
    before = _fingerprints(spec, _options(), settings)
    bf16 = _fingerprints(spec, _options(precision="bf16"), settings)
    changed = {name for name in before if before[name] != bf16[name]}
    training = {name for name in before if name.startswith(("pretrain/", "finetune/"))}
    assert training <= changed  # the precision is what the training stages compute in
    assert "challenge/mamba-130m-challenge" in changed  # built from re-trained models: downstream of them


def test_moving_the_repository_changes_no_fingerprint(spec: Spec, tmp_path: Path) -> None:
    moved = tmp_path / "elsewhere"
    configs = copy_configs(moved)
    settings = resolve_settings([REPO / "configs"], spec)
    before = _fingerprints(spec, _options(), settings)
    after = _fingerprints(spec, _options(configs=configs, spec_path=moved / "spec"), resolve_settings([configs], spec))
    assert after == before


def test_a_job_stage_runs_from_its_typed_inputs(spec: Spec) -> None:
    plan = build_plan(spec, _options(smoke=True, device="cpu"))
    stage = plan["finetune/mamba-130m-sdm/mrpc"]
    assert stage.config_file == str(OUT / stage.name / "stage.json")
    assert stage.argv[-2:] == ("--config", stage.config_file)
    assert stage.config is not None and stage.what is not None
    assert stage.config["what"]["checkpoint"] == str(OUT / "pretrain/mamba-130m-sdm")  # type: ignore[index]
    assert stage.config["how"]["device"] == "cpu"  # type: ignore[index]
    # The declaration leaves out what enters the fingerprint by digest (the upstream model, the spec, the configs).
    assert stage.what == {
        "job": "finetune",
        "what": {"variant": "mamba-130m-sdm", "task": "mrpc", "smoke": True, "seed": 0, "data_dir": None,
                 "tokenizer": None, "precision": None, "max_steps": None},
    }  # fmt: skip
    # The flags it ran with before (what earlier versions fingerprinted) say the same.
    assert stage.flags_argv is not None and "--checkpoint" in stage.flags_argv


def test_the_legacy_chain_is_the_earlier_versions_fingerprint() -> None:
    """Values computed by the version before fingerprint schemes (93aa1b2) for the same two stages: a run folder it
    recorded is recognised only while these hold."""
    pretrain = Stage(
        "pretrain/v", StageKind.PRETRAIN.value,
        ("/venv/bin/python", "-m", "sdmspec", "job", "pretrain", "--variant", "v", "--out", "/run/pretrain/v",
         "--scan", "auto", "--spec", "/repo/spec"),
        (), ("/run/pretrain/v",), (), "/run/pretrain/v/result.json", reads_settings=("training.pretrain.",),
    )  # fmt: skip
    finetune = Stage(
        "finetune/v/sst2", StageKind.FINETUNE.value,
        ("/venv/bin/python", "-m", "sdmspec", "job", "finetune", "--checkpoint", "/run/pretrain/v", "--device", "cpu"),
        (), (), ("pretrain/v",), "/run/finetune/v/sst2/result.json", reads_settings=("epochs.sst2",),
    )  # fmt: skip
    values = {"training.pretrain.lr": 0.001, "epochs.sst2": 3, "other": 1}
    settings = ExperimentSettings(values=values, origins=dict.fromkeys(values, "configs/a.yaml"))
    plan = Plan((pretrain, finetune), how_options=("--scan", "--device"))
    found = fingerprint_plan(plan, Path("/run"), "/venv/bin/python", "digest", settings)
    assert found["pretrain/v"].legacy == "c4bae59bec4b0d871e7c937659f2236130583c9f8c67a9d5908e77c65290d123"
    assert found["finetune/v/sst2"].legacy == "51cf841e67b450b651dac20d2752e2aa4f0c181980aac384aa2be1bf875e7b13"


def _as_recorded_by_an_earlier_version(out: Path, spec: Spec, configs: Path, **fingerprints: str) -> None:
    """Rewrite the manifest as the version before fingerprint schemes wrote it: legacy fingerprints (or those
    given, by stage name with / as __), no scheme."""
    legacy = {name: inputs.legacy for name, inputs in prepare(spec, out, configs).inputs.items()}
    raw = json.loads((out / "manifest.json").read_text())
    for name, record in raw["stages"].items():
        record["fingerprint"] = fingerprints.get(name.replace("/", "__"), legacy[name])
        record.pop("fingerprint_scheme", None)
    (out / "manifest.json").write_text(json.dumps(raw))


def test_a_run_folder_of_an_earlier_version_is_reused_and_upgraded(spec: Spec, tmp_path: Path) -> None:
    out, configs = tmp_path / "run", copy_configs(tmp_path)
    assert run_fake(spec, out, configs)[0].exit_code == 0
    _as_recorded_by_an_earlier_version(out, spec, configs)

    again = prepare(spec, out, configs)
    assert [name for name in again.to_run if name != "report"] == []
    outcome, manifest, events = run_fake(spec, out, configs)
    assert outcome.exit_code == 0 and ran(events) <= {"report"}
    current = prepare(spec, out, configs).inputs
    for name in GRAPH:
        assert manifest.stages[name].fingerprint_scheme == FINGERPRINT_SCHEME
        assert manifest.stages[name].fingerprint == current[name].fingerprint


def test_a_legacy_record_that_matches_nothing_reruns(spec: Spec, tmp_path: Path) -> None:
    out, configs = tmp_path / "run", copy_configs(tmp_path)
    assert run_fake(spec, out, configs)[0].exit_code == 0
    _as_recorded_by_an_earlier_version(out, spec, configs, pretrain__dense="0" * 64)
    to_run = prepare(spec, out, configs).to_run
    assert "pretrain/dense" in to_run and "finetune/dense/sst2" in to_run and "pretrain/sdm" not in to_run


def test_the_runner_writes_a_stage_config_where_its_command_reads_it(spec: Spec, tmp_path: Path) -> None:
    out, configs = tmp_path / "run", copy_configs(tmp_path)
    config = {"job": "fake", "what": {"n": 1}, "how": {"device": "cpu"}}
    config_file = out / "pretrain/dense" / "stage.json"
    plan = fake_plan(out)
    typed = replace(plan["pretrain/dense"], config=config, config_file=str(config_file), what={"n": 1})
    plan = Plan(tuple(typed if stage.name == typed.name else stage for stage in plan.stages))
    request = prepare(spec, out, configs).request
    assert execute(prepare_run(request, spec, cpu_env(spec), plan=plan), LocalLauncher(out / "logs")).exit_code == 0
    assert json.loads(config_file.read_text()) == config
    manifest = read_manifest(out)
    assert manifest is not None and manifest.stages["pretrain/dense"].fingerprint_scheme == FINGERPRINT_SCHEME
