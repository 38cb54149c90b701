"""Launchers run stage commands: local subprocesses, torchrun-wrapped training stages, or SLURM jobs via submitit."""
