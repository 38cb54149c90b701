"""The training loop both phases share: the spec's batch through micro-batches x accumulation x world size,
AdamW with linear warmup and decay, deterministic seeded data order, checkpoints, resume and early stopping.

Determinism is what makes resume exact: epoch ``e``'s order is ``DistributedSampler(seed, epoch=e)``, optimizer
step ``k`` of the epoch consumes the ``k``-th global batch of it, and a resumed run skips the micro-batches that
finished steps consumed, so it takes the same optimizer steps as an uninterrupted run. The global batch is the same
set of examples whatever the world size (rank ``r`` takes every ``W``-th index), so one process and ``W`` processes
with the same batch size compute the same mean gradient.

Around each optimizer step: micro-batches come from a background feeder (:mod:`sdmspec.jobs.feeding`), gradients
are clipped and a non-finite step is skipped (:mod:`sdmspec.jobs.guard`), and a stop signal ends the run after the
step with a checkpoint (:mod:`sdmspec.jobs.stop`).
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sdmspec.errors import Interrupted, JobError
from sdmspec.jobs.checkpoints import latest_name, load_latest, save_checkpoint
from sdmspec.jobs.feeding import BatchFeeder, tensor_view
from sdmspec.jobs.guard import StepGuard, all_finite, clip_gradients, nan_steps_for_test, poisoned
from sdmspec.jobs.leftovers import remove_leftovers
from sdmspec.jobs.metrics import MetricsLog, NoProgress, Progress
from sdmspec.jobs.runtime import Runtime
from sdmspec.jobs.stop import StopRequest
from sdmspec.jobs.throughput import Throughput

if TYPE_CHECKING:
    import torch
    from datasets import Dataset

# Test hook: a process exits abruptly (no checkpoint, no cleanup, like SIGKILL) after this many optimizer steps.
CRASH_AFTER_ENV = "SDMSPEC_TEST_CRASH_AFTER_STEPS"
CRASH_EXIT_CODE = 75
# Test hook: sleep this many seconds in every optimizer step, so a test can signal a smoke job mid-epoch.
STEP_DELAY_ENV = "SDMSPEC_TEST_STEP_DELAY_S"


@dataclass(frozen=True)
class Batching:
    """How a batch of ``batch_size`` examples is reached: micro-batches x accumulation steps x ranks."""

    batch_size: int
    micro_batch_size: int
    world_size: int

    @property
    def accumulation(self) -> int:
        return self.batch_size // (self.micro_batch_size * self.world_size)

    @property
    def per_rank(self) -> int:
        return self.batch_size // self.world_size


def make_batching(batch_size: int, micro_batch_size: int, world_size: int, phase: str) -> Batching:
    """Refuse a batch size the micro-batches and ranks cannot reach exactly."""
    if micro_batch_size <= 0 or batch_size <= 0 or batch_size % (micro_batch_size * world_size):
        raise JobError(
            f"{phase}: batch size {batch_size} is not a multiple of micro-batch {micro_batch_size} x "
            f"{world_size} processes; change training.{phase}.micro_batch_size or the number of processes"
        )
    return Batching(batch_size, micro_batch_size, world_size)


@dataclass(frozen=True)
class Schedule:
    """Optimizer-step counts: per epoch (the incomplete last batch is dropped), in total, and of warmup."""

    steps_per_epoch: int
    epochs: int
    total_steps: int
    warmup_steps: int


def plan_schedule(
    examples: int, batching: Batching, epochs: int, warmup_ratio: float, max_steps: int | None
) -> Schedule:
    steps_per_epoch = examples // batching.batch_size
    if steps_per_epoch == 0:
        raise JobError(f"{examples} training examples do not fill one batch of {batching.batch_size}")
    total = steps_per_epoch * epochs
    if max_steps is not None:
        total = min(total, max_steps)
    return Schedule(steps_per_epoch, epochs, total, int(warmup_ratio * total))


def build_optimizer(model: torch.nn.Module, name: str, lr: float, weight_decay: float) -> torch.optim.Optimizer:
    """AdamW; weight decay on matrices only (not on norms, biases, A_log, D, nor on mask scores, which rank weights
    rather than being weights)."""
    import torch

    from sdmspec.models.masking import score_parameters, weight_parameters

    if name.lower() != "adamw":
        raise JobError(f"optimizer {name!r} is not supported; the paper uses AdamW")
    no_decay_names = {id(p) for n, p in model.named_parameters() if n.endswith(("A_log", ".D"))}
    weights = weight_parameters(model)
    decay = [p for p in weights if p.ndim >= 2 and id(p) not in no_decay_names]
    chosen = {id(p) for p in decay}
    rest = [p for p in weights if id(p) not in chosen] + score_parameters(model)
    groups = [{"params": decay, "weight_decay": weight_decay}, {"params": rest, "weight_decay": 0.0}]
    return torch.optim.AdamW(groups, lr=lr)


def build_scheduler(optimizer: torch.optim.Optimizer, schedule: Schedule) -> torch.optim.lr_scheduler.LambdaLR:
    from transformers import get_linear_schedule_with_warmup

    scheduler: torch.optim.lr_scheduler.LambdaLR = get_linear_schedule_with_warmup(  # type: ignore[no-untyped-call]
        optimizer, schedule.warmup_steps, schedule.total_steps
    )
    return scheduler


@dataclass
class Hooks:
    """What differs between phases: the loss of a micro-batch, per-step work, evaluation and extra log fields."""

    loss: Callable[[torch.nn.Module, dict[str, torch.Tensor]], torch.Tensor]
    # Rows of the (tensor-formatted) dataset into a micro-batch: see sdmspec.jobs.feeding.
    collate: Callable[[dict[str, Any]], dict[str, torch.Tensor]]
    evaluate: Callable[[], dict[str, float]]
    before_step: Callable[[int], None] = lambda step: None
    log_fields: Callable[[], dict[str, Any]] = dict
    on_best: Callable[[], None] = lambda: None


@dataclass(frozen=True)
class LoopOptions:
    seed: int
    log_every: int
    checkpoint_every: int
    early_stopping_metric: str | None = None
    patience: int | None = None
    # How the job names itself in the throughput line it prints ("pretrain mamba-130m-sdm").
    label: str = "training"
    # How the model runs (scan, activation checkpointing): the first event of every (re)started process.
    setup: dict[str, Any] = field(default_factory=dict)
    # Clip the global gradient norm to this before every optimizer step (0: measure only); see sdmspec.jobs.guard.
    max_grad_norm: float = 1.0


@dataclass
class Outcome:
    """How training ended: optimizer steps taken, the best epoch's metrics, the last training loss."""

    steps: int = 0
    epochs_done: int = 0
    best: dict[str, float] = field(default_factory=dict)
    best_epoch: int | None = None
    stale_epochs: int = 0
    stopped_early: bool = False
    last_loss: float | None = None
    first_loss: float | None = None
    resumed_from: int | None = None
    # Optimizer steps skipped for a non-finite loss or gradient: in all, and in a row up to the last step.
    skipped_steps: int = 0
    skipped_in_a_row: int = 0
    # Measured in this process (a resumed run measures anew): tokens/s over the timed steps, seconds a step.
    tokens_per_s: float | None = None
    step_s: float | None = None
    # The share of the timed steps' time spent waiting for data (sdmspec.jobs.feeding).
    data_wait_share: float | None = None


def train(
    runtime: Runtime,
    model: torch.nn.Module,
    data: Dataset,
    batching: Batching,
    schedule: Schedule,
    hooks: Hooks,
    options: LoopOptions,
    *,
    out: Path,
    log: MetricsLog,
    progress: Progress | None = None,
    optimizer: torch.optim.Optimizer,
) -> Outcome:
    """Train ``model`` (unwrapped; wrapped in DDP here when distributed) to the end of ``schedule``, resuming from
    ``out/checkpoints`` when a checkpoint is there. A stop signal ends it after the current optimizer step with a
    checkpoint and :class:`~sdmspec.errors.Interrupted` (see :mod:`sdmspec.jobs.stop`)."""
    progress = progress or NoProgress()
    with StopRequest(options.label) as stop:
        try:
            return _train(
                runtime, model, data, batching, schedule, hooks, options,
                out=out, log=log, progress=progress, optimizer=optimizer, stop=stop,
            )  # fmt: skip
        finally:
            progress.stop()  # also on a stop or a failure: a terminal's bar must not stay drawn


def _train(
    runtime: Runtime,
    model: torch.nn.Module,
    data: Dataset,
    batching: Batching,
    schedule: Schedule,
    hooks: Hooks,
    options: LoopOptions,
    *,
    out: Path,
    log: MetricsLog,
    progress: Progress,
    optimizer: torch.optim.Optimizer,
    stop: StopRequest,
) -> Outcome:
    import torch
    from torch.utils.data import DistributedSampler

    def warn(line: str) -> None:
        if runtime.is_main:
            print(f"sdmspec: warning: {options.label}: {line}", file=sys.stderr, flush=True)

    if runtime.is_main:
        removed = remove_leftovers(out)
        if removed:
            warn(f"removed {len(removed)} staging leftover(s) of an interrupted run ({removed[0].name}, ...)")
    runtime.barrier()
    scheduler = build_scheduler(optimizer, schedule)
    state = Outcome()
    epoch, step_in_epoch = 0, 0
    saved = _resume(out / "checkpoints", runtime, model, optimizer, scheduler, warn)
    if saved is not None:
        epoch, step_in_epoch = int(saved["epoch"]), int(saved["step_in_epoch"])
        state = Outcome(**saved["outcome"])
        state.resumed_from = state.steps
    bad_lines = log.rewind(int(saved["events"]) if saved else 0, state.steps if saved else None)
    if bad_lines:
        warn(f"skipped {bad_lines} unreadable line(s) in {log.path.name}; the valid events around them are kept")
    if runtime.is_main and options.setup:
        log.log("setup", step=state.steps, **options.setup)
    wrapped = _wrap(model, runtime)
    crash_after = int(os.environ.get(CRASH_AFTER_ENV, "0") or 0)
    step_delay = float(os.environ.get(STEP_DELAY_ENV, "0") or 0)
    nan_steps = nan_steps_for_test()
    taken_here = 0
    guard = StepGuard(options.label, skipped=state.skipped_steps, in_a_row=state.skipped_in_a_row)

    def checkpoint() -> None:
        # Weights are never updated by a non-finite step, but an overflow inside AdamW could still reach them:
        # a checkpoint must never hold what it cannot resume from (every rank checks, so all raise together).
        if not all_finite(model):
            raise JobError(
                f"{options.label}: the weights are not finite after step {state.steps}; not saving a checkpoint "
                f"over the last good one ({latest_name(out / 'checkpoints') or 'none'})"
            )
        if runtime.is_main:
            snapshot: dict[str, Any] = {"epoch": epoch, "step_in_epoch": step_in_epoch, "events": len(log.events)}
            snapshot["outcome"] = {k: v for k, v in state.__dict__.items() if k != "resumed_from"}
            save_checkpoint(out / "checkpoints", state.steps, model, optimizer, scheduler, snapshot)
        runtime.barrier()

    def stop_here() -> Interrupted:
        checkpoint()
        return Interrupted(
            f"{options.label}: stopped by {stop.what()} at step {state.steps}; checkpoint saved; rerun to resume"
        )

    progress.start(schedule.total_steps, state.steps, options.label)
    speed = Throughput(schedule.total_steps)
    sampler: DistributedSampler[int] = DistributedSampler(
        data, num_replicas=runtime.world_size, rank=runtime.rank, seed=options.seed
    )
    rows = tensor_view(data)
    while epoch < schedule.epochs and not state.stopped_early and state.steps < schedule.total_steps:
        sampler.set_epoch(epoch)
        order = list(sampler)[: schedule.steps_per_epoch * batching.per_rank]
        model.train()
        # The micro-batches this process takes in this epoch: from the resumed step to the epoch's or run's end.
        steps_here = min(schedule.steps_per_epoch - step_in_epoch, schedule.total_steps - state.steps)
        span = (step_in_epoch * batching.accumulation, (step_in_epoch + steps_here) * batching.accumulation)
        feeder = BatchFeeder(rows, hooks.collate, order, batching.micro_batch_size, span, runtime.device)
        with feeder:
            while step_in_epoch < schedule.steps_per_epoch and state.steps < schedule.total_steps:
                speed.start_step()
                hooks.before_step(state.steps)
                waited_before = feeder.waited_s
                poison = bool(nan_steps) and poisoned(state.steps + 1, nan_steps)
                loss_sum = _accumulate(feeder, wrapped, hooks, batching.accumulation, runtime, poison=poison)
                waited = feeder.waited_s - waited_before
                if step_delay:
                    time.sleep(step_delay)
                loss_sum[2] = stop.flag
                # Gradients are all-reduced by now (DDP), the loss is after this: every rank takes the same decisions.
                totals = runtime.all_reduce_sum(loss_sum).tolist()
                mean_loss = totals[0] / runtime.world_size
                grad_norm = clip_gradients(model, options.max_grad_norm)
                if guard.judge(state.steps + 1, mean_loss, grad_norm, lambda: latest_name(out / "checkpoints")):
                    optimizer.step()
                elif runtime.is_main:
                    _report_skip(log, guard, state.steps + 1, mean_loss, grad_norm)
                # A skipped step keeps its place in the schedule: the learning rate stays a function of the step.
                scheduler.step()
                optimizer.zero_grad(set_to_none=True)
                state.skipped_steps, state.skipped_in_a_row = guard.skipped, guard.in_a_row
                state.steps += 1
                step_in_epoch += 1
                taken_here += 1
                speed.end_step(int(totals[1]), waited=waited)
                state.tokens_per_s, state.step_s = speed.tokens_per_s, speed.step_s
                state.data_wait_share = speed.data_wait_share
                if speed.ready_to_project() and runtime.is_main:
                    step_s = round(speed.step_s or 0.0, 6)
                    log.log("throughput", step=state.steps, **speed.fields(state.steps), step_s=step_s)
                    print(f"{options.label}: {speed.summary(state.steps)}", file=sys.stderr, flush=True)
                state.last_loss = mean_loss
                state.first_loss = mean_loss if state.first_loss is None else state.first_loss
                if state.steps % options.log_every == 0 or state.steps == schedule.total_steps or totals[2]:
                    lr = scheduler.get_last_lr()[0]
                    log.log(
                        "train", step=state.steps, total_steps=schedule.total_steps, epoch=epoch, loss=mean_loss, lr=lr,
                        grad_norm=grad_norm, skipped_steps=guard.skipped, data_wait_s=round(waited, 6),
                        **speed.fields(state.steps),
                        **hooks.log_fields(),
                    )  # fmt: skip
                    progress.advance(state.steps, {"loss": mean_loss, "epoch": epoch, **speed.fields(state.steps)})
                if totals[2]:
                    raise stop_here()
                # Not while steps are being skipped: rotation would delete the last checkpoint from before the trouble.
                if options.checkpoint_every and state.steps % options.checkpoint_every == 0 and not guard.in_a_row:
                    checkpoint()
                if crash_after and taken_here >= crash_after:
                    os._exit(CRASH_EXIT_CODE)
        model.eval()
        with torch.no_grad():
            metrics = hooks.evaluate()
        log.log("eval", step=state.steps, epoch=epoch, **metrics, **hooks.log_fields())
        _early_stopping(state, metrics, epoch, options, hooks, remaining=schedule.epochs - epoch - 1)
        epoch += 1
        step_in_epoch = 0
        state.epochs_done = epoch
        if not guard.in_a_row:
            checkpoint()
        # A stop that arrived during the evaluation: the epoch's checkpoint is saved (ranks agree on the flag).
        if runtime.all_reduce_sum(torch.tensor([stop.flag], device=runtime.device)).item():
            raise stop_here()
    return state


def _resume(
    folder: Path,
    runtime: Runtime,
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    scheduler: torch.optim.lr_scheduler.LRScheduler,
    warn: Callable[[str], None],
) -> dict[str, Any] | None:
    """The checkpoint to resume from, loaded on every rank. Rank 0 first: it alone moves an unreadable checkpoint
    aside; the others then load the one it resumed from. After each turn whether it failed is all-reduced, so when
    one rank fails the others stop with it rather than wait for it in a collective it never joins."""

    def first() -> dict[str, Any] | None:
        return load_latest(folder, model, optimizer, scheduler, warn)

    if not runtime.distributed:
        return first()

    def then() -> dict[str, Any] | None:
        return load_latest(folder, model, optimizer, scheduler, warn, repair=False)

    saved = _together(runtime, runtime.is_main, first, f"rank 0 could not resume from {folder}")
    also = _together(runtime, not runtime.is_main, then, f"a rank could not load the checkpoint under {folder}")
    return saved if runtime.is_main else also


def _together(
    runtime: Runtime, mine: bool, load: Callable[[], dict[str, Any] | None], failed: str
) -> dict[str, Any] | None:
    """``load()`` where ``mine``, then every rank learns whether it failed anywhere (one all-reduce)."""
    import torch

    result, failure = None, None
    if mine:
        try:
            result = load()
        except Exception as err:
            failure = err
    flag = runtime.all_reduce_sum(torch.tensor([0.0 if failure is None else 1.0], device=runtime.device))
    if failure is not None:
        raise failure
    if flag.item():
        raise JobError(f"{failed} (its error says why); rank {runtime.rank} stops too")
    return result


def _accumulate(
    feeder: BatchFeeder, wrapped: torch.nn.Module, hooks: Hooks, accumulation: int, runtime: Runtime, *, poison: bool
) -> torch.Tensor:
    """Forward and backward over one optimizer step's micro-batches (under DDP gradients are synchronised on the
    last one only); returns [summed loss, tokens, 0], the step's one all-reduce (the last slot: the stop flag)."""
    import torch

    sums = torch.zeros(3, device=runtime.device)
    for micro in range(accumulation):
        batch = feeder.next()
        last = micro == accumulation - 1
        sync = nullcontext() if last or not runtime.distributed else wrapped.no_sync()  # type: ignore[operator]
        with sync:
            with torch.autocast(runtime.device.type, dtype=torch.bfloat16, enabled=runtime.bf16):
                loss = hooks.loss(wrapped, batch) / accumulation
                if poison:  # the test hook: a NaN loss, hence NaN gradients, as a bad batch would give
                    loss = loss * float("nan")
            # Outside autocast: the backward pass runs in the dtypes the forward chose, as PyTorch advises.
            loss.backward()  # type: ignore[no-untyped-call]
        sums[0] += loss.detach().float()
        sums[1] += batch["input_ids"].numel()
    return sums


def _report_skip(log: MetricsLog, guard: StepGuard, step: int, loss: float, grad_norm: float) -> None:
    log.log("skipped", step=step, loss=loss, grad_norm=grad_norm)
    print(
        f"{guard.label}: step {step} skipped (loss {loss}, grad norm {grad_norm}); {guard.in_a_row} in a row, "
        f"{guard.skipped} in all",
        file=sys.stderr,
        flush=True,
    )


def _early_stopping(
    state: Outcome, metrics: dict[str, float], epoch: int, options: LoopOptions, hooks: Hooks, *, remaining: int
) -> None:
    """Track the best epoch (by the early-stopping metric; without one, the latest epoch) and stop on patience
    (only "early" when epochs remain)."""
    metric = options.early_stopping_metric
    if metric is None:
        state.best, state.best_epoch = dict(metrics), epoch
        hooks.on_best()
        return
    if metric not in metrics:
        raise JobError(f"early stopping metric {metric!r} is not computed (metrics: {', '.join(metrics)})")
    if state.best_epoch is None or metrics[metric] > state.best[metric]:
        state.best, state.best_epoch, state.stale_epochs = dict(metrics), epoch, 0
        hooks.on_best()
        return
    state.stale_epochs += 1
    if options.patience is not None and state.stale_epochs >= options.patience and remaining > 0:
        state.stopped_early = True


def _wrap(model: torch.nn.Module, runtime: Runtime) -> torch.nn.Module:
    if not runtime.distributed:
        return model
    from torch.nn.parallel import DistributedDataParallel

    device_ids = [runtime.device.index] if runtime.device.type == "cuda" else None
    return DistributedDataParallel(model, device_ids=device_ids)
