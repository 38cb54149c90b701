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


# How fingerprints are computed. 1: the portable command line of every stage (versions before stages declared what
# they compute); 2: a stage's declared `what` where it has one. A manifest's records say which they hold.
LEGACY_SCHEME = 1
FINGERPRINT_SCHEME = 2


@dataclass(frozen=True)
class StageInputs:
    """The settings one stage reads (values, and the files they came from) and its fingerprint; ``legacy`` is the
    fingerprint the same stage had under :data:`LEGACY_SCHEME`, to recognise a run folder written then."""

    fingerprint: str
    settings: Mapping[str, Any]
    setting_origins: tuple[str, ...]
    init: Mapping[str, Any] | None = None
    legacy: str | None = None


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


def portable_value(value: object, *, out: Path) -> object:
    """A declared ``what`` as fingerprinted: every string naming a path under the run folder written from ``$OUT``."""
    if isinstance(value, str):
        return value.replace(str(out), "$OUT")
    if isinstance(value, Mapping):
        return {str(key): portable_value(item, out=out) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [portable_value(item, out=out) for item in value]
    return value


def _digest(payload: Mapping[str, object]) -> str:
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def fingerprint_plan(
    plan: Plan,
    out: Path,
    python: str,
    spec_digest: str,
    settings: ExperimentSettings,
    inits: Mapping[str, StageInit] | None = None,
    *,
    stand_ins: Mapping[str, str] | None = None,
) -> dict[str, StageInputs]:
    """Every stage's fingerprint, in plan order (upstreams are fingerprinted first); ``out`` and ``python``: the run
    folder and interpreter the commands name; ``inits``: the starting weights by ``Stage.reads_init`` key (from the
    pipeline's :meth:`~sdmspec.runner.hooks.RunHooks.resolve_inits`), required for the stages that read some.

    ``stand_ins``: arguments that name what enters the fingerprint in another form (the spec folder: its digest;
    the configs: the settings' values), replaced by their names in this version's chain, so that moving the
    repository reruns nothing.

    Two chains are computed side by side: this version's (a stage's declared ``what``, else its command line) and
    the legacy one (every stage's command line, ``flags_argv`` where it has one), whose values earlier versions
    recorded; :mod:`sdmspec.runner.state` accepts a legacy record that matches the legacy chain.
    """
    found: dict[str, StageInputs] = {}
    for stage in plan.stages:
        read = {
            key: value
            for key, value in sorted(settings.values.items())
            if any(key == prefix or key.startswith(prefix) for prefix in stage.reads_settings)
        }
        origins = tuple(sorted({settings.origins[key] for key in read}))
        flags_argv = stage.flags_argv if stage.flags_argv is not None else stage.argv
        legacy: dict[str, object] = {
            "argv": portable_argv(flags_argv, plan.how_options, out=out, python=python),
            "spec": spec_digest,
            "settings": read,
            "upstream": {name: found[name].legacy for name in stage.depends_on},
        }
        if stage.what is not None:
            current: dict[str, object] = {
                "scheme": FINGERPRINT_SCHEME,
                "kind": stage.kind,
                "what": portable_value(stage.what, out=out),
                "spec": spec_digest,
                "settings": read,
                "upstream": {name: found[name].fingerprint for name in stage.depends_on},
            }
        else:  # the command line is the declaration, with the stand-ins for the paths that enter otherwise
            argv = portable_argv(stage.argv, plan.how_options, out=out, python=python)
            current = {
                "scheme": FINGERPRINT_SCHEME,
                "argv": [(stand_ins or {}).get(arg, arg) for arg in argv],
                "spec": spec_digest,
                "settings": read,
                "upstream": {name: found[name].fingerprint for name in stage.depends_on},
            }
        init = None
        if stage.reads_init is not None:  # only then: other stages' fingerprints stay what they were
            if inits is None or stage.reads_init not in inits:
                raise ValueError(f"{stage.name} starts from the {stage.reads_init} weights, which were not resolved")
            init = inits[stage.reads_init]
            legacy["init"] = current["init"] = dict(init.fingerprint)
        found[stage.name] = StageInputs(
            _digest(current), read, origins, dict(init.record) if init else None, legacy=_digest(legacy)
        )
    return found
