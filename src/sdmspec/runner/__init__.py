"""`sdmspec run`: gate on lint and the environment, plan the paper's pipeline as data, launch it, record everything.

Modules: :mod:`plan` (stages as frozen data), :mod:`fingerprint` (what a stage depends on), :mod:`state` (what is
done), :mod:`manifest`/:mod:`record` (OUT/manifest.json), :mod:`gate`, :mod:`pipeline` (request -> prepared run),
:mod:`execute` (the walk over the graph), :mod:`launchers` (local, torchrun, SLURM through submitit), :mod:`report`.
"""
