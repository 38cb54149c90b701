"""The git state a run records: the commit, whether tracked files differ from it, and a hash of that difference.

Any-paper core (``sdmspec run -- CMD`` records it for any repository; this paper's pipeline records it in its
manifest): it runs ``git`` and imports nothing else of sdmspec.
"""

from __future__ import annotations

import hashlib
import subprocess
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class GitState:
    commit: str | None
    dirty: bool | None
    diff_sha256: str | None


def _git(args: list[str], cwd: Path) -> str | None:
    try:
        done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, timeout=20, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout if done.returncode == 0 else None


def git_state(path: Path) -> GitState:
    """The commit of the repository holding ``path``, whether tracked files differ from it, and a hash of the diff.

    Untracked files are ignored (run outputs often live inside the repo). Outside a repository every field is None.
    """
    folder = path if path.is_dir() else path.parent
    commit = _git(["rev-parse", "HEAD"], folder)
    if commit is None:
        return GitState(None, None, None)
    diff = _git(["diff", "HEAD", "--no-ext-diff", "--binary"], folder) or ""
    return GitState(commit.strip(), bool(diff), hashlib.sha256(diff.encode()).hexdigest() if diff else None)
