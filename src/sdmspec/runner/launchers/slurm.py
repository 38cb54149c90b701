"""SLURM through submitit: one job per stage, ordered by SLURM itself with ``--dependency=afterok:<upstream ids>``.

Each job runs the stage's command as a child process (training stages under torchrun, one agent per node with a
static rendezvous on the job's first node) from a ``submitit.helpers.Checkpointable``: ``slurm_signal_delay_s``
before the time limit (or on preemption) SLURM signals the job, submitit calls :meth:`StageCommand.checkpoint`, which
sends the stage SIGTERM (the jobs' stop: finish the step, save a checkpoint, exit 130), waits for it, and hands
submitit the same command to requeue; the requeued job resumes from that checkpoint. The child ignores the
preemption signal itself, so the stage is told to stop once. Stopping ``sdmspec run`` sends SIGTERM to each job's
processes (``scancel --signal=TERM``; submitit's own process ignores it), so the stages save before they end.
Jobs whose upstream failed are cancelled by SLURM (``--kill-on-invalid-dep=yes``) rather than left pending forever.
The report waits with ``afterany`` so it is written even when a stage failed.

``AutoExecutor(cluster="local")`` runs the same jobs as local processes (how the job graph is tested without a
cluster). The local executor cannot hold a job until another ends, so there the pipeline submits a stage only once
its upstreams have finished; the graph recorded in :attr:`SlurmLauncher.submissions` is the same either way.
"""

from __future__ import annotations

import math
import os
import re
import signal
import subprocess
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from submitit.helpers import Checkpointable, DelayedSubmission

from sdmspec import stage_lock
from sdmspec.runner.launchers.base import Handle
from sdmspec.runner.launchers.torchrun import DEFAULT_PORT, torchrun_argv
from sdmspec.runner.outputs import stage_folder
from sdmspec.runner.stage import Stage

DEFAULT_TIMEOUT_MIN = 3 * 24 * 60
DEFAULT_SIGNAL_DELAY_S = 120
# Of the signal delay, what the stage may spend saving; the rest is left for submitit to requeue.
_REQUEUE_MARGIN_S = 30


@dataclass(frozen=True)
class SlurmOptions:
    folder: Path
    cluster: str = "slurm"  # "local" or "debug" run the jobs on this machine (tests, dry rehearsals)
    nproc: int = 1  # GPUs (and torchrun processes) per node for training stages
    nodes: int = 1
    use_gpus: bool = True
    partition: str | None = None
    timeout_min: float = DEFAULT_TIMEOUT_MIN
    # Seconds before the time limit at which SLURM signals the job to checkpoint and requeue.
    signal_delay_s: int = DEFAULT_SIGNAL_DELAY_S
    cpus_per_task: int | None = None
    env: Mapping[str, str] = field(default_factory=dict)
    cwd: str | None = None


def _preemption_signal() -> int:
    """The signal submitit checkpoints on (``SUBMITIT_PREEMPT_SIGNAL``, USR2 by default)."""
    return int(getattr(signal, "SIG" + os.environ.get("SUBMITIT_PREEMPT_SIGNAL", "USR2"), signal.SIGUSR2))


def _ignore_preemption() -> None:  # in the child, before exec: an ignored signal stays ignored
    signal.signal(_preemption_signal(), signal.SIG_IGN)


class StageExitError(RuntimeError):
    """A stage's command exited non-zero on its node. The job must fail (SLURM's ``afterok`` dependencies and
    submitit's record both say so), and submitit hands the login node only the failure's text: the status travels
    in it as a token of its own (:func:`failed_status` reads it back), so the runner tells a full disk (4) or a stop
    (130) from a failure as it does for local stages."""

    def __init__(self, command: str, status: int) -> None:
        super().__init__(f"{command} exited with status {status} [{_STATUS_TOKEN}={status}]")
        self.status = status

    def __reduce__(self) -> tuple[type[StageExitError], tuple[str, int]]:
        return StageExitError, (str(self).rsplit(" exited with status ", 1)[0], self.status)


_STATUS_TOKEN = "sdmspec-stage-exit-status"
_STATUS = re.compile(rf"\[{_STATUS_TOKEN}=(-?\d+)\]")


def failed_status(failure: str) -> int:
    """The exit status a failed stage job reported (:class:`StageExitError`), else 1 (the job failed otherwise: a
    node lost, submitit's own error)."""
    found = _STATUS.findall(failure)
    status = int(found[-1]) if found else 1
    return status if status > 0 else 1


class StageCommand(Checkpointable):
    """What a SLURM job runs: the stage's command, wrapped by torchrun on the node when the stage is distributed.

    Built on the login node, pickled by submitit, called on the compute node(s): only plain data is pickled (the
    running child is not).
    """

    def __init__(
        self,
        argv: tuple[str, ...],
        distributed: bool,
        nproc: int,
        nodes: int,
        cwd: str | None,
        env: Mapping[str, str],
        stop_wait_s: float = DEFAULT_SIGNAL_DELAY_S - _REQUEUE_MARGIN_S,
    ) -> None:
        self.argv, self.distributed, self.nproc, self.nodes = tuple(argv), distributed, nproc, nodes
        self.cwd, self.env, self.stop_wait_s = cwd, dict(env), stop_wait_s
        self._process: subprocess.Popen[bytes] | None = None

    def __getstate__(self) -> dict[str, object]:
        return {key: value for key, value in self.__dict__.items() if key != "_process"}

    def __setstate__(self, state: dict[str, object]) -> None:
        self.__dict__.update(state)
        self._process = None

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
        argv = self.command()
        print(f"sdmspec: running {subprocess.list2cmdline(argv)}", flush=True)
        process = subprocess.Popen(argv, cwd=self.cwd, env={**os.environ, **self.env}, preexec_fn=_ignore_preemption)
        self._process = process
        # poll(), not wait(): wait() would hold the Popen's lock while blocked, and checkpoint() (run by submitit's
        # signal handler on this thread) must be able to wait for the child itself.
        while process.poll() is None:
            time.sleep(0.2)
        if process.returncode != 0:
            raise StageExitError(subprocess.list2cmdline(argv), process.returncode)
        return f"exit status {process.returncode}"

    def checkpoint(self, *args: Any, **kwargs: Any) -> DelayedSubmission:
        """Called by submitit when SLURM announces the time limit or a preemption: the stage saves, then the same
        command is requeued (it resumes from the checkpoint just saved)."""
        process = self._process
        if process is not None and process.poll() is None:
            print("sdmspec: time limit or preemption: asking the stage to save (SIGTERM)", flush=True)
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=self.stop_wait_s)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            print(f"sdmspec: the stage exited with status {process.returncode}; requeueing", flush=True)
        fresh = StageCommand(
            self.argv, self.distributed, self.nproc, self.nodes, self.cwd, self.env, stop_wait_s=self.stop_wait_s
        )
        return DelayedSubmission(fresh)


@dataclass(frozen=True)
class Submission:
    """One submitted stage: its job id, the upstream jobs it waits for, and the executor parameters it got."""

    stage: str
    job_id: str
    after: tuple[str, ...]
    dependency: str | None
    parameters: Mapping[str, object]


def submission_parameters(stage: Stage, options: SlurmOptions, dependency: str | None) -> dict[str, object]:
    """The executor parameters for ``stage`` (AutoExecutor names; ``slurm_*`` ones are ignored by other clusters)."""
    gpus = (options.nproc if stage.distributed else 1 if stage.needs_gpu else 0) if options.use_gpus else 0
    parameters: dict[str, object] = {
        "name": f"sdmspec:{stage.name}",
        "timeout_min": max(1, math.ceil(options.timeout_min)),
        "nodes": options.nodes if stage.distributed else 1,
        "tasks_per_node": 1,  # one torchrun agent (or one process) per node
        # SLURM signals the job this long before its time limit: the stage saves, submitit requeues it.
        "slurm_signal_delay_s": options.signal_delay_s,
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
        stage_lock.refuse_if_held(stage_folder(stage))

        waiting = tuple(running_upstream[name].job_id for name in stage.depends_on if name in running_upstream)
        dependency = f"{stage.trigger.value}:{':'.join(waiting)}" if waiting and self.supports_dependencies else None
        parameters = submission_parameters(stage, self.settings, dependency)
        # A fresh executor per stage: parameters persist on an executor, and a dependency cannot be unset there.
        executor = submitit.AutoExecutor(folder=self.settings.folder / "%j", cluster=self.settings.cluster)
        executor.update_parameters(**parameters)
        if self.settings.cluster == "local":
            # AutoExecutor passes no signal delay (nor a fraction of a minute) to its local executor (rehearsals,
            # tests): set them there.
            local = executor._executor
            local.update_parameters(signal_delay_s=self.settings.signal_delay_s, timeout_min=self.settings.timeout_min)
        command = StageCommand(
            argv=stage.argv,
            distributed=stage.distributed,
            nproc=self.settings.nproc,
            nodes=self.settings.nodes,
            cwd=self.settings.cwd,
            env=dict(self.settings.env),
            stop_wait_s=max(1, self.settings.signal_delay_s - _REQUEUE_MARGIN_S),
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
        failure = job.exception()
        return 0 if failure is None else failed_status(str(failure))

    def interrupt(self, handle: Handle) -> None:
        if self.supports_dependencies:
            # SIGTERM to the job's processes: the stage saves and exits 130 (submitit's own process ignores it).
            subprocess.call(["scancel", "--signal=TERM", str(handle.job_id)])
        else:
            handle.backend.cancel(check=False)

    def kill(self, handle: Handle) -> None:
        handle.backend.cancel(check=False)

    def options(self) -> dict[str, object]:
        return {
            "cluster": self.settings.cluster,
            "nproc": self.settings.nproc,
            "nodes": self.settings.nodes,
            "partition": self.settings.partition,
            "timeout_min": self.settings.timeout_min,
            "signal_delay_s": self.settings.signal_delay_s,
            "folder": str(self.settings.folder),
        }
