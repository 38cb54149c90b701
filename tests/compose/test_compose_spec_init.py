"""`sdmspec spec init --loader hydra`: a spec from a composed entry, which its own composed lint then passes."""

from __future__ import annotations

from pathlib import Path

import yaml

from sdmspec_cli import run_sdmspec


def test_a_spec_from_the_composed_entry_lints_it_clean(app: Path) -> None:
    started = run_sdmspec(
        "spec", "init", "conf", "--loader", "hydra", "--config-name", "train", "--override", "experiment=interp",
        "--override", "data.workers=4", "--output", "started", cwd=app,
    )  # fmt: skip
    assert started.returncode == 0, started.stderr
    config = yaml.safe_load((app / "started" / "config.yaml").read_text())["config"]
    # Global key paths of the composed config, resolved: the interpolated rate is the experiment's base_lr.
    assert config["optimizer"]["lr"]["default"] == 0.002 and config["base_lr"]["default"] == 0.002
    assert config["data"]["workers"]["default"] == 4
    assert "root" not in config["data"]  # unresolvable here: left out, with a note
    assert "data.root (unresolved" in started.stderr
    runs = yaml.safe_load((app / "started" / "runs.yaml").read_text())["runs"]
    assert runs[0]["config-name"] == "train" and runs[0]["overrides"] == ["experiment=interp", "data.workers=4"]
    linted = run_sdmspec("lint", "conf", "--loader", "hydra", "--spec", "started", cwd=app)
    assert linted.returncode == 0, linted.stdout + linted.stderr
    assert "0 errors, 0 warnings" in linted.stdout
