"""``--device auto|cpu|cuda``, read one way by every command and job: the name is checked without importing torch,
then resolved to ``"cpu"`` or ``"cuda"`` (auto: the GPU when there is one).

A refusal's class is the caller's, because it carries the exit code: a usage error (exit 2) for ``verify-sparsity``,
``validate`` and ``profile``'s options, a refused job (exit 1) for the training and profiling jobs.
"""

from __future__ import annotations

from sdmspec.errors import SdmspecError

DEVICE_CHOICES = ("auto", "cpu", "cuda")


def check_device_name(requested: str, error: type[SdmspecError] = SdmspecError) -> None:
    """Refuse a device name that is none of :data:`DEVICE_CHOICES`."""
    if requested not in DEVICE_CHOICES:
        raise error(f"--device must be one of {', '.join(DEVICE_CHOICES)}, got {requested!r}")


def cuda_available() -> bool:
    """Whether torch is installed and sees a CUDA GPU."""
    try:
        import torch
    except ImportError:
        return False
    return bool(torch.cuda.is_available())


def resolve_device(requested: str, error: type[SdmspecError] = SdmspecError) -> str:
    """``"cpu"`` or ``"cuda"`` for ``--device requested``; ``cuda`` where there is no GPU is refused with ``error``."""
    check_device_name(requested, error)
    if requested == "cpu":
        return "cpu"
    try:
        import torch
    except ImportError:
        if requested == "cuda":
            raise error("--device cuda: torch is not installed (the `train` extra)") from None
        return "cpu"
    if torch.cuda.is_available():
        return "cuda"
    if requested == "cuda":
        raise error("--device cuda: no CUDA GPU is available on this machine (use --device cpu, or run on a GPU)")
    return "cpu"
