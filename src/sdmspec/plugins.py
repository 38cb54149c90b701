"""How a paper's pipeline plugs into the core: the ``sdmspec.pipelines`` entry point group.

The core (spec engine, loaders, lint, reports, docs rendering, the environment check, the runner's gate, launchers,
manifest and status, verify-sparsity, the CLI) knows no paper. A paper's package declares one entry point::

    [project.entry-points."sdmspec.pipelines"]
    mamba-sdm = "mamba_sdm.plugin:PIPELINE"

naming a :class:`Pipeline`: its spec type (a :class:`~sdmspec.schema.paper.PaperSpec` subclass with the paper's
sections) and, for each part of the core it extends, the module or ``module:attribute`` that holds the extension.
The core imports an extension only when it needs it (``sdmspec lint`` never imports a pipeline's training code), the
way pytest finds plugins (``pytest11``) and torchtune's recipe registry names recipes by path. What each part expects
behind its reference is written where the part reads it:

========================  ==========================================================================================
field                     read by
========================  ==========================================================================================
``spec_type``             :func:`sdmspec.schema.loading.spec_model`: the sections a spec may have
``commands``              :mod:`sdmspec.cli.app`: command name -> module whose ``register(app)`` adds it
``training_commands``     :mod:`sdmspec.cli.app`: the commands that need the ``train`` extra
``validate_areas``        :mod:`sdmspec.validate.areas`: a tuple of :class:`~sdmspec.validate.areas.Area`
``setup_doc``             :mod:`sdmspec.docs.render`: a :class:`~sdmspec.docs.render.DocParts`
``environment``           :mod:`sdmspec.environment`: a function (spec) -> extra environment rows
``run``                   :mod:`sdmspec.runner.prepare`: the :class:`~sdmspec.runner.hooks.RunHooks` of its stage graph
========================  ==========================================================================================

A second paper's pipeline is a package beside this one with its own entry point; nothing in the core changes.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from functools import cache
from importlib.metadata import entry_points

from sdmspec.errors import SdmspecError

ENTRY_POINT_GROUP = "sdmspec.pipelines"


class PluginError(SdmspecError):
    """An installed pipeline that cannot be loaded: a broken package, not the user's input (exit 2)."""


@dataclass(frozen=True)
class Pipeline:
    """One paper's pipeline as the core sees it. Every reference is ``module`` or ``module:attribute``."""

    name: str
    # A PaperSpec subclass: typed as `type` so that this registry imports nothing of the spec engine (which reads
    # it); :func:`sdmspec.schema.loading.spec_model` checks it is one.
    spec_type: type
    commands: dict[str, str] = field(default_factory=dict)
    training_commands: frozenset[str] = frozenset()
    validate_areas: str | None = None
    setup_doc: str | None = None
    environment: str | None = None
    run: str | None = None


def resolve(reference: str) -> object:
    """The object ``module:attribute`` names (or the module itself), importing it now; a reference that does not
    load is a :class:`PluginError` naming it (one line, exit 2), not a crash of the core."""
    module, _, attribute = reference.partition(":")
    try:
        found: object = importlib.import_module(module)
        for part in filter(None, attribute.split(".")):
            found = getattr(found, part)
    except (ImportError, AttributeError) as err:
        raise PluginError(f"the pipeline reference {reference} cannot be loaded: {err}") from err
    return found


@cache
def installed() -> tuple[Pipeline, ...]:
    """The pipelines installed in this environment, by entry point name (none: the core alone)."""
    found: list[Pipeline] = []
    seen: set[tuple[str, str]] = set()
    for point in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda point: point.name):
        if (point.name, point.value) in seen:
            continue  # the same pipeline found twice (an installed copy and a checkout on the path): one pipeline
        seen.add((point.name, point.value))
        try:
            pipeline = point.load()
        except Exception as err:  # a plugin's import error is its bug: name it in one line, not as ours
            raise PluginError(f"pipeline {point.name!r} ({point.value}) cannot be loaded: {err}") from err
        if not isinstance(pipeline, Pipeline):
            raise PluginError(f"pipeline {point.name!r} ({point.value}) is not a sdmspec.plugins.Pipeline")
        found.append(pipeline)
    return tuple(found)


def references(attribute: str) -> list[tuple[Pipeline, str]]:
    """Each installed pipeline's reference for ``attribute`` (``"validate_areas"``, ...), where it has one."""
    found: list[tuple[Pipeline, str]] = []
    for pipeline in installed():
        reference = getattr(pipeline, attribute)
        if reference is not None:
            found.append((pipeline, reference))
    return found
