"""The SDM-Mamba paper's pipeline: its spec sections, models, jobs, stage graph, profile, checks and setup document.

It plugs into the sdmspec core through the ``sdmspec.pipelines`` entry point (:mod:`mamba_sdm.plugin`); the core
imports none of it directly. Its parts:

- :mod:`mamba_sdm.spec`: the spec sections (models, variants, data, profiling) over the core's ``PaperSpec``;
- :mod:`mamba_sdm.models`, :mod:`mamba_sdm.jobs`, :mod:`mamba_sdm.profile`: the model, its training and profiling;
- :mod:`mamba_sdm.stages`: the stage graph ``sdmspec run`` executes (pretrain -> challenge -> verify -> fine-tune);
- :mod:`mamba_sdm.checks`, :mod:`mamba_sdm.setup_doc`: its ``sdmspec validate`` areas and setup-document parts;
- :mod:`mamba_sdm.commands`: the commands it adds (``job``, ``eval``, ``profile``, ``variants``).
"""
