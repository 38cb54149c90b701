"""TensorBoard through ``torch.utils.tensorboard.SummaryWriter`` (or tensorboardX's): event files in
``<out>/tensorboard/``. ``tensorboard --logdir runs/`` shows every stage of a run side by side."""

from __future__ import annotations

import importlib
import json
from collections.abc import Mapping
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

    def __init__(self, folder: Path, run_name: str, params: Mapping[str, object]) -> None:
        writer_class = _writer_class()
        # The event files mirror metrics.jsonl: whatever an earlier process of this job wrote is purged (TensorBoard
        # drops the steps from purge_step on), and a resumed job sends the events it kept again (Trackers replays
        # them: logged_through is -1), so a crash that lost unwritten events leaves no gap.
        self.writer = writer_class(log_dir=str(folder / FOLDER), purge_step=0)
        self.writer.add_text("run", run_name, 0)
        if params:
            rows = [f"| {key} | {_text(value)} |" for key, value in sorted(params.items())]
            self.writer.add_text("params", "| setting | value |\n|---|---|\n" + "\n".join(rows), 0)

    def logged_through(self) -> int:
        return -1

    def log_scalars(self, step: int, scalars: dict[str, float]) -> None:
        for tag, value in scalars.items():
            self.writer.add_scalar(tag, value, step)

    def close(self, status: str) -> None:
        self.writer.close()


def _text(value: object) -> str:
    return value if isinstance(value, str) else json.dumps(value)
