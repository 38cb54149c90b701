"""What a pipeline gives the core runner: the interface behind a :class:`~sdmspec.plugins.Pipeline`'s ``run``.

The core runner (gates, fingerprints, states, launchers, the manifest, ``sdmspec run``'s CLI) knows no paper. A
pipeline's ``run`` reference names one object implementing :class:`RunHooks`; through it the runner

- adds the pipeline's own ``sdmspec run`` options (:meth:`RunHooks.cli_options`) and keeps their parsed values in
  :attr:`sdmspec.runner.prepare.RunRequest.pipeline_options`, opaque to the core;
- builds the stage graph (:meth:`RunHooks.build_plan`) from the spec, the resolved paths and those values;
- resolves the starting weights that stages read (:meth:`RunHooks.resolve_inits`), whose fingerprints enter the
  stages' fingerprints;
- learns how the stages are expected to compute on this machine (:meth:`RunHooks.expect`): shown by ``--dry-run``,
  refusing the run when it cannot, recorded in the manifest;
- records what a finished stage says it ran (:meth:`RunHooks.finished`).

A pipeline with no ``run`` has no stage graph: ``sdmspec run -- CMD`` still runs any command without one.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from sdmspec import plugins
from sdmspec.errors import SdmspecError

if TYPE_CHECKING:
    from sdmspec.runner.fingerprint import StageInit
    from sdmspec.runner.manifest import Manifest
    from sdmspec.runner.prepare import RunRequest
    from sdmspec.runner.stage import Plan, Stage
    from sdmspec.schema import PaperSpec

NO_PIPELINE = (
    "no installed pipeline has a stage graph (a sdmspec.pipelines entry point whose Pipeline names `run`); "
    "`sdmspec run -- CMD ARGS...` runs any command without one"
)


@dataclass(frozen=True)
class PlanContext:
    """What every stage graph is built from besides the spec and the pipeline's options: the request's paths,
    resolved, and the interpreter the stages run with (the runner's, so every stage runs in its environment)."""

    out: Path
    configs: Path
    spec_path: Path
    smoke: bool = False
    data_dir: Path | None = None
    python: str = field(default_factory=lambda: sys.executable)


class Expectation(Protocol):
    """How the stages are expected to compute here (a kernel, a device): resolved before anything starts."""

    @property
    def problem(self) -> str | None:
        """Why the stages cannot compute that way on this machine: refuses the run (exit 2) when the stages run
        here (on a scheduler's nodes they decide); None when they can."""

    def describe(self) -> str:
        """The lines ``--dry-run`` prints under the plan."""

    def record(self) -> dict[str, Any]:
        """The manifest's ``acceleration`` record."""


@runtime_checkable
class RunHooks(Protocol):
    """A pipeline's stage graph, as the core runner asks for it. Nothing here prints; errors are SdmspecErrors."""

    def cli_options(self) -> Callable[..., Mapping[str, Any]]:
        """A function whose parameters are the pipeline's ``sdmspec run`` options (``typer.Option`` defaults, real
        annotations), shown after ``--data-dir``; called with their values, it returns ``pipeline_options`` (a
        malformed value raises SdmspecError, exit 2). Importing what it needs must stay light: ``sdmspec --help``
        reads it."""

    def build_plan(self, spec: PaperSpec, context: PlanContext, options: Mapping[str, Any]) -> Plan:
        """Every stage the spec calls for, with its command, dependencies, and the plan's ``how_options``."""

    def resolve_inits(
        self,
        spec: PaperSpec,
        plan: Plan,
        settings: Mapping[str, Any],
        context: PlanContext,
        options: Mapping[str, Any],
        previous: Manifest | None,
    ) -> Mapping[str, StageInit]:
        """The starting weights of every ``Stage.reads_init`` key of ``plan``; ``previous``: the run folder's
        manifest, whose records may stand in for weights no longer here."""

    def expect(self, request: RunRequest) -> Expectation:
        """How the stages will compute, for ``request`` on this machine (before the spec is read: a bad option is
        reported first)."""

    def finished(self, stage: Stage) -> Mapping[str, Any]:
        """What a stage that just finished says it ran, read from its marker: manifest stage-record fields
        (``acceleration``, ``precision``); empty when it says nothing."""


def installed_hooks() -> RunHooks | None:
    """The run hooks of the installed pipeline that has a stage graph; None when none has."""
    found = plugins.references("run")
    if not found:
        return None
    if len(found) > 1:
        names = ", ".join(pipeline.name for pipeline, _ in found)
        raise plugins.PluginError(f"several installed pipelines have a stage graph ({names}); `sdmspec run` runs one")
    pipeline, reference = found[0]
    try:
        hooks = plugins.resolve(reference)
    except Exception as err:  # a plugin's import error is its bug: name it in one line, not as ours
        raise plugins.PluginError(f"pipeline {pipeline.name!r}: run hooks {reference} cannot be loaded: {err}") from err
    if not isinstance(hooks, RunHooks):
        raise plugins.PluginError(f"pipeline {pipeline.name!r}: {reference} is not a sdmspec.runner.hooks.RunHooks")
    return hooks


def require_hooks() -> RunHooks:
    """:func:`installed_hooks`, refusing (exit 2) when no installed pipeline has a stage graph."""
    hooks = installed_hooks()
    if hooks is None:
        raise SdmspecError(NO_PIPELINE)
    return hooks
