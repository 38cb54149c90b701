"""``--device auto|cpu|cuda``, read one way by every command and job: the name is checked without importing torch,
then resolved to ``"cpu"`` or ``"cuda"`` (auto: the GPU when there is one).

A refusal is a usage error (exit 2) for every command and job alike: a device name that does not exist, or ``cuda``
on a machine without a GPU. It is raised as the caller's class (so a job's handlers still see a JobError) with the
usage exit code.
"""

from __future__ import annotations

from sdmspec.errors import EXIT_USAGE, SdmspecError

DEVICE_CHOICES = ("auto", "cpu", "cuda")


def usage_error(error: type[SdmspecError], message: str) -> SdmspecError:
    """``error(message)`` with the usage exit code: an option the machine cannot honour is a usage error."""
    refusal = error(message)
    refusal.exit_code = EXIT_USAGE  # whatever the class's own code: asking for a device the machine lacks is usage
    return refusal


def check_device_name(requested: str, error: type[SdmspecError] = SdmspecError) -> None:
    """Refuse a device name that is none of :data:`DEVICE_CHOICES`."""
    if requested not in DEVICE_CHOICES:
        raise usage_error(error, f"--device must be one of {', '.join(DEVICE_CHOICES)}, got {requested!r}")


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
            raise usage_error(error, "--device cuda: torch is not installed (the `train` extra)") from None
        return "cpu"
    if torch.cuda.is_available():
        return "cuda"
    if requested == "cuda":
        raise usage_error(error, "--device cuda: no CUDA GPU is available on this machine (use --device cpu or a GPU)")
    return "cpu"
