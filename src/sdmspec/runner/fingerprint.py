"""What a stage's result depends on, as one hash; and the provenance a run records (config hashes, git state).

A stage's fingerprint hashes its command (with the run folder and the interpreter abstracted, so moving a run or
rebuilding the venv does not invalidate it), the spec's digest, the resolved values of the settings it reads, the
initial weights it starts from (pre-training: the choice and the weights' sha256, not where they lie), and its
upstreams' fingerprints. A change anywhere upstream therefore reruns everything below it and nothing else.

The settings enter by value, not by file hash: editing a comment or reordering a config must not throw away weeks of
pre-training, while changing a value the stage reads must rerun it. The config files behind those values are
recorded next to the fingerprint (and every config file's sha256 in the manifest) for the audit trail.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sdmspec.io import sha256_file
from sdmspec.runner.stage import Plan
from sdmspec.settings import ExperimentSettings, config_files


def config_hashes(configs: Path) -> dict[str, str]:
    """sha256 of every config file under ``configs``, keyed by its path relative to ``configs``."""
    root = configs if configs.is_dir() else configs.parent
    return {str(path.relative_to(root)): sha256_file(path) for path in config_files([configs])}


@dataclass(frozen=True)
class StageInit:
    """The weights a stage starts from, as a pipeline's hooks resolved them: what its fingerprint holds (what they
    are, not where they lie), and the record the manifest keeps."""

    fingerprint: Mapping[str, Any]
    record: Mapping[str, Any]


@dataclass(frozen=True)
class StageInputs:
    """The settings one stage reads (values, and the files they came from) and its fingerprint."""

    fingerprint: str
    settings: Mapping[str, Any]
    setting_origins: tuple[str, ...]
    init: Mapping[str, Any] | None = None


def portable_argv(argv: tuple[str, ...], how_options: Collection[str], *, out: Path, python: str) -> list[str]:
    """``argv`` as fingerprinted: the run folder as ``$OUT``, the interpreter as ``python``, and each of
    ``how_options`` left out with its value."""
    out_text = str(out)
    portable = []
    skip = False
    for index, arg in enumerate(argv):
        # How a stage computes (a kernel, a device) gives the same result: switching it must not throw away
        # finished stages.
        if skip:
            skip = False
        elif arg in how_options:
            skip = True
        elif index == 0 and arg == python:
            portable.append("python")
        else:
            portable.append(arg.replace(out_text, "$OUT"))
    return portable


def fingerprint_plan(
    plan: Plan,
    out: Path,
    python: str,
    spec_digest: str,
    settings: ExperimentSettings,
    inits: Mapping[str, StageInit] | None = None,
) -> dict[str, StageInputs]:
    """Every stage's fingerprint, in plan order (upstreams are fingerprinted first); ``out`` and ``python``: the run
    folder and interpreter the commands name; ``inits``: the starting weights by ``Stage.reads_init`` key (from the
    pipeline's :meth:`~sdmspec.runner.hooks.RunHooks.resolve_inits`), required for the stages that read some."""
    found: dict[str, StageInputs] = {}
    for stage in plan.stages:
        read = {
            key: value
            for key, value in sorted(settings.values.items())
            if any(key == prefix or key.startswith(prefix) for prefix in stage.reads_settings)
        }
        origins = tuple(sorted({settings.origins[key] for key in read}))
        payload = {
            "argv": portable_argv(stage.argv, plan.how_options, out=out, python=python),
            "spec": spec_digest,
            "settings": read,
            "upstream": {name: found[name].fingerprint for name in stage.depends_on},
        }
        init = None
        if stage.reads_init is not None:  # only then: other stages' fingerprints stay what they were
            if inits is None or stage.reads_init not in inits:
                raise ValueError(f"{stage.name} starts from the {stage.reads_init} weights, which were not resolved")
            init = inits[stage.reads_init]
            payload["init"] = dict(init.fingerprint)
        canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
        digest = hashlib.sha256(canonical.encode()).hexdigest()
        found[stage.name] = StageInputs(digest, read, origins, dict(init.record) if init else None)
    return found
