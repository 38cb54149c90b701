"""The pipeline as data: every variant and task, the right upstreams, commands that name the right folders."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from mamba_sdm.spec import Method, Spec
from mamba_sdm.stages import TRAINING_SETTINGS, PlanOptions, StageKind, build_plan
from sdmspec.errors import SdmspecError
from sdmspec.runner.launchers.torchrun import TORCHRUN_MODULE, TorchrunLauncher, torchrun_argv
from sdmspec.runner.stage import MarkerCheck, Plan, Stage, Trigger, select

OUT = Path("/runs/x")


@pytest.fixture(scope="module")
def plan(spec: Spec) -> Plan:
    options = PlanOptions(out=OUT, configs=Path("/c"), spec_path=Path("/s"), smoke=True, data_dir=Path("/d"))
    return build_plan(spec, options)


def _arg(argv: tuple[str, ...], flag: str) -> str:
    return argv[argv.index(flag) + 1]


def _what(stage: Stage) -> dict[str, Any]:
    """What the stage's job is told it computes: its typed inputs (the stage.json the runner writes)."""
    assert stage.config is not None, stage.name
    found: dict[str, Any] = stage.config["what"]  # type: ignore[assignment]
    return found


def _how(stage: Stage) -> dict[str, Any]:
    assert stage.config is not None, stage.name
    found: dict[str, Any] = stage.config["how"]  # type: ignore[assignment]
    return found


def test_every_variant_and_task_has_its_stages(spec: Spec, plan: Plan) -> None:
    trained = [v.name for v in spec.variants if v.method in (Method.DENSE, Method.SDM)]
    baselines = [v.name for v in spec.variants if v.method in (Method.CHALLENGE, Method.RANDOM)]
    expected = (
        {f"pretrain/{name}" for name in trained}
        | {f"challenge/{name}" for name in baselines}
        | {f"verify/{name}" for name in baselines}
        | {f"finetune/{v.name}/{task}" for v in spec.variants for task in spec.data.finetune}
        | {"profile", "report"}
    )
    assert set(plan.names) == expected
    assert len(plan.names) == len(expected)  # no duplicates
    assert len([s for s in plan.stages if s.kind == StageKind.FINETUNE]) == len(spec.variants) * 4


def test_stages_come_after_their_upstreams(plan: Plan) -> None:
    seen: set[str] = set()
    for stage in plan.stages:
        assert set(stage.depends_on) <= seen, stage.name
        seen.add(stage.name)


def test_baselines_are_built_from_their_references_and_verified(spec: Spec, plan: Plan) -> None:
    for variant in spec.variants:
        if variant.method not in (Method.CHALLENGE, Method.RANDOM):
            continue
        build, verify = plan[f"challenge/{variant.name}"], plan[f"verify/{variant.name}"]
        dense, sdm = f"pretrain/{variant.init_from}", f"pretrain/{variant.match_sparsity_of}"
        assert set(build.depends_on) == {dense, sdm}
        assert _what(build)["dense"] == str(OUT / dense) and _what(build)["sdm"] == str(OUT / sdm)
        assert verify.argv[3:6] == ("verify-sparsity", str(OUT / sdm / "model"), str(OUT / build.name / "model"))
        assert _arg(verify.argv, "--format") == "json"
        assert verify.marker == _arg(verify.argv, "--output") == str(OUT / verify.name / "iso_sparsity.json")
        assert verify.marker_check is MarkerCheck.VERDICT_MATCH
        # A mismatch stops everything downstream: the baseline's fine-tuning and the profile wait for the verdict.
        for task in spec.data.finetune:
            finetune = plan[f"finetune/{variant.name}/{task}"]
            assert verify.name in finetune.depends_on
            assert _what(finetune)["checkpoint"] == str(OUT / build.name)
        assert verify.name in plan["profile"].depends_on
        assert verify.name in plan.downstream([build.name])


def test_finetuning_reads_its_own_task_settings(plan: Plan) -> None:
    stage = plan["finetune/mamba-130m-sdm/mrpc"]
    assert stage.depends_on == ("pretrain/mamba-130m-sdm",)
    assert _what(stage)["task"] == "mrpc"
    assert _what(stage)["checkpoint"] == str(OUT / "pretrain/mamba-130m-sdm")
    assert set(stage.reads_settings) == {"training.finetune.", "epochs.mrpc", *TRAINING_SETTINGS}
    assert stage.distributed and stage.marker == str(OUT / stage.name / "result.json")


def test_job_commands_carry_the_runs_options(plan: Plan) -> None:
    for stage in plan.stages:
        assert stage.argv[0] == sys.executable  # the runner's own environment
        if stage.kind in (StageKind.PRETRAIN, StageKind.CHALLENGE, StageKind.FINETUNE):
            # A job runs from its typed inputs, written by the runner where the command reads them.
            assert stage.argv[3:] == ("job", stage.kind, "--config", str(OUT / stage.name / "stage.json"))
            assert _what(stage)["smoke"] is True and _what(stage)["spec_path"] == "/s"
        if stage.kind in (StageKind.PRETRAIN, StageKind.FINETUNE):
            assert _what(stage)["data_dir"] == "/d" and _what(stage)["configs"] == "/c"
        if stage.kind == StageKind.PROFILE:
            assert "--smoke" in stage.argv and _arg(stage.argv, "--spec") == "/s"
    profile = plan["profile"].argv
    assert profile[3] == "profile" and _arg(profile, "--out") == str(OUT / "profile")
    assert f"mamba-130m-random={OUT}/challenge/mamba-130m-random/model" in profile


def test_the_report_runs_after_everything_whatever_happened(plan: Plan) -> None:
    report = plan["report"]
    assert report.trigger is Trigger.AFTER_ANY
    assert set(report.depends_on) == set(plan.names) - {"report"}


def test_selection_by_name_glob_prefix_and_kind(plan: Plan) -> None:
    assert select(plan, ["verify"]) == tuple(n for n in plan.names if n.startswith("verify/"))
    assert select(plan, ["finetune/*/sst2"]) == tuple(n for n in plan.names if n.endswith("/sst2"))
    assert select(plan, ["finetune/mamba-130m-sdm"]) == tuple(
        n for n in plan.names if n.startswith("finetune/mamba-130m-sdm/")
    )
    assert select(plan, ["profile", "report"]) == ("profile", "report")
    assert select(plan, []) == plan.names
    with pytest.raises(SdmspecError, match="matches no stage"):
        select(plan, ["finetune/mamba-999m-sdm/*"])


def test_torchrun_wraps_training_stages_only(plan: Plan, tmp_path: Path) -> None:
    launcher = TorchrunLauncher(tmp_path, nproc=4)
    pretrain = launcher.command(plan["pretrain/mamba-130m-sdm"])
    assert pretrain[:6] == [sys.executable, "-m", TORCHRUN_MODULE, "--nproc-per-node=4", "--standalone", "-m"]
    assert pretrain[6:9] == ["sdmspec", "job", "pretrain"]
    assert launcher.command(plan["verify/mamba-130m-challenge"]) == list(plan["verify/mamba-130m-challenge"].argv)
    rendezvous = torchrun_argv(("python", "-m", "x"), nproc=8, nnodes=2, rdzv_endpoint="h:1234", run_id="r")
    assert rendezvous[3:] == ["--nproc-per-node=8", "--nnodes=2", "--rdzv-backend=c10d", "--rdzv-endpoint=h:1234",
                              "--rdzv-id=r", "-m", "x"]  # fmt: skip


def test_torchrun_on_several_nodes_needs_an_allocation(
    plan: Plan, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SLURM_JOB_ID", raising=False)
    with pytest.raises(SdmspecError, match="several nodes"):
        TorchrunLauncher(tmp_path, nproc=8, nodes=2)
    monkeypatch.setenv("SLURM_JOB_ID", "7")  # inside `salloc -N 2`: one torchrun agent per node through srun
    launcher = TorchrunLauncher(tmp_path, nproc=8, nodes=2, rdzv_endpoint="head:29500")
    command = launcher.command(plan["finetune/mamba-130m-dense/sst2"])
    assert command[:3] == ["srun", "--nodes=2", "--ntasks-per-node=1"]
    assert "--rdzv-endpoint=head:29500" in command and "--nnodes=2" in command


def test_precision_and_trackers_reach_every_training_stage_only(spec: Spec) -> None:

    options = PlanOptions(
        out=OUT, configs=Path("/c"), spec_path=Path("/s"), precision="bf16", report_to=("tensorboard", "mlflow")
    )
    plan = build_plan(spec, options)
    for stage in plan.stages:
        training = stage.kind in (StageKind.PRETRAIN, StageKind.FINETUNE)
        if stage.config is None:
            assert not training and "--precision" not in stage.argv and "--report-to" not in stage.argv
            continue
        assert (_what(stage).get("precision") == "bf16") is training, stage.name
        assert (_how(stage)["report_to"] == ["tensorboard", "mlflow"]) is training, stage.name
        # The precision changes what a stage computes (its declared fingerprint); where it reports to does not.
        assert stage.what is not None and "report_to" not in json.dumps(stage.what)
        assert (stage.what["what"].get("precision") == "bf16") is training  # type: ignore[attr-defined]
    default = build_plan(spec, PlanOptions(out=OUT, configs=Path("/c"), spec_path=Path("/s")))
    assert not any(
        _what(stage).get("precision") or _how(stage)["report_to"] for stage in default.stages if stage.config
    )


@pytest.mark.parametrize(("field", "value"), [("precision", "fp16"), ("report_to", ("tensorboard", "comet"))])
def test_an_unknown_precision_or_tracker_is_a_usage_error(spec: Spec, field: str, value: object) -> None:
    options = PlanOptions(out=OUT, configs=Path("/c"), spec_path=Path("/s"), **{field: value})  # type: ignore[arg-type]
    with pytest.raises(SdmspecError, match="must be one of") as caught:
        build_plan(spec, options)
    assert caught.value.exit_code == 2


class _Built(Exception):
    """Raised with the inputs a job command built, before it runs anything."""


def test_each_job_stages_flags_build_the_inputs_it_is_given(
    spec: Spec, plan: Plan, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The command line --dry-run shows beside a job stage's command (and earlier versions ran) builds exactly the
    typed inputs the runner writes to its stage.json."""
    from mamba_sdm.commands import jobs
    from sdmspec.cli.app import build_app

    original = jobs._inputs

    def built(*args: Any, **kwargs: Any) -> Any:
        raise _Built(original(*args, **kwargs))

    monkeypatch.setattr(jobs, "_inputs", built)
    app = build_app(["mamba_sdm.commands.jobs"])
    checked = 0
    for stage in plan.stages:
        if stage.config is None:
            continue
        assert stage.flags_argv is not None and stage.flags_argv[1:3] == ("-m", "sdmspec")
        result = CliRunner().invoke(app, list(stage.flags_argv[3:]))
        assert isinstance(result.exception, _Built), result.output
        assert result.exception.args[0].model_dump(mode="json") == stage.config, stage.name
        checked += 1
    assert checked == sum(1 for stage in plan.stages if stage.kind in ("pretrain", "challenge", "finetune"))
