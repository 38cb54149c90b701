"""MLflow through its own client: ``MlflowClient()`` reads ``MLFLOW_TRACKING_URI`` (a server, ``sqlite:///...``, a
folder) as every MLflow program does; the experiment is ``MLFLOW_EXPERIMENT_NAME`` or "sdmspec"; the run is named
after the stage, its parameters are the job's settings, metrics are logged per optimizer step. The run id is kept in
``<out>/tracking.json`` so a resumed job continues the same run."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sdmspec.tracking.fanout import MissingPackageError
from sdmspec.tracking.records import read_run, remember_run

DEFAULT_EXPERIMENT = "sdmspec"
# MLflow caps a parameter value at 6000 characters; settings are short, but a path may not be.
_PARAM_LIMIT = 6000


def _client_class() -> Any:
    try:
        from mlflow.tracking import MlflowClient
    except ImportError:
        raise MissingPackageError("mlflow is not importable") from None
    return MlflowClient


class MlflowSink:
    name = "mlflow"

    def __init__(self, folder: Path, run_name: str, params: Mapping[str, object]) -> None:
        from mlflow.entities import Param

        self.client = _client_class()()
        experiment_name = os.environ.get("MLFLOW_EXPERIMENT_NAME") or DEFAULT_EXPERIMENT
        experiment = self.client.get_experiment_by_name(experiment_name)
        experiment_id = experiment.experiment_id if experiment else self.client.create_experiment(experiment_name)
        self._folder = folder
        self.run_id = self._resumable_run(experiment_id)
        if self.run_id is None:
            run = self.client.create_run(experiment_id, run_name=run_name, tags={"sdmspec.out": str(folder)})
            self.run_id = run.info.run_id
            remember_run(folder, self.name, {"run_id": self.run_id, "tracking_uri": self._uri()})
            if params:
                batch = [Param(key, _text(value)[:_PARAM_LIMIT]) for key, value in sorted(params.items())]
                for first in range(0, len(batch), 100):  # MLflow takes at most 100 parameters a batch
                    self.client.log_batch(self.run_id, params=batch[first : first + 100])
        else:
            self.client.update_run(self.run_id, status="RUNNING")

    def _uri(self) -> str:
        from mlflow.tracking import get_tracking_uri

        return str(get_tracking_uri())

    def _resumable_run(self, experiment_id: str) -> str | None:
        """The run an interrupted job of this folder started in this store, if it is still there."""
        known = read_run(self._folder, self.name)
        if not known.get("run_id") or known.get("tracking_uri") != self._uri():
            return None
        try:
            run = self.client.get_run(known["run_id"])
        except Exception:
            return None  # deleted or from another store: start a new run
        if run.info.experiment_id != experiment_id or run.info.lifecycle_stage != "active":
            return None
        return str(known["run_id"])

    def logged_through(self) -> int:
        """The step before the last one of the run's metrics: a continued run holds every event up to it. Its last
        step may be incomplete (a killed process's tracking thread had sent that step's train event, not yet its
        eval event), so the replay sends that step's events again: a metric already held there gets a duplicate
        point of the same value, as every step a resumed job redoes does."""
        run = self.client.get_run(self.run_id)
        steps = [m.step for key in run.data.metrics for m in self.client.get_metric_history(self.run_id, key)]
        return max(steps, default=0) - 1

    def log_scalars(self, step: int, scalars: dict[str, float]) -> None:
        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        metrics = [Metric(key, value, now, step) for key, value in scalars.items()]
        self.client.log_batch(self.run_id, metrics=metrics)

    def close(self, status: str) -> None:
        self.client.set_terminated(self.run_id, status=status)


def _text(value: object) -> str:
    """A parameter as text: strings as they are, other values as JSON (true, 0.0002, null)."""
    return value if isinstance(value, str) else json.dumps(value)
