"""This paper's stage graph as the core runner asks for it: the :class:`~sdmspec.runner.hooks.RunHooks` that
``PIPELINE.run`` names.

``sdmspec run`` gets from here its paper options (``--init-from``, ``--scan``, ``--device``,
``--activation-checkpointing``, ``--precision``, ``--report-to``), the graph (:mod:`mamba_sdm.stages`), Phase A's
starting weights (:mod:`mamba_sdm.initial_weights`), the scan the model stages are expected to run
(:mod:`mamba_sdm.expected_scan`) and what each finished stage says it ran. Importing this module stays light
(``sdmspec run --help`` reads its options): the graph and the weights' lookup are imported when a run needs them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from mamba_sdm.commands import choices as pipeline_choices
from sdmspec.cli import choices

if TYPE_CHECKING:
    from mamba_sdm.expected_scan import ExpectedScan
    from mamba_sdm.stages import PlanOptions
    from sdmspec.runner.fingerprint import StageInit
    from sdmspec.runner.hooks import PlanContext
    from sdmspec.runner.manifest import Manifest
    from sdmspec.runner.prepare import RunRequest
    from sdmspec.runner.stage import Plan, Stage
    from sdmspec.schema import PaperSpec


@dataclass(frozen=True)
class RunChoices:
    """The paper's `sdmspec run` options, parsed: what ``RunRequest.pipeline_options`` holds (by field name)."""

    # (size, folder) pairs from `--init-from SIZE=DIR`: where that size's pre-training starts.
    init_from: tuple[tuple[str, Path], ...] = ()
    # How the training and profile stages run the model (see mamba_sdm.models.scan and mamba_sdm.models.memory).
    scan: str = "auto"
    activation_checkpointing: str = "auto"
    device: str = "auto"
    precision: str | None = None
    report_to: tuple[str, ...] = ()

    @classmethod
    def of(cls, options: Mapping[str, Any]) -> RunChoices:
        return cls(**options)

    def as_options(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


def run_options(
    init_from: list[str] = typer.Option(
        None,
        "--init-from",
        metavar="SIZE=DIR",
        help="The folder a size's pre-training starts from (save_pretrained's, e.g. 130m=checkpoints/mamba-130m-hf); "
        "repeatable. Default: the spec's checkpoint from the Hugging Face cache (--smoke: a generated one).",
    ),
    scan: str = typer.Option(
        "auto",
        "--scan",
        metavar=pipeline_choices.SCAN,
        help="Mamba's scan in the training and profile stages: auto (mamba-ssm's kernels where usable, else "
        "parallel), kernels, parallel or reference (slow). Not part of any stage's fingerprint.",
    ),
    device: str = typer.Option(
        "auto",
        "--device",
        metavar=choices.DEVICE,
        help="auto (each job's default: training and profile on the GPU when there is one), cpu or cuda (every "
        "stage, the challenge build and verification included). Not part of any stage's fingerprint.",
    ),
    activation_checkpointing: str = typer.Option(
        "auto",
        "--activation-checkpointing",
        metavar=pipeline_choices.ACTIVATION_CHECKPOINTING,
        help="Training stages: auto (on a GPU when the micro-batch would not fit otherwise), on or off.",
    ),
    precision: str | None = typer.Option(
        None,
        "--precision",
        metavar=pipeline_choices.PRECISION,
        help="Training stages: auto (bf16 autocast where the GPU supports it, else fp32), bf16 or fp32; forwarded "
        "to every training job (default: each job's, the spec setting). Part of the stages' fingerprints.",
    ),
    report_to: list[str] = typer.Option(
        None,
        "--report-to",
        metavar=choices.TRACKER,
        help="Experiment tracking for every training stage: tensorboard, mlflow or wandb (repeatable).",
    ),
) -> dict[str, Any]:
    """The paper's options of `sdmspec run`, parsed (a malformed --init-from is a usage error)."""
    from mamba_sdm.initial_weights import parse_init_from

    return RunChoices(
        init_from=parse_init_from(init_from or ()),
        scan=scan,
        activation_checkpointing=activation_checkpointing,
        device=device,
        precision=precision,
        report_to=tuple(dict.fromkeys(report_to or ())),
    ).as_options()


@dataclass(frozen=True)
class RunExpectation:
    """How the model stages will compute: the scan expected here, and the options the training stages get."""

    scan: ExpectedScan
    choices: RunChoices

    @property
    def problem(self) -> str | None:
        return self.scan.problem

    def describe(self) -> str:
        from mamba_sdm.expected_scan import MODEL_STAGES

        return (
            f"{', '.join(MODEL_STAGES)} stages: {self.scan.describe()}\n"
            f"activation checkpointing: {self.choices.activation_checkpointing} "
            "(auto: each training job turns it on when its micro-batch would not fit the GPU otherwise)"
        )

    def record(self) -> dict[str, Any]:
        return {
            "scan": self.scan.record(),
            "activation_checkpointing": self.choices.activation_checkpointing,
            "precision": self.choices.precision or "each job's default (the spec setting)",
            "report_to": list(self.choices.report_to),
        }


def plan_options(context: PlanContext, options: Mapping[str, Any]) -> PlanOptions:
    """What this paper's graph is built from: the core's resolved paths and the paper's options."""
    from mamba_sdm.stages import PlanOptions

    chosen = RunChoices.of(options)
    return PlanOptions(
        out=context.out,
        configs=context.configs,
        spec_path=context.spec_path,
        smoke=context.smoke,
        data_dir=context.data_dir,
        python=context.python,
        init_from={size: folder.resolve() for size, folder in chosen.init_from},
        scan=chosen.scan,
        activation_checkpointing=chosen.activation_checkpointing,
        device=chosen.device,
        precision=chosen.precision,
        report_to=chosen.report_to,
    )


class MambaRunHooks:
    """The stage graph pretrain -> baselines -> verify -> finetune -> profile -> report."""

    def cli_options(self) -> Callable[..., Mapping[str, Any]]:
        return run_options

    def build_plan(self, spec: PaperSpec, context: PlanContext, options: Mapping[str, Any]) -> Plan:
        from mamba_sdm.spec import Spec
        from mamba_sdm.stages import build_plan

        assert isinstance(spec, Spec)  # the spec model is this pipeline's whenever it is installed
        return build_plan(spec, plan_options(context, options))

    def resolve_inits(
        self,
        spec: PaperSpec,
        plan: Plan,
        settings: Mapping[str, Any],
        context: PlanContext,
        options: Mapping[str, Any],
        previous: Manifest | None,
    ) -> Mapping[str, StageInit]:
        from mamba_sdm.initial_weights import resolve_inits
        from mamba_sdm.spec import Spec

        assert isinstance(spec, Spec)
        init_from = {size: folder.resolve() for size, folder in RunChoices.of(options).init_from}
        return resolve_inits(spec, plan, settings, smoke=context.smoke, init_from=init_from, previous=previous)

    def expect(self, request: RunRequest) -> RunExpectation:
        from mamba_sdm.expected_scan import expect_scan

        chosen = RunChoices.of(request.pipeline_options)
        return RunExpectation(expect_scan(chosen.scan, chosen.device, request.launcher), chosen)

    def finished(self, stage: Stage) -> dict[str, Any]:
        from mamba_sdm.expected_scan import stage_acceleration, stage_precision

        found: dict[str, Any] = {}
        acceleration = stage_acceleration(stage.marker)
        if acceleration is not None:
            found["acceleration"] = acceleration
        precision = stage_precision(stage.marker)
        if precision is not None:
            found["precision"] = precision
        return found


HOOKS = MambaRunHooks()
