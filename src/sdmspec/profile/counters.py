"""FLOPs as the tools count them: fvcore's FlopCountAnalysis (MACs) and torch's FlopCounterMode (FLOPs).

Both count on transformers' reference PyTorch path. On a GPU with mamba-ssm and causal-conv1d installed, the mixer
calls their kernels instead (transformers 4.x: ``cuda_kernels_forward`` when ``is_fast_path_available``; 5.x: the
module functions ``causal_conv1d_fn``/``mamba_selective_scan``/... resolve to the packages' kernels when they import).
Inside those, fvcore sees an opaque op and counts zero and FlopCounterMode misses the conv and the scan, so
:func:`reference_path` switches both mechanisms off while counting, and counting runs on the meta device (torch) or
on the CPU (fvcore, whose JIT tracer cannot run meta convolutions).
"""

from __future__ import annotations

import inspect
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch

# transformers 5.x wraps these module-level functions so that they resolve to the kernel packages when installed.
_KERNEL_FUNCTIONS = (
    "causal_conv1d_fn",
    "causal_conv1d_update",
    "mamba_selective_scan",
    "mamba_selective_state_update",
    "mamba_inner_fn",
    "selective_scan_fn",
)


@contextmanager
def reference_path() -> Iterator[tuple[str, ...]]:
    """Force transformers' Mamba onto its plain PyTorch path; yields what was switched off (restored on exit)."""
    from transformers.models.mamba import modeling_mamba

    saved: dict[str, Any] = {}
    if getattr(modeling_mamba, "is_fast_path_available", False):  # transformers 4.x
        saved["is_fast_path_available"] = True
        setattr(modeling_mamba, "is_fast_path_available", False)  # noqa: B010 (absent from 5.x: not typed)
    for name in _KERNEL_FUNCTIONS:  # transformers 5.x: functools.wraps keeps the torch function as __wrapped__
        function = getattr(modeling_mamba, name, None)
        if callable(function) and hasattr(function, "__wrapped__"):
            saved[name] = function
            setattr(modeling_mamba, name, inspect.unwrap(function))
    try:
        yield tuple(saved)
    finally:
        for name, value in saved.items():
            setattr(modeling_mamba, name, value)


def logits_only(model: torch.nn.Module) -> torch.nn.Module:
    """``model`` wrapped to return its logits tensor only, with ``use_cache=False``: fvcore's JIT tracer cannot
    follow the cache object inside Hugging Face's output dataclass."""
    import torch

    class LogitsOnly(torch.nn.Module):
        def __init__(self, inner: torch.nn.Module) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
            return self.inner(input_ids=input_ids, use_cache=False).logits  # type: ignore[no-any-return]

    return LogitsOnly(model)


@dataclass(frozen=True)
class TorchCount:
    """FlopCounterMode's count: FLOPs (2 per multiply-add), in total and by aten operator."""

    flops: int
    by_operator: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class FvcoreCount:
    """FlopCountAnalysis's count: MACs (one per multiply-add), by operator, and the ops it skipped (with counts)."""

    macs: int
    by_operator: dict[str, int] = field(default_factory=dict)
    skipped: dict[str, int] = field(default_factory=dict)


def _input_ids(batch_size: int, seq_len: int, device: str) -> torch.Tensor:
    import torch

    return torch.zeros(batch_size, seq_len, dtype=torch.long, device=device)


def count_torch(config: Any, batch_size: int, seq_len: int) -> TorchCount:
    """FlopCounterMode over one forward pass of a meta-device model with ``config``: no memory, no arithmetic."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode
    from transformers import MambaForCausalLM

    with torch.device("meta"):
        model: Any = MambaForCausalLM(config)
    model.eval()
    counter = FlopCounterMode(display=False)
    with reference_path(), torch.no_grad(), counter:
        model(input_ids=_input_ids(batch_size, seq_len, "meta"), use_cache=False)
    by_operator = {str(op): int(n) for op, n in counter.get_flop_counts()["Global"].items()}
    return TorchCount(flops=int(counter.get_total_flops()), by_operator=dict(sorted(by_operator.items())))


def count_fvcore(model: torch.nn.Module, batch_size: int, seq_len: int) -> FvcoreCount:
    """FlopCountAnalysis over one forward pass of ``model`` (on the CPU), wrapped by :func:`logits_only`."""
    import torch
    from fvcore.nn import FlopCountAnalysis

    wrapped = logits_only(model).eval()
    with reference_path(), torch.no_grad(), warnings.catch_warnings():
        # The tracer warns about Python control flow (the scan's loop) on every trace: expected, not actionable.
        warnings.simplefilter("ignore", torch.jit.TracerWarning)  # type: ignore[attr-defined]
        analysis = FlopCountAnalysis(wrapped, (_input_ids(batch_size, seq_len, "cpu"),))
        analysis.unsupported_ops_warnings(False)
        analysis.uncalled_modules_warnings(False)
        macs = int(analysis.total())
        by_operator = {str(op): int(n) for op, n in analysis.by_operator().items()}
        skipped = {str(op): int(n) for op, n in analysis.unsupported_ops().items()}
    return FvcoreCount(macs=macs, by_operator=dict(sorted(by_operator.items())), skipped=dict(sorted(skipped.items())))
