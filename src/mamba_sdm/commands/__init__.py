"""The commands this pipeline adds to ``sdmspec`` (each module's ``register(app)``, named in
:mod:`mamba_sdm.plugin`)."""
