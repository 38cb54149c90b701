"""Whether a training micro-batch fits the GPU, and activation checkpointing when it would not.

The memory of a training step is the model's state (weights, gradients, AdamW's two moments: 16 bytes a parameter
in fp32) plus the activations autograd saves for the backward pass. The latter are *measured*, not modelled: a
one-layer and a two-layer model of the real width run one forward pass on the CPU at a short probe length under
``torch.autograd.graph.saved_tensors_hooks``, which see every tensor autograd keeps (each storage counted once,
parameters excluded). Their difference is one layer's share; the rest is the embedding, the final norm, the logits
and the loss. Both are lines in the number of tokens of the micro-batch (a slope, plus a constant: under autocast,
the bf16 copies of the weights), measured at two probe lengths and extrapolated to any micro-batch and length.

With activation checkpointing (transformers' ``gradient_checkpointing_enable``, per Mamba block) only each block's
input is kept, and one block's activations are rebuilt at a time during the backward pass.

mamba-ssm's fused kernels (``--scan kernels``) save little and recompute the scan themselves; they cannot run on the
CPU to be probed, so for them the estimate is not made and ``auto`` leaves checkpointing off.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mamba_sdm.models.scan import Scan, ScanChoice, apply_scan
from sdmspec.errors import SdmspecError

if TYPE_CHECKING:
    import torch

CHECKPOINTING_CHOICES = ("auto", "on", "off")
# The longer probe length (the shorter is half of it): both are powers of two, as mambapy's scan pads to one.
_PROBE_TOKENS = 128
# auto turns checkpointing on above this fraction of the GPU's memory (the allocator's fragmentation, CUDA context
# and the caching of freed blocks need the rest).
_FIT_FRACTION = 0.85
# fp32 weights, gradients and AdamW's exp_avg and exp_avg_sq.
_STATE_BYTES_PER_PARAMETER = 16
GIB = 1 << 30


@dataclass(frozen=True)
class StepMemory:
    """Bytes a training step needs on the device, without and with activation checkpointing."""

    state_bytes: int
    activation_bytes: int
    checkpointed_activation_bytes: int

    def total(self, checkpointing: bool) -> int:
        return self.state_bytes + (self.checkpointed_activation_bytes if checkpointing else self.activation_bytes)

    def record(self) -> dict[str, float]:
        return {
            "state_gib": round(self.state_bytes / GIB, 2),
            "activations_gib": round(self.activation_bytes / GIB, 2),
            "activations_checkpointed_gib": round(self.checkpointed_activation_bytes / GIB, 2),
        }


@dataclass(frozen=True)
class CheckpointingChoice:
    """Whether the job recomputes activations, what was asked for, and why."""

    requested: str
    enabled: bool
    reason: str
    estimate: StepMemory | None = None

    def record(self) -> dict[str, Any]:
        record: dict[str, Any] = {"enabled": self.enabled, "requested": self.requested, "reason": self.reason}
        if self.estimate is not None:
            record["estimate"] = self.estimate.record()
        return record


def estimate_step_memory(
    model: torch.nn.Module, micro_batch: int, seq_len: int, choice: ScanChoice, *, bf16: bool = False
) -> StepMemory:
    """The memory one training micro-batch of ``micro_batch`` x ``seq_len`` tokens needs with ``model``'s config
    (measured on the CPU at two short lengths, then extrapolated); parameters are counted from ``model`` itself."""
    config = _config_of(model)
    layer, rest = _probe(config, choice, bf16=bf16)
    tokens = micro_batch * seq_len
    layers = int(config.num_hidden_layers)
    # Each checkpointed block keeps its input: the hidden states and the fp32 residual stream.
    block_input = 2 * int(config.hidden_size) * 4
    parameters = sum(p.numel() for p in model.parameters())
    return StepMemory(
        state_bytes=parameters * _STATE_BYTES_PER_PARAMETER,
        activation_bytes=int(rest.at(tokens) + layers * layer.at(tokens)),
        checkpointed_activation_bytes=int(rest.at(tokens) + layers * block_input * tokens + layer.at(tokens)),
    )


def choose_checkpointing(
    requested: str,
    model: torch.nn.Module,
    device: torch.device,
    micro_batch: int,
    seq_len: int,
    choice: ScanChoice,
    *,
    bf16: bool = False,
) -> CheckpointingChoice:
    """Resolve ``--activation-checkpointing auto|on|off`` for a job about to train ``model`` on ``device``."""
    if requested not in CHECKPOINTING_CHOICES:
        raise SdmspecError(
            f"--activation-checkpointing must be one of {', '.join(CHECKPOINTING_CHOICES)}, got {requested!r}"
        )
    if requested != "auto":
        return CheckpointingChoice(requested, requested == "on", f"asked for (--activation-checkpointing {requested})")
    if device.type != "cuda":
        return CheckpointingChoice(requested, False, f"auto: off on {device.type} (no fixed device memory to fit)")
    if choice.path is Scan.KERNELS:
        return CheckpointingChoice(requested, False, "auto: off with mamba-ssm's kernels (they recompute the scan)")
    import torch

    available = torch.cuda.get_device_properties(device).total_memory
    estimate = estimate_step_memory(model, micro_batch, seq_len, choice, bf16=bf16)
    needed = estimate.total(checkpointing=False)
    budget = _FIT_FRACTION * available
    verdict = "on" if needed > budget else "off"
    reason = (
        f"auto: {verdict}; a {micro_batch} x {seq_len} micro-batch in {'bf16 autocast' if bf16 else 'fp32'} "
        f"needs ~{needed / GIB:.1f} GiB without it "
        f"({estimate.total(checkpointing=True) / GIB:.1f} GiB with it), {_FIT_FRACTION:.0%} of the GPU's "
        f"{available / GIB:.1f} GiB is {budget / GIB:.1f} GiB"
    )
    return CheckpointingChoice(requested, needed > budget, reason, estimate)


def enable_checkpointing(model: torch.nn.Module) -> None:
    """transformers' per-block activation checkpointing on ``model`` or the Mamba backbone inside it."""
    # The non-reentrant variant: works with parametrized (masked) weights and inputs that need no gradient.
    _transformers_model(model).gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})


def _transformers_model(model: torch.nn.Module) -> Any:
    """``model`` itself or the first transformers model inside it (a classifier wraps the Mamba backbone)."""
    from transformers import PreTrainedModel

    for module in model.modules():
        if isinstance(module, PreTrainedModel):
            return module
    raise SdmspecError(f"{type(model).__name__} holds no transformers model")


def _config_of(model: torch.nn.Module) -> Any:
    return _transformers_model(model).config


@dataclass(frozen=True)
class _Linear:
    """Saved bytes as ``per_token * tokens + fixed`` (fixed: autocast's low-precision copies of the weights)."""

    per_token: float
    fixed: float

    def at(self, tokens: int) -> float:
        return max(self.per_token * tokens + self.fixed, 0.0)


def _probe(config: Any, choice: ScanChoice, *, bf16: bool) -> tuple[_Linear, _Linear]:
    """Bytes saved for backward by one Mamba layer, and by everything else, as lines in the token count."""
    short, long = _PROBE_TOKENS // 2, _PROBE_TOKENS
    saved = {}
    for layers in (1, 2):
        probe = _probe_model(config, layers, choice)
        for tokens in (short, long):
            saved[layers, tokens] = _saved_bytes(probe, tokens, bf16=bf16)

    def line(at_short: float, at_long: float) -> _Linear:
        slope = (at_long - at_short) / (long - short)
        return _Linear(slope, at_short - slope * short)

    layer = line(saved[2, short] - saved[1, short], saved[2, long] - saved[1, long])
    rest = line(saved[1, short] - layer.at(short), saved[1, long] - layer.at(long))
    return layer, rest


def _probe_model(config: Any, layers: int, choice: ScanChoice) -> torch.nn.Module:
    """A ``layers``-deep model of ``config``'s width on the CPU, its memory left uninitialised (only shapes matter)."""
    import torch
    from transformers import MambaForCausalLM

    fields = config.to_dict()
    fields["num_hidden_layers"] = layers
    fields.pop("layer_types", None)  # derived from the layer count in the versions that have it
    with torch.device("meta"):
        model = MambaForCausalLM(type(config)(**fields))
    model = model.to_empty(device="cpu")
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.zero_()  # uninitialised memory may hold NaNs; zeros make every path's arithmetic ordinary
    # The kernels cannot run on the CPU; their estimate is not used (see choose_checkpointing).
    probe_choice = choice if choice.path is not Scan.KERNELS else ScanChoice(choice.requested, Scan.PARALLEL, "")
    apply_scan(model, probe_choice)
    model.train()
    return model


def _saved_bytes(model: torch.nn.Module, tokens: int, *, bf16: bool) -> int:
    """Bytes of the tensors autograd saves in one forward pass of ``tokens`` tokens (storages counted once)."""
    import torch

    parameters = {p.untyped_storage().data_ptr() for p in model.parameters()}
    storages: dict[int, int] = {}

    def pack(tensor: torch.Tensor) -> torch.Tensor:
        storage = tensor.untyped_storage()
        if storage.data_ptr() not in parameters:
            storages[storage.data_ptr()] = storage.nbytes()
        return tensor

    ids = torch.zeros((1, tokens), dtype=torch.long)
    with (
        torch.autograd.graph.saved_tensors_hooks(pack, lambda tensor: tensor),
        torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16),
    ):
        loss = model(input_ids=ids, labels=ids).loss
    del loss
    return sum(storages.values())
