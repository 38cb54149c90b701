"""Launchers run stage commands: local subprocesses, torchrun-wrapped training stages, or SLURM jobs via submitit."""

# `sdmspec run --launcher` choices (checked by the pipeline, shown by --help).
LAUNCHERS = ("local", "torchrun", "slurm")
