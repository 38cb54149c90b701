"""`sdmspec run`: gate on lint and the environment, plan a pipeline's stage graph as data, launch it, record
everything.

Modules: :mod:`stage` (stages as frozen data), :mod:`hooks` (what a pipeline provides: its graph, its options),
:mod:`fingerprint` (what a stage depends on), :mod:`state` (what is done), :mod:`manifest`/:mod:`record`
(OUT/manifest.json), :mod:`gate`, :mod:`prepare` (request -> prepared run), :mod:`execute` (the walk over the
graph), :mod:`launchers` (local, torchrun, SLURM through submitit), :mod:`command` (``sdmspec run -- CMD``).
"""
