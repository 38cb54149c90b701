"""The setup document's parts for this paper's pipeline sections (data, models and variants, sparsity, profiling).

Each part is rendered only when the spec has its section: a spec for another paper gets none of them.
"""

from __future__ import annotations

from collections.abc import Callable

from mamba_sdm.spec import PipelineSection, Spec
from sdmspec.docs.render import DocParts
from sdmspec.docs.text import is_assumption, sourced, table, without_prefix
from sdmspec.schema import PaperSpec

# Where Phase A starts (pretrained: the sizes' checkpoints; scratch: random weights), said under the sizes too.
INIT_SETTING = "training.pretrain.init"


def _data(spec: Spec) -> list[str]:
    data = spec.data
    pretrain = data.pretrain
    lines = ["## Data", "", f"Source: {sourced(data.source)}", ""]
    lines += [
        f"- Pre-training: `{pretrain.path}` / `{pretrain.name}` (text field `{pretrain.text_field}`, splits "
        f"`{pretrain.train_split}` and `{pretrain.validation_split}`). Source: {sourced(pretrain.source)}",
        f"- Tokenizer: `{data.tokenizer}`. Source: {sourced(data.tokenizer_source)}",
        "",
        "### Fine-tuning tasks",
        "",
    ]
    rows = [
        (
            name,
            f"`{task.path}` / `{task.name}`",
            ", ".join(task.text_fields),
            task.num_labels,
            ", ".join(task.validation_splits),
            ", ".join(task.metrics),
            sourced(task.source),
        )
        for name, task in data.finetune.items()
    ]
    return lines + table(("Task", "Dataset", "Text fields", "Labels", "Validation", "Metrics", "Source"), rows)


def _models(spec: Spec) -> list[str]:
    lines = ["## Models and variants", ""]
    size_rows = [
        (size, f"`{m.hf_name}`", m.d_model, m.n_layer, m.vocab_size, m.d_state, m.expand, m.d_conv, f"{m.params:,}")
        for size, m in spec.models.items()
    ]
    headers = ("Size", "Checkpoint", "d_model", "Layers", "Vocabulary", "d_state", "Expand", "d_conv", "Parameters")
    lines += table(headers, size_rows)
    lines += [f"Sources: {'; '.join(f'{size}: {sourced(m.source)}' for size, m in spec.models.items())}.", ""]
    init = spec.settings.get(INIT_SETTING)
    if init is not None:
        value = init.expected_value()
        start = "each size's checkpoint above" if value == "pretrained" else "random weights"
        lines += [f"Phase A starts from {start} (`{INIT_SETTING}`: `{value}`). Source: {sourced(init.source)}", ""]
    lines += [f"### Variants ({len(spec.variants)})", ""]
    rows = [
        (
            f"`{v.name}`",
            v.size,
            v.method.value,
            f"{v.target_sparsity:g}",
            v.init_from or "",
            v.match_sparsity_of or "",
            sourced(v.source),
        )
        for v in spec.variants
    ]
    return lines + table(("Variant", "Size", "Method", "Target sparsity", "From", "Matches", "Source"), rows)


def _sparsity(spec: Spec) -> list[str]:
    sparsity = spec.sparsity
    rule = sparsity.rule
    judged = "per layer and globally" if rule.per_layer else "globally"
    within = "exactly" if rule.tolerance == 0 else f"within {rule.tolerance} zero(s)"
    return [
        "## Sparsity",
        "",
        f"- Prunable set ({sourced(sparsity.source)}): parameters whose canonical name matches "
        + ", ".join(f"`{pattern}`" for pattern in sparsity.prunable)
        + ". Everything else is dense and not counted.",
        f"- Target sparsity: {sparsity.target:g} (±{sparsity.target_tolerance:g}). Source: "
        f"{sourced(sparsity.target_source)}",
        f"- Iso-sparsity rule: a baseline's zero count over the prunable set must equal its SDM model's, "
        f"{judged}, {within}. Source: {sourced(rule.source)}",
        "",
    ]


def _profiling(spec: Spec) -> list[str]:
    profiling = spec.profiling
    lines = [
        "## Profiling",
        "",
        f"- FLOPs: {profiling.flops_tool}; latency: {profiling.latency_tool}. Source: {sourced(profiling.source)}",
        f"- Shapes: batch sizes {', '.join(map(str, profiling.batch_sizes))}; sequence lengths "
        f"{', '.join(map(str, profiling.seq_lens))}. Source: {sourced(profiling.shape_source)}",
    ]
    if profiling.flops_tool == "fvcore":
        lines.append(
            "- Counting convention: fvcore counts one multiply-add as one FLOP (torch's FlopCounterMode counts two), "
            "and shape-based counters ignore zeros: sparse FLOPs are derived from the non-zero count."
        )
    return [*lines, ""]


_SECTION_PARTS: tuple[tuple[PipelineSection, Callable[[Spec], list[str]]], ...] = (
    ("data", _data),
    ("models", _models),
    ("sparsity", _sparsity),
    ("profiling", _profiling),
)


def pipeline_parts(spec: PaperSpec) -> list[str]:
    """The pipeline sections the spec has, in document order."""
    if not isinstance(spec, Spec):
        return []
    lines: list[str] = []
    for section, part in _SECTION_PARTS:
        if spec.has(section):
            lines += part(spec)
    return lines


def pipeline_assumptions(spec: PaperSpec) -> list[str]:
    """The pipeline sections' values marked as assumptions, as list items."""
    if not isinstance(spec, Spec):
        return []
    found: list[str] = []
    if spec.has("models"):
        found += [f"- model `{size}`: {without_prefix(m.source)}" for size, m in spec.models.items() if m.is_assumption]
    if spec.has("variants"):
        found += [f"- variant `{v.name}`: {without_prefix(v.source)}" for v in spec.variants if v.is_assumption]
    sources: list[tuple[str, str]] = []
    if spec.has("sparsity"):
        sparsity = spec.sparsity
        sources += [
            ("sparsity: prunable set", sparsity.source),
            ("sparsity: target", sparsity.target_source),
            ("sparsity: iso-sparsity rule", sparsity.rule.source),
        ]
    if spec.has("data"):
        sources.append(("data: tokenizer", spec.data.tokenizer_source))
    if spec.has("profiling"):
        sources += [("profiling: tools", spec.profiling.source), ("profiling: shapes", spec.profiling.shape_source)]
    found += [f"- {where}: {without_prefix(source)}" for where, source in sources if is_assumption(source)]
    return found


# What the core's setup document takes from this pipeline (Pipeline.setup_doc).
PARTS = DocParts(parts=pipeline_parts, assumptions=pipeline_assumptions)
