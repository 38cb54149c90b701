"""Phase A: causal language modelling on WikiText-103 for the dense and SDM variants.

AdamW, linear warmup over ``warmup_steps_ratio`` of all optimizer steps then linear decay, the spec's batch size
through micro-batches x accumulation x processes, validation perplexity every epoch. An SDM variant gets the
registered "sdm" masking strategy, its sparsity ramped by the cubic schedule over all of Phase A's steps so the last
step trains at the target, and is exported at the end: zeros baked into the weights, keep-masks saved beside them.

Outputs in ``--out``: ``model/`` (Hugging Face folder, safetensors, with the tokenizer), ``masks.safetensors``
(SDM), ``metrics.jsonl``, ``checkpoints/`` and, last, ``result.json``.
"""

from __future__ import annotations

import math
import time
from typing import TYPE_CHECKING, Any

from mamba_sdm.jobs.acceleration import accelerate, choose_scan
from mamba_sdm.jobs.common import (
    MASKS_FILE,
    JobOptions,
    atomic_folder,
    find_variant,
    load_checked_settings,
    requested_precision,
    settings_record,
    sparsity_record,
    start_output,
)
from mamba_sdm.jobs.common import write_result as write_result_file
from mamba_sdm.jobs.data import PRETRAIN_FOLDER, load_split, load_tokenizer, resolve_source
from mamba_sdm.jobs.inputs import pretrain_settings
from mamba_sdm.jobs.loop import Hooks, LoopOptions, build_optimizer, make_batching, plan_schedule, train
from mamba_sdm.jobs.metrics import MetricsLog, Progress
from mamba_sdm.jobs.runtime import Runtime, check_device_options, start_runtime
from mamba_sdm.jobs.text import collate_lm, lm_blocks
from mamba_sdm.models.pretrained import init_choice, load_initial_weights, resolve_initial_weights
from mamba_sdm.spec import Method
from sdmspec.checkpoint.sparsity import SparsityCount, model_sparsity
from sdmspec.errors import JobError

if TYPE_CHECKING:
    import torch
    from datasets import Dataset

# The setting keys recorded in result.json; declared with the stage's fingerprint prefixes in mamba_sdm.jobs.inputs.
SETTINGS = pretrain_settings()


def run_pretrain(options: JobOptions, progress: Progress | None = None) -> dict[str, Any]:
    """Run Phase A for ``options.variant``; returns the result record (also written to ``out/result.json``)."""
    started = time.monotonic()
    spec, settings = load_checked_settings(options)
    variant = find_variant(spec, options.variant, (Method.DENSE, Method.SDM), "pretrain")
    precision = requested_precision(options, settings)
    check_device_options(options.device, precision)
    source = resolve_source(spec, smoke=options.smoke, data_dir=options.data_dir, tokenizer=options.tokenizer)
    # Where Phase A starts, found and checked before any data is read: a missing or mismatched checkpoint fails fast.
    initial = resolve_initial_weights(
        spec, variant.size, init_choice(settings.values), smoke=options.smoke, init_from=options.init_from
    )
    runtime = start_runtime(options.device, precision=precision, small=options.smoke)
    try:
        scan = choose_scan(options.scan, runtime)
        from mamba_sdm.models.masking import cubic_sparsity, get_strategy
        from mamba_sdm.models.variants import build_variant

        out = options.out
        if runtime.is_main:
            start_output(out)
        tokenizer = load_tokenizer(source)
        seq_len = settings.get_int("training.pretrain.seq_len")
        pretrain = spec.data.pretrain
        with runtime.main_first():
            splits = [
                lm_blocks(
                    load_split(source, PRETRAIN_FOLDER, (pretrain.path, pretrain.name), split, "WikiText-103"),
                    tokenizer,
                    pretrain.text_field,
                    seq_len,
                    split,
                )
                for split in (pretrain.train_split, pretrain.validation_split)
            ]
        train_data, validation = splits
        model = build_variant(spec, variant.name, smoke=options.smoke, device=str(runtime.device), seed=options.seed)
        load_initial_weights(model, initial)  # before masks attach: SDM's scores start at |w| of these weights
        if len(tokenizer) > model.config.vocab_size:
            raise JobError(
                f"the tokenizer has {len(tokenizer)} tokens, the model's vocabulary {model.config.vocab_size}"
            )
        batching = make_batching(
            settings.get_int("training.pretrain.batch_size"),
            settings.get_int("training.pretrain.micro_batch_size"),
            runtime.world_size,
            "pretrain",
        )
        schedule = plan_schedule(
            len(train_data),
            batching,
            settings.get_int("training.pretrain.max_epochs"),
            settings.get_float("training.pretrain.warmup_steps_ratio"),
            options.max_steps,
        )
        sdm = get_strategy("sdm") if variant.method is Method.SDM else None
        target = variant.target_sparsity
        if sdm is not None:
            sdm.attach(model, spec.sparsity)
        acceleration = accelerate(
            model, scan, options.activation_checkpointing, runtime,
            micro_batch=batching.micro_batch_size, seq_len=seq_len,
        )  # fmt: skip
        optimizer = build_optimizer(
            model,
            settings.get_str("training.pretrain.optimizer"),
            settings.get_float("training.pretrain.learning_rate"),
            settings.get_float("training.pretrain.weight_decay"),
        )

        def before_step(step: int) -> None:
            # The sparsity of the step being taken, so the last step trains at exactly the target.
            if sdm is not None:
                sdm.set_sparsity(model, cubic_sparsity(step + 1, schedule.total_steps, target))

        hooks = Hooks(
            loss=lambda m, batch: m(input_ids=batch["input_ids"], labels=batch["input_ids"]).loss,
            collate=collate_lm,
            evaluate=lambda: _validation_perplexity(model, validation, batching.micro_batch_size, runtime),
            before_step=before_step,
            log_fields=lambda: {"sparsity": model_sparsity(model, spec.sparsity).sparsity},
        )
        log = MetricsLog(out / "metrics.jsonl", enabled=runtime.is_main)
        loop_options = LoopOptions(
            label=f"pretrain {variant.name}",
            setup=acceleration.record(),
            seed=options.seed,
            max_grad_norm=settings.get_float("training.pretrain.max_grad_norm"),
            log_every=options.every_log,
            checkpoint_every=options.every_checkpoint,
        )
        outcome = train(
            runtime, model, train_data, batching, schedule, hooks, loop_options,
            out=out, log=log, progress=progress, optimizer=optimizer,
        )  # fmt: skip
        masks: dict[str, torch.Tensor] = {}
        if sdm is not None:
            sdm.set_sparsity(model, target)
            masks = sdm.export(model)
        count = model_sparsity(model, spec.sparsity)
        if sdm is not None:
            _check_target(count, target)
        log.log("sparsity", step=outcome.steps, sparsity=count.sparsity, zeros=count.zeros, numel=count.numel)
        record: dict[str, Any] = {
            "job": "pretrain",
            "variant": variant.name,
            "method": variant.method.value,
            "smoke": options.smoke,
            "spec_digest": spec.digest,
            "settings": settings_record(settings, SETTINGS),
            "data": source.describe(),
            "init": initial.record(),
            "world_size": runtime.world_size,
            "device": str(runtime.device),
            **acceleration.record(),
            "throughput": {
                "tokens_per_s": outcome.tokens_per_s,
                "step_s": outcome.step_s,
                "data_wait_share": outcome.data_wait_share,
            },
            "seed": options.seed,
            "steps": outcome.steps,
            "schedule": schedule.__dict__ | {"accumulation": batching.accumulation, "max_steps": options.max_steps},
            "sparsity": sparsity_record(count, target),
            "metrics": {
                **outcome.best,
                "train_loss_first": outcome.first_loss,
                "train_loss_last": outcome.last_loss,
                "epochs": outcome.epochs_done,
            },
            "resumed_from_step": outcome.resumed_from,
            "max_grad_norm": loop_options.max_grad_norm,
            "skipped_steps": outcome.skipped_steps,
            "outputs": {"model": "model", "metrics": "metrics.jsonl", "checkpoints": "checkpoints"}
            | ({"masks": MASKS_FILE} if sdm is not None else {}),
        }
        if runtime.is_main:
            _save_outputs(out, model, tokenizer, masks)
            record["wall_s"] = round(time.monotonic() - started, 3)
            write_result_file(out, record)
        runtime.barrier()
        return record
    finally:
        runtime.close()


def _validation_perplexity(model: torch.nn.Module, data: Dataset, micro: int, runtime: Runtime) -> dict[str, float]:
    """exp(mean token NLL) over the whole validation split: each rank takes every W-th block, sums are reduced."""
    import torch

    totals = torch.zeros(2, dtype=torch.float64, device=runtime.device)
    indices = list(range(runtime.rank, len(data), runtime.world_size))
    for first in range(0, len(indices), micro):
        ids = collate_lm(data[indices[first : first + micro]])["input_ids"].to(runtime.device)
        with torch.autocast(runtime.device.type, dtype=torch.bfloat16, enabled=runtime.bf16):
            loss = model(input_ids=ids, labels=ids).loss
        tokens = ids.shape[0] * (ids.shape[1] - 1)  # labels are shifted by one inside the model
        totals += torch.tensor([float(loss) * tokens, tokens], dtype=torch.float64, device=runtime.device)
    runtime.all_reduce_sum(totals)
    mean = float(totals[0] / totals[1]) if totals[1] > 0 else float("nan")
    return {"val_loss": mean, "val_ppl": math.exp(mean) if mean < 700 else float("inf")}


def _check_target(count: SparsityCount, target: float) -> None:
    """Every masked layer holds exactly floor(target x numel) zeros (the project's rounding rule)."""
    from mamba_sdm.models.masking import zeros_for

    off = [layer.name for layer in count.layers if layer.zeros != zeros_for(layer.numel, target)]
    if off:
        raise JobError(f"SDM export missed the target sparsity {target} in {len(off)} layer(s): {', '.join(off[:3])}")


def _save_outputs(out: Any, model: Any, tokenizer: Any, masks: dict[str, Any]) -> None:
    from safetensors.torch import save_file

    from sdmspec.io import atomic_save

    with atomic_folder(out / "model") as folder:
        model.save_pretrained(str(folder))
        tokenizer.save_pretrained(str(folder))
    if masks:
        cpu = {name: mask.detach().to("cpu").contiguous() for name, mask in masks.items()}
        atomic_save(out / MASKS_FILE, lambda tmp: save_file(cpu, str(tmp), metadata={"format": "pt"}))
