"""`--loader hydra` and `run --` at the command line: usage errors and a missing extra are one line, exit 2."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import tomllib

from sdmspec.extras import EXTRA_OF_MODULE
from sdmspec_cli import OFFLINE, REPO, run_sdmspec


def _without(modules: list[str], *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    # A None entry in sys.modules makes an import fail exactly as on a machine without the package.
    program = (
        f"import sys\nsys.modules.update(dict.fromkeys({modules!r}))\n"
        f"from sdmspec.cli.app import main\nmain({list(args)!r})\n"
    )
    return subprocess.run(
        [sys.executable, "-c", program], cwd=cwd,
        env={**OFFLINE, "PATH": "/usr/bin:/bin", "SDMSPEC_CACHE": os.environ.get("SDMSPEC_CACHE", str(cwd / ".cache"))},
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


HYDRA = sorted(module for module, extra in EXTRA_OF_MODULE.items() if extra == "hydra")
TRAIN = sorted(module for module, extra in EXTRA_OF_MODULE.items() if extra == "train")


def test_the_hydra_extra_is_the_map_s_hydra_modules() -> None:
    extras = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    names = {re.split(r"[<>=!~\[; ]", requirement)[0] for requirement in extras["hydra"]}
    # hydra-core installs `hydra`; OmegaConf alone is the per-file loader's extra, and comes with hydra-core too.
    assert names == {"hydra-core", "omegaconf"} and HYDRA == ["hydra"] and EXTRA_OF_MODULE["omegaconf"] == "omegaconf"
    # dev takes the hydra extra whole (``sdmspec[test,docs,hydra]``), so the suite has what it composes with.
    (own,) = [requirement for requirement in extras["dev"] if requirement.startswith("sdmspec[")]
    assert "hydra" in own.removeprefix("sdmspec[").rstrip("]").split(",")


@pytest.mark.parametrize(
    ("args", "command"),
    [
        (["lint", "conf", "--loader", "hydra", "--config-name", "train"], "lint --loader hydra"),
        (["run", "--configs", "conf", "--", "python", "train.py", "data.workers=4"], "run -- CMD"),
    ],
)
def test_without_hydra_it_says_what_to_install(app: Path, args: list[str], command: str) -> None:
    done = _without([*HYDRA, "omegaconf"], *args, cwd=app)  # a machine without the extra has neither
    assert done.returncode == 2, done.stderr
    (line,) = done.stderr.splitlines()
    assert line == (
        f"sdmspec: error: `sdmspec {command}` needs Hydra's compose API (hydra not installed): "
        "pip install 'sdmspec[hydra]'"
    )
    assert not (app / "received.json").exists()


def test_run_with_a_command_needs_no_training_stack(app: Path) -> None:
    done = _without(TRAIN, "run", "--dry-run", "--configs", "conf", "--", "python", "train.py", "data.workers=4",
                    cwd=app)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "would run: python train.py data.workers=4" in done.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["lint", "conf", "--config-name", "train"], "add --loader hydra"),
        (["lint", "conf", "--loader", "hydra", "--config-name", "train", "--fix"], "--fix and --diff edit files"),
        (["lint", "conf/train.yaml", "--loader", "hydra", "--config-name", "train"], "one config folder"),
        (["lint", "conf", "--loader", "hydra", "--override", "a=1"], "--override needs --config-name"),
        (["lint", "conf", "--loader", "hydra", "--spec", "nospec"], "no such"),
    ],
)
def test_usage_errors_are_one_line(app: Path, args: list[str], message: str) -> None:
    (app / "nospec").mkdir()
    (app / "nospec" / "paper.yaml").write_text("paper: {title: t, source: s}\n")
    (app / "nospec" / "config.yaml").write_text("config:\n  a: {type: int, exact: 1, source: s}\n")
    if message == "no such":
        message = "needs --config-name NAME"  # a spec without entries
    done = run_sdmspec(*args, cwd=app)
    assert done.returncode == 2, done.stdout + done.stderr
    assert message in done.stderr and "Traceback" not in done.stderr


def test_the_text_report_names_the_file_and_the_entry(app: Path) -> None:
    done = run_sdmspec("lint", "conf", "--loader", "hydra", cwd=app)  # the spec's two entries
    assert done.returncode == 1
    assert "conf/experiment/drift.yaml" in done.stdout and "4:15" in done.stdout and "[entry: drift]" in done.stdout


def test_pyproject_names_the_loader_the_config_and_its_overrides(app: Path) -> None:
    """``[tool.sdmspec]`` gives what the command line would: `sdmspec lint` alone composes the entry it names, and
    the command line's overrides come after the table's (so they win, as on the program's own command line)."""
    (app / "pyproject.toml").write_text(
        '[tool.sdmspec]\nloader = "hydra"\nconfigs = ["conf"]\nconfig-name = "train"\n'
        'overrides = ["experiment=drift", "data.workers=4"]\n'
    )
    drifted = run_sdmspec("lint", cwd=app)
    assert drifted.returncode == 1, drifted.stdout + drifted.stderr
    assert "conf/experiment/drift.yaml" in drifted.stdout and "4:15" in drifted.stdout
    assert "Loader: hydra." in drifted.stdout.splitlines()[-1]
    # The same entry without the drift: the command line's override replaces the table's choice of experiment.
    clean = run_sdmspec("lint", "--override", "experiment=sgd", cwd=app)
    assert clean.returncode == 1 and "conf/optimizer/sgd.yaml" in clean.stdout, clean.stdout + clean.stderr
    assert "conf/experiment/drift.yaml" not in clean.stdout
