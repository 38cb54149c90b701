"""How `--help` shows this pipeline's options' choices, from the tuples its jobs check values against (the core's
own, ``--device`` and ``--report-to`` among them, are in :mod:`sdmspec.cli.choices`)."""

from __future__ import annotations

from mamba_sdm.jobs.precision import PRECISIONS
from mamba_sdm.models.memory import CHECKPOINTING_CHOICES
from mamba_sdm.models.scan import SCAN_CHOICES
from sdmspec.cli.choices import metavar

SCAN = metavar(SCAN_CHOICES)
PRECISION = metavar(PRECISIONS)
ACTIVATION_CHECKPOINTING = metavar(CHECKPOINTING_CHOICES)
