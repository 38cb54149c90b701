"""The config a Hydra program receives: composed with hydra-core's own API, resolved with OmegaConf's built-ins.

Any-paper core: this package reads a repository's YAML configs and the spec, never the repository's Python, and
never this paper's Mamba/SDM pipeline.

* :mod:`~sdmspec.compose.entry`: an entry, a config name and its overrides;
* :mod:`~sdmspec.compose.hydra_compose`: composition (``hydra.compose``) and the defaults list;
* :mod:`~sdmspec.compose.provenance`: the file:line:col (or override) that set each winning value;
* :mod:`~sdmspec.compose.interpolation`: ``${...}`` with OmegaConf's built-in resolvers only;
* :mod:`~sdmspec.compose.composed_lint`: the value rules over the composed config, findings at their origin;
* :mod:`~sdmspec.compose.spec_entries`: the spec's ``runs:`` entries; :mod:`~sdmspec.compose.lint_command`: the CLI.

hydra-core and omegaconf are the ``hydra`` extra, imported only inside the functions that compose.
"""
