"""A core-only install (pydantic, PyYAML, typer, rich: what lint and the pre-commit hook need) never shows a
traceback: commands that need the training stack say so in one line with the install command, exit 2.

The child process hides the `train` extra's modules (a ``None`` entry in ``sys.modules`` makes their import fail
exactly as on a machine without them), so the test runs in this venv, where they are installed.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

if sys.version_info >= (3, 11):
    import tomllib
else:  # Python 3.10: the same parser, from PyPI (the dev and test extras install it there)
    import tomli as tomllib

from sdmspec.extras import EXTRA_OF_MODULE
from sdmspec_cli import OFFLINE, REPO

HIDDEN = sorted(module for module, extra in EXTRA_OF_MODULE.items() if extra == "train")
INSTALL = "pip install 'sdmspec[train]'"


def _core_only(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    program = (
        "import sys\n"
        f"sys.modules.update(dict.fromkeys({HIDDEN!r}))\n"
        "from sdmspec.cli.app import main\n"
        f"main({list(args)!r})\n"
    )
    return subprocess.run(
        [sys.executable, "-c", program], cwd=cwd, env={**OFFLINE, "PATH": "/usr/bin:/bin"},
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("args", "command"),
    [
        (["variants"], "variants"),
        (["profile", "--smoke", "--out", "{tmp}/profile"], "profile"),
        (["run", "--dry-run"], "run"),
        (["run", "--smoke", "--out", "{tmp}/run"], "run"),
        (["job", "pretrain", "--smoke", "--variant", "mamba-130m-sdm", "--out", "{tmp}/job"], "job pretrain"),
    ],
)
def test_a_command_that_needs_the_training_stack_says_so_in_one_line(
    tmp_path: Path, args: list[str], command: str
) -> None:
    result = _core_only(*(arg.format(tmp=tmp_path) for arg in args))
    assert result.returncode == 2, result.stderr
    assert result.stdout == ""
    (line,) = result.stderr.splitlines()
    assert line.startswith(f"sdmspec: error: `sdmspec {command}` needs the training stack (torch, ")
    assert line.endswith(INSTALL)
    assert not list(tmp_path.iterdir()), "nothing is started before the check"


@pytest.mark.train
def test_a_checkpoint_read_without_torch_is_one_line(tmp_path: Path) -> None:
    """verify-sparsity is not refused up front (a folder of the wrong kind needs no torch to be named), but reading a
    torch.save file without torch ends in the same one line, not an ImportError traceback."""
    import torch

    checkpoint = tmp_path / "sdm.pt"
    torch.save({"backbone.layers.0.mixer.in_proj.weight": torch.zeros(4, 4)}, checkpoint)
    result = _core_only("verify-sparsity", str(checkpoint), str(checkpoint))
    assert result.returncode == 2, result.stderr
    (line,) = result.stderr.splitlines()
    assert line.startswith("sdmspec: error: `sdmspec verify-sparsity` needs the training stack (torch is not ")
    assert line.endswith(INSTALL)


@pytest.mark.parametrize(
    "args",
    [["lint", "configs"], ["docs", "--check"], ["spec", "schema"], ["env"], ["validate"], ["job", "pretrain", "-h"]],
)
def test_what_the_core_install_can_do_it_does(args: list[str]) -> None:
    result = _core_only(*args)
    assert result.returncode in (0, 1), result.stderr
    assert "Traceback" not in result.stderr and "ModuleNotFoundError" not in result.stderr
    assert result.stdout.strip()


def test_the_extras_map_names_each_package_of_pyproject_s_extras_once() -> None:
    extras = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    for extra in ("train", "cuda"):
        names = [re.split(r"[<>=!~\[; ]", requirement)[0].replace("-", "_") for requirement in extras[extra]]
        assert len(names) == len(set(names)), f"[{extra}] lists a package twice: {names}"
        assert sorted(names) == sorted(module for module, owner in EXTRA_OF_MODULE.items() if owner == extra)
