"""The reference spec: the paper's experimental setup as typed, source-cited data.

Pydantic sits at this boundary only (spec files in, frozen models out). Every section carries ``source``: the words
of the experimental description it comes from, or "assumption" for values we had to choose and must confirm.
"""

from __future__ import annotations

import re
from enum import Enum

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from sdmspec.schema.setting import Setting

_FROZEN = ConfigDict(extra="forbid", frozen=True)


class Sourced(BaseModel):
    """Base for spec records: every one says where it comes from."""

    model_config = _FROZEN

    source: str = Field(min_length=1)

    @property
    def is_assumption(self) -> bool:
        return self.source.strip().lower().startswith("assumption")


class PaperInfo(Sourced):
    title: str
    description: str = ""


class RuleKind(str, Enum):
    DIVIDES = "divides"


class Rule(Sourced):
    """A cross-field rule between settings, e.g. the micro-batch must divide the batch size."""

    kind: RuleKind
    divisor: str
    dividend: str


class ModelSize(Sourced):
    """A Mamba size as Hugging Face's MambaConfig describes it; ``params`` is the expected full-size count."""

    hf_name: str
    d_model: int = Field(gt=0)
    n_layer: int = Field(gt=0)
    vocab_size: int = Field(gt=0)
    d_state: int = Field(default=16, gt=0)
    expand: int = Field(default=2, gt=0)
    d_conv: int = Field(default=4, gt=0)
    params: int = Field(gt=0)


class Method(str, Enum):
    DENSE = "dense"
    SDM = "sdm"
    CHALLENGE = "challenge"
    RANDOM = "random"


class Variant(Sourced):
    """One of the paper's model variants. Pruned baselines name the SDM model whose sparsity they must match."""

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9.-]*$")
    size: str
    method: Method
    target_sparsity: float = Field(ge=0.0, lt=1.0)
    # challenge/random: pruned from `init_from` (the dense model) to the per-layer zeros of `match_sparsity_of`.
    init_from: str | None = None
    match_sparsity_of: str | None = None

    @model_validator(mode="after")
    def _baselines_name_their_references(self) -> Variant:
        is_baseline = self.method in (Method.CHALLENGE, Method.RANDOM)
        if is_baseline and (self.init_from is None or self.match_sparsity_of is None):
            raise ValueError(f"{self.name}: a {self.method.value} variant needs init_from and match_sparsity_of")
        if self.method is Method.DENSE and self.target_sparsity != 0.0:
            raise ValueError(f"{self.name}: a dense variant has target_sparsity 0")
        return self


class SparsityRule(Sourced):
    """How iso-sparsity is judged: zero counts compared globally (and per layer when asked), within a tolerance."""

    tolerance: int = Field(default=0, ge=0, description="Largest allowed difference in zero counts.")
    per_layer: bool = False


class SparsitySpec(Sourced):
    """The prunable set (regexes searched in canonical parameter names) and the iso-sparsity rule."""

    prunable: tuple[str, ...] = Field(min_length=1)
    target: float = Field(ge=0.0, lt=1.0)
    target_source: str = Field(min_length=1)
    # Warn when a checkpoint's sparsity is further than this from the target.
    target_tolerance: float = Field(default=0.005, ge=0.0)
    rule: SparsityRule

    @field_validator("prunable")
    @classmethod
    def _patterns_compile(cls, patterns: tuple[str, ...]) -> tuple[str, ...]:
        for pattern in patterns:
            try:
                re.compile(pattern)
            except re.error as err:
                raise ValueError(f"prunable pattern {pattern!r} is not a regular expression: {err}") from err
        return patterns

    def is_prunable(self, name: str) -> bool:
        """Whether a canonical parameter name (``backbone.layers.0.mixer.in_proj.weight``) is in the prunable set."""
        return any(re.search(pattern, name) for pattern in self.prunable)


class Dataset(Sourced):
    """A data set as ``datasets.load_dataset(path, name)`` knows it."""

    path: str
    name: str | None = None


class PretrainData(Dataset):
    text_field: str = "text"
    train_split: str = "train"
    validation_split: str = "validation"


class FinetuneTask(Dataset):
    """A GLUE task: its text fields, label count, validation splits and metrics."""

    text_fields: tuple[str, ...] = Field(min_length=1, max_length=2)
    label_field: str = "label"
    num_labels: int = Field(gt=1)
    train_split: str = "train"
    validation_splits: tuple[str, ...] = ("validation",)
    metrics: tuple[str, ...] = ("accuracy",)


class DataSpec(Sourced):
    pretrain: PretrainData
    tokenizer: str
    tokenizer_source: str = Field(min_length=1)
    finetune: dict[str, FinetuneTask] = Field(min_length=1)


class ProfilingSpec(Sourced):
    flops_tool: str
    latency_tool: str
    batch_sizes: tuple[int, ...] = Field(min_length=1)
    seq_lens: tuple[int, ...] = Field(min_length=1)
    shape_source: str = Field(min_length=1, description="Where the batch sizes and sequence lengths come from.")


class Spec(BaseModel):
    """The whole reference spec. ``settings`` is the flattened ``config`` tree, keyed by dotted path."""

    model_config = _FROZEN

    paper: PaperInfo
    settings: dict[str, Setting]
    rules: tuple[Rule, ...] = ()
    models: dict[str, ModelSize]
    variants: tuple[Variant, ...]
    sparsity: SparsitySpec
    data: DataSpec
    profiling: ProfilingSpec
    # sha256 of the spec's canonical JSON, set by the loader: ties run records to the exact spec.
    digest: str = ""

    @model_validator(mode="after")
    def _references_resolve(self) -> Spec:
        names = {variant.name for variant in self.variants}
        if len(names) != len(self.variants):
            raise ValueError("variant names must be unique")
        for variant in self.variants:
            if variant.size not in self.models:
                raise ValueError(
                    f"variant {variant.name}: unknown size {variant.size!r} (models: {sorted(self.models)})"
                )
            for ref in (variant.init_from, variant.match_sparsity_of):
                if ref is not None and ref not in names:
                    raise ValueError(f"variant {variant.name}: refers to unknown variant {ref!r}")
        for rule in self.rules:
            for key in (rule.divisor, rule.dividend):
                if key not in self.settings:
                    raise ValueError(f"rule refers to unknown setting {key!r}")
        return self

    @property
    def sections(self) -> frozenset[str]:
        """Every mapping path the config tree defines ("training", "training.pretrain", ...): lint knows their keys."""
        found: set[str] = set()
        for key in self.settings:
            parts = key.split(".")
            found.update(".".join(parts[:i]) for i in range(1, len(parts)))
        return frozenset(found)

    def variant(self, name: str) -> Variant:
        """The variant called ``name``; raises KeyError listing the known names."""
        for variant in self.variants:
            if variant.name == name:
                return variant
        raise KeyError(f"unknown variant {name!r}; known: {', '.join(v.name for v in self.variants)}")
