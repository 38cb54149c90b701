"""This pipeline as the sdmspec core sees it: the one object the ``sdmspec.pipelines`` entry point names.

Importing it must stay light (``sdmspec lint`` loads it to know the spec's sections): the spec models only. Every
other part is named by module path and imported by the core when a command needs it.
"""

from __future__ import annotations

from mamba_sdm.spec import Spec
from sdmspec.plugins import Pipeline

PIPELINE = Pipeline(
    name="mamba-sdm",
    spec_type=Spec,
    # Command name -> the module whose register(app) adds it (the order is `sdmspec --help`'s, after the core's).
    commands={
        "variants": "mamba_sdm.commands.variant_list",
        "job": "mamba_sdm.commands.jobs",
        "eval": "mamba_sdm.commands.evaluation",
        "profile": "mamba_sdm.commands.profiling",
    },
    training_commands=frozenset({"variants", "job", "profile"}),
    validate_areas="mamba_sdm.checks:AREAS",
    setup_doc="mamba_sdm.setup_doc:PARTS",
    environment="mamba_sdm.environment_rows:pipeline_rows",
    run="mamba_sdm.run_hooks:HOOKS",
)
