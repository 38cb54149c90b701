"""Launchers run stage commands: local subprocesses, torchrun-wrapped training stages, or SLURM jobs via submitit.

What the rest of the runner needs to know about a launcher it asks of its capabilities, never of its name:
:func:`capabilities` answers for a launcher named in a request or a manifest without importing its backend.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Capabilities:
    """What a launcher's stages are, as the runner, ``status`` and the run's checks see them."""

    # The stage processes run on this machine: a job id is a process id, a stage's folder lock is held by a process
    # here (so a running stage nobody holds has ended), and this machine's GPU is the one a stage gets.
    stages_run_here: bool


_CAPABILITIES = {
    "local": Capabilities(stages_run_here=True),
    "torchrun": Capabilities(stages_run_here=True),
    # The stages run on the cluster's nodes (a rehearsal with --slurm-cluster local is treated the same way).
    "slurm": Capabilities(stages_run_here=False),
}
# `sdmspec run --launcher` choices (checked by the pipeline, shown by --help).
LAUNCHERS = tuple(_CAPABILITIES)


def capabilities(name: str) -> Capabilities:
    """The capabilities of the launcher ``name`` (one of :data:`LAUNCHERS`; an unknown name, from an older or
    edited manifest, is taken as a launcher whose stages run elsewhere: nothing is concluded from this machine)."""
    return _CAPABILITIES.get(name, Capabilities(stages_run_here=False))
