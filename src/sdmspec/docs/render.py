"""Render the spec as the paper's "Experimental Setup" in Markdown: every value with its source, assumptions flagged.

The text depends on the spec only (no dates, no machine facts), so the committed file can be checked for drift.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sdmspec.schema import Setting, Spec
from sdmspec.schema.setting import format_value

ASSUMPTION = "**assumption**"
NOT_GIVEN = "*not given by the paper*"

ENVIRONMENT_PREFIXES = ("environment.",)
# Where Phase A starts (pretrained: the sizes' checkpoints; scratch: random weights), said under the sizes too.
INIT_SETTING = "training.pretrain.init"
# Which settings each hyperparameter section shows, by key prefix. Settings no group claims go to "Other settings",
# so a spec written for another paper still renders every value.
HYPERPARAMETER_GROUPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Phase A: pre-training", ("training.pretrain.",)),
    ("Phase B: fine-tuning", ("training.finetune.", "epochs.")),
)


def _cell(value: object) -> str:
    text = "" if value is None else str(value)
    return text.replace("|", "\\|").replace("\n", " ")


def _table(headers: Sequence[str], rows: Iterable[Sequence[object]]) -> list[str]:
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines.extend("| " + " | ".join(_cell(value) for value in row) + " |" for row in rows)
    return [*lines, ""]


def _is_assumption(source: str) -> bool:
    return source.strip().lower().startswith("assumption")


def _without_prefix(source: str) -> str:
    text = source.strip()
    return text[len("assumption") :].lstrip(" :") if _is_assumption(text) else text


def _sourced(source: str) -> str:
    """The source as shown: an assumption is flagged in bold (once, however the spec spells the prefix)."""
    return f"{ASSUMPTION}: {_without_prefix(source)}" if _is_assumption(source) else source.strip()


def _setting_row(setting: Setting) -> tuple[str, str, str]:
    if setting.unspecified:
        default = "no default" if setting.default is None else f"default `{format_value(setting.default)}`"
        value = f"{NOT_GIVEN}; {default}"
    elif setting.one_of is not None:
        value = "one of " + ", ".join(f"`{format_value(v)}`" for v in setting.one_of)
    else:
        value = f"`{setting.expected_text()}`"
    return f"`{setting.key}`", value, _sourced(setting.source)


def _settings_table(settings: Sequence[Setting]) -> list[str]:
    return _table(("Setting", "Value", "Source"), (_setting_row(setting) for setting in settings))


def _environment(spec: Spec) -> list[str]:
    rows = [s for key, s in spec.settings.items() if key.startswith(ENVIRONMENT_PREFIXES)]
    lines = ["## Hardware and environment", "", *_settings_table(rows)]
    return [*lines, "`sdmspec env` compares a machine with these values.", ""]


def _hyperparameters(spec: Spec) -> list[str]:
    lines = ["## Hyperparameters", ""]
    claimed = {key for key in spec.settings if key.startswith(ENVIRONMENT_PREFIXES)}
    for title, prefixes in HYPERPARAMETER_GROUPS:
        group = [s for key, s in spec.settings.items() if key.startswith(prefixes)]
        claimed.update(s.key for s in group)
        if group:
            lines += [f"### {title}", "", *_settings_table(group)]
    rest = [s for key, s in spec.settings.items() if key not in claimed]
    if rest:
        lines += ["### Other settings", "", *_settings_table(rest)]
    if spec.rules:
        lines += ["### Rules between settings", ""]
        lines += [f"- `{r.divisor}` {r.kind.value} `{r.dividend}` ({_sourced(r.source)})" for r in spec.rules] + [""]
    return lines


def _data(spec: Spec) -> list[str]:
    data = spec.data
    pretrain = data.pretrain
    lines = ["## Data", "", f"Source: {_sourced(data.source)}", ""]
    lines += [
        f"- Pre-training: `{pretrain.path}` / `{pretrain.name}` (text field `{pretrain.text_field}`, splits "
        f"`{pretrain.train_split}` and `{pretrain.validation_split}`). Source: {_sourced(pretrain.source)}",
        f"- Tokenizer: `{data.tokenizer}`. Source: {_sourced(data.tokenizer_source)}",
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
            _sourced(task.source),
        )
        for name, task in data.finetune.items()
    ]
    return lines + _table(("Task", "Dataset", "Text fields", "Labels", "Validation", "Metrics", "Source"), rows)


def _models(spec: Spec) -> list[str]:
    lines = ["## Models and variants", ""]
    size_rows = [
        (size, f"`{m.hf_name}`", m.d_model, m.n_layer, m.vocab_size, m.d_state, m.expand, m.d_conv, f"{m.params:,}")
        for size, m in spec.models.items()
    ]
    headers = ("Size", "Checkpoint", "d_model", "Layers", "Vocabulary", "d_state", "Expand", "d_conv", "Parameters")
    lines += _table(headers, size_rows)
    lines += [f"Sources: {'; '.join(f'{size}: {_sourced(m.source)}' for size, m in spec.models.items())}.", ""]
    init = spec.settings.get(INIT_SETTING)
    if init is not None:
        value = init.expected_value()
        start = "each size's checkpoint above" if value == "pretrained" else "random weights"
        lines += [f"Phase A starts from {start} (`{INIT_SETTING}`: `{value}`). Source: {_sourced(init.source)}", ""]
    lines += [f"### {len(spec.variants)} variants", ""]
    rows = [
        (
            f"`{v.name}`",
            v.size,
            v.method.value,
            f"{v.target_sparsity:g}",
            v.init_from or "",
            v.match_sparsity_of or "",
            _sourced(v.source),
        )
        for v in spec.variants
    ]
    return lines + _table(("Variant", "Size", "Method", "Target sparsity", "From", "Matches", "Source"), rows)


def _sparsity(spec: Spec) -> list[str]:
    sparsity = spec.sparsity
    rule = sparsity.rule
    judged = "per layer and globally" if rule.per_layer else "globally"
    within = "exactly" if rule.tolerance == 0 else f"within {rule.tolerance} zero(s)"
    return [
        "## Sparsity",
        "",
        f"- Prunable set ({_sourced(sparsity.source)}): parameters whose canonical name matches "
        + ", ".join(f"`{pattern}`" for pattern in sparsity.prunable)
        + ". Everything else is dense and not counted.",
        f"- Target sparsity: {sparsity.target:g} (±{sparsity.target_tolerance:g}). Source: "
        f"{_sourced(sparsity.target_source)}",
        f"- Iso-sparsity rule: a baseline's zero count over the prunable set must equal its SDM model's, "
        f"{judged}, {within}. Source: {_sourced(rule.source)}",
        "",
    ]


def _profiling(spec: Spec) -> list[str]:
    profiling = spec.profiling
    return [
        "## Profiling",
        "",
        f"- FLOPs: {profiling.flops_tool}; latency: {profiling.latency_tool}. Source: {_sourced(profiling.source)}",
        f"- Shapes: batch sizes {', '.join(map(str, profiling.batch_sizes))}; sequence lengths "
        f"{', '.join(map(str, profiling.seq_lens))}. Source: {_sourced(profiling.shape_source)}",
        "- Counting convention: fvcore counts one multiply-add as one FLOP (torch's FlopCounterMode counts two), and "
        "shape-based counters ignore zeros: sparse FLOPs are derived from the non-zero count.",
        "",
    ]


def _assumptions(spec: Spec) -> list[str]:
    found = [f"- `{s.key}`: {_without_prefix(s.source)}" for s in spec.settings.values() if s.is_assumption]
    found += [f"- model `{size}`: {_without_prefix(m.source)}" for size, m in spec.models.items() if m.is_assumption]
    found += [f"- variant `{v.name}`: {_without_prefix(v.source)}" for v in spec.variants if v.is_assumption]
    sparsity, data, profiling = spec.sparsity, spec.data, spec.profiling
    for where, source in (
        ("sparsity: prunable set", sparsity.source),
        ("sparsity: target", sparsity.target_source),
        ("sparsity: iso-sparsity rule", sparsity.rule.source),
        ("data: tokenizer", data.tokenizer_source),
        ("profiling: tools", profiling.source),
        ("profiling: shapes", profiling.shape_source),
    ):
        if _is_assumption(source):
            found.append(f"- {where}: {_without_prefix(source)}")
    unspecified = [f"`{s.key}`" for s in spec.settings.values() if s.unspecified]
    lines = ["## Assumptions to confirm with the authors", ""]
    lines += found or ["- none"]
    if unspecified:
        lines += ["", f"Not given by the paper (the spec's defaults apply): {', '.join(unspecified)}."]
    return [*lines, ""]


def render_setup(spec: Spec) -> str:
    """The Markdown text of EXPERIMENTAL_SETUP.md for ``spec``."""
    lines = [
        "# Experimental setup",
        "",
        "<!-- Generated by `sdmspec docs` from spec/: do not edit by hand; `sdmspec docs --check` fails on drift. -->",
        "",
        f"**{spec.paper.title}**. {spec.paper.description}",
        "",
        f"Every value below cites its source: the words of the {spec.paper.source.lower()}, or {ASSUMPTION} for a "
        f"value the description does not give, to be confirmed with the authors. Spec digest `{spec.digest[:16]}`.",
        "",
    ]
    for part in (_environment, _data, _models, _hyperparameters, _sparsity, _profiling, _assumptions):
        lines += part(spec)
    return "\n".join(lines).rstrip("\n") + "\n"
