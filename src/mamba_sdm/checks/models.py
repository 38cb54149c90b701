"""Can every variant be generated, with the parameter count the spec records, and does the prunable set match it?"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from mamba_sdm.spec import Spec
from sdmspec.validate.report import CheckResult, CheckStatus, ValidateOptions


def check_variants(spec: Spec, options: ValidateOptions) -> Iterator[CheckResult]:
    """Build each variant's full-size architecture on the meta device (no memory, no download) and count."""
    from mamba_sdm.models.build import count_parameters
    from mamba_sdm.models.variants import build_variant
    from sdmspec.checkpoint.sparsity import canonical_name

    rows: list[dict[str, Any]] = []
    wrong = []
    for variant in spec.variants:
        model = build_variant(spec, variant.name, device="meta")
        params = count_parameters(model)
        prunable = sum(p.numel() for n, p in model.named_parameters() if spec.sparsity.is_prunable(canonical_name(n)))
        expected = spec.models[variant.size].params
        rows.append(
            {
                "variant": variant.name,
                "size": variant.size,
                "params": params,
                "expected": expected,
                "prunable_params": prunable,
            }
        )
        if params != expected:
            wrong.append(f"{variant.name} has {params:,} parameters, the spec says {expected:,}")
        elif prunable == 0:
            wrong.append(f"{variant.name}: the spec's prunable set matches no parameter of the model")
    data = {"variants": rows}
    if wrong:
        yield CheckResult("variants", CheckStatus.FAIL, "; ".join(wrong), data)
        return
    sizes: dict[str, dict[str, Any]] = {}
    for row in rows:
        sizes.setdefault(row["size"], row)
    summary = ", ".join(
        f"{size}: {row['params']:,} parameters, {row['prunable_params'] / row['params']:.1%} prunable"
        for size, row in sizes.items()
    )
    detail = f"all {len(rows)} variants generated on the meta device with the spec's parameter counts ({summary})"
    yield CheckResult("variants", CheckStatus.PASS, detail, data)
