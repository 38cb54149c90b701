"""The pipeline as data: every stage of the paper's experiment, its command, what it reads and writes, its upstreams.

The graph, for the spec's variants and GLUE tasks::

    pretrain/<dense|sdm variant>  ->  challenge/<challenge|random variant>  ->  verify/<challenge|random variant>
    pretrain/* and verify/*  ->  finetune/<variant>/<task>
    pretrain/* and verify/*  ->  profile  ->  report (after everything, whatever happened)

A stage's name is also its folder under the run's output (``OUT/finetune/mamba-130m-sdm/sst2``) and its log's path
(``OUT/logs/finetune/mamba-130m-sdm/sst2.log``). Stages hold no behaviour: launchers run ``argv``; the pipeline
decides what is done from ``marker`` and the fingerprints (:mod:`sdmspec.runner.fingerprint`).
"""

from __future__ import annotations

import fnmatch
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path

from sdmspec.errors import SdmspecError
from sdmspec.schema import Spec
from sdmspec.schema.spec import Method


class StageKind(str, Enum):
    PRETRAIN = "pretrain"
    CHALLENGE = "challenge"
    VERIFY = "verify"
    FINETUNE = "finetune"
    PROFILE = "profile"
    REPORT = "report"


class Trigger(str, Enum):
    """When a stage may start: after its upstreams succeeded (SLURM's ``afterok``) or once they ended (``afterany``)."""

    AFTER_OK = "afterok"
    AFTER_ANY = "afterany"


class MarkerCheck(str, Enum):
    """What proves a stage finished: its marker file exists, or (verify) the marker holds a ``match`` verdict."""

    EXISTS = "exists"
    VERDICT_MATCH = "verdict-match"


@dataclass(frozen=True)
class Stage:
    """One step of the pipeline. Paths are absolute strings so the command runs the same from any folder or node."""

    name: str
    kind: StageKind
    argv: tuple[str, ...]
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    depends_on: tuple[str, ...]
    marker: str
    marker_check: MarkerCheck = MarkerCheck.EXISTS
    # Key prefixes of the settings (configs, else spec defaults) the stage's job reads: a change there reruns it.
    reads_settings: tuple[str, ...] = ()
    # Training stages: wrapped by torchrun (several GPUs or nodes); the others run as one process.
    distributed: bool = False
    needs_gpu: bool = False
    trigger: Trigger = Trigger.AFTER_OK


@dataclass(frozen=True)
class PlanOptions:
    """Everything the commands depend on besides the spec."""

    out: Path
    configs: Path
    spec_path: Path
    smoke: bool = False
    data_dir: Path | None = None
    python: str = field(default_factory=lambda: sys.executable)


@dataclass(frozen=True)
class Plan:
    """The stages in a topological order (every stage after its upstreams)."""

    stages: tuple[Stage, ...]

    def __getitem__(self, name: str) -> Stage:
        for stage in self.stages:
            if stage.name == name:
                return stage
        raise KeyError(name)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(stage.name for stage in self.stages)

    def downstream(self, names: Iterable[str]) -> set[str]:
        """Every stage that depends, directly or not, on one of ``names`` (``names`` excluded)."""
        found: set[str] = set()
        frontier = set(names)
        for stage in self.stages:  # topological order: upstreams are seen first
            if frontier.intersection(stage.depends_on) or found.intersection(stage.depends_on):
                found.add(stage.name)
        return found - frontier


def _job(options: PlanOptions, *args: str) -> tuple[str, ...]:
    """``python -m sdmspec ...``: the interpreter running the runner, so every stage runs in the same environment."""
    return (options.python, "-m", "sdmspec", *args)


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


def build_plan(spec: Spec, options: PlanOptions) -> Plan:
    """Every stage the spec's variants and GLUE tasks call for, with their commands and dependencies."""
    out = options.out
    stages: list[Stage] = []
    model_stage: dict[str, str] = {}  # variant -> the stage whose DIR holds its model (pretrain or challenge)
    ready_stage: dict[str, str] = {}  # variant -> the stage after which its model may be used (verified)

    for variant in spec.variants:
        if variant.method not in (Method.DENSE, Method.SDM):
            continue
        name = f"pretrain/{variant.name}"
        folder = out / name
        argv = _job(
            options, "job", "pretrain", "--variant", variant.name, "--out", str(folder),
            *_common(options, configs=True, data=True),
        )  # fmt: skip
        stages.append(
            Stage(
                name=name,
                kind=StageKind.PRETRAIN,
                argv=argv,
                inputs=(),
                outputs=(str(folder),),
                depends_on=(),
                marker=str(folder / "result.json"),
                reads_settings=("training.pretrain.",),
                distributed=True,
                needs_gpu=True,
            )
        )
        model_stage[variant.name] = ready_stage[variant.name] = name

    for variant in spec.variants:
        if variant.method not in (Method.CHALLENGE, Method.RANDOM):
            continue
        assert variant.init_from is not None and variant.match_sparsity_of is not None  # the schema guarantees it
        dense, sdm = out / model_stage[variant.init_from], out / model_stage[variant.match_sparsity_of]
        name = f"challenge/{variant.name}"
        folder = out / name
        argv = _job(
            options, "job", "challenge", "--variant", variant.name, "--dense", str(dense), "--sdm", str(sdm),
            "--out", str(folder), *_common(options, configs=False, data=False),
        )  # fmt: skip
        upstream = (model_stage[variant.init_from], model_stage[variant.match_sparsity_of])
        stages.append(
            Stage(
                name=name,
                kind=StageKind.CHALLENGE,
                argv=argv,
                inputs=(str(dense), str(sdm)),
                outputs=(str(folder),),
                depends_on=upstream,
                marker=str(folder / "result.json"),
            )
        )
        verify = f"verify/{variant.name}"
        verdict = out / verify / "iso_sparsity.json"
        argv = _job(
            options, "verify-sparsity", str(sdm / "model"), str(folder / "model"), "--spec", str(options.spec_path),
            "--format", "json", "--output", str(verdict), "--plot", str(out / verify / "sparsity.png"),
        )  # fmt: skip
        stages.append(
            Stage(
                name=verify,
                kind=StageKind.VERIFY,
                argv=argv,
                inputs=(str(sdm / "model"), str(folder / "model")),
                outputs=(str(verdict), str(out / verify / "sparsity.png")),
                depends_on=(name, model_stage[variant.match_sparsity_of]),
                marker=str(verdict),
                marker_check=MarkerCheck.VERDICT_MATCH,
            )
        )
        model_stage[variant.name] = name
        ready_stage[variant.name] = verify

    # The profile before the fine-tuning: it is ready as soon as the models are, and overlaps with them.
    profile_dir = out / "profile"
    checkpoints = [f"{v.name}={out / model_stage[v.name] / 'model'}" for v in spec.variants]
    profile_argv: list[str] = ["profile"]
    for variant in spec.variants:
        profile_argv += ["--variant", variant.name]
    for pair in checkpoints:
        profile_argv += ["--checkpoint", pair]
    profile_argv += ["--spec", str(options.spec_path), "--out", str(profile_dir)]
    if options.smoke:
        profile_argv.append("--smoke")
    stages.append(
        Stage(
            name="profile",
            kind=StageKind.PROFILE,
            argv=_job(options, *profile_argv),
            inputs=tuple(str(out / model_stage[v.name] / "model") for v in spec.variants),
            outputs=(str(profile_dir),),
            depends_on=tuple(dict.fromkeys(ready_stage[v.name] for v in spec.variants)),
            marker=str(profile_dir / "profile.json"),
            needs_gpu=True,
        )
    )

    for variant in spec.variants:
        for task in spec.data.finetune:
            name = f"finetune/{variant.name}/{task}"
            folder = out / name
            checkpoint = out / model_stage[variant.name]
            argv = _job(
                options, "job", "finetune", "--variant", variant.name, "--task", task, "--checkpoint",
                str(checkpoint), "--out", str(folder), *_common(options, configs=True, data=True),
            )  # fmt: skip
            stages.append(
                Stage(
                    name=name,
                    kind=StageKind.FINETUNE,
                    argv=argv,
                    inputs=(str(checkpoint),),
                    outputs=(str(folder),),
                    depends_on=tuple(dict.fromkeys((model_stage[variant.name], ready_stage[variant.name]))),
                    marker=str(folder / "result.json"),
                    reads_settings=("training.finetune.", f"epochs.{task}"),
                    distributed=True,
                    needs_gpu=True,
                )
            )

    report = out / "report.md"
    stages.append(
        Stage(
            name="report",
            kind=StageKind.REPORT,
            argv=(options.python, "-m", "sdmspec.runner.report", "--out", str(out)),
            inputs=(str(out / "manifest.json"),),
            outputs=(str(report),),
            depends_on=tuple(stage.name for stage in stages),
            marker=str(report),
            trigger=Trigger.AFTER_ANY,
        )
    )
    return Plan(stages=tuple(stages))


def select(plan: Plan, patterns: Sequence[str]) -> tuple[str, ...]:
    """The stages named by ``patterns``: a stage name, a glob (``finetune/*/sst2``) or a kind (``finetune``).

    Selection adds nothing: upstream stages are not pulled in (the pipeline refuses to start a selected stage whose
    unselected upstream is not done). A pattern that matches nothing is a usage error, so a typo never runs nothing.
    """
    if not patterns:
        return plan.names
    chosen: set[str] = set()
    kinds = {kind.value for kind in StageKind}
    for pattern in patterns:
        matched = {
            stage.name
            for stage in plan.stages
            if stage.name == pattern
            or fnmatch.fnmatchcase(stage.name, pattern)
            or (pattern in kinds and stage.kind.value == pattern)
            or stage.name.startswith(pattern.rstrip("/") + "/")
        }
        if not matched:
            raise SdmspecError(f"--only {pattern!r} matches no stage; stages: {', '.join(plan.names)}")
        chosen |= matched
    return tuple(name for name in plan.names if name in chosen)
