"""How `--help` shows an option's choices (``[auto|cpu|cuda]`` rather than ``<str>``), from the tuples the commands
check values against, so the help and the check cannot drift. The commands keep their own one-line errors for a
value outside the choices (click's Choice would print a usage box instead). A pipeline's own options have their
metavars in its package, built with :func:`metavar`."""

from __future__ import annotations

from collections.abc import Iterable

from sdmspec.device import DEVICE_CHOICES
from sdmspec.runner.launchers import LAUNCHERS
from sdmspec.tracking import TRACKERS


def metavar(choices: Iterable[str]) -> str:
    return "[" + "|".join(choices) + "]"


DEVICE = metavar(DEVICE_CHOICES)
TRACKER = metavar(TRACKERS)
LAUNCHER = metavar(LAUNCHERS)
