"""The published pre-commit hook, installed by pre-commit itself from a git repository holding this project.

pre-commit builds the hook's own environment with pip (from PyPI): these tests cost two installs (about 10 s each on
an idle machine). They check what a user of the hook sees: it passes on the project's configs, fails on the seed's
drifted values with lint's findings, finds the spec at the repository root, and installs no torch.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from workflow_helpers import REPO, VENV_BIN

pytestmark = pytest.mark.slow

PRE_COMMIT = str(VENV_BIN / "pre-commit")
SEED = REPO / "tests" / "fixtures" / "seed"


def _env(home: Path) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("GIT_")}
    identity = {"GIT_AUTHOR_NAME": "test", "GIT_AUTHOR_EMAIL": "test@example.com"}
    identity |= {"GIT_COMMITTER_NAME": "test", "GIT_COMMITTER_EMAIL": "test@example.com"}
    return {
        **env,
        **identity,
        "PRE_COMMIT_HOME": str(home),
        "PRE_COMMIT_COLOR": "never",
        "GIT_CONFIG_GLOBAL": "/dev/null",
    }


def _run(args: list[str], cwd: Path, env: dict[str, str], timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False)


def _git_repo(folder: Path, env: dict[str, str]) -> str:
    """Commit everything in ``folder`` as a new repository; returns the commit."""
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-q", "--no-verify", "-m", "test"]):
        _run(["git", *args], folder, env).check_returncode()
    return _run(["git", "rev-parse", "HEAD"], folder, env).stdout.strip()


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("pre-commit-home")


@pytest.fixture(scope="module")
def hook_repo(tmp_path_factory: pytest.TempPathFactory, home: Path) -> tuple[Path, str]:
    """The project's tracked files, as in this working tree, committed in a fresh repository (what a clone holds)."""
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True, text=True, check=False)
    if listed.returncode != 0:
        pytest.skip("not a git checkout: pre-commit installs hooks from git repositories only")
    target = tmp_path_factory.mktemp("sdmspec-hooks")
    for name in filter(None, listed.stdout.split("\0")):
        source = REPO / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    return target, _git_repo(target, _env(home))


@pytest.fixture(scope="module")
def config(hook_repo: tuple[Path, str], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A user's .pre-commit-config.yaml using the published hook at the copy's commit."""
    path, commit = hook_repo
    file = tmp_path_factory.mktemp("config") / "pre-commit-config.yaml"
    file.write_text(f"repos:\n  - repo: {path}\n    rev: {commit}\n    hooks:\n      - id: sdmspec-lint\n")
    return file


@pytest.fixture
def project(hook_repo: tuple[Path, str], home: Path) -> Iterator[Path]:
    """The hook repository doubles as the project checked; its configs are restored after each test."""
    path, _ = hook_repo
    yield path
    _run(["git", "checkout", "--", "configs"], path, _env(home)).check_returncode()


def test_hook_passes_on_the_repo_and_fails_on_seed_values(config: Path, project: Path, home: Path) -> None:
    command = [PRE_COMMIT, "run", "--config", str(config), "sdmspec-lint", "--all-files"]
    clean = _run(command, project, _env(home))
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert "sdmspec lint" in clean.stdout and "Passed" in clean.stdout
    for seed in SEED.glob("*.yaml"):
        shutil.copy2(seed, project / "configs" / seed.name)
    drifted = _run(command, project, _env(home))
    assert drifted.returncode == 1, drifted.stdout
    assert "Failed" in drifted.stdout
    for finding in ("training.pretrain.max_epochs is 15", "training.pretrain.batch_size is 24", "epochs.mnli is 8"):
        assert finding in drifted.stdout


def test_hook_environment_has_core_dependencies_only(config: Path, project: Path, home: Path) -> None:
    assert _run([PRE_COMMIT, "install-hooks", "--config", str(config)], project, _env(home)).returncode == 0
    pythons = sorted(home.glob("repo*/py_env-*/bin/python"))
    assert len(pythons) == 1, pythons
    code = "import importlib.metadata as m; print(' '.join(d.metadata['Name'].lower() for d in m.distributions()))"
    installed = set(_run([str(pythons[0]), "-c", code], project, _env(home)).stdout.split())
    assert {"sdmspec", "pydantic", "pyyaml", "typer", "rich"} <= installed
    assert not installed & {"torch", "transformers", "datasets", "fvcore", "safetensors", "numpy"}


def test_try_repo_fails_on_a_project_with_the_seed_configs(
    hook_repo: tuple[Path, str], home: Path, tmp_path: Path
) -> None:
    """`pre-commit try-repo` as the issue states it: another project (its own spec/ at the root), seed configs."""
    consumer = tmp_path / "consumer"
    shutil.copytree(REPO / "spec", consumer / "spec")
    shutil.copytree(SEED, consumer / "configs", ignore=shutil.ignore_patterns("*.md"))
    (consumer / "ci.yaml").write_text("jobs: {test: {runs-on: ubuntu-latest}}\n")  # not a config: not linted
    _git_repo(consumer, _env(home))
    result = _run([PRE_COMMIT, "try-repo", str(hook_repo[0]), "sdmspec-lint", "--all-files"], consumer, _env(home))
    assert result.returncode == 1, result.stdout + result.stderr
    assert "configs/pretrain_sdm.yaml" in result.stdout
    assert "training.pretrain.max_epochs is 15" in result.stdout
    assert "ci.yaml" not in result.stdout
