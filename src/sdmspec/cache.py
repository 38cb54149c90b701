"""Where sdmspec caches what it generates once and reuses (smoke data, smoke checkpoints)."""

from __future__ import annotations

import os
from pathlib import Path

CACHE_ENV = "SDMSPEC_CACHE"


def cache_root() -> Path:
    """``$SDMSPEC_CACHE``, else ``~/.cache/sdmspec``; each kind of cached thing has a versioned folder below it."""
    base = os.environ.get(CACHE_ENV)
    return Path(base) if base else Path.home() / ".cache" / "sdmspec"
