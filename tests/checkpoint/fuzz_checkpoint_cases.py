"""Mutated checkpoints for fuzzing verify-sparsity's readers: a small safetensors file and a small torch.save ZIP
archive, with bytes replaced, inserted or cut.

Used by ``tests/checkpoint/test_fuzz_readers.py`` (a small budget) and ``benchmarks/fuzz_hostile.py`` (long runs).
The property: reading and counting either succeeds or raises :class:`~sdmspec.errors.CheckpointError` (one line,
exit 2); nothing else escapes, nothing hangs, nothing allocates past the stated bounds.
"""

from __future__ import annotations

import functools
import io
from pathlib import Path

import torch
from hypothesis import strategies as st
from safetensors.torch import save

from sdmspec.checkpoint.load import checkpoint_sparsity
from sdmspec.errors import SdmspecError
from sdmspec.schema import SparsitySpec

PRUNABLE = ("backbone.layers.0.mixer.in_proj.weight", "backbone.layers.0.mixer.out_proj.weight")


def _state() -> dict[str, torch.Tensor]:
    weight = torch.arange(24, dtype=torch.float32).reshape(4, 6) % 3
    half = weight.to(torch.float16).t().contiguous()
    return {PRUNABLE[0]: weight, PRUNABLE[1]: half, "lm_head.weight": weight.clone()}


@functools.cache
def seeds() -> tuple[bytes, bytes]:
    """The bytes of a valid safetensors file and of a valid torch.save archive of the same small state dict."""
    buffer = io.BytesIO()
    torch.save(_state(), buffer)
    return save(_state()), buffer.getvalue()


@st.composite
def mutated(draw: st.DrawFn, seed: bytes) -> bytes:
    data = bytearray(seed)
    for _ in range(draw(st.integers(0, 6))):
        where = draw(st.integers(0, max(len(data) - 1, 0)))
        action = draw(st.sampled_from(("replace", "insert", "delete", "cut")))
        chunk = draw(st.binary(min_size=1, max_size=8))
        if action == "replace":
            data[where : where + len(chunk)] = chunk
        elif action == "insert":
            data[where:where] = chunk
        elif action == "delete":
            del data[where : where + len(chunk)]
        else:
            del data[where:]
    return bytes(data)


def mutated_checkpoints() -> st.SearchStrategy[tuple[str, bytes]]:
    safetensors_bytes, torch_bytes = seeds()
    return st.one_of(
        mutated(safetensors_bytes).map(lambda data: ("model.safetensors", data)),
        mutated(torch_bytes).map(lambda data: ("model.pt", data)),
    )


def check_reader(folder: Path, name: str, data: bytes, sparsity: SparsitySpec) -> None:
    path = folder / name
    path.write_bytes(data)
    try:
        count, _ = checkpoint_sparsity(path, sparsity)
    except SdmspecError as err:
        assert "\n" not in str(err), str(err)
        return
    for layer in count.layers:
        assert 0 <= layer.zeros <= layer.numel
