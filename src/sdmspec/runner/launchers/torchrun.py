"""torchrun: training stages run as ``torchrun --nproc-per-node N ... -m sdmspec job ...``; other stages as one process.

One node: ``--standalone`` (a local rendezvous). Several nodes: torchrun must start on every node, which needs a
scheduler; inside a SLURM allocation (``salloc -N M``) the launcher starts it on each node with ``srun`` and a c10d
rendezvous on this host. Outside one, use ``--launcher slurm``, which submits each stage with its node count.
torchrun itself (``torch.distributed.run``), run by the runner's interpreter (the same environment), through
:mod:`sdmspec.runner.torchrun_main`, which exits with the failed workers' own status (a full disk, a stop).
"""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping, Sequence
from pathlib import Path

from sdmspec.errors import SdmspecError
from sdmspec.runner.launchers.local import LocalLauncher
from sdmspec.runner.stage import Stage

DEFAULT_PORT = 29500


TORCHRUN_MODULE = "sdmspec.runner.torchrun_main"


def torchrun_argv(
    argv: Sequence[str],
    *,
    nproc: int,
    nnodes: int = 1,
    rdzv_endpoint: str | None = None,
    run_id: str = "sdmspec",
    node_rank: int | None = None,
) -> list[str]:
    """Wrap ``python -m MODULE ARGS`` (or ``python SCRIPT ARGS``) as the same program under torchrun.

    With ``node_rank`` given, the rendezvous is static (``--node-rank``, ``--master-addr/port``: SLURM knows each
    node's rank); otherwise several nodes meet through c10d at ``rdzv_endpoint``.
    """
    python, *program = argv
    # torchrun through sdmspec.runner.torchrun_main: the same program, exiting with its failed workers' status.
    wrapped = [python, "-m", TORCHRUN_MODULE, f"--nproc-per-node={nproc}"]
    if nnodes == 1:
        wrapped.append("--standalone")
    else:
        if rdzv_endpoint is None:
            raise SdmspecError("torchrun on several nodes needs a rendezvous endpoint (HOST:PORT)")
        wrapped.append(f"--nnodes={nnodes}")
        if node_rank is not None:
            host, _, port = rdzv_endpoint.partition(":")
            wrapped += [f"--node-rank={node_rank}", f"--master-addr={host}", f"--master-port={port or DEFAULT_PORT}"]
        else:
            wrapped += ["--rdzv-backend=c10d", f"--rdzv-endpoint={rdzv_endpoint}", f"--rdzv-id={run_id}"]
    # torchrun takes `-m MODULE` like python does; a script path is taken as is.
    return wrapped + program


class TorchrunLauncher(LocalLauncher):
    """Local subprocesses, with training stages under torchrun on ``nproc`` processes per node."""

    name = "torchrun"

    def __init__(
        self,
        logs: Path,
        *,
        nproc: int,
        nodes: int = 1,
        rdzv_endpoint: str | None = None,
        run_id: str = "sdmspec",
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
    ) -> None:
        # One training stage at a time: it owns every GPU of the node(s).
        super().__init__(logs, jobs=1, env=env, cwd=cwd)
        if nproc < 1 or nodes < 1:
            raise SdmspecError("--nproc and --nodes must be at least 1")
        if nodes > 1 and "SLURM_JOB_ID" not in os.environ:
            raise SdmspecError(
                "torchrun on several nodes must be started on each of them: run inside a SLURM allocation "
                "(salloc -N M, then sdmspec run --launcher torchrun), or use --launcher slurm --nodes M"
            )
        self.nproc = nproc
        self.nodes = nodes
        self.rdzv_endpoint = rdzv_endpoint or (f"{socket.gethostname()}:{DEFAULT_PORT}" if nodes > 1 else None)
        self.run_id = run_id

    def command(self, stage: Stage) -> list[str]:
        if not stage.distributed:
            return list(stage.argv)
        argv = torchrun_argv(
            stage.argv, nproc=self.nproc, nnodes=self.nodes, rdzv_endpoint=self.rdzv_endpoint, run_id=self.run_id
        )
        if self.nodes > 1:
            # One torchrun agent per node of the allocation; they meet at this host's c10d store.
            return ["srun", f"--nodes={self.nodes}", "--ntasks-per-node=1", "--kill-on-bad-exit=1", *argv]
        return argv

    def options(self) -> dict[str, object]:
        return {"nproc": self.nproc, "nodes": self.nodes, "rdzv_endpoint": self.rdzv_endpoint}
