"""The training loop both phases share: the spec's batch through micro-batches x accumulation x world size,
AdamW with linear warmup and decay, deterministic seeded data order, checkpoints, resume and early stopping.

Determinism is what makes resume exact: epoch ``e``'s order is ``DistributedSampler(seed, epoch=e)``, optimizer
step ``k`` of the epoch consumes the ``k``-th global batch of it, and a resumed run skips the micro-batches that
finished steps consumed, so it takes the same optimizer steps as an uninterrupted run. The global batch is the same
set of examples whatever the world size (rank ``r`` takes every ``W``-th index), so one process and ``W`` processes
with the same batch size compute the same mean gradient.

The loop is a :class:`Trainer` over components that each own one policy: micro-batches come from a background
feeder (:mod:`mamba_sdm.jobs.feeding`), gradients are clipped and a non-finite step is skipped (the step guard,
:mod:`mamba_sdm.jobs.guard`), checkpoints are saved and resumed by :mod:`mamba_sdm.jobs.checkpoint_manager`, events and
progress lines by :mod:`mamba_sdm.jobs.step_logger`, and a stop signal ends the run after the step with a checkpoint
(:mod:`mamba_sdm.jobs.stop`). Faults (a crash, a slow step, a NaN loss) are injected by the tests, which wrap
:meth:`Trainer.run_step` and the phase's loss (``tests/faults``); nothing here reads a test's variable.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mamba_sdm.jobs.checkpoint_manager import CheckpointManager, Position
from mamba_sdm.jobs.feeding import BatchFeeder, tensor_view
from mamba_sdm.jobs.guard import StepGuard, clip_gradients
from mamba_sdm.jobs.leftovers import remove_leftovers
from mamba_sdm.jobs.metrics import MetricsLog, NoProgress, Progress
from mamba_sdm.jobs.outcome import Outcome
from mamba_sdm.jobs.runtime import Runtime
from mamba_sdm.jobs.step_logger import StepLogger, StepRecord
from mamba_sdm.jobs.stop import StopRequest
from sdmspec.errors import Interrupted, JobError

if TYPE_CHECKING:
    import torch
    from datasets import Dataset

__all__ = [
    "Batching", "Hooks", "LoopOptions", "Outcome", "Schedule", "Trainer", "build_optimizer", "build_scheduler",
    "make_batching", "plan_schedule", "train",
]  # fmt: skip


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

    from mamba_sdm.models.masking import score_parameters, weight_parameters

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
    # Rows of the (tensor-formatted) dataset into a micro-batch: see mamba_sdm.jobs.feeding.
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
    # Clip the global gradient norm to this before every optimizer step (0: measure only); see mamba_sdm.jobs.guard.
    max_grad_norm: float = 1.0


@dataclass(frozen=True)
class StepTotals:
    """An optimizer step's figures summed over ranks, from the step's one all-reduce: the ranks' losses, their
    tokens, and how many ranks were asked to stop (so that every rank takes the same decisions after the step)."""

    loss_sum: float
    tokens: int
    stop_requests: float

    # The layout of the reduced tensor that :meth:`Trainer.forward_backward` fills.
    LOSS, TOKENS, STOP = 0, 1, 2

    @classmethod
    def reduce(cls, runtime: Runtime, sums: torch.Tensor, stop_flag: float) -> StepTotals:
        sums[cls.STOP] = stop_flag
        loss, tokens, stops = runtime.all_reduce_sum(sums).tolist()
        return cls(loss, int(tokens), stops)


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
    checkpoint and :class:`~sdmspec.errors.Interrupted` (see :mod:`mamba_sdm.jobs.stop`)."""
    progress = progress or NoProgress()
    with StopRequest(options.label) as stop:
        try:
            trainer = Trainer(
                runtime, model, data, batching, schedule, hooks, options,
                out=out, log=log, progress=progress, optimizer=optimizer, stop=stop,
            )  # fmt: skip
            trainer.setup()
            return trainer.run()
        finally:
            progress.stop()  # also on a stop or a failure: a terminal's bar must not stay drawn


class Trainer:
    """One training run: :meth:`setup` (leftovers, resume, the log rewound), then :meth:`run`, epoch by epoch,
    :meth:`run_step` for each optimizer step and :meth:`end_epoch` after each epoch's evaluation."""

    def __init__(
        self,
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
    ) -> None:
        self.runtime = runtime
        self.model = model
        self.data = data
        self.batching = batching
        self.schedule = schedule
        self.hooks = hooks
        self.options = options
        self.out = out
        self.log = log
        self.progress = progress
        self.optimizer = optimizer
        self.stop = stop
        self.scheduler = build_scheduler(optimizer, schedule)
        self.checkpoints = CheckpointManager(
            out / "checkpoints", runtime, model, optimizer, self.scheduler,
            every=options.checkpoint_every, label=options.label,
        )  # fmt: skip
        self.logger = StepLogger(
            log, progress, every=options.log_every, total_steps=schedule.total_steps, label=options.label,
            is_main=runtime.is_main, extra_fields=hooks.log_fields,
        )  # fmt: skip
        self.outcome = Outcome()
        self.guard = StepGuard(options.label)
        self.epoch = 0
        self.step_in_epoch = 0
        self.wrapped: torch.nn.Module = model

    def warn(self, line: str) -> None:
        if self.runtime.is_main:
            print(f"sdmspec: warning: {self.options.label}: {line}", file=sys.stderr, flush=True)

    def setup(self) -> None:
        """Clear an interrupted run's staging leftovers, resume from the newest readable checkpoint, cut the
        metrics log back to what that checkpoint had seen, and wrap the model for DDP."""
        runtime = self.runtime
        if runtime.is_main:
            removed = remove_leftovers(self.out)
            if removed:
                self.warn(f"removed {len(removed)} staging leftover(s) of an interrupted run ({removed[0].name}, ...)")
        runtime.barrier()
        resumed = self.checkpoints.resume(self.warn)
        if resumed is not None:
            self.epoch, self.step_in_epoch = resumed.position.epoch, resumed.position.step_in_epoch
            self.outcome = resumed.outcome
        events = resumed.position.events if resumed else 0
        bad_lines = self.log.rewind(events, self.outcome.steps if resumed else None)
        if bad_lines:
            self.warn(f"skipped {bad_lines} unreadable line(s) in {self.log.path.name}; the valid events around them "
                      "are kept")  # fmt: skip
        if runtime.is_main and self.options.setup:
            self.log.log("setup", step=self.outcome.steps, **self.options.setup)
        self.guard = StepGuard(
            self.options.label, skipped=self.outcome.skipped_steps, in_a_row=self.outcome.skipped_in_a_row
        )
        self.wrapped = _wrap(self.model, runtime)

    def position(self) -> Position:
        return Position(self.epoch, self.step_in_epoch, len(self.log.events))

    def save(self) -> None:
        self.checkpoints.save(self.position(), self.outcome)

    def stop_here(self) -> Interrupted:
        self.save()
        return Interrupted(
            f"{self.options.label}: stopped by {self.stop.what()} at step {self.outcome.steps}; checkpoint saved; "
            "rerun to resume"
        )

    def run(self) -> Outcome:
        from torch.utils.data import DistributedSampler

        schedule, outcome = self.schedule, self.outcome
        self.progress.start(schedule.total_steps, outcome.steps, self.options.label)
        sampler: DistributedSampler[int] = DistributedSampler(
            self.data, num_replicas=self.runtime.world_size, rank=self.runtime.rank, seed=self.options.seed
        )
        rows = tensor_view(self.data)
        while not self.finished():
            sampler.set_epoch(self.epoch)
            order = list(sampler)[: schedule.steps_per_epoch * self.batching.per_rank]
            self.model.train()
            # The micro-batches this process takes in this epoch: from the resumed step to the epoch's or run's end.
            steps_here = min(schedule.steps_per_epoch - self.step_in_epoch, schedule.total_steps - self.outcome.steps)
            accumulation = self.batching.accumulation
            span = (self.step_in_epoch * accumulation, (self.step_in_epoch + steps_here) * accumulation)
            micro = self.batching.micro_batch_size
            feeder = BatchFeeder(rows, self.hooks.collate, order, micro, span, self.runtime.device)
            with feeder:
                while self.step_in_epoch < schedule.steps_per_epoch and self.outcome.steps < schedule.total_steps:
                    self.run_step(feeder)
            self.end_epoch()
        return self.outcome

    def finished(self) -> bool:
        outcome = self.outcome
        return self.epoch >= self.schedule.epochs or outcome.stopped_early or outcome.steps >= self.schedule.total_steps

    def run_step(self, feeder: BatchFeeder) -> None:
        """One optimizer step: forward and backward over its micro-batches, the guard's verdict, the schedule, the
        log, and a checkpoint when one is due (or the stop, when a rank was asked to)."""
        outcome, logger, guard = self.outcome, self.logger, self.guard
        logger.speed.start_step()
        self.hooks.before_step(outcome.steps)
        waited_before = feeder.waited_s
        sums = self.forward_backward(feeder)
        waited = feeder.waited_s - waited_before
        # Gradients are all-reduced by now (DDP), the loss is after this: every rank takes the same decisions.
        totals = StepTotals.reduce(self.runtime, sums, self.stop.flag)
        mean_loss = totals.loss_sum / self.runtime.world_size
        grad_norm = clip_gradients(self.model, self.options.max_grad_norm)
        step = outcome.steps + 1
        if guard.judge(step, mean_loss, grad_norm, self.checkpoints.latest):
            self.optimizer.step()
        else:
            logger.skipped(guard, step, mean_loss, grad_norm)
        # A skipped step keeps its place in the schedule: the learning rate stays a function of the step.
        self.scheduler.step()
        self.optimizer.zero_grad(set_to_none=True)
        outcome.skipped_steps, outcome.skipped_in_a_row = guard.skipped, guard.in_a_row
        outcome.steps = step
        self.step_in_epoch += 1
        logger.speed.end_step(totals.tokens, waited=waited)
        outcome.tokens_per_s, outcome.step_s = logger.speed.tokens_per_s, logger.speed.step_s
        outcome.data_wait_share = logger.speed.data_wait_share
        logger.timed(step)
        outcome.last_loss = mean_loss
        outcome.first_loss = mean_loss if outcome.first_loss is None else outcome.first_loss
        stopping = bool(totals.stop_requests)
        if logger.due(step, stopping=stopping):
            lr = float(self.scheduler.get_last_lr()[0])
            logger.step(StepRecord(step, self.epoch, mean_loss, lr, grad_norm, waited), guard.skipped)
        if stopping:
            raise self.stop_here()
        if self.checkpoints.due(step, skipping=bool(guard.in_a_row)):
            self.save()

    def forward_backward(self, feeder: BatchFeeder) -> torch.Tensor:
        """Forward and backward over one optimizer step's micro-batches (under DDP gradients are synchronised on
        the last one only); returns the tensor :class:`StepTotals` reduces: [summed loss, tokens, 0]."""
        import torch

        runtime, accumulation = self.runtime, self.batching.accumulation
        sums = torch.zeros(3, device=runtime.device)
        for micro in range(accumulation):
            batch = feeder.next()
            last = micro == accumulation - 1
            sync = nullcontext() if last or not runtime.distributed else self.wrapped.no_sync()  # type: ignore[operator]
            with sync:
                with torch.autocast(runtime.device.type, dtype=torch.bfloat16, enabled=runtime.bf16):
                    loss = self.hooks.loss(self.wrapped, batch) / accumulation
                # Outside autocast: the backward pass runs in the dtypes the forward chose, as PyTorch advises.
                loss.backward()  # type: ignore[no-untyped-call]
            sums[StepTotals.LOSS] += loss.detach().float()
            sums[StepTotals.TOKENS] += batch["input_ids"].numel()
        return sums

    def end_epoch(self) -> None:
        """Evaluate, track the best epoch and early stopping, checkpoint (unless steps are being skipped), and stop
        if a signal arrived during the evaluation (the ranks agree on the flag)."""
        import torch

        self.model.eval()
        with torch.no_grad():
            metrics = self.hooks.evaluate()
        self.logger.evaluated(self.outcome.steps, self.epoch, metrics)
        remaining = self.schedule.epochs - self.epoch - 1
        _early_stopping(self.outcome, metrics, self.epoch, self.options, self.hooks, remaining=remaining)
        self.epoch += 1
        self.step_in_epoch = 0
        self.outcome.epochs_done = self.epoch
        if not self.guard.in_a_row:
            self.save()
        if self.runtime.all_reduce_sum(torch.tensor([self.stop.flag], device=self.runtime.device)).item():
            raise self.stop_here()


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
