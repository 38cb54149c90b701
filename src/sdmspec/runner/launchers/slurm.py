"""SLURM through submitit: one job per stage, ordered by SLURM itself with ``--dependency=afterok:<upstream ids>``.

Each job runs the stage's command with ``submitit.helpers.CommandFunction`` (training stages under torchrun, one
agent per node with a static rendezvous on the job's first node). Jobs whose upstream failed are cancelled by SLURM
(``--kill-on-invalid-dep=yes``) rather than left pending forever. The report waits with ``afterany`` so it is written
even when a stage failed.

``AutoExecutor(cluster="local")`` runs the same jobs as local processes (how the job graph is tested without a
cluster). The local executor cannot hold a job until another ends, so there the pipeline submits a stage only once
its upstreams have finished; the graph recorded in :attr:`SlurmLauncher.submissions` is the same either way.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sdmspec import stage_lock
from sdmspec.runner.launchers.base import Handle
from sdmspec.runner.launchers.torchrun import DEFAULT_PORT, torchrun_argv
from sdmspec.runner.outputs import stage_folder
from sdmspec.runner.plan import Stage

DEFAULT_TIMEOUT_MIN = 3 * 24 * 60


@dataclass(frozen=True)
class SlurmOptions:
    folder: Path
    cluster: str = "slurm"  # "local" or "debug" run the jobs on this machine (tests, dry rehearsals)
    nproc: int = 1  # GPUs (and torchrun processes) per node for training stages
    nodes: int = 1
    use_gpus: bool = True
    partition: str | None = None
    timeout_min: int = DEFAULT_TIMEOUT_MIN
    cpus_per_task: int | None = None
    env: Mapping[str, str] = field(default_factory=dict)
    cwd: str | None = None


@dataclass(frozen=True)
class StageCommand:
    """What a SLURM job runs: the stage's command, wrapped by torchrun on the node when the stage is distributed.

    Built on the login node, pickled by submitit, called on the compute node(s): only plain data lives here.
    """

    argv: tuple[str, ...]
    distributed: bool
    nproc: int
    nodes: int
    cwd: str | None
    env: Mapping[str, str]

    def command(self) -> list[str]:
        if not self.distributed or (self.nproc == 1 and self.nodes == 1):
            return list(self.argv)
        if self.nodes == 1:
            return torchrun_argv(self.argv, nproc=self.nproc)
        import submitit

        job = submitit.JobEnvironment()
        return torchrun_argv(
            self.argv,
            nproc=self.nproc,
            nnodes=self.nodes,
            rdzv_endpoint=f"{job.hostnames[0]}:{DEFAULT_PORT}",
            node_rank=job.node,
        )

    def __call__(self) -> str:
        from submitit.helpers import CommandFunction

        return str(CommandFunction(self.command(), verbose=True, cwd=self.cwd, env={**os.environ, **self.env})())


@dataclass(frozen=True)
class Submission:
    """One submitted stage: its job id, the upstream jobs it waits for, and the executor parameters it got."""

    stage: str
    job_id: str
    after: tuple[str, ...]
    dependency: str | None
    parameters: Mapping[str, Any]


def submission_parameters(stage: Stage, options: SlurmOptions, dependency: str | None) -> dict[str, Any]:
    """The executor parameters for ``stage`` (AutoExecutor names; ``slurm_*`` ones are ignored by other clusters)."""
    gpus = (options.nproc if stage.distributed else 1 if stage.needs_gpu else 0) if options.use_gpus else 0
    parameters: dict[str, Any] = {
        "name": f"sdmspec:{stage.name}",
        "timeout_min": options.timeout_min,
        "nodes": options.nodes if stage.distributed else 1,
        "tasks_per_node": 1,  # one torchrun agent (or one process) per node
    }
    if gpus:  # no GPU line at all rather than --gpus-per-node=0, which some sites' gres setups reject
        parameters["gpus_per_node"] = gpus
    if dependency is not None:
        parameters["slurm_dependency"] = dependency
        parameters["slurm_additional_parameters"] = {"kill-on-invalid-dep": "yes"}
    if options.cpus_per_task is not None:
        parameters["cpus_per_task"] = options.cpus_per_task
    if options.partition is not None:
        parameters["slurm_partition"] = options.partition
    return parameters


class SlurmLauncher:
    """Submit stages as SLURM jobs (or local submitit jobs), one job each."""

    name = "slurm"

    def __init__(self, options: SlurmOptions) -> None:
        self.settings = options
        self.supports_dependencies = options.cluster == "slurm"
        self.max_parallel = 10_000 if self.supports_dependencies else max(1, os.cpu_count() or 1)
        self.poll_interval_s = 5.0 if self.supports_dependencies else 0.2
        self.submissions: list[Submission] = []
        self._job_ids: dict[str, str] = {}

    def start(self, stage: Stage, running_upstream: Mapping[str, Handle]) -> Handle:
        import submitit

        # The job takes its folder's lock on its node; here, refuse to submit a stage whose folder is held.
        folder = stage_folder(stage)
        who = stage_lock.holder(folder)
        if who is not None:
            raise stage_lock.FolderBusyError(folder, who)

        waiting = tuple(running_upstream[name].job_id for name in stage.depends_on if name in running_upstream)
        dependency = f"{stage.trigger.value}:{':'.join(waiting)}" if waiting and self.supports_dependencies else None
        parameters = submission_parameters(stage, self.settings, dependency)
        # A fresh executor per stage: parameters persist on an executor, and a dependency cannot be unset there.
        executor = submitit.AutoExecutor(folder=self.settings.folder / "%j", cluster=self.settings.cluster)
        executor.update_parameters(**parameters)
        command = StageCommand(
            argv=stage.argv,
            distributed=stage.distributed,
            nproc=self.settings.nproc,
            nodes=self.settings.nodes,
            cwd=self.settings.cwd,
            env=dict(self.settings.env),
        )
        job = executor.submit(command)
        after = tuple(self._job_ids[name] for name in stage.depends_on if name in self._job_ids)
        self._job_ids[stage.name] = str(job.job_id)
        self.submissions.append(Submission(stage.name, str(job.job_id), after, dependency, parameters))
        return Handle(stage=stage.name, job_id=str(job.job_id), log=str(job.paths.stdout), backend=job)

    def poll(self, handle: Handle) -> int | None:
        job = handle.backend
        if not job.done():
            return None
        return 0 if job.exception() is None else 1

    def interrupt(self, handle: Handle) -> None:
        handle.backend.cancel(check=False)

    def kill(self, handle: Handle) -> None:
        handle.backend.cancel(check=False)

    def options(self) -> dict[str, Any]:
        return {
            "cluster": self.settings.cluster,
            "nproc": self.settings.nproc,
            "nodes": self.settings.nodes,
            "partition": self.settings.partition,
            "timeout_min": self.settings.timeout_min,
            "folder": str(self.settings.folder),
        }
