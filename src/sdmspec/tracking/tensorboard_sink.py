"""TensorBoard through ``torch.utils.tensorboard.SummaryWriter`` (or tensorboardX's): event files in
``<out>/tensorboard/``. ``tensorboard --logdir runs/`` shows every stage of a run side by side."""

from __future__ import annotations

import importlib
import json
from pathlib import Path
from typing import Any

from sdmspec.tracking.fanout import MissingPackageError

FOLDER = "tensorboard"


def _writer_class() -> Any:
    for module in ("torch.utils.tensorboard", "tensorboardX"):
        try:
            return importlib.import_module(module).SummaryWriter
        except ImportError:
            continue
    raise MissingPackageError("neither tensorboard nor tensorboardX is importable")


class TensorBoardSink:
    name = "tensorboard"

    def __init__(self, folder: Path, run_name: str, params: dict[str, Any], first_step: int) -> None:
        writer_class = _writer_class()
        # A resumed job's first event is its setup event at the checkpoint's step S, and it redoes the steps after S:
        # purge_step drops what the interrupted run wrote from S + 1 on (its events at S came before the checkpoint).
        purge = first_step + 1 if first_step > 0 else None
        self.writer = writer_class(log_dir=str(folder / FOLDER), purge_step=purge)
        if first_step == 0:
            self.writer.add_text("run", run_name, 0)
            if params:
                rows = [f"| {key} | {_text(value)} |" for key, value in sorted(params.items())]
                table = "\n".join(rows)
                self.writer.add_text("params", "| setting | value |\n|---|---|\n" + table, 0)

    def log_scalars(self, step: int, scalars: dict[str, float]) -> None:
        for tag, value in scalars.items():
            self.writer.add_scalar(tag, value, step)

    def close(self, status: str) -> None:
        self.writer.close()


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)
