"""``sdmspec run``: lint the configs, check the machine, then launch the paper's pipeline (or print it with --dry-run).

Exit codes: 0 every selected stage done (or, with --dry-run, the run would start); 1 refused by a gate (lint errors,
environment mismatch) or a stage failed (an iso-sparsity mismatch included); 2 usage error or unreadable input;
130 interrupted (rerun the same command to resume). A dry run checks both gates, prints the plan either way, then
names each gate that would refuse (exit 1).
"""

from __future__ import annotations

import shlex
import sys
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from sdmspec.cli import choices
from sdmspec.errors import EXIT_FINDINGS, EXIT_OK, ConfigError, SdmspecError
from sdmspec.io import folder_option

if TYPE_CHECKING:
    from sdmspec.cli.run_watch import RunWatcher
    from sdmspec.runner.execute import RunEvent
    from sdmspec.runner.gate import EnvGate, LintGate
    from sdmspec.runner.prepare import PreparedRun

_LOG_TAIL_LINES = 15
_EVENT_STYLE = {
    "start": "cyan", "done": "green", "reused": "dim", "failed": "red", "skipped": "yellow", "stopping": "yellow",
}  # fmt: skip


def _short(text: str, prepared: PreparedRun) -> str:
    """Commands and paths as a reader wants them: $OUT for the run folder, paths under here relative to it."""
    here = f"{Path.cwd()}/"
    return text.replace(str(prepared.options.out), "$OUT").replace(sys.executable, "python").replace(here, "")


def print_plan(prepared: PreparedRun, console: Console) -> None:
    """The plan as a table: each stage's state, upstreams, and its command with the inputs it reads and outputs;
    then the scan the model stages will use and the activation-checkpointing request."""
    table = Table(title=f"sdmspec run plan ($OUT = {prepared.options.out})", title_justify="left", show_lines=True)
    table.add_column("stage", no_wrap=True)
    table.add_column("state")
    table.add_column("after", overflow="fold")
    table.add_column("command / inputs / outputs", overflow="fold", ratio=1)
    chosen = set(prepared.to_run)
    for stage in prepared.plan.stages:
        if stage.name not in prepared.selected:
            continue
        state = prepared.states[stage.name]
        label = f"[yellow]run[/] ({escape(state.reason)})" if stage.name in chosen else "[green]done[/]"
        after = "\n".join(stage.depends_on) if len(stage.depends_on) <= 3 else f"{len(stage.depends_on)} stages"
        cell = [_short(shlex.join(stage.argv), prepared)]
        cell += [f"in:  {_short(path, prepared)}" for path in stage.inputs]
        cell += [f"out: {_short(path, prepared)}" for path in stage.outputs]
        table.add_row(stage.name, label, after, escape("\n".join(cell)))
    console.print(table)
    from mamba_sdm.expected_scan import MODEL_STAGES

    stages = ", ".join(MODEL_STAGES)
    console.print(escape(f"{stages} stages: {prepared.expected_scan.describe()}"), soft_wrap=True)
    console.print(
        escape(
            f"activation checkpointing: {prepared.request.activation_checkpointing} "
            "(auto: each training job turns it on when its micro-batch would not fit the GPU otherwise)"
        ),
        soft_wrap=True,
    )
    console.print(f"{len(prepared.to_run)} of {len(prepared.selected)} selected stage(s) to run; nothing was launched.")


def _print_lint(gate: LintGate, console: Console) -> None:
    """The diagnostics exactly as `sdmspec lint` shows them (same reporter)."""
    from sdmspec.report import ReportOptions, render

    console.out(render("text", gate.result, ReportOptions(color=console.is_terminal)), end="", highlight=False)


def _print_env(gate: EnvGate, console: Console) -> None:
    for row in gate.report.deviations:
        console.print(escape(f"environment: {row.name}: expected {row.expected}, found {row.found}"))


_ENV_REFUSAL = "this machine differs from the spec's environment (above)"


def _refuse(refusals: list[tuple[str, str]], console: Console, *, dry_run: bool) -> NoReturn:
    """Each gate's refusal (what, then the way out) on its own line, and exit 1; a dry run says it *would* refuse."""
    for what, hint in refusals:
        verdict = "[red]would refuse:[/]" if dry_run else "[red]refused:[/]"
        outcome = "a run would start nothing" if dry_run else "nothing was started"
        # One line each, however long the path: a log reader greps for it.
        console.print(f"{verdict} {escape(what)}; {outcome}. {escape(hint)}", soft_wrap=True)
    raise typer.Exit(EXIT_FINDINGS)


class _Printer:
    """Stage transitions as lines; finished stages that are reused as one line (a campaign may reuse hundreds).
    Training stages are followed by ``watcher`` while they run."""

    def __init__(
        self, console: Console, watcher: RunWatcher | None = None, folders: dict[str, Path] | None = None
    ) -> None:
        self.console = console
        self.reused = 0
        self.watcher = watcher
        self.folders = folders or {}

    def flush(self) -> None:
        if self.reused:
            self.console.print(f"[dim]{'reused':>11}[/] {self.reused} finished stage(s), unchanged", highlight=False)
            self.reused = 0

    def __call__(self, event: RunEvent) -> None:
        if event.kind == "reused":
            self.reused += 1
            return
        self.flush()
        if self.watcher is not None and event.stage in self.folders:
            if event.kind == "start":
                self.watcher.started(event.stage, self.folders[event.stage])
            else:
                self.watcher.ended(event.stage)
        style = _EVENT_STYLE.get(event.kind, "magenta")
        took = f" in {event.duration_s:.1f}s" if event.duration_s is not None else ""
        why = f": {event.message}" if event.message else ""
        self.console.print(f"[{style}]{event.kind:>11}[/] {escape(event.stage)}{took}{escape(why)}", highlight=False)
        if event.kind in ("failed", "interrupted") and event.log:
            self.console.print(f"            log: {escape(event.log)}", highlight=False)
            if event.kind == "failed":
                _print_tail(Path(event.log), self.console)


def _print_tail(log: Path, console: Console) -> None:
    from sdmspec.runner.execute import log_tail

    for line in log_tail(str(log), _LOG_TAIL_LINES):
        console.print(f"            | {escape(line)}", highlight=False)


def run(
    command: list[str] | None = typer.Argument(
        None,
        metavar="[-- CMD ARGS...]",
        help="Any repository's command instead of this paper's pipeline: its Hydra overrides are composed with"
        " --configs and linted against the spec; on an error it is not started, else it runs (signals forwarded,"
        " its exit code is sdmspec's) and OUT/record.json records it.",
    ),
    configs: Path = typer.Option(Path("configs"), "--configs", help="Config file or folder (must lint clean)."),
    spec_path: Path | None = typer.Option(None, "--spec", help="The spec file or folder (default: the nearest spec/)."),
    out: Path | None = typer.Option(
        None,
        "--out",
        help="Run folder (default: runs/smoke with --smoke, else runs/paper).",
        callback=folder_option("--out"),
    ),
    smoke: bool = typer.Option(False, "--smoke", help="Every stage at toy scale on generated data (minutes on a CPU)."),
    dry_run: bool = typer.Option(
        False, "--dry-run", help="Print the plan (commands, inputs, outputs) and any refusing gate; launch nothing."
    ),
    only: list[str] = typer.Option(
        None,
        "--only",
        metavar="STAGE",
        help="Run only these stages: names, globs (finetune/*/sst2) or kinds "
        "(pretrain, challenge, verify, finetune, profile, report). Repeatable. Their upstreams must be done.",
    ),
    launcher: str = typer.Option("local", "--launcher", metavar=choices.LAUNCHER, help="slurm: through submitit."),
    nproc: int = typer.Option(1, "--nproc", min=1, help="GPUs (torchrun processes) per node for training stages."),
    nodes: int = typer.Option(
        1, "--nodes", min=1, help="Nodes for training stages (torchrun in an allocation, slurm)."
    ),
    allow_env_mismatch: bool = typer.Option(
        False, "--allow-env-mismatch", help="Start on a machine unlike the spec's; recorded as a deviation."
    ),
    jobs: int | None = typer.Option(
        None, "--jobs", "-j", min=1, help="Local stages at once (default 2 smoke, else 1)."
    ),
    data_dir: Path | None = typer.Option(
        None,
        "--data-dir",
        help="Local data for the jobs (see `sdmspec job --help`).",
        callback=folder_option("--data-dir"),
    ),
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
        metavar=choices.SCAN,
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
        metavar=choices.ACTIVATION_CHECKPOINTING,
        help="Training stages: auto (on a GPU when the micro-batch would not fit otherwise), on or off.",
    ),
    precision: str | None = typer.Option(
        None,
        "--precision",
        metavar=choices.PRECISION,
        help="Training stages: auto (bf16 autocast where the GPU supports it, else fp32), bf16 or fp32; forwarded "
        "to every training job (default: each job's, the spec setting). Part of the stages' fingerprints.",
    ),
    report_to: list[str] = typer.Option(
        None,
        "--report-to",
        metavar=choices.TRACKER,
        help="Experiment tracking for every training stage: tensorboard, mlflow or wandb (repeatable).",
    ),
    rdzv_endpoint: str | None = typer.Option(None, "--rdzv-endpoint", help="torchrun rendezvous HOST:PORT (nodes>1)."),
    slurm_partition: str | None = typer.Option(None, "--slurm-partition", help="SLURM partition for every job."),
    slurm_cluster: str = typer.Option(
        "slurm", "--slurm-cluster", help="submitit cluster: slurm, or local to rehearse the job graph on this machine."
    ),
    timeout_min: int | None = typer.Option(None, "--timeout-min", min=1, help="SLURM time limit per job (minutes)."),
    grace_s: float = typer.Option(
        120.0, "--grace", min=0, help="Seconds the running stages get to save and exit after a stop (then SIGKILL)."
    ),
    progress_every_s: float = typer.Option(
        60.0,
        "--progress-every",
        min=1,
        help="Off a terminal (a pipe, a SLURM log): seconds between the plain progress lines of the running stages "
        "(on a terminal a live table is refreshed every second).",
    ),
    slurm_signal_delay_s: int = typer.Option(
        120,
        "--slurm-signal-delay",
        min=1,
        help="SLURM: seconds before the time limit at which a stage is told to save, then requeued (submitit).",
    ),
    config_name: str | None = typer.Option(
        None,
        "--config-name",
        help="With -- CMD: the primary Hydra config the command composes (its @hydra.main config_name), unless the"
        " command says --config-name itself or every entry of the spec names the same one.",
    ),
) -> None:
    """Gate on lint and the environment, then run the pipeline: pretrain -> baselines -> verify -> finetune -> profile
    -> report. Reruns skip finished stages and resume interrupted ones; changed settings rerun what they affect.

    With `-- CMD ARGS...`, any repository's command instead: lint the config its Hydra overrides compose, then run
    it and record it."""
    if command:
        _run_command(command, configs, spec_path, out, config_name, dry_run=dry_run)
    from mamba_sdm.expected_scan import expect_scan
    from mamba_sdm.initial_weights import parse_init_from
    from sdmspec.runner.execute import execute
    from sdmspec.runner.gate import env_gate, lint_gate
    from sdmspec.runner.launchers import capabilities
    from sdmspec.runner.prepare import (
        RunRequest,
        load_request_spec,
        make_launcher,
        prepare_run,
        prepare_unresolved,
    )

    # In a pipe or a log file, wide enough that a stage's command stays on a line or two.
    console = Console(highlight=False, width=None if sys.stdout.isatty() else 200)
    request = RunRequest(
        configs=configs, spec_path=spec_path, out=out, smoke=smoke,
        only=tuple(part for value in only or () for part in value.split(",") if part),
        launcher=launcher, nproc=nproc, nodes=nodes, allow_env_mismatch=allow_env_mismatch, jobs=jobs,
        data_dir=data_dir, rdzv_endpoint=rdzv_endpoint, slurm_partition=slurm_partition, slurm_cluster=slurm_cluster,
        timeout_min=timeout_min, grace_s=grace_s, slurm_signal_delay_s=slurm_signal_delay_s,
        argv=("sdmspec", *sys.argv[1:]),
        init_from=parse_init_from(init_from or ()), scan=scan, activation_checkpointing=activation_checkpointing,
        device=device, precision=precision, report_to=tuple(dict.fromkeys(report_to or ())),
    )  # fmt: skip
    expected_scan = expect_scan(request)
    spec = load_request_spec(request)
    # A run stops at the first gate that refuses; a dry run checks both, shows the plan, then says who would refuse.
    refusals: list[tuple[str, str]] = []
    lint = lint_gate([request.configs], spec)
    if not lint.passed:
        _print_lint(lint, console)
        refusals.append((f"{lint.errors} lint error(s) in {configs}", "See `sdmspec lint` (and --fix)."))
        if not dry_run:
            _refuse(refusals, console, dry_run=False)
    env = env_gate(spec, allow_mismatch=allow_env_mismatch, smoke=smoke)
    _print_env(env, console)
    if not env.passed:
        refusals.append((_ENV_REFUSAL, "Pass --allow-env-mismatch to run anyway, recorded as a deviation."))
        if not dry_run:
            _refuse(refusals, console, dry_run=False)
    elif env.deviations:
        reason = "--smoke" if smoke and not allow_env_mismatch else "--allow-env-mismatch"
        console.print(f"[yellow]accepted ({reason}):[/] the deviations above are recorded in the manifest.")
    try:
        prepared = prepare_run(request, spec, env, expected_scan=expected_scan)
    except ConfigError as err:
        if not dry_run or lint.passed:
            raise
        # Configs lint refuses may not resolve into settings ('3e-4' is a string): the stages are still known.
        console.print(f"[yellow]settings unknown:[/] {escape(str(err))}")
        prepared = prepare_unresolved(request, spec, env, "settings unknown", expected_scan)
    if dry_run:
        print_plan(prepared, console)
        if refusals:
            _refuse(refusals, console, dry_run=True)
    # A scan that cannot run here stops everything before any stage starts (exit 2); on SLURM the nodes decide.
    if expected_scan.problem is not None and capabilities(request.launcher).stages_run_here:
        raise SdmspecError(expected_scan.problem)
    if dry_run:
        raise typer.Exit(EXIT_OK)
    from mamba_sdm.stages import StageKind
    from sdmspec.cli.run_watch import RunWatcher
    from sdmspec.runner.outputs import stage_folder

    training = {
        stage.name: stage_folder(stage)
        for stage in prepared.plan.stages
        if stage.kind in (StageKind.PRETRAIN, StageKind.FINETUNE)
    }
    with RunWatcher(console, every_s=progress_every_s) as watcher:
        printer = _Printer(console, watcher, training)
        outcome = execute(prepared, make_launcher(prepared), printer)
        printer.flush()
    done = sum(status.value == "done" for status in outcome.statuses.values())
    console.print(f"{done} of {len(outcome.statuses)} stage(s) done; record: {escape(str(outcome.manifest))}")
    report = prepared.options.out / "report.md"
    if report.is_file():
        console.print(f"report: {escape(str(report))}")
    if outcome.interrupted:
        console.print("[yellow]interrupted:[/] rerun the same command to resume.")
    raise typer.Exit(outcome.exit_code)


def _run_command(
    command: list[str],
    configs: Path,
    spec_path: Path | None,
    out: Path | None,
    config_name: str | None,
    *,
    dry_run: bool,
) -> NoReturn:
    """`sdmspec run -- CMD`: lint the composed config (sdmspec.runner.command), refuse or launch, exit with its code."""
    from datetime import datetime, timezone

    from sdmspec.cli.lint import report_invalid_spec
    from sdmspec.errors import EXIT_USAGE
    from sdmspec.report import ReportOptions, render
    from sdmspec.runner.command import prepare_command, run_prepared
    from sdmspec.schema import load_spec
    from sdmspec.schema.problems import InvalidSpecError

    console = Console(highlight=False, width=None if sys.stdout.isatty() else 200)
    try:
        spec = load_spec(spec_path)
    except InvalidSpecError as err:
        report_invalid_spec(err, "text", None)
        raise typer.Exit(EXIT_USAGE) from err
    prepared = prepare_command(command, spec, config_dir=configs, config_name=config_name, spec_path=spec_path)
    shown = shlex.join(command)
    if prepared.result.diagnostics:
        console.out(render("text", prepared.result, ReportOptions(color=console.is_terminal)), end="", highlight=False)
    if prepared.result.errors:
        verdict = "would refuse" if dry_run else "refused"
        console.print(
            f"[red]{verdict}:[/] {prepared.result.errors} lint error(s) in the config {escape(shown)} composes; "
            f"{'it would not start' if dry_run else 'it was not started'}.",
            soft_wrap=True,
        )
        raise typer.Exit(EXIT_FINDINGS)
    if dry_run:
        console.print(f"would run: {escape(shown)} (the composed config lints clean); nothing was started.")
        raise typer.Exit(EXIT_OK)
    if out is None:
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
        out = Path("runs") / "command" / stamp
    console.print(f"running: {escape(shown)} (record: {escape(str(out))}/record.json)", soft_wrap=True)
    status, record = run_prepared(prepared, spec, out=out, spec_path=spec_path)
    console.print(f"{escape(command[0])} exited {status}; record: {escape(str(record))}", soft_wrap=True)
    raise typer.Exit(status)


def register(app: typer.Typer) -> None:
    app.command("run")(run)
