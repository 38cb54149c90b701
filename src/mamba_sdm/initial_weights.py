"""The runner's view of where Phase A starts: per model size, the weights its pre-training stages start from.

The runner finds them exactly as the job will (:func:`mamba_sdm.models.pretrained.resolve_initial_weights`: the
folder given as ``--init-from SIZE=DIR``, the generated smoke checkpoint, or the Hugging Face cache) and puts their
digest into the fingerprint of every stage that reads them (``Stage.reads_init``), so a changed checkpoint reruns
Phase A and everything after it. A starting folder whose config is not the spec's size is refused before anything
starts (exit 2). Weights that are not here are not a gate, as missing data is not: the stage's job fails with the
``hf download`` command to run. When they are gone after Phase A finished (a cleaned cache), the digest recorded
when it ran stands in, so the finished stages stay finished.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from mamba_sdm.models.pretrained import InitNotFoundError, init_choice, init_fingerprint, resolve_initial_weights
from mamba_sdm.spec import Spec
from sdmspec.errors import SdmspecError
from sdmspec.runner.fingerprint import StageInit
from sdmspec.runner.manifest import Manifest, StageStatus
from sdmspec.runner.stage import Plan


def parse_init_from(values: Sequence[str]) -> tuple[tuple[str, Path], ...]:
    """``--init-from SIZE=DIR`` values as (size, folder) pairs; a malformed or repeated size is a usage error."""
    pairs: dict[str, Path] = {}
    for value in values:
        size, sep, folder = value.partition("=")
        size = size.strip()
        if not sep or not size or not folder:
            raise SdmspecError(f"--init-from {value!r}: expected SIZE=DIR, e.g. 130m=checkpoints/mamba-130m-hf")
        if size in pairs:
            raise SdmspecError(f"--init-from names {size} twice ({pairs[size]} and {folder})")
        pairs[size] = Path(folder)
    return tuple(pairs.items())


def resolve_inits(
    spec: Spec,
    plan: Plan,
    settings: Mapping[str, Any],
    *,
    smoke: bool,
    init_from: Mapping[str, Path],
    previous: Manifest | None,
) -> dict[str, StageInit]:
    """The start of every size some stage of ``plan`` reads, by size."""
    sizes = list(dict.fromkeys(stage.reads_init for stage in plan.stages if stage.reads_init))
    for size in init_from:
        if size not in sizes:
            known = ", ".join(sizes) or "none"
            raise SdmspecError(f"--init-from {size}=...: no pre-training stage starts a {size} model (sizes: {known})")
    init = init_choice(settings)
    found: dict[str, StageInit] = {}
    for size in sizes:
        try:
            record = resolve_initial_weights(
                spec, size, init, smoke=smoke, init_from=init_from.get(size), size_prefix=f"{size}="
            ).record()
        except InitNotFoundError:
            hf_name = spec.models[size].hf_name
            blank = {"size": size, "init": init, "hf_name": hf_name, "origin": None, "path": None, "digest": None}
            record = _recorded(plan, previous, size, init, hf_name) or blank
        found[size] = StageInit(init_fingerprint(record), record)
    return found


def _recorded(plan: Plan, previous: Manifest | None, size: str, init: str, hf_name: str) -> dict[str, Any] | None:
    """The start a finished pre-training stage of ``size`` recorded, when the choice and checkpoint are the same."""
    if previous is None:
        return None
    for stage in plan.stages:
        record = previous.stages.get(stage.name)
        if stage.reads_init != size or record is None or not record.init:
            continue
        same = record.init.get("init") == init and record.init.get("hf_name") == hf_name
        if same and record.status is StageStatus.DONE:
            return dict(record.init)
    return None
