"""The paper's jobs: Phase A pre-training, the iso-sparsity challenge builds and Phase B GLUE fine-tuning.

Each job is a function taking its options and returning its result record; ``sdmspec job NAME``
(``mamba_sdm.commands.jobs``) is the command the runner launches, its inputs the models of
:mod:`mamba_sdm.jobs.inputs`, its record the model of :mod:`mamba_sdm.jobs.result`. torch, transformers and datasets
are imported inside the job modules only.
"""
