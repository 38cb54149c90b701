"""Staging leftovers of an interrupted job: what a kill at the wrong moment leaves in the job's folder.

Every output is written under a temporary name and renamed into place (checkpoints as ``.step-*`` folders, model
folders as ``.model.*``, files as ``.<name>.<random>.tmp``), so a killed process leaves such names behind, never a
half-written file under a final name. The next start of the job removes them: the job is then its folder's only
writer (the runner holds the folder's lock for it).
"""

from __future__ import annotations

from pathlib import Path

# Folders that atomic writes stage in, relative to the job's folder.
_STAGING_FOLDERS = (".", "checkpoints")
_STAGING_PATTERNS = (".step-*", ".model.*", ".*.tmp")


def remove_leftovers(out: Path) -> list[Path]:
    """Delete the staging leftovers under ``out`` (top level and ``checkpoints/``); return what was removed."""
    import shutil

    removed: list[Path] = []
    for name in _STAGING_FOLDERS:
        folder = out / name
        if not folder.is_dir():
            continue
        for pattern in _STAGING_PATTERNS:
            for path in sorted(folder.glob(pattern)):
                if path.is_dir() and not path.is_symlink():
                    shutil.rmtree(path, ignore_errors=True)
                else:
                    path.unlink(missing_ok=True)
                removed.append(path)
    return removed
