"""What this paper's pipeline adds to a spec: Mamba sizes, variants, data sets and profiling.

A spec for any paper is ``paper`` + ``config`` (+ the core's optional ``sparsity``, :mod:`sdmspec.schema.paper`);
the sections here are optional and read only by the commands that run this paper's experiment (``run``, ``job``,
``variants``, ``profile``). Each is reached through :class:`Spec`'s accessor of the same name, which raises a one-line
:class:`~sdmspec.errors.MissingSectionError` (exit 2) when the spec does not have it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from enum import Enum
from pathlib import Path
from typing import Any, Literal

from pydantic import ConfigDict, Field, model_validator

from sdmspec.schema.loading import load_spec, spec_model
from sdmspec.schema.paper import PaperSpec
from sdmspec.schema.sourced import Sourced
from sdmspec.schema.sparsity import SparsityRule, SparsitySpec

# The sparsity section is the core's (verify-sparsity reads it); this pipeline needs it too.
PipelineSection = Literal["models", "variants", "sparsity", "data", "profiling"]
PIPELINE_SECTIONS: tuple[PipelineSection, ...] = ("models", "variants", "sparsity", "data", "profiling")
__all__ = ["SparsityRule", "SparsitySpec"]  # re-exported: this pipeline's modules take every section from here


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


class Dataset(Sourced):
    """A data set as ``datasets.load_dataset(path, name)`` knows it."""

    path: str
    name: str | None = None


class PretrainData(Dataset):
    text_field: str = "text"
    train_split: str = "train"
    validation_split: str = "validation"


class FinetuneTask(Dataset):
    """A fine-tuning task: its text fields, label count (1: a regression such as STS-B), splits and metrics."""

    text_fields: tuple[str, ...] = Field(min_length=1, max_length=2)
    label_field: str = "label"
    num_labels: int = Field(ge=1)
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


def reference_problems(sections: Mapping[str, Any]) -> Iterator[tuple[tuple[str | int, ...], str]]:
    """Cross-references between the pipeline sections that do not resolve, read from the raw spec data.

    Read from the raw data (tolerating anything malformed, which validation reports) so that a spec with other
    problems still has its dangling references reported in the same run. Yields (path, message).
    """
    variants = sections.get("variants")
    if not isinstance(variants, list | tuple):
        return
    models = sections.get("models")
    sizes = set(models) if isinstance(models, Mapping) else None
    names = [v.get("name") for v in variants if isinstance(v, Mapping)]
    seen: set[object] = set()
    for index, variant in enumerate(variants):
        if not isinstance(variant, Mapping):
            continue
        name = variant.get("name")
        if name in seen:
            yield ("variants", index, "name"), f"variant name {name!r} is used twice; variant names must be unique"
        seen.add(name)
        size = variant.get("size")
        if sizes is None and size is not None:
            yield ("variants", index, "size"), "variants name model sizes, but the spec has no 'models' section"
        elif sizes is not None and size is not None and size not in sizes:
            yield ("variants", index, "size"), f"unknown size {size!r}; expected one of the models: {sorted(sizes)}"
        for field in ("init_from", "match_sparsity_of"):
            ref = variant.get(field)
            if ref is not None and ref not in names:
                yield ("variants", index, field), f"refers to unknown variant {ref!r}; expected one of {names}"


class Spec(PaperSpec):
    """A paper's spec with this pipeline's optional sections. Read a section through its accessor (``spec.models``):
    it raises :class:`~sdmspec.errors.MissingSectionError` (exit 2) naming the section when the spec lacks it."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    models_section: dict[str, ModelSize] | None = Field(default=None, alias="models")
    variants_section: tuple[Variant, ...] | None = Field(default=None, alias="variants")
    data_section: DataSpec | None = Field(default=None, alias="data")
    profiling_section: ProfilingSpec | None = Field(default=None, alias="profiling")

    @model_validator(mode="after")
    def _references_resolve(self) -> Spec:
        raw = {
            "models": self.models_section,
            "variants": [v.model_dump() for v in self.variants_section or ()] or None,
        }
        for _, message in reference_problems(raw):
            raise ValueError(message)
        return self

    @classmethod
    def section_problems(cls, sections: Mapping[str, Any]) -> Iterator[tuple[tuple[str | int, ...], str]]:
        return reference_problems(sections)

    def section_summary(self) -> list[str]:
        found = [*super().section_summary()]
        if self.has("models"):
            found.append(f"{len(self.models)} model sizes")
        if self.has("variants"):
            found.append(f"{len(self.variants)} variants")
        return found

    def section_assumptions(self) -> int:
        variants = self.variants_section or ()
        return super().section_assumptions() + sum(1 for variant in variants if variant.is_assumption)

    @property
    def models(self) -> dict[str, ModelSize]:
        """The Mamba sizes (spec section ``models``)."""
        found: dict[str, ModelSize] = self.section("models")
        return found

    @property
    def variants(self) -> tuple[Variant, ...]:
        """The model variants (spec section ``variants``)."""
        found: tuple[Variant, ...] = self.section("variants")
        return found

    @property
    def data(self) -> DataSpec:
        """The data sets and tokenizer (spec section ``data``)."""
        found: DataSpec = self.section("data")
        return found

    @property
    def profiling(self) -> ProfilingSpec:
        """The profiling tools and shapes (spec section ``profiling``)."""
        found: ProfilingSpec = self.section("profiling")
        return found

    def variant(self, name: str) -> Variant:
        """The variant called ``name``; raises KeyError listing the known names."""
        for variant in self.variants:
            if variant.name == name:
                return variant
        raise KeyError(f"unknown variant {name!r}; known: {', '.join(v.name for v in self.variants)}")


def load_mamba_spec(path: Path | None = None) -> Spec:
    """The spec at ``path`` as this pipeline reads it: with its sections (and any other installed pipeline's)."""
    model = spec_model()
    return load_spec(path, model if issubclass(model, Spec) else Spec)
