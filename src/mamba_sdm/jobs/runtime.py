"""One process or many: the device, the process group and the collectives a job needs, read from torchrun's env.

torchrun sets WORLD_SIZE, RANK and LOCAL_RANK; without them the job runs in one process and every collective is the
identity. Process groups use NCCL on GPUs and gloo on CPU.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

from mamba_sdm.jobs.precision import Precision, apply_precision, resolve_precision
from sdmspec.device import resolve_device
from sdmspec.errors import JobError

if TYPE_CHECKING:
    import torch


@dataclass(frozen=True)
class Runtime:
    """This process's place in the job: rank, world size, device, and its precision (bf16: autocast on)."""

    rank: int
    world_size: int
    local_rank: int
    device: torch.device
    bf16: bool
    # The resolved precision (mamba_sdm.jobs.precision); bf16 above is its autocast decision.
    precision: Precision | None = None

    @property
    def distributed(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def barrier(self) -> None:
        if self.distributed:
            import torch.distributed as dist

            dist.barrier()

    def all_reduce_sum(self, tensor: torch.Tensor) -> torch.Tensor:
        """The element-wise sum over ranks (in place; returned for chaining)."""
        if self.distributed:
            import torch.distributed as dist

            dist.all_reduce(tensor, op=dist.ReduceOp.SUM)
        return tensor

    @contextmanager
    def main_first(self) -> Iterator[None]:
        """Rank 0 runs the block first (tokenizing, generating), the others after it, reading its cache."""
        if not self.is_main:
            self.barrier()
        yield
        if self.is_main:
            self.barrier()

    def close(self) -> None:
        if self.distributed:
            import torch.distributed as dist

            if dist.is_initialized():
                dist.destroy_process_group()


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None:
        return default
    try:
        return int(raw)
    except ValueError:
        raise JobError(f"environment variable {name}={raw!r} is not an integer") from None


def check_device_options(device: str, precision: str = "fp32") -> Precision:
    """Refuse GPU-only options where there is no GPU, before anything expensive starts; the precision the job runs
    with on its device."""
    resolved = resolve_device(device, JobError)
    return resolve_precision(precision, resolved)


def start_runtime(device: str = "auto", *, precision: str = "fp32", small: bool = False) -> Runtime:
    """Join torchrun's process group when WORLD_SIZE > 1 (NCCL on GPU, gloo on CPU) and pick this rank's device.

    ``small`` (smoke scale): one intra-op thread unless OMP_NUM_THREADS says otherwise; toy tensors gain nothing
    from threads, and on a busy machine competing thread pools made a step up to 10x slower (measured here).
    """
    import torch

    resolved = check_device_options(device, precision)
    use_cuda = resolve_device(device, JobError) == "cuda"
    if small and "OMP_NUM_THREADS" not in os.environ:
        torch.set_num_threads(1)
    world_size = _env_int("WORLD_SIZE", 1)
    rank = _env_int("RANK", 0)
    local_rank = _env_int("LOCAL_RANK", 0)
    if use_cuda:
        torch.cuda.set_device(local_rank)
        chosen = torch.device("cuda", local_rank)
    else:
        chosen = torch.device("cpu")
    if world_size > 1:
        import torch.distributed as dist

        if not dist.is_initialized():
            dist.init_process_group(backend="nccl" if use_cuda else "gloo")
    apply_precision(resolved)
    return Runtime(rank, world_size, local_rank, chosen, bf16=resolved.bf16, precision=resolved)
