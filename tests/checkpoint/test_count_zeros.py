"""count_zeros (the project's one zero test): exact zeros in every dtype, -0.0 included, NaN excluded."""

from __future__ import annotations

import pytest
import torch

from sdmspec.checkpoint.sparsity import count_zeros

VALUES = [-0.0, 0.0, float("nan"), float("inf"), 1.0, -2.0, 0.0]


@pytest.mark.parametrize(
    "dtype",
    [torch.float32, torch.float64, torch.float16, torch.bfloat16, torch.float8_e4m3fn, torch.complex64],
    ids=str,
)
def test_floating_zeros_include_negative_zero_and_exclude_nan(dtype: torch.dtype) -> None:
    tensor = torch.tensor(VALUES).to(dtype)
    assert count_zeros(tensor) == int((tensor == 0).sum()) == 3


@pytest.mark.parametrize("dtype", [torch.int8, torch.uint8, torch.int64, torch.bool], ids=str)
def test_integer_and_bool_zeros(dtype: torch.dtype) -> None:
    tensor = torch.tensor([0, 1, 0, 3, 0, 0]).to(dtype)
    assert count_zeros(tensor) == 4


def test_non_contiguous_and_empty_tensors() -> None:
    matrix = torch.tensor([[0.0, 1.0], [2.0, 0.0], [0.0, 0.0]])
    assert count_zeros(matrix.t()) == 4
    assert count_zeros(matrix[:, 1]) == 2
    assert count_zeros(torch.empty(0, 5)) == 0
