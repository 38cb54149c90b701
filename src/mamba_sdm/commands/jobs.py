"""``sdmspec job pretrain|challenge|finetune``: the training jobs the runner launches (in one process or under
``torchrun``). Each prints a one-line summary and writes ``result.json`` last. ``sdmspec job report``: the pipeline's
last stage, ``OUT/report.md`` from what the others wrote.

Exit codes (sdmspec.errors): 0 done, 1 the job refused or failed (configs failing lint, missing data or released
weights, an iso-sparsity mismatch, a non-finite loss that would not go away), 2 a usage error or input that cannot
be read (an unknown variant or task, an option the machine cannot honour such as --device cuda without a GPU or bf16
on a CPU, a path of the wrong kind, the spec, a checkpoint; a starting checkpoint whose config is not the spec's size;
a folder another job is writing; a --config stage.json that is unreadable, not JSON, not the job's model, or given
with other options), 4 a full disk (the runner stops starting stages), 130 stopped by a signal after saving a
checkpoint (rerun to resume).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Any, TypeVar

import typer
from pydantic import ValidationError

from mamba_sdm.commands import choices as pipeline_choices
from mamba_sdm.jobs.bounded_json import first_problem
from mamba_sdm.jobs.common import CHECKPOINT_EVERY, LOG_EVERY, SMOKE_LOG_EVERY, JobOptions
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
    finetune_settings,
    read_inputs,
)
from mamba_sdm.jobs.metrics import NoProgress, Progress
from sdmspec.cli import choices
from sdmspec.errors import SdmspecError
from sdmspec.io import folder_option

Required = TypeVar("Required", str, Path)

job_app = typer.Typer(
    name="job",
    help="The paper's training jobs: Phase A pre-training, iso-sparsity baselines, Phase B GLUE fine-tuning.",
    epilog="Data without a hub: --data-dir DIR with DIR/wikitext-103/{train,validation}.jsonl ({'text': ...} per "
    "line), DIR/glue/<task>/{train,validation}.jsonl (GLUE's fields; MNLI: validation_matched, "
    "validation_mismatched), .parquet or the hub's <split>-*.parquet shards also accepted, and optionally "
    "DIR/tokenizer/. --smoke generates such a folder. Each job writes result.json last. SIGTERM, SIGINT and SIGUSR1 "
    "(SDMSPEC_STOP_SIGNALS=TERM,USR2 to change) stop a job after its optimizer step with a checkpoint, exit 130; "
    "rerun the same command to resume.",
    no_args_is_help=True,
)

# Required unless --config gives them (the command checks: typer cannot make an option required only sometimes).
_VARIANT = typer.Option(
    None, "--variant", help="A variant name from the spec (see `sdmspec variants`). Required unless --config."
)
_OUT = typer.Option(
    None,
    "--out",
    help="The job's output folder (model/, metrics.jsonl, checkpoints/, result.json). Required unless --config.",
    callback=folder_option("--out"),
)
_CONFIG = typer.Option(
    None,
    "--config",
    help='A stage.json holding all of the job\'s inputs ({"job": ..., "what": {...}, "how": {...}}, the model '
    "of mamba_sdm.jobs.inputs) instead of the options; no other option may be given with it.",
)
_CONFIGS = typer.Option(Path("configs"), "--configs", help="Config file or folder; must lint clean against the spec.")
_SPEC = typer.Option(None, "--spec", help="The spec file or folder (default: the nearest spec/).")
_SMOKE = typer.Option(False, "--smoke", help="Toy scale on generated data (recorded as such in result.json).")
_DATA_DIR = typer.Option(
    None,
    "--data-dir",
    callback=folder_option("--data-dir"),
    help="Local data: DIR/wikitext-103/<split>.jsonl|parquet, DIR/glue/<task>/<split>.jsonl|parquet, optional "
    "DIR/tokenizer/ (default: the Hugging Face cache).",
)
_TOKENIZER = typer.Option(None, "--tokenizer", help="A local tokenizer folder (default: the spec's, from the cache).")
_SEED = typer.Option(0, "--seed", help="Seed of model initialisation and data order.")
_DEVICE = typer.Option("auto", "--device", metavar=choices.DEVICE, help="auto: cuda when available.")
_PRECISION = typer.Option(
    None,
    "--precision",
    metavar=pipeline_choices.PRECISION,
    help="auto (bf16 autocast on a CUDA GPU with bf16 support, else fp32; TF32 matmuls on Ampere+), bf16 or fp32 "
    "(default: the spec setting training.precision, auto). Recorded in result.json.",
)
# The flag this option replaced; kept as a hidden alias of --precision bf16 so existing scripts keep working.
_BF16 = typer.Option(False, "--bf16", hidden=True, help="Deprecated: --precision bf16.")
_MAX_STEPS = typer.Option(None, "--max-steps", min=1, help="Stop after this many optimizer steps (schedule shrinks).")
# Pre-training may take no step at all: it then exports its starting weights (with SDM, masked at the target).
_PRETRAIN_MAX_STEPS = typer.Option(
    None, "--max-steps", min=0, help="Stop after this many optimizer steps (schedule shrinks; 0: export the start)."
)
_INIT_FROM = typer.Option(
    None,
    "--init-from",
    help="The folder Phase A starts from (save_pretrained's or `hf download --local-dir`'s: config.json and "
    "safetensors, single or sharded), when training.pretrain.init is pretrained (default: the spec's checkpoint "
    "from the local Hugging Face cache; with --smoke, a generated smoke-size checkpoint).",
)
_SCAN = typer.Option(
    "auto",
    "--scan",
    metavar=pipeline_choices.SCAN,
    help="Mamba's selective scan: auto (mamba-ssm's kernels where usable, else parallel), kernels, parallel "
    "(mambapy, pure PyTorch) or reference (the sequential loop, slow). Recorded in metrics and result.json.",
)
_ACTIVATION_CKPT = typer.Option(
    "auto",
    "--activation-checkpointing",
    metavar=pipeline_choices.ACTIVATION_CHECKPOINTING,
    help="Recompute activations in the backward pass: auto (on a GPU, when the micro-batch would not fit "
    "otherwise), on or off. Recorded in result.json.",
)
_LOG_EVERY = typer.Option(
    None,
    "--log-every",
    min=1,
    help=f"Log training metrics every N optimizer steps (default {LOG_EVERY}; {SMOKE_LOG_EVERY} with --smoke).",
)
_CKPT_EVERY = typer.Option(
    None,
    "--checkpoint-every",
    min=0,
    help=f"Checkpoint every N optimizer steps, as well as at every epoch's end (0: at epoch ends only) "
    f"(default {CHECKPOINT_EVERY}).",
)
_REPORT_TO = typer.Option(
    [],
    "--report-to",
    metavar=choices.TRACKER,
    help="Also send every logged metric to an experiment tracker: tensorboard (<out>/tensorboard/), mlflow "
    "(MLFLOW_TRACKING_URI) or wandb; repeatable. A tracker that is not installed is skipped with one line.",
)
_QUIET = typer.Option(
    False,
    "--quiet",
    "-q",
    help="No progress bar (on a terminal) nor progress lines (in a log: every SDMSPEC_PROGRESS_EVERY_S seconds, 30).",
)


@job_app.command("pretrain")
def pretrain(
    ctx: typer.Context,
    variant: str | None = _VARIANT,
    out: Path | None = _OUT,
    configs: Path = _CONFIGS,
    spec_path: Path | None = _SPEC,
    smoke: bool = _SMOKE,
    data_dir: Path | None = _DATA_DIR,
    tokenizer: Path | None = _TOKENIZER,
    seed: int = _SEED,
    device: str = _DEVICE,
    precision: str | None = _PRECISION,
    bf16: bool = _BF16,
    scan: str = _SCAN,
    activation_checkpointing: str = _ACTIVATION_CKPT,
    max_steps: int | None = _PRETRAIN_MAX_STEPS,
    log_every: int | None = _LOG_EVERY,
    checkpoint_every: int | None = _CKPT_EVERY,
    init_from: Path | None = _INIT_FROM,
    quiet: bool = _QUIET,
    report_to: list[str] = _REPORT_TO,
    config: Path | None = _CONFIG,
) -> None:
    """Phase A: causal LM pre-training on WikiText-103 (dense and SDM variants)."""
    inputs = _inputs(
        ctx, config, PretrainInputs,
        lambda: PretrainInputs(
            what=PretrainWhat(
                variant=_required(variant, "--variant"), configs=configs, spec_path=spec_path, smoke=smoke,
                data_dir=data_dir, tokenizer=tokenizer, seed=seed, precision=_precision(precision, bf16),
                max_steps=max_steps, init_from=init_from,
            ),
            how=TrainingHow(
                out=_required(out, "--out"), device=device, quiet=quiet, report_to=tuple(report_to), scan=scan,
                activation_checkpointing=activation_checkpointing, log_every=log_every,
                checkpoint_every=checkpoint_every,
            ),
        ),
    )  # fmt: skip
    from mamba_sdm.jobs.pretrain import SETTINGS, run_pretrain

    options = inputs.job_options()
    with _tracking(inputs.how.report_to, f"pretrain {inputs.what.variant}", options, SETTINGS):
        record = run_pretrain(options, _progress(inputs.how.quiet))
    metrics = record["metrics"]
    _summary(record, f"val_ppl {metrics.get('val_ppl', float('nan')):.3f}")


@job_app.command("challenge")
def challenge(
    ctx: typer.Context,
    variant: str | None = _VARIANT,
    dense: Path | None = typer.Option(
        None, "--dense", help="The dense pretrain job's output folder (or its model/). Required unless --config."
    ),
    sdm: Path | None = typer.Option(
        None, "--sdm", help="The SDM pretrain job's output folder (or its model/). Required unless --config."
    ),
    out: Path | None = _OUT,
    configs: Path | None = typer.Option(None, "--configs", help="Configs to hold to lint (the build reads none)."),
    spec_path: Path | None = _SPEC,
    smoke: bool = _SMOKE,
    seed: int = _SEED,
    device: str = typer.Option(
        "cpu", "--device", metavar=choices.DEVICE, help="Where to prune (the CPU by default: it takes seconds)."
    ),
    quiet: bool = _QUIET,
    report_to: list[str] = _REPORT_TO,
    config: Path | None = _CONFIG,
) -> None:
    """Build an iso-sparsity baseline (challenge: magnitude; random) from the dense model at M_SDM's sparsity.

    Takes seconds and shows no progress bar (``--quiet`` is accepted like every job's)."""
    inputs = _inputs(
        ctx, config, ChallengeInputs,
        lambda: ChallengeInputs(
            what=ChallengeWhat(
                variant=_required(variant, "--variant"), dense=_required(dense, "--dense"),
                sdm=_required(sdm, "--sdm"), configs=configs, spec_path=spec_path, smoke=smoke, seed=seed,
            ),
            how=ChallengeHow(out=_required(out, "--out"), device=device, quiet=quiet, report_to=tuple(report_to)),
        ),
    )  # fmt: skip
    from mamba_sdm.jobs.challenge import run_challenge

    what = inputs.what
    options = inputs.job_options()
    with _tracking(inputs.how.report_to, f"challenge {what.variant}", options, [], dense=what.dense, sdm=what.sdm):
        record = run_challenge(options, dense=what.dense, sdm=what.sdm)
    _summary(record, f"iso-sparsity {record['verdict']}")


@job_app.command("finetune")
def finetune(
    ctx: typer.Context,
    variant: str | None = _VARIANT,
    task: str | None = typer.Option(
        None, "--task", help="A GLUE task from the spec: sst2, mnli, qnli or mrpc. Required unless --config."
    ),
    checkpoint: Path | None = typer.Option(
        None, "--checkpoint", help="A pretrain or challenge job's output folder. Required unless --config."
    ),
    out: Path | None = _OUT,
    configs: Path = _CONFIGS,
    spec_path: Path | None = _SPEC,
    smoke: bool = _SMOKE,
    data_dir: Path | None = _DATA_DIR,
    tokenizer: Path | None = _TOKENIZER,
    seed: int = _SEED,
    device: str = _DEVICE,
    precision: str | None = _PRECISION,
    bf16: bool = _BF16,
    scan: str = _SCAN,
    activation_checkpointing: str = _ACTIVATION_CKPT,
    max_steps: int | None = _MAX_STEPS,
    log_every: int | None = _LOG_EVERY,
    checkpoint_every: int | None = _CKPT_EVERY,
    quiet: bool = _QUIET,
    report_to: list[str] = _REPORT_TO,
    config: Path | None = _CONFIG,
) -> None:
    """Phase B: fine-tune on one GLUE task with the checkpoint's masks fixed; early stopping on val accuracy."""
    inputs = _inputs(
        ctx, config, FinetuneInputs,
        lambda: FinetuneInputs(
            what=FinetuneWhat(
                variant=_required(variant, "--variant"), task=_required(task, "--task"),
                checkpoint=_required(checkpoint, "--checkpoint"), configs=configs, spec_path=spec_path,
                smoke=smoke, data_dir=data_dir, tokenizer=tokenizer, seed=seed,
                precision=_precision(precision, bf16), max_steps=max_steps,
            ),
            how=TrainingHow(
                out=_required(out, "--out"), device=device, quiet=quiet, report_to=tuple(report_to), scan=scan,
                activation_checkpointing=activation_checkpointing, log_every=log_every,
                checkpoint_every=checkpoint_every,
            ),
        ),
    )  # fmt: skip
    from mamba_sdm.jobs.finetune import run_finetune

    what = inputs.what
    options = inputs.job_options()
    name = f"finetune {what.variant} {what.task}"
    with _tracking(inputs.how.report_to, name, options, finetune_settings(what.task), task=what.task):
        record = run_finetune(options, task=what.task, checkpoint=what.checkpoint, progress=_progress(inputs.how.quiet))
    best = record["metrics"]
    _summary(record, ", ".join(f"{k} {v:.4f}" for k, v in best.items() if isinstance(v, float) and k.startswith("val")))


Inputs = TypeVar("Inputs", bound=JobInputs)


def _inputs(ctx: typer.Context, config: Path | None, model: type[Inputs], from_flags: Callable[[], Inputs]) -> Inputs:
    """The job's inputs: read from ``--config`` (then no other option may be given: the file holds every input, and
    a flag beside it would make the command line and the file disagree about what ran), else built from the flags.
    Either way one model, validated alike; a problem is one line (exit 2)."""
    if config is None:
        try:
            return from_flags()
        except ValidationError as err:  # typer checks each flag; this catches what only the model knows
            raise SdmspecError(f"bad options: {first_problem(err)}") from None
    given = [
        "/".join(param.opts)
        for param in ctx.command.params
        if param.name not in (None, "config") and _given(ctx, param.name)
    ]
    if given:
        raise SdmspecError(f"--config {config} holds every input of the job; drop {', '.join(given)}")
    return read_inputs(config, model)


def _given(ctx: typer.Context, name: str) -> bool:
    """Whether the option was given (on the command line or through an environment variable), not defaulted.
    By the source's name: typer's own click and a separately installed one have distinct ParameterSource enums."""
    source = ctx.get_parameter_source(name)
    return source is not None and source.name not in ("DEFAULT", "DEFAULT_MAP")


def _required(value: Required | None, option: str) -> Required:
    """An option the job needs when there is no ``--config`` (typer cannot require it only then)."""
    if value is None:
        raise SdmspecError(f"missing option {option} (or give --config stage.json)")
    return value


def _tracking(
    report_to: Sequence[str], run_name: str, options: JobOptions, settings: list[str], **extra: Any
) -> AbstractContextManager[Any]:
    """Report the job's metrics to the chosen trackers (rank 0 only: the others log nothing)."""
    from mamba_sdm.jobs.tracker_params import job_params
    from sdmspec.tracking import parse_report_to, reporting

    chosen = parse_report_to(list(report_to))
    if not chosen or int(os.environ.get("RANK", "0")) != 0:
        return nullcontext()
    return reporting(chosen, run_name=run_name, params=job_params(options, settings, **extra))


def _precision(precision: str | None, bf16: bool) -> str | None:
    """``--precision``, or bf16 for the deprecated ``--bf16``; both at once must agree."""
    if bf16 and precision not in (None, "bf16"):
        raise SdmspecError(f"--bf16 (deprecated: --precision bf16) contradicts --precision {precision}")
    return "bf16" if bf16 else precision


def _summary(record: dict[str, Any], detail: str) -> None:
    if int(os.environ.get("RANK", "0")) == 0:
        smoke = " (smoke)" if record.get("smoke") else ""
        typer.echo(f"{record['job']} {record['variant']}{smoke}: {detail}; steps {record.get('steps', 0)}")


def _progress(quiet: bool) -> Progress:
    """A rich bar on a terminal, plain periodic lines in a log (a SLURM job's, a stage's under `sdmspec run`)."""
    if quiet or int(os.environ.get("RANK", "0")) != 0:
        return NoProgress()
    if not sys.stderr.isatty():
        from mamba_sdm.jobs.progress import PlainProgress

        return PlainProgress()
    return _RichProgress()


class _RichProgress:
    """A rich progress bar on stderr (rank 0, interactive terminals only)."""

    def __init__(self) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeRemainingColumn
        from rich.progress import Progress as RichProgress

        self._bar = RichProgress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[status]}"),
            TimeRemainingColumn(),
            transient=True,
        )
        self._task: Any = None

    def start(self, total: int, done: int, description: str) -> None:
        self._task = self._bar.add_task(description, total=total, completed=done, status="")
        self._bar.start()

    def advance(self, done: int, fields: dict[str, Any]) -> None:
        shown = {k: v for k, v in fields.items() if k != "eta_s"}  # the bar has its own time-remaining column
        status = " ".join(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}" for k, v in shown.items())
        self._bar.update(self._task, completed=done, status=status)

    def stop(self) -> None:
        self._bar.stop()


@job_app.command("report")
def report(
    out: Path = typer.Option(
        ..., "--out", help="The run's output folder (`sdmspec run --out`).", callback=folder_option("--out")
    ),
) -> None:
    """The run's results on one page, OUT/report.md, from what its stages wrote (the pipeline's last stage)."""
    from mamba_sdm.run_report import write_report

    typer.echo(f"wrote {write_report(out.resolve())}")


def register(app: typer.Typer) -> None:
    app.add_typer(job_app, name="job")
