"""What the pipeline asks of a launcher: start a stage, tell when it ended and how, stop it.

The pipeline (:mod:`sdmspec.runner.execute`) walks the graph and owns the manifest; a launcher only runs commands.
A launcher whose backend orders jobs itself (SLURM's ``--dependency``) says so with ``supports_dependencies``: the
pipeline then hands it stages whose upstreams are still running, with their handles, and lets SLURM wait.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from sdmspec.runner.stage import Stage


@dataclass
class Handle:
    """A started stage: its id in the backend (a process id, a SLURM job id), its log, and the backend's object."""

    stage: str
    job_id: str
    log: str | None
    backend: Any = None


class Launcher(Protocol):
    name: str
    supports_dependencies: bool
    max_parallel: int
    poll_interval_s: float

    def start(self, stage: Stage, running_upstream: Mapping[str, Handle]) -> Handle:
        """Start ``stage``; ``running_upstream`` are its upstreams not finished yet (only with dependencies)."""
        ...

    def poll(self, handle: Handle) -> int | None:
        """None while the stage runs; then its exit status (0 success)."""
        ...

    def interrupt(self, handle: Handle) -> None:
        """Ask the stage to stop cleanly (SIGINT to its process group; a cancel on SLURM)."""
        ...

    def kill(self, handle: Handle) -> None:
        """Stop the stage now (it did not stop within the grace period)."""
        ...

    def options(self) -> dict[str, object]:
        """The launcher's settings, recorded in the manifest."""
        ...
