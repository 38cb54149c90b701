"""Weights & Biases through ``wandb.init``/``run.log`` with its usual environment: ``WANDB_PROJECT`` (default
"sdmspec"), ``WANDB_MODE=offline`` for no network (``wandb sync`` uploads later), ``WANDB_API_KEY``. Files go under
``<out>/wandb/``; a resumed job resumes the same run id (kept in ``<out>/tracking.json``)."""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from pathlib import Path

from sdmspec.tracking.fanout import MissingPackageError
from sdmspec.tracking.records import read_run, remember_run

DEFAULT_PROJECT = "sdmspec"


class WandbSink:
    name = "wandb"

    def __init__(self, folder: Path, run_name: str, params: Mapping[str, object]) -> None:
        try:
            import wandb
        except ImportError:
            raise MissingPackageError("wandb is not importable") from None
        # W&B run ids: lowercase letters and digits; kept so that a resumed job resumes this run.
        run_id = read_run(folder, self.name).get("run_id") or secrets.token_hex(4)
        self.run = wandb.init(
            project=os.environ.get("WANDB_PROJECT") or DEFAULT_PROJECT,
            name=run_name,
            id=str(run_id),
            resume="allow",
            config=params,
            dir=str(folder),
        )
        remember_run(folder, self.name, {"run_id": str(run_id)})

    def logged_through(self) -> int:
        """W&B accepts only increasing steps: a resumed run continues after the last step it holds."""
        return int(getattr(self.run, "step", 0) or 0) - 1

    def log_scalars(self, step: int, scalars: dict[str, float]) -> None:
        self.run.log(scalars, step=step)

    def close(self, status: str) -> None:
        self.run.finish(exit_code=0 if status == "FINISHED" else 1)
