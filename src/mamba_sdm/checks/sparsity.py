"""Iso-sparsity of the checkpoints found under a run folder: each pruned baseline against its SDM model.

Checkpoints are found where ``sdmspec run`` writes them (``RUN/pretrain/<variant>/model``,
``RUN/challenge/<variant>/model``), or anywhere under the folder as a directory named after the variant holding a
``model`` folder or checkpoint files, or a file ``<variant>.safetensors``/``.pt``/``.pth``/``.bin``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from mamba_sdm.spec import Method, Spec
from sdmspec.checkpoint.sources import HF_LAYOUTS
from sdmspec.errors import CheckpointError
from sdmspec.validate.report import CheckResult, CheckStatus, ValidateOptions

CHECKPOINT_SUFFIXES = (".safetensors", ".pt", ".pth", ".bin")


def _as_checkpoint(path: Path) -> Path | None:
    """The checkpoint a path named after a variant stands for, or None when it holds none."""
    if path.is_file():
        return path if path.suffix in CHECKPOINT_SUFFIXES else None
    if (path / "model").exists():
        return path / "model"
    if any((path / name).is_file() for name in HF_LAYOUTS):
        return path
    return None


def find_checkpoints(run_dir: Path, variant: str) -> list[Path]:
    """Every checkpoint of ``variant`` under ``run_dir``, shortest path first."""
    names = {variant, *(f"{variant}{suffix}" for suffix in CHECKPOINT_SUFFIXES)}
    found = {
        checkpoint
        for path in run_dir.rglob("*")
        if path.name in names and (checkpoint := _as_checkpoint(path)) is not None
    }
    return sorted(found, key=lambda p: (len(p.parts), str(p)))


def check_iso_sparsity(spec: Spec, options: ValidateOptions) -> Iterator[CheckResult]:
    """One result per pruned baseline whose checkpoints are found; a skip when there is nothing to compare."""
    if options.run_dir is None:
        yield CheckResult("iso-sparsity", CheckStatus.SKIP, "no --run-dir given: no checkpoints to compare")
        return
    if not options.run_dir.is_dir():
        yield CheckResult("iso-sparsity", CheckStatus.FAIL, f"--run-dir {options.run_dir}: no such folder")
        return
    pairs = [
        (variant.name, variant.match_sparsity_of)
        for variant in spec.variants
        if variant.method in (Method.CHALLENGE, Method.RANDOM) and variant.match_sparsity_of is not None
    ]
    compared = 0
    for baseline, reference in pairs:
        name = f"iso-sparsity: {baseline}"
        found = {variant: find_checkpoints(options.run_dir, variant) for variant in (reference, baseline)}
        if not found[baseline] and not found[reference]:
            continue
        compared += 1
        missing = [variant for variant, paths in found.items() if not paths]
        if missing:
            present = next(variant for variant, paths in found.items() if paths)
            detail = f"found {present} ({found[present][0]}) but no checkpoint of {missing[0]}: nothing to compare"
            yield CheckResult(name, CheckStatus.WARN, detail, {k: [str(p) for p in v] for k, v in found.items()})
            continue
        yield _verify(spec, name, (reference, found[reference][0]), (baseline, found[baseline][0]))
    if compared == 0:
        detail = f"no checkpoint of a pruned baseline or its SDM model under {options.run_dir}"
        yield CheckResult("iso-sparsity", CheckStatus.SKIP, detail)


def _verify(spec: Spec, name: str, sdm: tuple[str, Path], baseline: tuple[str, Path]) -> CheckResult:
    from sdmspec.checkpoint.verify import verify_iso_sparsity

    try:
        result = verify_iso_sparsity(sdm[1], baseline[1], spec, labels=(sdm[0], baseline[0]))
    except CheckpointError as err:
        return CheckResult(name, CheckStatus.FAIL, f"cannot compare {sdm[1]} and {baseline[1]}: {err}")
    data = result.to_json()
    sides = ", ".join(f"{side.label} {side.sparsity:.4%} ({side.zeros:,} zeros)" for side in result.checkpoints)
    if not result.passed:
        return CheckResult(name, CheckStatus.FAIL, f"mismatch: {'; '.join(result.reasons)} [{sides}]", data)
    if result.warnings:
        return CheckResult(name, CheckStatus.WARN, f"match ({sides}); {'; '.join(result.warnings)}", data)
    return CheckResult(name, CheckStatus.PASS, f"match: {sides}", data)
