"""The pipeline as data: every stage of the paper's experiment, its command, what it reads and writes, its upstreams.

The graph, for the spec's variants and GLUE tasks::

    pretrain/<dense|sdm variant>  ->  challenge/<challenge|random variant>  ->  verify/<challenge|random variant>
    pretrain/* and verify/*  ->  finetune/<variant>/<task>
    pretrain/* and verify/*  ->  profile  ->  report (after everything, whatever happened)

A stage's name is also its folder under the run's output (``OUT/finetune/mamba-130m-sdm/sst2``) and its log's path
(``OUT/logs/finetune/mamba-130m-sdm/sst2.log``). Stages hold no behaviour: launchers run ``argv``; the pipeline
decides what is done from ``marker`` and the fingerprints (:mod:`sdmspec.runner.fingerprint`). A job stage (pretrain,
challenge, finetune) runs ``sdmspec job NAME --config OUT/<stage>/stage.json``: its inputs as the typed model of
:mod:`mamba_sdm.jobs.inputs`, whose ``what`` (less what enters by digest) is the stage's declared fingerprint. The
stage and plan types are the core runner's (:mod:`sdmspec.runner.stage`); this module builds this paper's graph of
them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import Enum
from pathlib import Path
from typing import Any

from mamba_sdm.jobs.inputs import (
    ChallengeHow,
    ChallengeInputs,
    ChallengeWhat,
    FinetuneInputs,
    FinetuneWhat,
    JobInputs,
    PretrainInputs,
    PretrainWhat,
    TrainingHow,
    finetune_reads,
    pretrain_reads,
)
from mamba_sdm.jobs.precision import PRECISIONS
from mamba_sdm.spec import Method, Spec, Variant
from sdmspec.errors import SdmspecError
from sdmspec.runner.hooks import PlanContext
from sdmspec.runner.stage import MarkerCheck, Plan, Stage, Trigger
from sdmspec.tracking import TRACKERS


class StageKind(str, Enum):
    """This pipeline's stage kinds; a :class:`~sdmspec.runner.stage.Stage` holds the plain value (what manifests
    record and ``--only`` selects by)."""

    PRETRAIN = "pretrain"
    CHALLENGE = "challenge"
    VERIFY = "verify"
    FINETUNE = "finetune"
    PROFILE = "profile"
    REPORT = "report"


@dataclass(frozen=True)
class PlanOptions(PlanContext):
    """Everything the commands depend on besides the spec: the core's plan context (the run's paths, the
    interpreter) and this pipeline's own ``sdmspec run`` options."""

    # Size -> the folder its pre-training starts from (`--init-from SIZE=DIR`); others use the job's default.
    init_from: Mapping[str, Path] = field(default_factory=dict)
    # How the model stages run the model (`--scan`, `--activation-checkpointing`): not part of any fingerprint.
    scan: str = "auto"
    activation_checkpointing: str = "auto"
    # `--device cpu|cuda` for every stage's job; "auto" leaves each job its default (training and profile: the GPU
    # when there is one; the challenge build and verification: the CPU).
    device: str = "auto"
    # Training stages: `--precision` when given (else each job's default, the spec setting), and the experiment
    # trackers every training job reports to (`--report-to`, repeatable; not part of any fingerprint).
    precision: str | None = None
    report_to: tuple[str, ...] = ()


# Settings every training stage reads besides its own section (training.<phase>.*, max_grad_norm included), when the
# spec has them.
TRAINING_SETTINGS = ("training.precision",)


def _job(options: PlanOptions, *args: str) -> tuple[str, ...]:
    """``python -m sdmspec ...``: the interpreter running the runner, so every stage runs in the same environment."""
    return (options.python, "-m", "sdmspec", *args)


# Where a job stage's typed inputs lie, in its own folder (the runner writes it; the job reads it with --config).
STAGE_CONFIG = "stage.json"
# The plan's how_options (fingerprints leave them out, see sdmspec.runner.fingerprint): how a stage computes, never
# what (the scan path, the device, activation checkpointing), where the initial weights lie (their sha256 is
# fingerprinted instead), and where a job reports to. The job stages declare what they compute instead
# (Stage.what); these still apply to the other stages' command lines and to the job stages' legacy ones.
HOW_OPTIONS = ("--scan", "--activation-checkpointing", "--device", "--init-from", "--report-to")


def _device(options: PlanOptions) -> tuple[str, ...]:
    return () if options.device == "auto" else ("--device", options.device)


def _acceleration(options: PlanOptions, *, training: bool) -> tuple[str, ...]:
    extra = ("--scan", options.scan, *_device(options))
    if not training:
        return extra
    extra += ("--activation-checkpointing", options.activation_checkpointing)
    if options.precision is not None:  # what the stage computes in: part of its fingerprint
        extra += ("--precision", options.precision)
    for tracker in options.report_to:
        extra += ("--report-to", tracker)
    return extra


def _common(options: PlanOptions, *, configs: bool, data: bool) -> tuple[str, ...]:
    extra: list[str] = []
    if configs:
        extra += ["--configs", str(options.configs)]
    extra += ["--spec", str(options.spec_path)]
    if options.smoke:
        extra.append("--smoke")
    if data and options.data_dir is not None:
        extra += ["--data-dir", str(options.data_dir)]
    return tuple(extra)


class _Builder:
    """Adds stages in a topological order, remembering where each variant's model is and when it may be used."""

    def __init__(self, spec: Spec, options: PlanOptions) -> None:
        self.spec, self.options, self.out = spec, options, options.out
        self.stages: list[Stage] = []
        self.model_stage: dict[str, str] = {}  # variant -> the stage whose folder holds its model
        self.ready_stage: dict[str, str] = {}  # variant -> the stage after which the model may be used (verified)

    def _training_what(self) -> dict[str, Any]:
        options = self.options
        return {
            "configs": options.configs, "spec_path": options.spec_path, "smoke": options.smoke,
            "data_dir": options.data_dir, "precision": options.precision,
        }  # fmt: skip

    def _training_how(self) -> dict[str, Any]:
        options = self.options
        return {
            "scan": options.scan, "activation_checkpointing": options.activation_checkpointing,
            "report_to": options.report_to, **self._how_device(),
        }  # fmt: skip

    def _how_device(self) -> dict[str, str]:
        """``device`` for a job's how, when the run names one; "auto" leaves each job its own default."""
        return {} if self.options.device == "auto" else {"device": self.options.device}

    def _typed(self, inputs: JobInputs, folder: Path) -> None:
        """The stage just added runs its job from ``inputs`` (``--config FOLDER/stage.json``, written by the runner)
        and declares ``inputs.fingerprint_what()`` as what it computes; the flags it ran with before stay its
        ``flags_argv``, so that run folders recorded then are recognised."""
        stage = self.stages[-1]
        config_file = folder / STAGE_CONFIG
        argv = _job(self.options, "job", inputs.job, "--config", str(config_file))
        self.stages[-1] = replace(
            stage, argv=argv, config=inputs.model_dump(mode="json"), config_file=str(config_file),
            what=inputs.fingerprint_what(), flags_argv=stage.argv,
        )  # fmt: skip

    def pretrain(self, variant: Variant) -> None:
        name = f"pretrain/{variant.name}"
        folder = self.out / name
        argv = _job(
            self.options, "job", "pretrain", "--variant", variant.name, "--out", str(folder),
            *_common(self.options, configs=True, data=True),
            *_acceleration(self.options, training=True),
        )  # fmt: skip
        start = self.options.init_from.get(variant.size)  # the dense and SDM variants of a size share it
        if start is not None:
            argv += ("--init-from", str(start))
        inputs = PretrainInputs(
            what=PretrainWhat(variant=variant.name, init_from=start, **self._training_what()),
            how=TrainingHow(out=folder, **self._training_how()),
        )
        self.stages.append(
            Stage(name, StageKind.PRETRAIN.value, argv, inputs=(str(start),) if start else (), outputs=(str(folder),),
                  depends_on=(), marker=str(folder / "result.json"),
                  reads_settings=pretrain_reads(),
                  distributed=True, needs_gpu=True, reads_init=variant.size)
        )  # fmt: skip
        self._typed(inputs, folder)
        self.model_stage[variant.name] = self.ready_stage[variant.name] = name

    def baseline(self, variant: Variant) -> None:
        """Build the baseline from the dense model at the SDM model's sparsity, then verify iso-sparsity."""
        assert variant.init_from is not None and variant.match_sparsity_of is not None  # the schema guarantees it
        dense_stage, sdm_stage = self.model_stage[variant.init_from], self.model_stage[variant.match_sparsity_of]
        dense, sdm = self.out / dense_stage, self.out / sdm_stage
        name = f"challenge/{variant.name}"
        folder = self.out / name
        argv = _job(
            self.options, "job", "challenge", "--variant", variant.name, "--dense", str(dense), "--sdm", str(sdm),
            "--out", str(folder), *_common(self.options, configs=False, data=False), *_device(self.options),
        )  # fmt: skip
        inputs = ChallengeInputs(
            what=ChallengeWhat(
                variant=variant.name, dense=dense, sdm=sdm, spec_path=self.options.spec_path, smoke=self.options.smoke
            ),
            how=ChallengeHow(out=folder, **self._how_device()),
        )
        self.stages.append(
            Stage(name, StageKind.CHALLENGE.value, argv, inputs=(str(dense), str(sdm)), outputs=(str(folder),),
                  depends_on=(dense_stage, sdm_stage), marker=str(folder / "result.json"))
        )  # fmt: skip
        self._typed(inputs, folder)
        verify = f"verify/{variant.name}"
        verdict, plot = self.out / verify / "iso_sparsity.json", self.out / verify / "sparsity.png"
        argv = _job(
            self.options, "verify-sparsity", str(sdm / "model"), str(folder / "model"),
            "--spec", str(self.options.spec_path), "--format", "json", "--output", str(verdict), "--plot", str(plot),
            *_device(self.options),
        )  # fmt: skip
        self.stages.append(
            Stage(verify, StageKind.VERIFY.value, argv, inputs=(str(sdm / "model"), str(folder / "model")),
                  outputs=(str(verdict), str(plot)), depends_on=(name, sdm_stage), marker=str(verdict),
                  marker_check=MarkerCheck.VERDICT_MATCH)
        )  # fmt: skip
        self.model_stage[variant.name], self.ready_stage[variant.name] = name, verify

    def profile(self) -> None:
        folder = self.out / "profile"
        models = {v.name: self.out / self.model_stage[v.name] / "model" for v in self.spec.variants}
        argv: list[str] = ["profile"]
        for variant in models:
            argv += ["--variant", variant]
        for variant, model in models.items():
            argv += ["--checkpoint", f"{variant}={model}"]
        argv += ["--spec", str(self.options.spec_path), "--out", str(folder), *(["--smoke"] * self.options.smoke)]
        argv += _acceleration(self.options, training=False)
        self.stages.append(
            Stage("profile", StageKind.PROFILE.value, _job(self.options, *argv),
                  inputs=tuple(str(model) for model in models.values()), outputs=(str(folder),),
                  depends_on=tuple(dict.fromkeys(self.ready_stage[v] for v in models)),
                  marker=str(folder / "profile.json"), needs_gpu=True)
        )  # fmt: skip

    def finetune(self, variant: Variant, task: str) -> None:
        name = f"finetune/{variant.name}/{task}"
        folder, checkpoint = self.out / name, self.out / self.model_stage[variant.name]
        argv = _job(
            self.options, "job", "finetune", "--variant", variant.name, "--task", task, "--checkpoint",
            str(checkpoint), "--out", str(folder), *_common(self.options, configs=True, data=True),
            *_acceleration(self.options, training=True),
        )  # fmt: skip
        upstream = tuple(dict.fromkeys((self.model_stage[variant.name], self.ready_stage[variant.name])))
        inputs = FinetuneInputs(
            what=FinetuneWhat(variant=variant.name, task=task, checkpoint=checkpoint, **self._training_what()),
            how=TrainingHow(out=folder, **self._training_how()),
        )
        self.stages.append(
            Stage(name, StageKind.FINETUNE.value, argv, inputs=(str(checkpoint),), outputs=(str(folder),),
                  depends_on=upstream, marker=str(folder / "result.json"),
                  reads_settings=finetune_reads(task), distributed=True,
                  needs_gpu=True)
        )  # fmt: skip
        self._typed(inputs, folder)

    def report(self) -> None:
        report = self.out / "report.md"
        argv = (self.options.python, "-m", "sdmspec", "job", "report", "--out", str(self.out))
        self.stages.append(
            Stage("report", StageKind.REPORT.value, argv, inputs=(str(self.out / "manifest.json"),),
                  outputs=(str(report),), depends_on=tuple(stage.name for stage in self.stages),
                  marker=str(report), trigger=Trigger.AFTER_ANY)
        )  # fmt: skip


def build_plan(spec: Spec, options: PlanOptions) -> Plan:
    """Every stage the spec's variants and GLUE tasks call for, with their commands and dependencies."""
    if options.precision is not None and options.precision not in PRECISIONS:
        raise SdmspecError(f"--precision must be one of {', '.join(PRECISIONS)}, got {options.precision!r}")
    unknown = [tracker for tracker in options.report_to if tracker not in TRACKERS]
    if unknown:
        raise SdmspecError(f"--report-to must be one of {', '.join(TRACKERS)}, got {unknown[0]!r}")
    builder = _Builder(spec, options)
    for variant in spec.variants:
        if variant.method in (Method.DENSE, Method.SDM):
            builder.pretrain(variant)
    for variant in spec.variants:
        if variant.method in (Method.CHALLENGE, Method.RANDOM):
            builder.baseline(variant)
    # The profile before the fine-tuning: it is ready as soon as the models are, so it overlaps with them.
    builder.profile()
    for variant in spec.variants:
        for task in spec.data.finetune:
            builder.finetune(variant, task)
    builder.report()
    return Plan(stages=tuple(builder.stages), how_options=HOW_OPTIONS)
