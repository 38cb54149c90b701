"""Resume state: written atomically every epoch and every N optimizer steps, read back safely.

Layout under ``DIR/checkpoints/``: one folder per save, ``step-00001234/`` with ``model.safetensors`` (the module's
tensors, mask scores included; shared tensors such as the tied LM head stored once) and ``trainer.pt`` (optimizer,
scheduler, RNG and progress counters: plain tensors and containers, loaded with ``weights_only=True``), and a file
``latest`` naming the newest complete folder. A folder is assembled under a temporary name and renamed into place
before ``latest`` moves to it, so an interruption at any moment leaves the previous checkpoint intact. A checkpoint
damaged afterwards (a truncated file) is skipped on resume for the previous kept one, with a warning.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sdmspec.errors import CheckpointError, JobError
from sdmspec.io import atomic_write_text

if TYPE_CHECKING:
    import torch

LATEST = "latest"
MODEL_FILE = "model.safetensors"
TRAINER_FILE = "trainer.pt"
KEEP = 2  # the newest checkpoints kept; older ones are deleted once a newer one is complete
UNREADABLE_PREFIX = "unreadable-"


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
    warn: Callable[[str], None] = lambda line: None,
    *,
    repair: bool = True,
) -> dict[str, Any] | None:
    """Restore the newest readable checkpoint into ``model``, ``optimizer`` and ``scheduler``; return its progress
    counters, or None when there is nothing to resume.

    The checkpoint ``latest`` names comes first, then the other kept ones, newest first. One that cannot be read
    (a truncated file, a disk error) is reported through ``warn`` and moved aside to ``unreadable-step-*`` (kept for
    a look, out of the rotation, so the next save of its step cannot refresh it in place); when none can be read the
    job stops (rerunning would not help, deleting the folder would).

    Under DDP only rank 0 repairs (``repair``); the other ranks load after it, and only the checkpoint it resumed from
    (``latest`` by then): ranks that fell back on their own would race to move the same folder and could resume from
    different steps."""
    candidates = _candidates(folder)
    if not candidates:
        return None
    if not repair:
        candidates = candidates[:1]
    failures: list[str] = []
    for target in candidates:
        try:
            trainer = _read(target, model)
        except Exception as err:
            reason = " ".join(str(err).split())[:200] or type(err).__name__
            failures.append(f"{target.name} ({reason})")
            if not repair:
                raise JobError(f"checkpoint {failures[0]}, the one rank 0 resumed from, cannot be read here") from None
            continue
        for unreadable, bad in zip(candidates[: candidates.index(target)], failures, strict=True):
            aside = folder / f"{UNREADABLE_PREFIX}{unreadable.name}"
            shutil.rmtree(aside, ignore_errors=True)
            unreadable.rename(aside)
            warn(f"checkpoint {bad} is unreadable; moved to {aside.name}; resuming from {target.name}")
        if failures:
            atomic_write_text(folder / LATEST, target.name + "\n")
        optimizer.load_state_dict(trainer["optimizer"])
        scheduler.load_state_dict(trainer["scheduler"])
        import torch

        torch.set_rng_state(trainer["rng"])
        progress: dict[str, Any] = trainer["progress"]
        return progress
    raise JobError(f"no checkpoint under {folder} can be read: {'; '.join(failures)}; delete {folder} to start over")


def _candidates(folder: Path) -> list[Path]:
    """The checkpoint ``latest`` names, then every other complete one, newest first."""
    kept = sorted((p for p in folder.glob("step-*") if p.is_dir()), reverse=True) if folder.is_dir() else []
    named = latest_name(folder)
    first = [folder / named] if named and (folder / named).is_dir() else []
    return first + [p for p in kept if p not in first]


def _read(target: Path, model: torch.nn.Module) -> dict[str, Any]:
    """The trainer state of ``target`` (checked for its keys), its weights loaded into ``model``."""
    import torch
    from safetensors.torch import load_model

    trainer = torch.load(target / TRAINER_FILE, weights_only=True, map_location="cpu")
    missing = {"optimizer", "scheduler", "rng", "progress"} - set(trainer)
    if missing:
        raise CheckpointError(f"{TRAINER_FILE} lacks {', '.join(sorted(missing))}")
    load_model(model, str(target / MODEL_FILE), strict=True, device=str(_device_of(model)))
    return dict(trainer)


def latest_name(folder: Path) -> str | None:
    """The folder name ``latest`` points at (``step-00000500``), or None before the first checkpoint."""
    try:
        return (folder / LATEST).read_text(encoding="utf-8").strip() or None
    except OSError:
        return None


def _device_of(model: torch.nn.Module) -> torch.device:
    import torch

    return next(model.parameters(), torch.empty(0)).device
