"""The Pythons sdmspec claims, each tested (`nox -l` lists the sessions; `make test` runs them).

* ``core-3.10`` ... ``core-3.13``: the core install (pydantic, PyYAML, typer, rich; no torch) from the wheel that
  ``python -m build`` makes of the sdist, in a fresh venv: the lint/spec/docs/report tests and the core commands.
* ``checks`` and ``full`` (3.11, the one Python with a CPU torch build on this machine's disk): ruff, mypy --strict
  for the lowest supported Python, the repo's own lint, then the whole suite with the training stack.
* ``docs``: the site, ``mkdocs build --strict`` (the suite's site test builds it too and opens it in Chromium).

``make test`` runs ``checks`` and ``full`` inside the dev ``.venv`` (``--no-venv``: the training stack is installed
once, by ``make setup``) and the core sessions in venvs of their own.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import nox

nox.needs_version = ">=2024.3"
nox.options.default_venv_backend = "venv"
nox.options.sessions = ["checks", "full", "core"]

CORE_PYTHONS = ["3.10", "3.11", "3.12", "3.13"]
# torch's CPU build lies on disk for 3.11 only; elsewhere a plain torch requirement is a multi-GB CUDA download.
TRAIN_PYTHON = "3.11"
# The core tests: everything that runs without the training stack. The folders under tests/ not named here
# (checkpoint, jobs, models, profile, runner) import torch or run the pipeline; inside these, the few tests that need
# the stack are marked `train` and deselected.
CORE_TESTS = ["tests/lint", "tests/schema", "tests/core", "tests/workflow"]
WORKERS = os.environ.get("SDMSPEC_TEST_WORKERS", "2")


def _in_venv(session: nox.Session) -> bool:
    """False under ``--no-venv`` (``make test`` runs checks/full in .venv, which ``make setup`` installed)."""
    return session.venv_backend != "none"


def _install_dev(session: nox.Session) -> None:
    if _in_venv(session):
        session.install("-c", "constraints-dev.txt", "-e", ".[train,dev]")


@nox.session(python=TRAIN_PYTHON)
def checks(session: nox.Session) -> None:
    """ruff, mypy --strict (python_version 3.10, pyproject), `sdmspec lint configs/`, `sdmspec docs --check`."""
    _install_dev(session)
    session.run("ruff", "check", "src", "tests", "benchmarks", "noxfile.py", "docs/hooks")
    session.run("mypy")
    session.run("sdmspec", "lint", "configs/")
    session.run("sdmspec", "docs", "--check")


@nox.session(python=TRAIN_PYTHON)
def full(session: nox.Session) -> None:
    """The whole suite with the training stack (torch's CPU build from constraints-dev.txt)."""
    _install_dev(session)
    session.run("python", "-m", "pytest", "-n", WORKERS, "-q", *session.posargs)


@nox.session(python=CORE_PYTHONS)
def core(session: nox.Session) -> None:
    """The core install, built as a user gets it (sdist, then a wheel from it), and the tests that need no torch."""
    # Not session.create_tmp(): it points TMPDIR inside the tree, and a test's tmp_path below the repo's spec/
    # would find that spec as its parent's (lint looks for spec/ upwards).
    with tempfile.TemporaryDirectory(prefix="sdmspec-dist-") as tmp:
        _core(session, Path(tmp))


def _core(session: nox.Session, dist: Path) -> None:
    session.install("build")
    session.run("python", "-m", "build", "--outdir", str(dist), silent=True)
    (wheel,) = dist.glob("sdmspec-*.whl")
    (sdist,) = dist.glob("sdmspec-*.tar.gz")
    session.log(f"built {sdist.name} and {wheel.name}")
    session.install(f"{wheel}[test]")
    # The point of the session: nothing of the training stack came with the core install.
    session.run("python", "-c", _NO_TRAINING_STACK, silent=True)
    session.run("sdmspec", "--version")
    session.run("sdmspec", "lint", "configs/", "--format", "json", silent=True)
    session.run("sdmspec", "spec", "check")
    session.run("sdmspec", "docs", "--check")
    session.run("sdmspec", "spec", "schema", "-o", str(dist / "config.schema.json"))
    session.run("python", "-m", "pytest", *CORE_TESTS, "-m", "not train", "-n", WORKERS, "-q", *session.posargs)


_NO_TRAINING_STACK = (
    "import importlib.util, sys\n"
    "found = [m for m in ('torch', 'transformers', 'datasets') if importlib.util.find_spec(m)]\n"
    "sys.exit(f'the core install brought {found}' if found else 0)\n"
)


@nox.session(python=TRAIN_PYTHON)
def docs(session: nox.Session) -> None:
    """The documentation site: `mkdocs build --strict` (broken links and anchors fail it); `-- serve` to preview."""
    if _in_venv(session):
        session.install("-e", ".[docs]")
    if session.posargs[:1] == ["serve"]:
        session.run("mkdocs", "serve")
        return
    with tempfile.TemporaryDirectory(prefix="sdmspec-site-") as site:
        session.run("mkdocs", "build", "--strict", "--site-dir", site)
