"""One job's trackers: open each on the first event, send every event to each, drop one that fails."""

from __future__ import annotations

import contextlib
import math
import queue
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

INSTALL_HINT = "pip install 'sdmspec[track]'"
# How long closing waits for queued events to reach a slow tracker before giving up on them.
CLOSE_TIMEOUT_S = 120.0


class Sink(Protocol):
    """One tracking library, opened for one run."""

    name: str

    def logged_through(self) -> int:
        """The last step this run already holds (-1: none), so a resumed job sends only the events after it."""
        ...

    def log_scalars(self, step: int, scalars: dict[str, float]) -> None: ...

    def close(self, status: str) -> None: ...


class MissingPackageError(Exception):
    """The tracker's library is not installed."""


@dataclass(frozen=True)
class _Replay:
    """The queue item that carries the events a resumed job kept, sent first to the trackers that lack them."""

    events: tuple[Mapping[str, object], ...]


def scalars_of(record: Mapping[str, object]) -> tuple[int, dict[str, float]]:
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


def open_sink(name: str, folder: Path, run_name: str, params: Mapping[str, object]) -> Sink:
    """Open tracker ``name``; raises MissingPackageError when its library is not installed."""
    if name == "tensorboard":
        from sdmspec.tracking.tensorboard_sink import TensorBoardSink

        return TensorBoardSink(folder, run_name, params)
    if name == "mlflow":
        from sdmspec.tracking.mlflow_sink import MlflowSink

        return MlflowSink(folder, run_name, params)
    from sdmspec.tracking.wandb_sink import WandbSink

    return WandbSink(folder, run_name, params)


class Trackers:
    """The configured trackers of one MetricsLog; with none configured every call does nothing.

    Events go to the trackers from one background thread, in order: the job only puts each event on a queue (a
    tracker's start, such as creating an MLflow SQLite store, and a slow store never hold up a training step).
    ``close`` sends what is queued (bounded by ``close_timeout`` seconds), then closes each tracker.
    """

    def __init__(
        self,
        folder: Path,
        names: tuple[str, ...],
        run_name: str,
        params: Mapping[str, object],
        notice: Callable[[str], None],
        close_timeout: float = CLOSE_TIMEOUT_S,
    ) -> None:
        self.folder = folder
        self.names = names
        self.run_name = run_name
        self.params = params
        self.close_timeout = close_timeout
        self._notice = notice
        self._sinks: list[Sink] = []
        self._queue: queue.Queue[dict[str, object] | _Replay | None] = queue.Queue()
        self._worker: threading.Thread | None = None

    @property
    def active(self) -> list[str]:
        """The trackers still receiving events (after :meth:`flush`, of every event logged so far)."""
        return [sink.name for sink in self._sinks]

    def log(self, record: Mapping[str, object], history: Sequence[Mapping[str, object]] = ()) -> None:
        """Send ``record``. ``history`` is the log so far (ending with ``record``); on the first call its earlier
        events (those a resumed job kept from its checkpoint) are sent first to the trackers that lack them, so a
        tracker holds what metrics.jsonl holds even when a crash lost what it had not yet written."""
        if not self.names:
            return
        if self._worker is None:
            self._worker = threading.Thread(target=self._work, name="sdmspec-tracking", daemon=True)
            self._worker.start()
            self._queue.put(_Replay(tuple(dict(event) for event in history[:-1])))
        self._queue.put(dict(record))

    def flush(self) -> None:
        """Wait until every event logged so far has been handed to the trackers."""
        if self._worker is not None:
            self._queue.join()

    def close(self, status: str = "FINISHED") -> None:
        worker, self._worker = self._worker, None
        if worker is not None:
            self._queue.put(None)
            worker.join(self.close_timeout)
            if worker.is_alive():
                self._notice(
                    f"warning: the trackers were still sending after {self.close_timeout:.0f} s; "
                    f"{self._queue.qsize()} event(s) not sent, runs left open"
                )
                return  # the thread still uses them; it ends with the process
        for sink in self._sinks:
            try:
                sink.close(status)
            except Exception as err:
                self._notice(f"warning: {sink.name} failed while closing ({_one_line(err)})")
        self._sinks = []

    def _work(self) -> None:
        earlier: Sequence[Mapping[str, object]] = ()
        opened = False
        while True:
            record = self._queue.get()
            try:
                if record is None:
                    return
                if isinstance(record, _Replay):
                    earlier = record.events
                    continue
                step, scalars = scalars_of(record)
                if not opened:
                    self._sinks, opened = self._open(), True
                    self._replay(earlier)
                if scalars:
                    self._send(self._sinks, step, scalars)
            finally:
                self._queue.task_done()

    def _replay(self, earlier: Sequence[Mapping[str, object]]) -> None:
        for sink in list(self._sinks):
            try:
                through = sink.logged_through()
            except Exception as err:
                self._drop(sink, err)
                continue
            for event in earlier:
                step, scalars = scalars_of(event)
                if step > through and scalars:
                    self._send([sink], step, scalars)

    def _send(self, sinks: list[Sink], step: int, scalars: dict[str, float]) -> None:
        for sink in list(sinks):
            if sink not in self._sinks:
                continue  # dropped while replaying
            try:
                sink.log_scalars(step, scalars)
            except Exception as err:  # a tracker never ends a run
                self._drop(sink, err)

    def _open(self) -> list[Sink]:
        sinks: list[Sink] = []
        for name in self.names:
            try:
                sinks.append(open_sink(name, self.folder, self.run_name, self.params))
            except MissingPackageError as err:
                self._notice(f"{name} is not installed ({err}; {INSTALL_HINT}); the run goes on without it")
            except Exception as err:
                self._notice(f"warning: {name} could not start ({_one_line(err)}); the run goes on without it")
        return sinks

    def _drop(self, sink: Sink, err: Exception) -> None:
        self._sinks.remove(sink)
        self._notice(f"warning: {sink.name} failed ({_one_line(err)}); no more events go to it, the run goes on")
        with contextlib.suppress(Exception):  # already announced; closing a broken tracker may fail too
            sink.close("FAILED")


def _one_line(err: BaseException, limit: int = 200) -> str:
    text = " ".join(str(err).split()) or type(err).__name__
    return text if len(text) <= limit else text[: limit - 3] + "..."
