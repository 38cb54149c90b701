"""`sdmspec run` as library calls: a request, the gates, the prepared run (plan, fingerprints, states), a launcher.

The CLI calls, in order: :func:`load_request_spec`, :func:`sdmspec.runner.gate.lint_gate`,
:func:`sdmspec.runner.gate.env_gate`, :func:`prepare_run`, then :func:`sdmspec.runner.execute.execute` (or prints
the plan for ``--dry-run``). Each step returns values; nothing here prints.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sdmspec
from sdmspec.errors import SdmspecError
from sdmspec.gitstate import GitState, git_state
from sdmspec.runner.fingerprint import StageInputs, config_hashes, fingerprint_plan
from sdmspec.runner.gate import EnvGate
from sdmspec.runner.hooks import Expectation, PlanContext, RunHooks, require_hooks
from sdmspec.runner.launchers import LAUNCHERS
from sdmspec.runner.launchers.base import Launcher
from sdmspec.runner.manifest import Manifest, read_manifest
from sdmspec.runner.stage import Plan, Trigger, select
from sdmspec.runner.state import StageState, plan_state, stages_to_run
from sdmspec.schema import PaperSpec, find_spec_dir, load_spec
from sdmspec.settings import resolve_settings

SMOKE_OUT = Path("runs/smoke")
FULL_OUT = Path("runs/paper")


@dataclass(frozen=True)
class RunRequest:
    """What the user asked for (the CLI's options, resolved to defaults)."""

    configs: Path = Path("configs")
    spec_path: Path | None = None
    out: Path | None = None
    smoke: bool = False
    only: tuple[str, ...] = ()
    launcher: str = "local"
    nproc: int = 1
    nodes: int = 1
    allow_env_mismatch: bool = False
    jobs: int | None = None
    data_dir: Path | None = None
    rdzv_endpoint: str | None = None
    slurm_partition: str | None = None
    slurm_cluster: str = "slurm"
    timeout_min: int | None = None
    grace_s: float = 120.0
    slurm_signal_delay_s: int = 120
    argv: tuple[str, ...] = field(default_factory=lambda: tuple(sys.argv))
    # The pipeline's own options, as its RunHooks.cli_options parsed them: only its hooks read them (an empty
    # mapping is every default).
    pipeline_options: Mapping[str, Any] = field(default_factory=dict)

    @property
    def out_dir(self) -> Path:
        return (self.out or (SMOKE_OUT if self.smoke else FULL_OUT)).resolve()

    @property
    def parallel_jobs(self) -> int:
        """Local stages at once: as given; a smoke run uses two cores' worth, a real run one GPU's worth (one)."""
        if self.jobs is not None:
            return self.jobs
        return min(2, os.cpu_count() or 1) if self.smoke else 1


def resolve_spec_path(request: RunRequest) -> Path:
    return (request.spec_path or find_spec_dir()).resolve()


def load_request_spec(request: RunRequest) -> PaperSpec:
    return load_spec(resolve_spec_path(request))


@dataclass(frozen=True)
class PreparedRun:
    """The plan against the previous run: fingerprints, states, the stages to run, and the provenance to record."""

    request: RunRequest
    spec: PaperSpec
    context: PlanContext
    plan: Plan
    selected: tuple[str, ...]
    inputs: dict[str, StageInputs]
    states: dict[str, StageState]
    to_run: tuple[str, ...]
    previous: Manifest | None
    env: EnvGate
    config_hashes: dict[str, str]
    git: GitState
    # How the stages are expected to compute here, and why (the manifest records it).
    expected: Expectation
    # The pipeline whose stage graph this is: the runner asks it what each finished stage ran.
    hooks: RunHooks


def plan_context(request: RunRequest) -> PlanContext:
    """What the plan is built from besides the spec and the pipeline's options: the request's paths resolved."""
    return PlanContext(
        out=request.out_dir,
        configs=request.configs.resolve(),
        spec_path=resolve_spec_path(request),
        smoke=request.smoke,
        data_dir=request.data_dir.resolve() if request.data_dir else None,
    )


def prepare_run(
    request: RunRequest,
    spec: PaperSpec,
    env: EnvGate,
    plan: Plan | None = None,
    expected: Expectation | None = None,
    hooks: RunHooks | None = None,
) -> PreparedRun:
    """Plan the run, fingerprint it, and hold it against the previous manifest in the output folder.

    ``hooks``: the pipeline's (default: the installed one's); ``plan`` replaces the graph its hooks build (tests
    inject light stages through it). Refuses (SdmspecError, exit 2) to start a selected stage whose upstream is
    neither selected nor done: ``--only`` never runs anything unasked.
    """
    if request.launcher not in LAUNCHERS:
        raise SdmspecError(f"unknown launcher {request.launcher!r}; choose one of {', '.join(LAUNCHERS)}")
    hooks = hooks or require_hooks()
    context = plan_context(request)
    configs = context.configs
    plan = plan or hooks.build_plan(spec, context, request.pipeline_options)
    selected = select(plan, request.only)
    settings = resolve_settings([configs], spec)
    previous = read_manifest(context.out)
    inits = hooks.resolve_inits(spec, plan, settings.values, context, request.pipeline_options, previous)
    # The spec folder and the configs enter by digest and by the values read: where the repository lies does not.
    stand_ins = {str(context.spec_path): "$SPEC", str(context.configs): "$CONFIGS"}
    inputs = fingerprint_plan(plan, context.out, context.python, spec.digest, settings, inits, stand_ins=stand_ins)
    states = plan_state(plan, inputs, previous, spec.digest)
    to_run = stages_to_run(plan, states, selected)
    chosen = set(to_run)
    for name in to_run:
        stage = plan[name]
        if stage.trigger is Trigger.AFTER_ANY:
            continue  # the report is written from whatever exists
        missing = [dep for dep in stage.depends_on if dep not in chosen and not states[dep].done]
        if missing:
            raise SdmspecError(
                f"--only selects {name}, but its upstream {missing[0]} is not done ({states[missing[0]].reason}); "
                "select it too, or run without --only"
            )
    return PreparedRun(
        request=request,
        spec=spec,
        context=context,
        plan=plan,
        selected=selected,
        inputs=inputs,
        states=states,
        to_run=to_run,
        previous=previous,
        env=env,
        config_hashes=config_hashes(configs),
        git=git_state(Path(sdmspec.__file__).parent),
        expected=expected or hooks.expect(request),
        hooks=hooks,
    )


def prepare_unresolved(
    request: RunRequest,
    spec: PaperSpec,
    env: EnvGate,
    why: str,
    expected: Expectation | None = None,
    hooks: RunHooks | None = None,
) -> PreparedRun:
    """The plan alone, for a dry run whose configs do not resolve into settings (the lint gate refuses them).

    Stages and commands come from the spec, not from the settings, so the plan can still be shown; without settings
    nothing can be fingerprinted or compared with the previous run, so every selected stage is shown as to run, for
    ``why``. Never executed: such a run is refused before it starts.
    """
    hooks = hooks or require_hooks()
    context = plan_context(request)
    configs = context.configs
    plan = hooks.build_plan(spec, context, request.pipeline_options)
    selected = select(plan, request.only)
    chosen = set(selected)
    return PreparedRun(
        request=request,
        spec=spec,
        context=context,
        plan=plan,
        selected=selected,
        inputs={},
        states={name: StageState(done=False, reason=why) for name in plan.names},
        to_run=tuple(name for name in plan.names if name in chosen),
        previous=read_manifest(context.out),
        env=env,
        config_hashes=config_hashes(configs),
        git=git_state(Path(sdmspec.__file__).parent),
        expected=expected or hooks.expect(request),
        hooks=hooks,
    )


def make_launcher(prepared: PreparedRun) -> Launcher:
    """The launcher the request names, writing its logs under the run's output folder."""
    request, out = prepared.request, prepared.context.out
    env = {"HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"} if request.smoke else {}
    if request.launcher == "local":
        from sdmspec.runner.launchers.local import LocalLauncher

        if request.nproc > 1 or request.nodes > 1:
            raise SdmspecError("--nproc/--nodes need --launcher torchrun or slurm")
        return LocalLauncher(out / "logs", jobs=request.parallel_jobs, env=env)
    if request.launcher == "torchrun":
        from sdmspec.runner.launchers.torchrun import TorchrunLauncher

        return TorchrunLauncher(
            out / "logs",
            nproc=request.nproc,
            nodes=request.nodes,
            rdzv_endpoint=request.rdzv_endpoint,
            run_id=f"sdmspec-{prepared.spec.digest[:8]}",
            env=env,
        )
    from sdmspec.runner.launchers.slurm import DEFAULT_TIMEOUT_MIN, SlurmLauncher, SlurmOptions

    return SlurmLauncher(
        SlurmOptions(
            folder=out / "slurm",
            cluster=request.slurm_cluster,
            nproc=request.nproc,
            nodes=request.nodes,
            use_gpus=not request.smoke,
            partition=request.slurm_partition,
            timeout_min=request.timeout_min or DEFAULT_TIMEOUT_MIN,
            signal_delay_s=request.slurm_signal_delay_s,
            env=env,
            cwd=str(Path.cwd()),
        )
    )
