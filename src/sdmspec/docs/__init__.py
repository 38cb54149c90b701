"""EXPERIMENTAL_SETUP.md, generated from the spec: write it, or check that the committed copy is current.

The library never prints: :func:`check_setup_doc` returns the diff for the CLI to show.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from pathlib import Path

from sdmspec.docs.render import render_setup
from sdmspec.errors import SdmspecError
from sdmspec.io import atomic_write_text
from sdmspec.schema import PaperSpec

SETUP_DOC_NAME = "EXPERIMENTAL_SETUP.md"

__all__ = ["SETUP_DOC_NAME", "DocCheck", "check_setup_doc", "default_doc_path", "render_setup", "write_setup_doc"]


@dataclass(frozen=True)
class DocCheck:
    """Whether the file at ``path`` holds exactly what the spec renders; ``diff`` (unified) says how it differs."""

    path: Path
    exists: bool
    diff: tuple[str, ...]

    @property
    def up_to_date(self) -> bool:
        return self.exists and not self.diff


def default_doc_path(spec_dir: Path) -> Path:
    """EXPERIMENTAL_SETUP.md beside the spec folder (the repo root), wherever the command runs from."""
    folder = spec_dir.parent if spec_dir.is_file() else spec_dir
    return folder.resolve().parent / SETUP_DOC_NAME


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as err:
        raise SdmspecError(f"{path}: cannot read: {err}") from err


def check_setup_doc(path: Path, spec: PaperSpec) -> DocCheck:
    """Compare ``path`` with the text :func:`render_setup` gives for ``spec``."""
    current = _read(path)
    if current is None:
        return DocCheck(path=path, exists=False, diff=())
    wanted = render_setup(spec)
    diff = difflib.unified_diff(
        current.splitlines(keepends=True),
        wanted.splitlines(keepends=True),
        fromfile=f"{path} (committed)",
        tofile=f"{path} (from spec/)",
    )
    return DocCheck(path=path, exists=True, diff=tuple(diff))


def write_setup_doc(path: Path, spec: PaperSpec) -> bool:
    """Write the rendered document atomically; returns whether the file changed."""
    wanted = render_setup(spec)
    if _read(path) == wanted:
        return False
    atomic_write_text(path, wanted)
    return True
