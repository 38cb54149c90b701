"""How many zeros a layer gets at sparsity s, and how s ramps to its target (Zhu & Gupta 2017's cubic schedule).

Plain Python, no torch: the trainer, the tests and the reports share these two rules.
"""

from __future__ import annotations

import math

from sdmspec.errors import SdmspecError

# s * numel within this of an integer counts as that integer: 0.29 * 100 is 28.999999999999996 in floating point,
# and a layer of 100 weights at sparsity 0.29 should get 29 zeros, not 28.
_INTEGER_SLACK = 1e-6


def zeros_for(numel: int, sparsity: float) -> int:
    """The number of zeros a layer of ``numel`` weights holds at ``sparsity``: floor(sparsity * numel).

    This is THE rounding rule of the project's masks: applied per layer, so a layer never exceeds its target and
    every rank and every run agrees on the count.
    """
    if numel < 0:
        raise SdmspecError(f"a layer cannot have {numel} elements")
    if not 0.0 <= sparsity <= 1.0:
        raise SdmspecError(f"sparsity must lie in [0, 1], got {sparsity}")
    product = sparsity * numel
    nearest = round(product)
    if abs(product - nearest) <= _INTEGER_SLACK:
        return int(nearest)
    return math.floor(product)


def cubic_sparsity(
    step: int,
    total_steps: int,
    target: float,
    *,
    start_step: int = 0,
    end_step: int | None = None,
) -> float:
    """The sparsity at optimizer step ``step`` under Zhu & Gupta's cubic schedule (arXiv:1710.01878, eq. 1).

    ``s_t = target * (1 - (1 - p)^3)`` with ``p = (step - start_step) / (end_step - start_step)`` clamped to [0, 1];
    ``end_step`` defaults to ``total_steps``. Zero before ``start_step``, exactly ``target`` from ``end_step`` on.
    """
    end = total_steps if end_step is None else end_step
    if total_steps <= 0:
        raise SdmspecError(f"the sparsity schedule needs a positive number of steps, got {total_steps}")
    if not 0 <= start_step <= end <= total_steps:
        raise SdmspecError(
            f"the sparsity schedule needs 0 <= start_step <= end_step <= total_steps, "
            f"got {start_step}, {end}, {total_steps}"
        )
    if not 0.0 <= target < 1.0:
        raise SdmspecError(f"target sparsity must lie in [0, 1), got {target}")
    if step >= end:
        return target  # exactly, not through the floating-point formula
    if step <= start_step:
        return 0.0
    progress = (step - start_step) / (end - start_step)
    return target * (1.0 - (1.0 - progress) ** 3)
