"""A smoke-size stand-in for a released Mamba checkpoint, so ``--smoke`` loads Phase A's start like a real run.

The folder is what ``save_pretrained`` writes for a ``MambaForCausalLM`` of the size's smoke dimensions
(config.json and model.safetensors), generated once from a fixed seed into the smoke cache, beside the generated
data (``$SDMSPEC_CACHE`` or ``~/.cache/sdmspec``, folder ``smoke-init-v<N>``). Its name holds the dimensions, so a spec
with other sizes gets its own folder and no run reuses a stale one; it is written into a temporary sibling and renamed
into place, so concurrent stages never read half a folder.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from mamba_sdm.models.build import build_model, dimensions
from mamba_sdm.spec import Spec

# Bump when the generated checkpoints change (the folder is per version).
SMOKE_CHECKPOINT_VERSION = 1
# The seed of a job's own random initialization (``--seed`` 0): smoke runs start from the weights they started
# from before they loaded a checkpoint, so their figures (and the tests' learning thresholds) stay as they were.
SMOKE_CHECKPOINT_SEED = 0
_COMPLETE = "config.json"


def smoke_checkpoint_root() -> Path:
    """The cache folder of generated checkpoints: a sibling of the generated smoke data's."""
    from sdmspec.cache import cache_root

    return cache_root() / f"smoke-init-v{SMOKE_CHECKPOINT_VERSION}"


def smoke_checkpoint_folder(spec: Spec, size: str) -> Path:
    """Where the smoke checkpoint of ``size`` lives: named after the checkpoint it stands in for and its shape."""
    model = spec.models[size]
    dims = dimensions(model, smoke=True)
    shape = f"d{dims.d_model}-l{dims.n_layer}-v{dims.vocab_size}-n{dims.d_state}-e{dims.expand}-k{dims.d_conv}"
    return smoke_checkpoint_root() / f"{model.hf_name.replace('/', '--')}-{shape}"


def write_smoke_checkpoint(spec: Spec, size: str, folder: Path, *, max_shard_size: str = "50GB") -> Path:
    """Save a freshly initialised smoke-size model of ``size`` (seeded: the same bytes every time) into ``folder``."""
    import torch
    from transformers.utils import logging as transformers_logging

    with torch.random.fork_rng(devices=[]):
        model = build_model(spec, size, smoke=True, seed=SMOKE_CHECKPOINT_SEED)
    # save_pretrained draws a progress bar per shard: noise in a runner's or a job's output.
    shown = transformers_logging.is_progress_bar_enabled()
    transformers_logging.disable_progress_bar()  # type: ignore[no-untyped-call]
    try:
        model.save_pretrained(str(folder), max_shard_size=max_shard_size)
    finally:
        if shown:
            transformers_logging.enable_progress_bar()  # type: ignore[no-untyped-call]
    return folder


def ensure_smoke_checkpoint(spec: Spec, size: str) -> Path:
    """The generated smoke checkpoint of ``size``, written first if it is not there yet."""
    folder = smoke_checkpoint_folder(spec, size)
    if (folder / _COMPLETE).is_file():
        return folder
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    try:
        write_smoke_checkpoint(spec, size, staging)
        try:
            staging.rename(folder)
        except OSError:
            if not (folder / _COMPLETE).is_file():  # not another process's identical copy: a real failure
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return folder
