"""A run as data: the stages of a pipeline's graph, their commands, what they read and write, their upstreams.

The core runner walks any pipeline's graph: a pipeline's :class:`~sdmspec.runner.hooks.RunHooks` builds the
:class:`Plan`, the runner decides what is done from each stage's ``marker`` and fingerprint
(:mod:`sdmspec.runner.fingerprint`), and a launcher runs its ``argv``. Stages hold no behaviour. A stage's name is
also its folder under the run's output and its log's path (``OUT/logs/<name>.log``).
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import Enum

from sdmspec.errors import SdmspecError


class Trigger(str, Enum):
    """When a stage may start: after its upstreams succeeded (SLURM's ``afterok``) or once they ended (``afterany``)."""

    AFTER_OK = "afterok"
    AFTER_ANY = "afterany"


class MarkerCheck(str, Enum):
    """What proves a stage finished: its marker file exists, or the marker holds a ``match`` verdict (a
    ``sdmspec verify-sparsity --format json`` output)."""

    EXISTS = "exists"
    VERDICT_MATCH = "verdict-match"


@dataclass(frozen=True)
class Stage:
    """One step of a pipeline. Paths are absolute strings so the command runs the same from any folder or node."""

    name: str
    # The pipeline's word for the stage (``--only KIND`` selects by it, the manifest records it): a plain string, so
    # the core needs no pipeline's list of kinds.
    kind: str
    argv: tuple[str, ...]
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    depends_on: tuple[str, ...]
    marker: str
    marker_check: MarkerCheck = MarkerCheck.EXISTS
    # Key prefixes of the settings (configs, else spec defaults) the stage's job reads: a change there reruns it.
    reads_settings: tuple[str, ...] = ()
    # The starting weights the stage reads, by the key the pipeline's hooks resolve them under (their fingerprint
    # enters the stage's; see RunHooks.resolve_inits).
    reads_init: str | None = None
    # Training stages: wrapped by torchrun (several GPUs or nodes), and followed by the live display (their jobs log
    # metrics.jsonl); the others run as one process.
    distributed: bool = False
    needs_gpu: bool = False
    trigger: Trigger = Trigger.AFTER_OK
    # The stage's typed inputs as JSON, written by the runner to `config_file` before it launches `argv` (which names
    # that file: ``sdmspec job pretrain --config OUT/pretrain/x/stage.json``); None: the command line says it all.
    config: Mapping[str, object] | None = None
    config_file: str | None = None
    # What the stage computes, declared by the pipeline (a job's inputs without how it runs, and without what enters
    # the fingerprint by digest: the spec, the settings read, the starting weights, the upstream models). When given,
    # the fingerprint hashes it instead of the command line, so renaming a flag or adding a "how" option reruns
    # nothing. None: the command line is the declaration (less the plan's how options).
    what: Mapping[str, object] | None = None
    # The same command with its inputs as flags (``sdmspec job pretrain --variant ... --smoke``), for a stage run from
    # `config_file`: `--dry-run` shows it beside the command, and versions before config files ran and fingerprinted
    # it, so a run folder they wrote is recognised as done (its records then upgraded). Never run itself.
    flags_argv: tuple[str, ...] | None = None


@dataclass(frozen=True)
class Plan:
    """The stages in a topological order (every stage after its upstreams)."""

    stages: tuple[Stage, ...]
    # Options of the stages' commands that say how a stage computes, never what (a device, a kernel, where a file
    # lies when its digest is fingerprinted instead): fingerprints leave them and their value out, so switching one
    # does not throw away finished stages. The pipeline that builds the commands knows which they are.
    how_options: tuple[str, ...] = ()

    def __getitem__(self, name: str) -> Stage:
        for stage in self.stages:
            if stage.name == name:
                return stage
        raise KeyError(name)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(stage.name for stage in self.stages)

    def downstream(self, names: Iterable[str]) -> set[str]:
        """Every stage that depends, directly or not, on one of ``names`` (``names`` excluded)."""
        found: set[str] = set()
        frontier = set(names)
        for stage in self.stages:  # topological order: upstreams are seen first
            if frontier.intersection(stage.depends_on) or found.intersection(stage.depends_on):
                found.add(stage.name)
        return found - frontier


def select(plan: Plan, patterns: Sequence[str]) -> tuple[str, ...]:
    """The stages named by ``patterns``: a stage name, a glob (``finetune/*/sst2``) or a kind (``finetune``).

    Selection adds nothing: upstream stages are not pulled in (the pipeline refuses to start a selected stage whose
    unselected upstream is not done). A pattern that matches nothing is a usage error, so a typo never runs nothing.
    """
    if not patterns:
        return plan.names
    chosen: set[str] = set()
    for pattern in patterns:
        matched = {
            stage.name
            for stage in plan.stages
            if stage.name == pattern
            or fnmatch.fnmatchcase(stage.name, pattern)
            or stage.kind == pattern
            or stage.name.startswith(pattern.rstrip("/") + "/")
        }
        if not matched:
            raise SdmspecError(f"--only {pattern!r} matches no stage; stages: {', '.join(plan.names)}")
        chosen |= matched
    return tuple(name for name in plan.names if name in chosen)
