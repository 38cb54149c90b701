"""The project's one sparsity count: verify-sparsity, the SDM trainer and the challenge builder all call it.

What counts: only parameters in the spec's prunable set (regexes over canonical names); an element is pruned when
it is exactly zero (negative zero included, since -0.0 == 0 in IEEE arithmetic), in any dtype. Two dtypes need care:
float8 E8M0 (``float8_e8m0fnu``, the MX formats' scales) has no zero at all (byte 0x00 is 2^-127), so none of its
elements is pruned; float4 E2M1 (``float4_e2m1fn_x2``) packs two elements per byte, each counted (its zeros are the
nibbles 0x0 and 0x8).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sdmspec.schema import SparsitySpec

if TYPE_CHECKING:
    import torch

# DistributedDataParallel (and torch.compile's OptimizedModule) wrap names in these prefixes.
_WRAPPER_PREFIXES = ("module.", "_orig_mod.")
# mamba_ssm names the embedding `backbone.embedding`, Hugging Face `backbone.embeddings`.
_MAMBA_SSM_EMBEDDING = re.compile(r"^backbone\.embedding\.")


def canonical_name(name: str) -> str:
    """A parameter name in Hugging Face Mamba's layout, with wrapper prefixes removed."""
    stripped = True
    while stripped:
        stripped = False
        for prefix in _WRAPPER_PREFIXES:
            if name.startswith(prefix):
                name = name[len(prefix) :]
                stripped = True
    return _MAMBA_SSM_EMBEDDING.sub("backbone.embeddings.", name)


def layer_name(param_name: str) -> str:
    """The layer a parameter belongs to, as reports name it (``backbone.layers.0.mixer.in_proj``)."""
    return param_name.removesuffix(".weight")


@dataclass(frozen=True)
class LayerCount:
    """Zeros in one prunable parameter."""

    name: str
    shape: tuple[int, ...]
    numel: int
    zeros: int

    @property
    def sparsity(self) -> float:
        return self.zeros / self.numel if self.numel else 0.0


@dataclass(frozen=True)
class SparsityCount:
    """Zeros over the prunable set, per layer and in total."""

    layers: tuple[LayerCount, ...]

    @property
    def numel(self) -> int:
        return sum(layer.numel for layer in self.layers)

    @property
    def zeros(self) -> int:
        return sum(layer.zeros for layer in self.layers)

    @property
    def sparsity(self) -> float:
        return self.zeros / self.numel if self.numel else 0.0

    def by_name(self) -> dict[str, LayerCount]:
        return {layer.name: layer for layer in self.layers}


def count_zeros(tensor: torch.Tensor) -> int:
    """Exact zeros in a tensor of any dtype, on the tensor's device; -0.0 counts (it compares equal to 0), NaN does
    not. Off the CPU the count is one kernel and one host sync per tensor."""
    packed = _special_dtypes().get(tensor.dtype)
    if packed == "no-zero":
        return 0
    if packed == "float4x2":
        return _count_float4_zeros(tensor)
    if tensor.device.type != "cpu":
        # count_nonzero tests `x != 0`, so -0.0 is a zero and NaN is not; a GPU has no branch predictor to defeat.
        return tensor.numel() - int(torch_count_nonzero(tensor))
    bits = _sign_free_bits().get(tensor.dtype)
    if bits is not None:
        return _count_float_zeros(tensor, *bits)
    return tensor.numel() - torch_count_nonzero(tensor)


# Elements per pass in _count_float_zeros. At torch's intra-op grain size (32768) each op runs on the calling thread:
# the count is memory-bound, and splitting a small op across threads made it up to 100x slower when another process
# kept a core busy. The masked copy (128 KiB for fp32) stays in cache.
_CHUNK = 1 << 15


@functools.cache
def _special_dtypes() -> dict[torch.dtype, str]:
    """Dtypes whose zeros are not ``x == 0`` on the stored element (absent from older torch builds)."""
    import torch

    found: dict[torch.dtype, str] = {}
    if hasattr(torch, "float8_e8m0fnu"):
        found[torch.float8_e8m0fnu] = "no-zero"
    if hasattr(torch, "float4_e2m1fn_x2"):
        found[torch.float4_e2m1fn_x2] = "float4x2"
    return found


def logical_numel(tensor: torch.Tensor) -> int:
    """Elements a tensor holds: two per stored element for packed float4."""
    return tensor.numel() * (2 if _special_dtypes().get(tensor.dtype) == "float4x2" else 1)


def _count_float4_zeros(tensor: torch.Tensor) -> int:
    # Two E2M1 values per byte, sign in each nibble's top bit: a value is zero when its three low bits are 0.
    import torch

    raw = tensor.reshape(-1).view(torch.uint8)
    low = int(torch.count_nonzero(torch.bitwise_and(raw, 0x07)).item())
    high = int(torch.count_nonzero(torch.bitwise_and(raw, 0x70)).item())
    return 2 * raw.numel() - low - high


@functools.cache
def _sign_free_bits() -> dict[torch.dtype, tuple[torch.dtype, int]]:
    """Float dtype -> (integer dtype of the same width, mask clearing the sign bit)."""
    import torch

    return {
        torch.float16: (torch.int16, 0x7FFF),
        torch.bfloat16: (torch.int16, 0x7FFF),
        torch.float32: (torch.int32, 0x7FFFFFFF),
        torch.float64: (torch.int64, 0x7FFFFFFFFFFFFFFF),
    }


def torch_count_nonzero(tensor: torch.Tensor) -> int:
    """Non-zero elements, for dtypes without a count_nonzero kernel (float8) through ``tensor != 0``."""
    try:
        return int(tensor.count_nonzero().item())
    except (RuntimeError, NotImplementedError):
        pass
    try:
        return int((tensor != 0).sum().item())
    except (RuntimeError, NotImplementedError, TypeError):
        from sdmspec.errors import CheckpointError

        raise CheckpointError(
            f"cannot count zeros in a tensor of dtype {tensor.dtype}: torch has no comparison for it"
        ) from None


def _count_float_zeros(tensor: torch.Tensor, bits_dtype: torch.dtype, sign_free: int) -> int:
    # An IEEE float is zero (+0.0 or -0.0) exactly when its bits with the sign cleared are all 0; NaN and infinities
    # are not. Counting on the bits is branch-free: on CPU, `x == 0` or a float count_nonzero over pruned weights
    # (zeros at random positions) runs ~25x slower, held back by branch mispredictions rather than memory bandwidth.
    import torch

    flat = tensor.reshape(-1).view(bits_dtype)
    scratch = torch.empty(min(_CHUNK, flat.numel()), dtype=bits_dtype, device=tensor.device)
    nonzero = 0
    for start in range(0, flat.numel(), _CHUNK):
        part = flat[start : start + _CHUNK]
        masked = scratch[: part.numel()]
        torch.bitwise_and(part, sign_free, out=masked)
        nonzero += int(masked.count_nonzero().item())
    return flat.numel() - nonzero


def count_layer(name: str, tensor: torch.Tensor) -> LayerCount:
    """The count for one prunable tensor, named by its layer."""
    return LayerCount(
        name=layer_name(name), shape=tuple(tensor.shape), numel=logical_numel(tensor), zeros=count_zeros(tensor)
    )


def count_sparsity(named_tensors: Iterable[tuple[str, torch.Tensor]], spec: SparsitySpec) -> SparsityCount:
    """Count zeros over the tensors whose canonical name is in the prunable set; others are ignored.

    ``named_tensors`` may be a generator that loads one tensor at a time: nothing is kept but the counts.
    """
    layers = []
    for name, tensor in named_tensors:
        canonical = canonical_name(name)
        if spec.is_prunable(canonical):
            layers.append(count_layer(canonical, tensor))
    return SparsityCount(layers=tuple(sorted(layers, key=lambda layer: _natural_key(layer.name))))


def effective_parameters(model: torch.nn.Module) -> Iterable[tuple[str, torch.Tensor]]:
    """The weights a model computes with, by name: through torch.nn.utils.prune (weight_orig * weight_mask) and
    torch.nn.utils.parametrize (the parametrized value), so a masked model is counted as it runs."""
    import torch

    for module_name, module in model.named_modules():
        prefix = f"{module_name}." if module_name else ""
        names = set(module._parameters)
        parametrized = getattr(module, "parametrizations", None)
        if parametrized is not None:
            names.update(parametrized.keys())
        for attr in sorted(names):
            # prune keeps the dense tensor as `<attr>_orig` and the masked one as a plain attribute `<attr>`.
            attr = attr.removesuffix("_orig")
            value = getattr(module, attr, None)
            if isinstance(value, torch.Tensor):
                yield f"{prefix}{attr}", value.detach()


def model_sparsity(model: torch.nn.Module, spec: SparsitySpec) -> SparsityCount:
    """:func:`count_sparsity` over a live model's effective weights."""
    return count_sparsity(effective_parameters(model), spec)


def _natural_key(name: str) -> list[object]:
    # layers.2 before layers.10
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name)]
