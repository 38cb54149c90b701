"""Optional experiment tracking through the libraries people use: ``--report-to tensorboard|mlflow|wandb``.

Every event a job logs to ``metrics.jsonl`` (:class:`mamba_sdm.jobs.metrics.MetricsLog`) also goes to the trackers
this process was configured with (:func:`reporting`, which the job commands enter), as scalars named
``<event>/<field>`` (``train/loss``, ``train/grad_norm``, ``eval/val_accuracy``...) at the event's optimizer step.
The run is named after the stage; its parameters are the job's options and resolved settings.

- ``tensorboard``: ``torch.utils.tensorboard.SummaryWriter`` (tensorboardX when only that is installed), event files
  in ``<out>/tensorboard/`` that mirror ``metrics.jsonl``: each (re)start purges what earlier processes wrote and
  sends the events the job kept again, so a crash that lost unwritten events leaves no gap.
- ``mlflow``: ``MlflowClient`` with the usual configuration (``MLFLOW_TRACKING_URI``, ``MLFLOW_EXPERIMENT_NAME``,
  default experiment "sdmspec"); a resumed job continues the same run (its id is kept in ``<out>/tracking.json``),
  first sending the kept events the run lacks.
- ``wandb``: ``wandb.init`` with the usual environment (``WANDB_PROJECT``, default "sdmspec"; ``WANDB_MODE=offline``
  honoured), files under ``<out>/``; a resumed job resumes the same run id.

Tracking never stops a run: a tracker whose package is missing is announced in one line and skipped; a tracker that
fails while the job runs is announced in one warning line and dropped, and ``metrics.jsonl`` stays complete. The
trackers run in one background thread: logging an event only queues it. Only rank 0 tracks (``MetricsLog`` is
enabled there only). This package imports no tracking library until a tracker opens.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from sdmspec.errors import SdmspecError
from sdmspec.tracking.fanout import Trackers

TRACKERS = ("tensorboard", "mlflow", "wandb")
__all__ = ["TRACKERS", "Trackers", "TrackingConfig", "open_trackers", "parse_report_to", "reporting"]


@dataclass(frozen=True)
class TrackingConfig:
    """Which trackers this process reports to, the run's name and its parameters."""

    report_to: tuple[str, ...] = ()
    run_name: str = "sdmspec"
    params: dict[str, object] = field(default_factory=dict)
    stream: TextIO | None = None  # where the one-line notices go (default: stderr at the time of writing)


_configured = TrackingConfig()
_opened: list[Trackers] = []


def parse_report_to(values: Sequence[str]) -> tuple[str, ...]:
    """``--report-to`` values (repeatable, or comma-separated) checked against :data:`TRACKERS`, duplicates dropped."""
    chosen: list[str] = []
    for value in values:
        for name in (part.strip().lower() for part in value.split(",")):
            if name not in TRACKERS:
                raise SdmspecError(f"--report-to {name!r}: not a tracker; choose from {', '.join(TRACKERS)}")
            if name not in chosen:
                chosen.append(name)
    return tuple(chosen)


@contextmanager
def reporting(
    report_to: Sequence[str], *, run_name: str, params: Mapping[str, object] | None = None, stream: TextIO | None = None
) -> Iterator[TrackingConfig]:
    """Report every MetricsLog opened inside the block to ``report_to``; on leaving, close them, marking the runs
    finished, failed (an exception) or killed (an interruption)."""
    global _configured
    previous = _configured
    _configured = TrackingConfig(tuple(report_to), run_name, dict(params or {}), stream)
    status = "FINISHED"
    try:
        yield _configured
    except (KeyboardInterrupt, SystemExit):
        status = "KILLED"
        raise
    except BaseException as err:
        status = "KILLED" if getattr(err, "exit_code", None) == 130 else "FAILED"
        raise
    finally:
        while _opened:
            _opened.pop().close(status)
        _configured = previous


def open_trackers(folder: Path) -> Trackers:
    """The trackers of a job writing into ``folder`` (none unless inside :func:`reporting`); each opens at the first
    event, so a resumed job knows the step it resumes from."""
    trackers = Trackers(folder, _configured.report_to, _configured.run_name, _configured.params, _notices)
    if _configured.report_to:
        _opened.append(trackers)
    return trackers


def _notices(line: str) -> None:
    stream = _configured.stream or sys.stderr
    print(f"sdmspec: tracking: {line}", file=stream, flush=True)
