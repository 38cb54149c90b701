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


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.float16, torch.bfloat16], ids=str)
def test_many_chunks_agree_with_the_definition(dtype: torch.dtype) -> None:
    gen = torch.Generator().manual_seed(0)
    values = torch.randn(3 * 32768 + 17, generator=gen)
    pick = torch.randperm(values.numel(), generator=gen)
    values[pick[:40000]] = 0.0
    values[pick[40000:50000]] = -0.0
    values[pick[50000:50100]] = float("nan")
    values[pick[50100:50200]] = float("-inf")
    tensor = values.to(dtype)
    assert count_zeros(tensor) == int((tensor == 0).sum()) == 50000
    strided = tensor.view(-1)[: 3 * 32768].view(3, 32768).t()  # not contiguous
    assert count_zeros(strided) == int((strided == 0).sum())
