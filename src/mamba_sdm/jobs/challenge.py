"""The iso-sparsity baselines: M_challenge (magnitude pruning) and the random baseline, built from the dense model
at M_SDM's per-layer zero counts, then verified from the files written.

The reference counts come from the SDM job's saved model through the project's one sparsity count; pruning matches
them layer by layer (:func:`mamba_sdm.models.challenge.prune_to_match`), and the job ends by running verify-sparsity's
check on the two saved models, per layer. A mismatch fails the job (exit 1) and writes no result.json, so the runner
stops everything downstream.

Outputs in ``--out``: ``model/``, ``masks.safetensors``, ``metrics.jsonl``, ``iso_sparsity.json`` and, last,
``result.json``.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mamba_sdm.jobs.common import (
    MASKS_FILE,
    JobOptions,
    atomic_folder,
    check_origin,
    find_variant,
    lint_gate,
    model_folder,
    sparsity_record,
    start_output,
    write_result,
)
from mamba_sdm.jobs.data import configure_offline
from mamba_sdm.jobs.leftovers import remove_leftovers
from mamba_sdm.jobs.metrics import MetricsLog
from mamba_sdm.jobs.result import RESULT_FILE, read_result
from mamba_sdm.jobs.runtime import check_device_options, start_runtime
from mamba_sdm.spec import Method, load_mamba_spec
from sdmspec.errors import JobError

if TYPE_CHECKING:
    import torch

ISO_FILE = "iso_sparsity.json"
_TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json")


def run_challenge(options: JobOptions, *, dense: Path, sdm: Path) -> dict[str, Any]:
    """Build ``options.variant`` (a challenge or random variant) and verify iso-sparsity against the SDM model."""
    started = time.monotonic()
    # The build reads no hyperparameters; configs given are still held to lint.
    spec = load_mamba_spec(options.spec_path)
    if options.configs is not None:
        lint_gate(options.configs, spec)
    variant = find_variant(spec, options.variant, (Method.CHALLENGE, Method.RANDOM), "challenge")
    assert variant.init_from is not None and variant.match_sparsity_of is not None
    check_origin(dense, variant.init_from, "dense")
    check_origin(sdm, variant.match_sparsity_of, "sdm")
    dense_model, sdm_model = model_folder(dense, "dense"), model_folder(sdm, "sdm")
    configure_offline(needs_hub=False)
    check_device_options(options.device)
    runtime = start_runtime(options.device, small=options.smoke)
    try:
        record: dict[str, Any] = {}
        if runtime.is_main:
            record = _build(options, spec, variant, dense_model, sdm_model, runtime.device)
            record["wall_s"] = round(time.monotonic() - started, 3)
            write_result(options.out, record)
        runtime.barrier()
        # The other ranks return what rank 0 wrote (its JSON form: a non-finite number is null there).
        return record or read_result(options.out / RESULT_FILE).to_json()
    finally:
        runtime.close()


def _build(
    options: JobOptions, spec: Any, variant: Any, dense_model: Path, sdm_model: Path, device: torch.device
) -> dict[str, Any]:
    from safetensors.torch import save_file

    from mamba_sdm.models.challenge import METHOD_OF_VARIANT, prune_to_match
    from mamba_sdm.models.names import load_into
    from mamba_sdm.models.variants import build_variant
    from sdmspec.checkpoint.load import checkpoint_sparsity, load_state_dict
    from sdmspec.checkpoint.sparsity import model_sparsity
    from sdmspec.checkpoint.verify import verify_iso_sparsity
    from sdmspec.io import atomic_save, atomic_write_json

    out = options.out
    start_output(out)
    remove_leftovers(out)  # of a killed earlier build: its .model.* staging folder
    log = MetricsLog(out / "metrics.jsonl", enabled=True)
    log.rewind(0)
    reference, notes = checkpoint_sparsity(sdm_model, spec.sparsity)
    log.log("sparsity", step=0, model="sdm", sparsity=reference.sparsity, zeros=reference.zeros, numel=reference.numel)
    state = load_state_dict(dense_model)
    embeddings = state.get("backbone.embeddings.weight")
    vocab = int(embeddings.shape[0]) if embeddings is not None else None
    model = build_variant(spec, variant.init_from, smoke=options.smoke, vocab_size=vocab, device=str(device))
    load_into(model, state)
    del state
    dense_count = model_sparsity(model, spec.sparsity)
    log.log("sparsity", step=0, model="dense", sparsity=dense_count.sparsity, zeros=dense_count.zeros)
    method = METHOD_OF_VARIANT[variant.method.value]
    masks = prune_to_match(model, reference, spec, method=method, seed=options.seed)
    count = model_sparsity(model, spec.sparsity)
    log.log("sparsity", step=0, model=variant.name, sparsity=count.sparsity, zeros=count.zeros, numel=count.numel)
    with atomic_folder(out / "model") as folder:
        model.save_pretrained(str(folder))
        for name in _TOKENIZER_FILES:
            if (dense_model / name).is_file():
                shutil.copyfile(dense_model / name, folder / name)
    cpu_masks = {name: mask.to("cpu").contiguous() for name, mask in masks.items()}
    atomic_save(out / MASKS_FILE, lambda tmp: save_file(cpu_masks, str(tmp), metadata={"format": "pt"}))
    # Verify what was written, per layer: the builder matches every layer, so nothing less may pass.
    verdict = verify_iso_sparsity(sdm_model, out / "model", spec, per_layer=True)
    atomic_write_json(out / ISO_FILE, verdict.to_json())
    log.log("verify", step=0, verdict=verdict.verdict)
    if not verdict.passed:
        raise JobError(f"iso-sparsity check failed for {variant.name}: {'; '.join(verdict.reasons) or 'mismatch'}")
    return {
        "job": "challenge",
        "variant": variant.name,
        "method": variant.method.value,
        "pruning": method,
        "smoke": options.smoke,
        "spec_digest": spec.digest,
        "seed": options.seed,
        "device": str(device),
        "inputs": {"dense": str(dense_model), "sdm": str(sdm_model)},
        "sparsity": sparsity_record(count, variant.target_sparsity),
        "reference_sparsity": sparsity_record(reference, None),
        "verdict": verdict.verdict,
        "warnings": list(notes),
        "steps": 0,
        "metrics": {"sparsity": count.sparsity},
        "outputs": {"model": "model", "masks": MASKS_FILE, "iso_sparsity": ISO_FILE, "metrics": "metrics.jsonl"},
    }
