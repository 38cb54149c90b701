"""FLOPs as the tools count them: fvcore's FlopCountAnalysis (MACs) and torch's FlopCounterMode (FLOPs).

Both count on a plain PyTorch path of transformers' Mamba, never on mamba-ssm's kernels: inside those, fvcore sees an
opaque op and counts zero and FlopCounterMode misses the conv and the scan. Which PyTorch path is the caller's
``scan`` (a :class:`~mamba_sdm.models.scan.ScanChoice`, see :func:`counting_scan`): the parallel scan (mambapy) by
default, because the two paths count the same and the parallel one traces O(log L) steps per layer where the
sequential loop traces L of them:

- FlopCounterMode: identical totals and per-operator counts (``aten.mm``, ``aten.convolution``, ``aten.bmm``). The
  loop's per-position read-out ``state @ C[:, t]`` (L bmm of batch B) and the parallel path's
  ``all_states @ C.unsqueeze(-1)`` (one bmm of batch B*L) are the same 2*B*L*D_in*N FLOPs; the scan's recurrence is
  elementwise on both paths and counted on neither.
- fvcore: identical MACs and per-operator counts. Only its list of skipped (elementwise) ops differs: the loop's
  per-position ``aten::mul``/``aten::add`` of the recurrence (one each per layer and position) are, on the parallel
  path, inside mambapy's autograd Function, which the JIT tracer records as one ``prim::PythonOp.PScan`` per layer.

FlopCounterMode runs on the meta device (no memory, no arithmetic). fvcore cannot: torch's meta kernel for
convolution fails under the JIT tracer (``torch._check`` gets a traced size), so fvcore traces the model it is given,
on that model's device; on the parallel path that is one real forward pass. :func:`reference_path` additionally
switches off any kernel binding for the duration of a count.
"""

from __future__ import annotations

import copy
import inspect
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from mamba_sdm.models.scan import Scan, ScanChoice, parallel_status

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


def counting_scan(requested: Scan) -> ScanChoice:
    """The path the counters trace for a run whose latency was asked to use ``requested``: the parallel scan
    (same counts as the loop, a fraction of the tracing), the sequential loop when asked for or without mambapy;
    never the kernels, which hide the conv and the scan from every counter."""
    if requested is Scan.REFERENCE:
        return ScanChoice(requested, Scan.REFERENCE, "--scan reference: counted on the sequential loop too")
    usable, why = parallel_status()
    if usable:
        return ScanChoice(
            requested,
            Scan.PARALLEL,
            f"{why}: it counts exactly what the sequential loop counts and traces O(log L) steps per layer instead "
            "of L; never the kernels, which hide the conv and the scan from the counters",
        )
    return ScanChoice(requested, Scan.REFERENCE, f"{why}: counted on the sequential loop (slow at full size)")


@dataclass(frozen=True)
class TorchCount:
    """FlopCounterMode's count: FLOPs (2 per multiply-add), in total and by aten operator, with the scan path and
    device it traced and how long counting took."""

    flops: int
    by_operator: dict[str, int] = field(default_factory=dict)
    scan: str = Scan.REFERENCE.value
    device: str = "meta"
    seconds: float = 0.0


@dataclass(frozen=True)
class FvcoreCount:
    """FlopCountAnalysis's count: MACs (one per multiply-add), by operator, and the ops it skipped (with counts),
    with the scan path and device it traced and how long counting took."""

    macs: int
    by_operator: dict[str, int] = field(default_factory=dict)
    skipped: dict[str, int] = field(default_factory=dict)
    scan: str = Scan.REFERENCE.value
    device: str = "cpu"
    seconds: float = 0.0


def _input_ids(batch_size: int, seq_len: int, device: str | torch.device) -> torch.Tensor:
    import torch

    return torch.zeros(batch_size, seq_len, dtype=torch.long, device=device)


def _scan(scan: ScanChoice | None) -> ScanChoice:
    if scan is None:
        return counting_scan(Scan.AUTO)
    if scan.path is Scan.KERNELS:
        raise ValueError("FLOPs cannot be counted on mamba-ssm's kernels: they hide the conv and the scan")
    return scan


def count_torch(config: Any, batch_size: int, seq_len: int, scan: ScanChoice | None = None) -> TorchCount:
    """FlopCounterMode over one forward pass of a meta-device model with ``config``: no memory, no arithmetic.
    ``scan``: the path traced (default: :func:`counting_scan`'s)."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode
    from transformers import MambaForCausalLM

    from mamba_sdm.models.scan import apply_scan

    choice = _scan(scan)
    started = time.perf_counter()
    with torch.device("meta"):
        model: Any = MambaForCausalLM(copy.deepcopy(config))  # a copy: apply_scan writes to the model's config
    model.eval()
    apply_scan(model, choice)
    counter = FlopCounterMode(display=False)
    with reference_path(), torch.no_grad(), counter:
        model(input_ids=_input_ids(batch_size, seq_len, "meta"), use_cache=False)
    by_operator = {str(op): int(n) for op, n in counter.get_flop_counts()["Global"].items()}
    return TorchCount(
        flops=int(counter.get_total_flops()),
        by_operator=dict(sorted(by_operator.items())),
        scan=choice.path.value,
        device="meta",
        seconds=time.perf_counter() - started,
    )


def count_fvcore(model: torch.nn.Module, batch_size: int, seq_len: int, scan: ScanChoice | None = None) -> FvcoreCount:
    """FlopCountAnalysis over one forward pass of ``model`` on its own device, wrapped by :func:`logits_only`.
    ``scan``: the path traced (default: :func:`counting_scan`'s); it is set on ``model`` and stays set."""
    import torch
    from fvcore.nn import FlopCountAnalysis

    from mamba_sdm.models.scan import apply_scan

    choice = _scan(scan)
    device = next(model.parameters()).device
    started = time.perf_counter()
    apply_scan(model, choice)
    wrapped = logits_only(model).eval()
    with reference_path(), torch.no_grad(), warnings.catch_warnings():
        # The tracer warns about Python control flow (the scan's loop) on every trace: expected, not actionable.
        warnings.simplefilter("ignore", torch.jit.TracerWarning)  # type: ignore[attr-defined]
        analysis = FlopCountAnalysis(wrapped, (_input_ids(batch_size, seq_len, device),))
        analysis.unsupported_ops_warnings(False)
        analysis.uncalled_modules_warnings(False)
        macs = int(analysis.total())
        by_operator = {str(op): int(n) for op, n in analysis.by_operator().items()}
        skipped = {str(op): int(n) for op, n in analysis.unsupported_ops().items()}
    return FvcoreCount(
        macs=macs,
        by_operator=dict(sorted(by_operator.items())),
        skipped=dict(sorted(skipped.items())),
        scan=choice.path.value,
        device=device.type,
        seconds=time.perf_counter() - started,
    )
