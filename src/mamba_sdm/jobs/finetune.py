"""Phase B: fine-tune one variant on one GLUE task, the checkpoint's masks fixed so its sparsity cannot change.

The spec's learning rate, batch size (micro-batches x accumulation x processes), per-task epochs (``epochs.<task>``)
and warmup; early stopping on validation accuracy with the spec's patience; accuracy on every validation split
(MNLI: ``val_accuracy`` is matched, ``val_accuracy_mismatched`` the other), F1 where the task lists it (MRPC). The
checkpoint's keep-masks (``masks.safetensors``, or its zeros when it has no mask file) are fixed with
``apply_fixed_masks``; sparsity is counted before and after and must not change.

Outputs in ``--out``: ``model/`` (the best epoch's classifier, zeros baked: a transformers folder that
``mamba_sdm.models.load_model`` or ``MambaForSequenceClassification.from_pretrained`` loads), ``masks.safetensors``
(when masked), ``metrics.jsonl``, ``checkpoints/`` and, last, ``result.json`` with the best epoch's metrics.
"""

from __future__ import annotations

import time
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mamba_sdm.jobs.acceleration import accelerate, choose_scan
from mamba_sdm.jobs.common import (
    MASKS_FILE,
    JobOptions,
    atomic_folder,
    check_origin,
    find_variant,
    load_checked_settings,
    model_folder,
    requested_precision,
    settings_record,
    sparsity_record,
    start_output,
    write_result,
)
from mamba_sdm.jobs.data import GLUE_FOLDER, load_split, load_tokenizer, resolve_source
from mamba_sdm.jobs.inputs import finetune_settings
from mamba_sdm.jobs.loop import Hooks, LoopOptions, build_optimizer, make_batching, plan_schedule, train
from mamba_sdm.jobs.metrics import MetricsLog, Progress
from mamba_sdm.jobs.runtime import Runtime, check_device_options, start_runtime
from mamba_sdm.jobs.text import classification_examples, collate_classification
from mamba_sdm.spec import FinetuneTask
from sdmspec.checkpoint.sparsity import SparsityCount, model_sparsity
from sdmspec.errors import JobError, SdmspecError
from sdmspec.io import atomic_save

if TYPE_CHECKING:
    import torch
    from datasets import Dataset

# The setting keys recorded in result.json besides epochs.<task> (finetune_settings(task) adds it); declared with the
# stage's fingerprint prefixes in mamba_sdm.jobs.inputs.
SETTINGS = finetune_settings()
BEST_FILE = "best.safetensors"


def run_finetune(
    options: JobOptions, *, task: str, checkpoint: Path, progress: Progress | None = None
) -> dict[str, Any]:
    """Fine-tune ``options.variant`` from ``checkpoint`` on ``task``; returns the result record (also written)."""
    started = time.monotonic()
    spec, settings = load_checked_settings(options)
    variant = find_variant(spec, options.variant, tuple(v.method for v in spec.variants), "finetune")
    if task not in spec.data.finetune:
        raise SdmspecError(f"unknown task {task!r}; the spec's tasks: {', '.join(spec.data.finetune)}")
    task_spec = spec.data.finetune[task]
    check_origin(checkpoint, variant.name, "checkpoint")
    model_dir = model_folder(checkpoint, "checkpoint")
    precision = requested_precision(options, settings)
    check_device_options(options.device, precision)
    own_tokenizer = model_dir if (model_dir / "tokenizer.json").is_file() else None
    source = resolve_source(
        spec, smoke=options.smoke, data_dir=options.data_dir, tokenizer=options.tokenizer or own_tokenizer
    )
    runtime = start_runtime(options.device, precision=precision, small=options.smoke)
    try:
        import torch

        scan = choose_scan(options.scan, runtime)

        from mamba_sdm.jobs.training_classifier import MambaClassifier
        from mamba_sdm.models.masking import apply_fixed_masks
        from mamba_sdm.models.names import load_into
        from mamba_sdm.models.variants import build_variant
        from sdmspec.checkpoint.load import load_state_dict

        out = options.out
        if runtime.is_main:
            start_output(out)
        tokenizer = load_tokenizer(source)
        max_len = settings.get_int("training.finetune.max_seq_len")
        folder = f"{GLUE_FOLDER}/{task}"
        hub = (task_spec.path, task_spec.name)

        def examples(split: str) -> Dataset:
            raw = load_split(source, folder, hub, split, f"GLUE {task}")
            return classification_examples(raw, tokenizer, task_spec.text_fields, task_spec.label_field, max_len)

        with runtime.main_first():
            train_data = examples(task_spec.train_split)
            validation = {split: examples(split) for split in task_spec.validation_splits}
        state = load_state_dict(model_dir)
        embeddings = state.get("backbone.embeddings.weight")
        vocab = int(embeddings.shape[0]) if embeddings is not None else None
        language_model = build_variant(spec, variant.name, smoke=options.smoke, vocab_size=vocab, seed=options.seed)
        load_into(language_model, state)
        masks = _checkpoint_masks(checkpoint, state, spec.sparsity)
        torch.manual_seed(options.seed)
        model = MambaClassifier(language_model.backbone, language_model.config.hidden_size, task_spec.num_labels)
        model.to(runtime.device)
        del language_model, state  # the LM head is not part of the classifier
        if masks:
            apply_fixed_masks(model, masks)
        before = model_sparsity(model, spec.sparsity)
        batching = make_batching(
            settings.get_int("training.finetune.batch_size"),
            settings.get_int("training.finetune.micro_batch_size"),
            runtime.world_size,
            "finetune",
        )
        schedule = plan_schedule(
            len(train_data),
            batching,
            settings.get_int(f"epochs.{task}"),
            settings.get_float("training.finetune.warmup_steps_ratio"),
            options.max_steps,
        )
        acceleration = accelerate(
            model, scan, options.activation_checkpointing, runtime,
            micro_batch=batching.micro_batch_size, seq_len=max_len,
        )  # fmt: skip
        optimizer = build_optimizer(
            model,
            settings.get_str("training.finetune.optimizer"),
            settings.get_float("training.finetune.learning_rate"),
            settings.get_float("training.finetune.weight_decay"),
        )
        best_file = out / "checkpoints" / BEST_FILE

        def save_best() -> None:
            if runtime.is_main:
                from safetensors.torch import save_model

                atomic_save(best_file, lambda tmp: save_model(model, str(tmp)))

        hooks = Hooks(
            loss=lambda m, batch: torch.nn.functional.cross_entropy(
                m(batch["input_ids"], batch["attention_mask"]), batch["labels"]
            ),
            collate=partial(collate_classification, pad_id=int(tokenizer.pad_token_id)),
            evaluate=lambda: _evaluate(model, validation, task_spec, batching.micro_batch_size, tokenizer, runtime),
            log_fields=lambda: {"sparsity": model_sparsity(model, spec.sparsity).sparsity},
            on_best=save_best,
        )
        metric = settings.get_str("training.finetune.early_stopping.metric")
        loop_options = LoopOptions(
            label=f"finetune {variant.name} {task}",
            setup=acceleration.record(),
            seed=options.seed,
            max_grad_norm=settings.get_float("training.finetune.max_grad_norm"),
            log_every=options.every_log,
            checkpoint_every=options.every_checkpoint,
            early_stopping_metric=metric,
            patience=settings.get_int("training.finetune.early_stopping.patience"),
        )
        log = MetricsLog(out / "metrics.jsonl", enabled=runtime.is_main)
        outcome = train(
            runtime, model, train_data, batching, schedule, hooks, loop_options,
            out=out, log=log, progress=progress, optimizer=optimizer,
        )  # fmt: skip
        after = model_sparsity(model, spec.sparsity)
        _check_unchanged(before, after)
        log.log("sparsity", step=outcome.steps, before=before.sparsity, after=after.sparsity, zeros=after.zeros)
        record: dict[str, Any] = {
            "job": "finetune",
            "variant": variant.name,
            "method": variant.method.value,
            "task": task,
            "smoke": options.smoke,
            "spec_digest": spec.digest,
            "settings": settings_record(settings, finetune_settings(task)),
            "data": source.describe(),
            "checkpoint": str(model_dir),
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
            "best_epoch": outcome.best_epoch,
            "stopped_early": outcome.stopped_early,
            "metrics": {
                **outcome.best,
                "train_loss_first": outcome.first_loss,
                "train_loss_last": outcome.last_loss,
                "epochs": outcome.epochs_done,
            },
            "sparsity": sparsity_record(after, variant.target_sparsity) | {"unchanged": True},
            "resumed_from_step": outcome.resumed_from,
            "max_grad_norm": loop_options.max_grad_norm,
            "skipped_steps": outcome.skipped_steps,
            "outputs": {"model": "model", "metrics": "metrics.jsonl", "checkpoints": "checkpoints"}
            | ({"masks": MASKS_FILE} if masks else {}),
        }
        if runtime.is_main:
            _save_best_model(model, best_file, out, tokenizer, task, task_spec, spec.sparsity, before)
            record["wall_s"] = round(time.monotonic() - started, 3)
            write_result(out, record)
        runtime.barrier()
        return record
    finally:
        runtime.close()


def _checkpoint_masks(checkpoint: Path, state: dict[str, torch.Tensor], sparsity: Any) -> dict[str, torch.Tensor]:
    """The keep-masks to fix: the job's masks.safetensors, else the checkpoint's zeros (a pruned model saved without
    masks), else none (a dense model)."""
    import torch
    from safetensors.torch import load_file

    for candidate in (checkpoint / MASKS_FILE, checkpoint.parent / MASKS_FILE):
        if candidate.is_file():
            return {name: mask.to(torch.bool) for name, mask in load_file(str(candidate)).items()}
    zeros = {name: tensor != 0 for name, tensor in state.items() if sparsity.is_prunable(name)}
    return {name: keep for name, keep in zeros.items() if not bool(keep.all())}


def _evaluate(
    model: torch.nn.Module,
    splits: dict[str, Dataset],
    task: FinetuneTask,
    micro: int,
    tokenizer: Any,
    runtime: Runtime,
) -> dict[str, float]:
    """Accuracy (and F1 of class 1 where the task lists f1) on every validation split, reduced over ranks."""
    import torch

    metrics: dict[str, float] = {}
    for position, (split, data) in enumerate(splits.items()):
        counts = torch.zeros(4, dtype=torch.float64, device=runtime.device)  # correct, total, tp, fp+fn
        indices = list(range(runtime.rank, len(data), runtime.world_size))
        for first in range(0, len(indices), micro):
            batch = collate_classification(data[indices[first : first + micro]], int(tokenizer.pad_token_id))
            batch = {key: value.to(runtime.device) for key, value in batch.items()}
            with torch.autocast(runtime.device.type, dtype=torch.bfloat16, enabled=runtime.bf16):
                predicted = model(batch["input_ids"], batch["attention_mask"]).argmax(dim=-1)
            labels = batch["labels"]
            tp = ((predicted == 1) & (labels == 1)).sum()
            wrong = (predicted != labels).sum()
            total = torch.full((), labels.numel(), device=labels.device)  # on the batch's device: stack refuses a mix
            counts += torch.stack([(predicted == labels).sum(), total, tp, wrong]).to(counts)
        runtime.all_reduce_sum(counts)
        suffix = "" if position == 0 else "_" + split.removeprefix("validation").strip("_")
        if position == 0 and len(splits) > 1:
            metrics["val_accuracy_" + split.removeprefix("validation").strip("_")] = _ratio(counts[0], counts[1])
        metrics[f"val_accuracy{suffix}"] = _ratio(counts[0], counts[1])
        if "f1" in task.metrics:
            # F1 = 2TP / (2TP + FP + FN); for two classes FP + FN is every wrong prediction.
            metrics[f"val_f1{suffix}"] = _ratio(2 * counts[2], 2 * counts[2] + counts[3])
    return metrics


def _ratio(numerator: torch.Tensor, denominator: torch.Tensor) -> float:
    return float(numerator / denominator) if float(denominator) > 0 else 0.0


def _check_unchanged(before: SparsityCount, after: SparsityCount) -> None:
    changed = [
        f"{a.name} ({a.zeros} -> {b.zeros} zeros)"
        for a, b in zip(before.layers, after.layers, strict=True)
        if a.zeros != b.zeros
    ]
    if changed or len(before.layers) != len(after.layers):
        raise JobError(f"fine-tuning changed the sparsity of {len(changed)} layer(s): {', '.join(changed[:3])}")


def _save_best_model(
    model: torch.nn.Module,
    best_file: Path,
    out: Path,
    tokenizer: Any,
    task: str,
    task_spec: FinetuneTask,
    sparsity: Any,
    before: SparsityCount,
) -> None:
    """Write the best epoch's classifier with its zeros baked in (and the masks beside it); its sparsity must still
    be the checkpoint's."""
    from safetensors.torch import load_model, save_file

    from mamba_sdm.jobs.training_classifier import save_classifier
    from mamba_sdm.models.masking import export_masks

    if best_file.is_file():
        load_model(model, str(best_file))
    masks = export_masks(model)
    _check_unchanged(before, model_sparsity(model, sparsity))
    # A transformers model folder (config.json with the head's fields): mamba_sdm.models.load_model loads it back.
    with atomic_folder(out / "model") as folder:
        save_classifier(model, folder, task=task)
        tokenizer.save_pretrained(str(folder))
    if masks:
        cpu = {name: mask.to("cpu").contiguous() for name, mask in masks.items()}
        atomic_save(out / MASKS_FILE, lambda tmp: save_file(cpu, str(tmp), metadata={"format": "pt"}))
