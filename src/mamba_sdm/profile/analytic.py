"""The closed-form FLOP count of a Mamba language model, dense and effective (zeros skipped).

Per layer and token, with d = d_model, E = expand, D_in = E*d, R = dt_rank (ceil(d/16)), N = d_state, K = d_conv,
the weights of mamba_simple.py's block (and of transformers' MambaMixer) each do one multiply-add per element:

    in_proj   d -> 2*D_in          2*E*d^2 MACs
    conv1d    depthwise, width K   D_in*K = E*d*K MACs
    x_proj    D_in -> R + 2N       E*d*(R + 2N) MACs
    dt_proj   R -> D_in            R*D_in = E*d*R MACs
    out_proj  D_in -> d            E*d^2 MACs
                                   ---------------------------------
                                   3*E*d^2 + E*d*(K + 2R + 2N) MACs

FLOPs = 2 * MACs (one multiply and one add). The selective scan adds about 9*D_in*N FLOPs per layer and token (the
figure the Mamba authors give in state-spaces/mamba#110: discretising A and B, the state update and the read-out
with C), counted in FLOPs directly, not doubled. The tied LM head adds d*vocab MACs per token, once. Not counted:
embedding lookups (no arithmetic), RMSNorm, SiLU, softplus, the gate and the D skip (O(d) elementwise work per
token, under 0.1% of the total at full size). Every term is linear in the number of tokens, batch * seq_len.

Effective FLOPs scale each prunable weight's term by its fraction of non-zeros: every weight of a Mamba model is
used exactly once per token, so a weight with z zeros out of n elements does (n - z) useful MACs per token, wherever
its zeros sit. Two models with the same zero counts therefore get the same effective FLOPs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

# The Mamba authors' per-(channel, state) FLOPs of the selective scan, state-spaces/mamba#110.
SCAN_FLOPS_PER_CHANNEL_STATE = 9


@dataclass(frozen=True)
class MambaShape:
    """The dimensions the FLOP formula needs; ``dt_rank`` is R (MambaConfig's ``time_step_rank``)."""

    d_model: int
    n_layer: int
    vocab_size: int
    d_state: int
    expand: int
    d_conv: int
    dt_rank: int

    @property
    def d_inner(self) -> int:
        return self.expand * self.d_model

    @classmethod
    def from_config(cls, config: Any) -> MambaShape:
        """The shape of a transformers ``MambaConfig`` (read from a checkpoint's config.json or built from the spec)."""
        return cls(
            d_model=int(config.hidden_size),
            n_layer=int(config.num_hidden_layers),
            vocab_size=int(config.vocab_size),
            d_state=int(config.state_size),
            expand=int(config.expand),
            d_conv=int(config.conv_kernel),
            dt_rank=int(config.time_step_rank),
        )


@dataclass(frozen=True)
class WeightTerm:
    """One weight's work: ``macs_per_token`` multiply-adds for every token (its element count)."""

    name: str
    macs_per_token: int
    kind: str  # "matmul" (Linear and the LM head) or "conv" (the depthwise conv1d)


def weight_terms(shape: MambaShape) -> tuple[WeightTerm, ...]:
    """Every weight's MACs per token, named as Hugging Face names the parameter (so the spec's prunable set applies)."""
    d, d_in, r, n = shape.d_model, shape.d_inner, shape.dt_rank, shape.d_state
    terms: list[WeightTerm] = []
    for layer in range(shape.n_layer):
        prefix = f"backbone.layers.{layer}.mixer."
        terms += [
            WeightTerm(prefix + "in_proj.weight", d * 2 * d_in, "matmul"),
            WeightTerm(prefix + "conv1d.weight", d_in * shape.d_conv, "conv"),
            WeightTerm(prefix + "x_proj.weight", d_in * (r + 2 * n), "matmul"),
            WeightTerm(prefix + "dt_proj.weight", r * d_in, "matmul"),
            WeightTerm(prefix + "out_proj.weight", d_in * d, "matmul"),
        ]
    terms.append(WeightTerm("lm_head.weight", d * shape.vocab_size, "matmul"))
    return tuple(terms)


def block_macs_per_token(shape: MambaShape) -> int:
    """The closed formula 3*E*d^2 + E*d*(K + 2R + 2N): one layer's weight MACs per token."""
    e, d = shape.expand, shape.d_model
    return 3 * e * d * d + e * d * (shape.d_conv + 2 * shape.dt_rank + 2 * shape.d_state)


@dataclass(frozen=True)
class AnalyticFlops:
    """The analytic count for ``tokens`` tokens, by part. ``*_macs`` are multiply-adds; ``scan_flops`` are FLOPs."""

    tokens: int
    projection_macs: int  # in_proj, x_proj, dt_proj, out_proj over all layers
    conv_macs: int
    lm_head_macs: int
    scan_flops: int

    @property
    def weight_macs(self) -> int:
        return self.projection_macs + self.conv_macs + self.lm_head_macs

    @property
    def total_flops(self) -> int:
        """2 FLOPs per multiply-add of every weight, plus the scan's FLOPs."""
        return 2 * self.weight_macs + self.scan_flops

    def to_json(self) -> dict[str, int]:
        return {
            "tokens": self.tokens,
            "projection_macs": self.projection_macs,
            "conv_macs": self.conv_macs,
            "lm_head_macs": self.lm_head_macs,
            "scan_flops": self.scan_flops,
            "total_flops": self.total_flops,
        }


def analytic_flops(shape: MambaShape, tokens: int) -> AnalyticFlops:
    """The dense count for ``tokens`` = batch * seq_len tokens."""
    per_layer_block = block_macs_per_token(shape)
    conv = shape.n_layer * shape.d_inner * shape.d_conv
    lm_head = shape.d_model * shape.vocab_size
    scan = shape.n_layer * SCAN_FLOPS_PER_CHANNEL_STATE * shape.d_inner * shape.d_state
    return AnalyticFlops(
        tokens=tokens,
        projection_macs=tokens * (shape.n_layer * per_layer_block - conv),
        conv_macs=tokens * conv,
        lm_head_macs=tokens * lm_head,
        scan_flops=tokens * scan,
    )


def effective_flops(shape: MambaShape, tokens: int, density: Callable[[str], Fraction]) -> int:
    """The analytic count with each weight's MACs scaled by ``density(name)``, its fraction of non-zeros (1 for a
    weight that is not pruned). The scan's FLOPs do not depend on any weight's zeros and stay as they are."""
    dense = analytic_flops(shape, tokens)
    # Exact rational arithmetic: float rounding must not tell two iso-sparse models apart.
    weight_macs = sum((term.macs_per_token * density(term.name) for term in weight_terms(shape)), Fraction(0))
    return round(2 * tokens * weight_macs) + dense.scan_flops


def densities_from_counts(counts: Mapping[str, tuple[int, int]]) -> Callable[[str], Fraction]:
    """A density function from per-weight ``(numel, zeros)`` counts keyed by layer name (``...mixer.in_proj``).

    The LM head is tied to the embedding: it has the embedding's zeros when the embedding is counted.
    """

    def density(name: str) -> Fraction:
        layer = name.removesuffix(".weight")
        if layer == "lm_head" and layer not in counts:
            layer = "backbone.embeddings"
        if layer not in counts or not counts[layer][0]:
            return Fraction(1)
        numel, zeros = counts[layer]
        return Fraction(numel - zeros, numel)

    return density
