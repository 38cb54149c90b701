"""Small Mamba-shaped state dicts built on the fly (Hugging Face names, the smoke model's shapes)."""

from __future__ import annotations

import os

# Before transformers is imported (by build_model in some tests): nothing may wait on hub retries.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")

from pathlib import Path

import torch

D_MODEL, D_INNER, D_STATE, DT_RANK, VOCAB, N_LAYER = 64, 128, 8, 4, 512, 2
PROJECTIONS = ("in_proj", "x_proj", "dt_proj", "out_proj")


def mamba_state(seed: int = 0, n_layer: int = N_LAYER, dtype: torch.dtype = torch.float32) -> dict[str, torch.Tensor]:
    """A dense state dict with HF Mamba's names and shapes; no element is zero (values are shifted away from 0)."""
    gen = torch.Generator().manual_seed(seed)

    def dense(*shape: int) -> torch.Tensor:
        values = torch.rand(*shape, generator=gen) + 0.5
        return values.to(dtype)

    state = {"backbone.embeddings.weight": dense(VOCAB, D_MODEL)}
    for i in range(n_layer):
        block = f"backbone.layers.{i}"
        state.update(
            {
                f"{block}.norm.weight": dense(D_MODEL),
                f"{block}.mixer.A_log": dense(D_INNER, D_STATE),
                f"{block}.mixer.D": dense(D_INNER),
                f"{block}.mixer.conv1d.weight": dense(D_INNER, 1, 4),
                f"{block}.mixer.conv1d.bias": dense(D_INNER),
                f"{block}.mixer.in_proj.weight": dense(2 * D_INNER, D_MODEL),
                f"{block}.mixer.x_proj.weight": dense(DT_RANK + 2 * D_STATE, D_INNER),
                f"{block}.mixer.dt_proj.weight": dense(D_INNER, DT_RANK),
                f"{block}.mixer.dt_proj.bias": dense(D_INNER),
                f"{block}.mixer.out_proj.weight": dense(D_MODEL, D_INNER),
            }
        )
    state["backbone.norm_f.weight"] = dense(D_MODEL)
    state["lm_head.weight"] = dense(VOCAB, D_MODEL)
    return state


def prunable_names(state: dict[str, torch.Tensor]) -> list[str]:
    return [name for name in state if any(f".mixer.{proj}.weight" in name for proj in PROJECTIONS)]


def zero_fraction(state: dict[str, torch.Tensor], fraction: float, seed: int) -> dict[str, torch.Tensor]:
    """Zero exactly floor(numel * fraction) entries of every prunable tensor, at positions chosen by ``seed``."""
    gen = torch.Generator().manual_seed(seed)
    out = dict(state)
    for name in prunable_names(state):
        flat = state[name].clone().flatten()
        flat[torch.randperm(flat.numel(), generator=gen)[: int(flat.numel() * fraction)]] = 0
        out[name] = flat.view_as(state[name])
    return out


def zero_more(state: dict[str, torch.Tensor], name: str, count: int = 1) -> dict[str, torch.Tensor]:
    """Zero ``count`` more entries of ``name`` (its first non-zero ones)."""
    out = dict(state)
    flat = state[name].clone().flatten()
    nonzero = flat.nonzero().flatten()[:count]
    flat[nonzero] = 0
    out[name] = flat.view_as(state[name])
    return out


def unzero(state: dict[str, torch.Tensor], name: str, count: int = 1) -> dict[str, torch.Tensor]:
    """Set ``count`` zero entries of ``name`` back to a non-zero value."""
    out = dict(state)
    flat = state[name].clone().flatten()
    flat[(flat == 0).nonzero().flatten()[:count]] = 1
    out[name] = flat.view_as(state[name])
    return out


def save(obj: object, path: Path) -> Path:
    torch.save(obj, path)
    return path
