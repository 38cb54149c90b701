"""``sdmspec run``: lint the configs, check the machine, then launch the paper's pipeline (or print it with --dry-run).

Exit codes: 0 every selected stage done (or, with --dry-run, the run would start); 1 refused by a gate (lint errors,
environment mismatch) or a stage failed (an iso-sparsity mismatch included); 2 usage error or unreadable input;
130 interrupted (rerun the same command to resume). A dry run checks both gates, prints the plan either way, then
names each gate that would refuse (exit 1).
"""

from __future__ import annotations

import inspect
import shlex
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from sdmspec.cli import choices
from sdmspec.errors import EXIT_FINDINGS, EXIT_OK, ConfigError, SdmspecError
from sdmspec.io import folder_option
from sdmspec.plugins import PluginError

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
    return text.replace(str(prepared.context.out), "$OUT").replace(sys.executable, "python").replace(here, "")


def print_plan(prepared: PreparedRun, console: Console) -> None:
    """The plan as a table: each stage's state, upstreams, and its command with the inputs it reads and outputs;
    then how the pipeline expects its stages to compute (for the paper's: the scan, activation checkpointing)."""
    table = Table(title=f"sdmspec run plan ($OUT = {prepared.context.out})", title_justify="left", show_lines=True)
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
        if stage.flags_argv is not None:  # what the config file holds, as the same job's flags
            cell.append(f"   = {_short(shlex.join(stage.flags_argv), prepared)}")
        cell += [f"in:  {_short(path, prepared)}" for path in stage.inputs]
        cell += [f"out: {_short(path, prepared)}" for path in stage.outputs]
        table.add_row(stage.name, label, after, escape("\n".join(cell)))
    console.print(table)
    for line in prepared.expected.describe().splitlines():
        console.print(escape(line), soft_wrap=True)
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
    *,
    pipeline_values: Mapping[str, Any] | None = None,
) -> None:
    """Gate on lint and the environment, then run the pipeline: pretrain -> baselines -> verify -> finetune -> profile
    -> report. Reruns skip finished stages and resume interrupted ones; changed settings rerun what they affect.

    With `-- CMD ARGS...`, any repository's command instead: lint the config its Hydra overrides compose, then run
    it and record it."""
    if command:
        _run_command(command, configs, spec_path, out, config_name, dry_run=dry_run)
    from sdmspec.runner.execute import execute
    from sdmspec.runner.gate import env_gate, lint_gate
    from sdmspec.runner.hooks import require_hooks
    from sdmspec.runner.launchers import capabilities
    from sdmspec.runner.prepare import (
        RunRequest,
        load_request_spec,
        make_launcher,
        prepare_run,
        prepare_unresolved,
    )

    hooks = require_hooks()
    # In a pipe or a log file, wide enough that a stage's command stays on a line or two.
    console = Console(highlight=False, width=None if sys.stdout.isatty() else 200)
    pipeline_options = hooks.cli_options()(**(pipeline_values or {}))
    request = RunRequest(
        configs=configs, spec_path=spec_path, out=out, smoke=smoke,
        only=tuple(part for value in only or () for part in value.split(",") if part),
        launcher=launcher, nproc=nproc, nodes=nodes, allow_env_mismatch=allow_env_mismatch, jobs=jobs,
        data_dir=data_dir, rdzv_endpoint=rdzv_endpoint, slurm_partition=slurm_partition, slurm_cluster=slurm_cluster,
        timeout_min=timeout_min, grace_s=grace_s, slurm_signal_delay_s=slurm_signal_delay_s,
        argv=("sdmspec", *sys.argv[1:]), pipeline_options=pipeline_options,
    )  # fmt: skip
    expected = hooks.expect(request)
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
        prepared = prepare_run(request, spec, env, expected=expected, hooks=hooks)
    except ConfigError as err:
        if not dry_run or lint.passed:
            raise
        # Configs lint refuses may not resolve into settings ('3e-4' is a string): the stages are still known.
        console.print(f"[yellow]settings unknown:[/] {escape(str(err))}")
        prepared = prepare_unresolved(request, spec, env, "settings unknown", expected, hooks)
    if dry_run:
        print_plan(prepared, console)
        if refusals:
            _refuse(refusals, console, dry_run=True)
    # Stages that cannot compute as asked here (a scan) stop everything before any starts (exit 2); on SLURM the
    # nodes decide.
    if expected.problem is not None and capabilities(request.launcher).stages_run_here:
        raise SdmspecError(expected.problem)
    if dry_run:
        raise typer.Exit(EXIT_OK)
    from sdmspec.cli.run_watch import RunWatcher
    from sdmspec.runner.outputs import stage_folder

    # The training stages (the distributed ones) log metrics.jsonl: the live display follows them.
    training = {stage.name: stage_folder(stage) for stage in prepared.plan.stages if stage.distributed}
    with RunWatcher(console, every_s=progress_every_s) as watcher:
        printer = _Printer(console, watcher, training)
        outcome = execute(prepared, make_launcher(prepared), printer)
        printer.flush()
    done = sum(status.value == "done" for status in outcome.statuses.values())
    console.print(f"{done} of {len(outcome.statuses)} stage(s) done; record: {escape(str(outcome.manifest))}")
    report = prepared.context.out / "report.md"
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


# The pipeline's own options are shown after this one: where the run reads and writes, then how its stages compute,
# then how they are launched (the order `sdmspec run --help` always had).
_PIPELINE_OPTIONS_AFTER = "data_dir"


def with_pipeline_options(options: Callable[..., Mapping[str, Any]] | None) -> Callable[..., None]:
    """:func:`run` as typer sees it, with the parameters of the pipeline's ``options`` function (its
    :meth:`~sdmspec.runner.hooks.RunHooks.cli_options`) among its own; their values reach it as ``pipeline_values``.

    Typer builds a command's options from ``inspect.signature``, so the command's ``__signature__`` is the spliced
    list: the core declares none of a pipeline's options, and their help, defaults and metavars are the pipeline's.
    """
    own = [
        parameter
        for parameter in inspect.signature(run, eval_str=True).parameters.values()
        if parameter.name != "pipeline_values"
    ]
    extra = list(inspect.signature(options, eval_str=True).parameters.values()) if options else []
    names = {parameter.name for parameter in extra}
    clash = sorted(names & {parameter.name for parameter in own})
    if clash:
        raise PluginError(f"the pipeline's `sdmspec run` options redefine the core's: {', '.join(clash)}")
    at = [parameter.name for parameter in own].index(_PIPELINE_OPTIONS_AFTER) + 1

    def command(**values: Any) -> None:
        pipeline_values = {name: values.pop(name) for name in names}
        run(**values, pipeline_values=pipeline_values)

    command.__signature__ = inspect.Signature(own[:at] + extra + own[at:])  # type: ignore[attr-defined]
    command.__doc__ = run.__doc__
    command.__name__ = command.__qualname__ = "run"
    return command


def register(app: typer.Typer) -> None:
    from sdmspec.runner.hooks import installed_hooks

    # No pipeline with a stage graph: the command still runs `-- CMD`, and refuses the pipeline in one line.
    hooks = installed_hooks()
    app.command("run")(with_pipeline_options(hooks.cli_options() if hooks else None))
