"""``sdmspec run``: lint the configs, check the machine, then launch the paper's pipeline (or print it with --dry-run).

Exit codes: 0 every selected stage done (or, with --dry-run, the run would start); 1 refused by a gate (lint errors,
environment mismatch) or a stage failed (an iso-sparsity mismatch included); 2 usage error or unreadable input;
130 interrupted (rerun the same command to resume).
"""

from __future__ import annotations

import shlex
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from sdmspec.errors import EXIT_FINDINGS, EXIT_OK

if TYPE_CHECKING:
    from sdmspec.runner.execute import RunEvent
    from sdmspec.runner.gate import EnvGate, LintGate
    from sdmspec.runner.pipeline import PreparedRun

_LOG_TAIL_LINES = 15
_EVENT_STYLE = {"start": "cyan", "done": "green", "reused": "dim", "failed": "red", "skipped": "yellow"}


def _short(text: str, prepared: PreparedRun) -> str:
    """Commands and paths as a reader wants them: $OUT for the run folder, paths under here relative to it."""
    here = f"{Path.cwd()}/"
    return text.replace(str(prepared.options.out), "$OUT").replace(sys.executable, "python").replace(here, "")


def print_plan(prepared: PreparedRun, console: Console) -> None:
    """The plan as a table: each stage's state, upstreams, and its command with the inputs it reads and outputs."""
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
    console.print(f"{len(prepared.to_run)} of {len(prepared.selected)} selected stage(s) to run; nothing was launched.")


def _print_lint(gate: LintGate, console: Console) -> None:
    """The diagnostics exactly as `sdmspec lint` shows them (same reporter)."""
    from sdmspec.report import ReportOptions, render

    console.out(render("text", gate.result, ReportOptions(color=console.is_terminal)), end="", highlight=False)


def _print_env(gate: EnvGate, console: Console) -> None:
    for row in gate.report.deviations:
        console.print(escape(f"environment: {row.name}: expected {row.expected}, found {row.found}"))


class _Printer:
    """Stage transitions as lines; finished stages that are reused as one line (a campaign may reuse hundreds)."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.reused = 0

    def flush(self) -> None:
        if self.reused:
            self.console.print(f"[dim]{'reused':>11}[/] {self.reused} finished stage(s), unchanged", highlight=False)
            self.reused = 0

    def __call__(self, event: RunEvent) -> None:
        if event.kind == "reused":
            self.reused += 1
            return
        self.flush()
        style = _EVENT_STYLE.get(event.kind, "magenta")
        took = f" in {event.duration_s:.1f}s" if event.duration_s is not None else ""
        why = f": {event.message}" if event.message else ""
        self.console.print(f"[{style}]{event.kind:>11}[/] {escape(event.stage)}{took}{escape(why)}", highlight=False)
        if event.kind in ("failed", "interrupted") and event.log:
            self.console.print(f"            log: {escape(event.log)}", highlight=False)
            if event.kind == "failed":
                _print_tail(Path(event.log), self.console)


def _print_tail(log: Path, console: Console) -> None:
    try:
        lines = log.read_text(encoding="utf-8", errors="replace").splitlines()[-_LOG_TAIL_LINES:]
    except OSError:
        return
    for line in lines:
        console.print(f"            | {escape(line)}", highlight=False)


def run(
    configs: Path = typer.Option(Path("configs"), "--configs", help="Config file or folder (must lint clean)."),
    spec_path: Path | None = typer.Option(None, "--spec", help="The spec file or folder (default: the nearest spec/)."),
    out: Path | None = typer.Option(
        None, "--out", help="Run folder (default: runs/smoke with --smoke, else runs/paper)."
    ),
    smoke: bool = typer.Option(False, "--smoke", help="Every stage at toy scale on generated data (minutes on a CPU)."),
    dry_run: bool = typer.Option(
        False, "--dry-run", help="Print the plan (commands, inputs, outputs); launch nothing."
    ),
    only: list[str] = typer.Option(
        None,
        "--only",
        metavar="STAGE",
        help="Run only these stages: names, globs (finetune/*/sst2) or kinds "
        "(pretrain, challenge, verify, finetune, profile, report). Repeatable. Their upstreams must be done.",
    ),
    launcher: str = typer.Option("local", "--launcher", help="local, torchrun or slurm (submitit)."),
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
        None, "--data-dir", help="Local data for the jobs (see `sdmspec job --help`)."
    ),
    rdzv_endpoint: str | None = typer.Option(None, "--rdzv-endpoint", help="torchrun rendezvous HOST:PORT (nodes>1)."),
    slurm_partition: str | None = typer.Option(None, "--slurm-partition", help="SLURM partition for every job."),
    slurm_cluster: str = typer.Option(
        "slurm", "--slurm-cluster", help="submitit cluster: slurm, or local to rehearse the job graph on this machine."
    ),
    timeout_min: int | None = typer.Option(None, "--timeout-min", min=1, help="SLURM time limit per job (minutes)."),
    grace_s: float = typer.Option(60.0, "--grace", min=0, help="Seconds a stage gets to stop after Ctrl-C."),
) -> None:
    """Gate on lint and the environment, then run the pipeline: pretrain -> baselines -> verify -> finetune -> profile
    -> report. Reruns skip finished stages and resume interrupted ones; changed settings rerun what they affect."""
    from sdmspec.runner.execute import execute
    from sdmspec.runner.gate import env_gate, lint_gate
    from sdmspec.runner.pipeline import RunRequest, load_request_spec, make_launcher, prepare_run

    # In a pipe or a log file, wide enough that a stage's command stays on a line or two.
    console = Console(highlight=False, width=None if sys.stdout.isatty() else 200)
    request = RunRequest(
        configs=configs, spec_path=spec_path, out=out, smoke=smoke,
        only=tuple(part for value in only or () for part in value.split(",") if part),
        launcher=launcher, nproc=nproc, nodes=nodes, allow_env_mismatch=allow_env_mismatch, jobs=jobs,
        data_dir=data_dir, rdzv_endpoint=rdzv_endpoint, slurm_partition=slurm_partition, slurm_cluster=slurm_cluster,
        timeout_min=timeout_min, grace_s=grace_s, argv=("sdmspec", *sys.argv[1:]),
    )  # fmt: skip
    spec = load_request_spec(request)
    lint = lint_gate([request.configs], spec)
    if not lint.passed:
        _print_lint(lint, console)
        console.print(
            f"[red]refused:[/] {lint.errors} lint error(s) in {escape(str(configs))}; nothing was started. "
            "See `sdmspec lint` (and --fix)."
        )
        raise typer.Exit(EXIT_FINDINGS)
    env = env_gate(spec, allow_mismatch=allow_env_mismatch, smoke=smoke)
    _print_env(env, console)
    if not env.passed:
        console.print(
            "[red]refused:[/] this machine differs from the spec's environment (above); nothing was started. "
            "Pass --allow-env-mismatch to run anyway, recorded as a deviation."
        )
        raise typer.Exit(EXIT_FINDINGS)
    if env.deviations:
        reason = "--smoke" if smoke and not allow_env_mismatch else "--allow-env-mismatch"
        console.print(f"[yellow]accepted ({reason}):[/] the deviations above are recorded in the manifest.")
    prepared = prepare_run(request, spec, env)
    if dry_run:
        print_plan(prepared, console)
        raise typer.Exit(EXIT_OK)
    printer = _Printer(console)
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


def register(app: typer.Typer) -> None:
    app.command("run")(run)
