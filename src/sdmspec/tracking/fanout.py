"""One job's trackers: open each on the first event, send every event to each, drop one that fails."""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

INSTALL_HINT = "pip install 'sdmspec[track]'"


class Sink(Protocol):
    """One tracking library, opened for one run."""

    name: str

    def log_scalars(self, step: int, scalars: dict[str, float]) -> None: ...

    def close(self, status: str) -> None: ...


class MissingPackageError(Exception):
    """The tracker's library is not installed."""


def scalars_of(record: dict[str, Any]) -> tuple[int, dict[str, float]]:
    """An event's step and its numeric fields as ``<event>/<field>`` scalars (booleans, text, nulls left out)."""
    event = str(record.get("event", "event"))
    step = record.get("step")
    values = {
        f"{event}/{key}": float(value)
        for key, value in record.items()
        if key not in ("event", "step")
        and isinstance(value, (int, float))
        and not isinstance(value, bool)
        and math.isfinite(value)
    }
    return (int(step) if isinstance(step, int) else 0), values


def open_sink(name: str, folder: Path, run_name: str, params: dict[str, Any], first_step: int) -> Sink:
    """Open tracker ``name``; raises MissingPackageError when its library is not installed."""
    if name == "tensorboard":
        from sdmspec.tracking.tensorboard_sink import TensorBoardSink

        return TensorBoardSink(folder, run_name, params, first_step)
    if name == "mlflow":
        from sdmspec.tracking.mlflow_sink import MlflowSink

        return MlflowSink(folder, run_name, params)
    from sdmspec.tracking.wandb_sink import WandbSink

    return WandbSink(folder, run_name, params)


class Trackers:
    """The configured trackers of one MetricsLog; with none configured every call does nothing."""

    def __init__(
        self,
        folder: Path,
        names: tuple[str, ...],
        run_name: str,
        params: dict[str, Any],
        notice: Callable[[str], None],
    ) -> None:
        self.folder = folder
        self.names = names
        self.run_name = run_name
        self.params = params
        self._notice = notice
        self._sinks: list[Sink] | None = None if names else []

    @property
    def active(self) -> list[str]:
        """The trackers still receiving events."""
        return [sink.name for sink in self._sinks or []]

    def log(self, record: dict[str, Any]) -> None:
        if not self.names:
            return
        step, scalars = scalars_of(record)
        if self._sinks is None:
            self._sinks = self._open(step)
        if not scalars:
            return
        for sink in list(self._sinks):
            try:
                sink.log_scalars(step, scalars)
            except Exception as err:  # a tracker never ends a run
                self._drop(sink, err)

    def close(self, status: str = "FINISHED") -> None:
        for sink in self._sinks or []:
            try:
                sink.close(status)
            except Exception as err:
                self._notice(f"warning: {sink.name} failed while closing ({_one_line(err)})")
        self._sinks = []

    def _open(self, first_step: int) -> list[Sink]:
        sinks: list[Sink] = []
        for name in self.names:
            try:
                sinks.append(open_sink(name, self.folder, self.run_name, self.params, first_step))
            except MissingPackageError as err:
                self._notice(f"{name} is not installed ({err}; {INSTALL_HINT}); the run goes on without it")
            except Exception as err:
                self._notice(f"warning: {name} could not start ({_one_line(err)}); the run goes on without it")
        return sinks

    def _drop(self, sink: Sink, err: Exception) -> None:
        assert self._sinks is not None
        self._sinks.remove(sink)
        self._notice(f"warning: {sink.name} failed ({_one_line(err)}); no more events go to it, the run goes on")
        with contextlib.suppress(Exception):  # already announced; closing a broken tracker may fail too
            sink.close("FAILED")


def _one_line(err: BaseException, limit: int = 200) -> str:
    text = " ".join(str(err).split()) or type(err).__name__
    return text if len(text) <= limit else text[: limit - 3] + "..."
