"""Do the configs hold the paper's hyperparameters? The same lint engine as ``sdmspec lint``: errors fail."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from mamba_sdm.spec import Spec
from sdmspec.validate.report import CheckResult, CheckStatus, ValidateOptions

_SHOWN = 5  # findings quoted in the detail; all of them are in the JSON data


def _where(diagnostic: Any) -> str:
    if diagnostic.file is None:  # a finding about the configs as a whole (a setting no file sets)
        return f"(configs): {diagnostic.code} {diagnostic.message}"
    line = getattr(diagnostic, "line", None)
    place = f"{diagnostic.file}:{line}" if line else str(diagnostic.file)
    return f"{place}: {diagnostic.code} {diagnostic.message}"


def _severity(diagnostic: Any) -> str:
    return str(getattr(diagnostic.severity, "value", diagnostic.severity))


def check_hyperparameters(spec: Spec, options: ValidateOptions) -> Iterator[CheckResult]:
    """Lint ``options.configs``: errors fail, warnings warn, information passes."""
    from sdmspec.lint.engine import lint_paths

    if not options.configs.exists():
        yield CheckResult("hyperparameters", CheckStatus.FAIL, f"{options.configs}: no such configs folder")
        return
    result = lint_paths([options.configs], spec)
    diagnostics = list(result.diagnostics)
    errors = [d for d in diagnostics if _severity(d) == "error"]
    warnings = [d for d in diagnostics if _severity(d) == "warning"]
    data = {
        "configs": str(options.configs),
        "errors": len(errors),
        "warnings": len(warnings),
        "diagnostics": [_where(d) for d in diagnostics],
    }
    if errors:
        shown = "; ".join(_where(d) for d in errors[:_SHOWN])
        more = f" (and {len(errors) - _SHOWN} more)" if len(errors) > _SHOWN else ""
        detail = (
            f"{len(errors)} lint error(s) in {options.configs}: {shown}{more}; run `sdmspec lint {options.configs}`"
        )
        yield CheckResult("hyperparameters", CheckStatus.FAIL, detail, data)
    elif warnings:
        shown = "; ".join(_where(d) for d in warnings[:_SHOWN])
        detail = f"no lint errors in {options.configs}; {len(warnings)} warning(s): {shown}"
        yield CheckResult("hyperparameters", CheckStatus.WARN, detail, data)
    else:
        detail = f"{options.configs} holds the paper's hyperparameters (sdmspec lint: no errors, no warnings)"
        yield CheckResult("hyperparameters", CheckStatus.PASS, detail, data)
