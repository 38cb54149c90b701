"""Resume state: written atomically every epoch and every N optimizer steps, read back safely.

Layout under ``DIR/checkpoints/``: one folder per save, ``step-00001234/`` with ``model.safetensors`` (the module's
tensors, mask scores included; shared tensors such as the tied LM head stored once) and ``trainer.pt`` (optimizer,
scheduler, RNG and progress counters: plain tensors and containers, loaded with ``weights_only=True``), and a file
``latest`` naming the newest complete folder. A folder is assembled under a temporary name and renamed into place
before ``latest`` moves to it, so an interruption at any moment leaves the previous checkpoint intact.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sdmspec.errors import CheckpointError
from sdmspec.io import atomic_write_text

if TYPE_CHECKING:
    import torch

LATEST = "latest"
MODEL_FILE = "model.safetensors"
TRAINER_FILE = "trainer.pt"
KEEP = 2  # the newest checkpoints kept; older ones are deleted once a newer one is complete


def save_checkpoint(
    folder: Path,
    step: int,
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    scheduler: torch.optim.lr_scheduler.LRScheduler,
    progress: dict[str, Any],
) -> Path:
    """Save everything a resumed run needs after optimizer step ``step``; return the checkpoint's folder."""
    import torch
    from safetensors.torch import save_model

    folder.mkdir(parents=True, exist_ok=True)
    name = f"step-{step:08d}"
    target = folder / name
    if not target.exists():
        staging = Path(tempfile.mkdtemp(prefix=f".{name}.", dir=folder))
        try:
            save_model(model, str(staging / MODEL_FILE))
            trainer = {
                "optimizer": optimizer.state_dict(),
                "scheduler": scheduler.state_dict(),
                "rng": torch.get_rng_state(),
                "progress": progress,
            }
            torch.save(trainer, staging / TRAINER_FILE)
            for file in staging.iterdir():
                with file.open("rb") as handle:
                    os.fsync(handle.fileno())
            staging.rename(target)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    else:
        # The same step saved twice (a step checkpoint that is also the epoch's last): refresh the counters only.
        _rewrite_progress(target, progress)
    atomic_write_text(folder / LATEST, name + "\n")
    for old in sorted(p for p in folder.glob("step-*") if p.is_dir())[:-KEEP]:
        shutil.rmtree(old, ignore_errors=True)
    return target


def _rewrite_progress(target: Path, progress: dict[str, Any]) -> None:
    import torch

    from sdmspec.io import atomic_save

    trainer = torch.load(target / TRAINER_FILE, weights_only=True)
    trainer["progress"] = progress
    atomic_save(target / TRAINER_FILE, lambda tmp: torch.save(trainer, tmp))


def load_latest(
    folder: Path,
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    scheduler: torch.optim.lr_scheduler.LRScheduler,
) -> dict[str, Any] | None:
    """Restore the newest checkpoint into ``model``, ``optimizer`` and ``scheduler``; return its progress counters,
    or None when there is nothing to resume."""
    import torch
    from safetensors.torch import load_model

    pointer = folder / LATEST
    if not pointer.is_file():
        return None
    target = folder / pointer.read_text(encoding="utf-8").strip()
    try:
        load_model(model, str(target / MODEL_FILE), strict=True, device=str(_device_of(model)))
        trainer = torch.load(target / TRAINER_FILE, weights_only=True, map_location="cpu")
    except (OSError, RuntimeError, KeyError) as err:
        raise CheckpointError(f"cannot resume from {target}: {' '.join(str(err).split())[:300]}") from err
    optimizer.load_state_dict(trainer["optimizer"])
    scheduler.load_state_dict(trainer["scheduler"])
    torch.set_rng_state(trainer["rng"])
    progress: dict[str, Any] = trainer["progress"]
    return progress


def latest_name(folder: Path) -> str | None:
    """The folder name ``latest`` points at (``step-00000500``), or None before the first checkpoint."""
    try:
        return (folder / LATEST).read_text(encoding="utf-8").strip() or None
    except OSError:
        return None


def _device_of(model: torch.nn.Module) -> torch.device:
    import torch

    return next(model.parameters(), torch.empty(0)).device
