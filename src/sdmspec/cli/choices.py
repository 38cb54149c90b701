"""How `--help` shows an option's choices (``[auto|cpu|cuda]`` rather than ``<str>``), from the tuples the commands
check values against, so the help and the check cannot drift. The commands keep their own one-line errors for a
value outside the choices (click's Choice would print a usage box instead)."""

from __future__ import annotations

from collections.abc import Iterable

from mamba_sdm.jobs.precision import PRECISIONS
from mamba_sdm.models.memory import CHECKPOINTING_CHOICES
from mamba_sdm.models.scan import SCAN_CHOICES
from sdmspec.device import DEVICE_CHOICES
from sdmspec.runner.launchers import LAUNCHERS
from sdmspec.tracking import TRACKERS


def metavar(choices: Iterable[str]) -> str:
    return "[" + "|".join(choices) + "]"


DEVICE = metavar(DEVICE_CHOICES)
SCAN = metavar(SCAN_CHOICES)
PRECISION = metavar(PRECISIONS)
ACTIVATION_CHECKPOINTING = metavar(CHECKPOINTING_CHOICES)
TRACKER = metavar(TRACKERS)
LAUNCHER = metavar(LAUNCHERS)
