"""The composed lint on real repositories' configs (../shared/realworld): lightning-hydra-template and S4."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sdmspec.compose.composed_lint import lint_composed
from sdmspec.compose.entry import Entry
from sdmspec.lint.diagnostics import Diagnostic
from sdmspec.schema import load_spec
from sdmspec_cli import run_sdmspec
from shared_data import SHARED, shared_path

REALWORLD = SHARED / "realworld"
TEMPLATE = REALWORLD / "ashleve__lightning-hydra-template" / "configs"
S4 = REALWORLD / "state-spaces__s4" / "configs"

# Our own spec for the template's MNIST example, written from what a paper would say.
TEMPLATE_SPEC = {
    "paper.yaml": "paper: {title: MNIST, source: the template's README}\n",
    "config.yaml": """\
config:
  model:
    optimizer:
      lr: {type: float, exact: 0.001, source: "a learning rate of 1e-3"}
      weight_decay: {type: float, exact: 0.0, source: "no weight decay"}
  trainer:
    max_epochs: {type: int, exact: 10, source: "10 epochs"}
  data:
    batch_size: {type: int, exact: 64, source: "batches of 64"}
  paths:
    output_dir: {type: str, unspecified: true, required: false, source: "assumption: anywhere"}
""",
}
S4_SPEC = {
    "paper.yaml": "paper: {title: S4 on WikiText-103, source: the S4 paper}\n",
    "config.yaml": """\
config:
  optimizer:
    lr: {type: float, exact: 5.0e-4, source: "lr 5e-4"}
    weight_decay: {type: float, exact: 0.1, source: "weight decay 0.1"}
  model:
    n_layers: {type: int, exact: 16, source: "16 layers"}
    d_model: {type: int, exact: 1024, source: "width 1024"}
    layer:
      dt_min: {type: float, unspecified: true, required: false, source: "assumption"}
  trainer:
    max_epochs: {type: int, exact: 1000, source: "1000 epochs"}
  train:
    interval: {type: str, exact: step, source: "the schedule steps per update"}
""",
}


def write_spec(folder: Path, files: dict[str, str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text)
    return folder


def errors(diagnostics: tuple[Diagnostic, ...]) -> dict[str, tuple[str | None, int | None, int | None, str | None]]:
    return {d.key or "": (d.file, d.line, d.column, d.actual) for d in diagnostics if d.severity.value == "error"}


@pytest.fixture
def template(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    configs = shared_path(TEMPLATE)
    (tmp_path / "configs").symlink_to(configs, target_is_directory=True)
    write_spec(tmp_path / "spec", TEMPLATE_SPEC)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SDMSPEC_CACHE", str(tmp_path / "cache"))
    return tmp_path


def test_the_template_s_train_config_holds_the_defaults(template: Path) -> None:
    spec = load_spec(template / "spec")
    result = lint_composed(Path("configs"), [Entry("train")], spec)
    # Without the experiment: max_epochs 10 (trainer/default.yaml), batch 128 (data/mnist.yaml), lr 0.001.
    assert errors(result.diagnostics) == {"data.batch_size": ("configs/data/mnist.yaml", 3, 13, "128")}
    # colorlog is a plugin this machine lacks: Hydra's own group is composed with its stand-in, said once each.
    plugins = sorted(d.message.split(":")[0] for d in result.diagnostics if d.code == "SDM011")
    assert plugins == ["hydra/hydra_logging", "hydra/job_logging"]


def test_the_template_s_experiment_trains_at_the_rate_its_file_sets(template: Path) -> None:
    spec = load_spec(template / "spec")
    result = lint_composed(Path("configs"), [Entry("train", ("experiment=example",))], spec)
    # Per-file lint passes lr 0.001 (model/mnist.yaml); the program gets 0.002 from experiment/example.yaml:26:9.
    assert errors(result.diagnostics) == {"model.optimizer.lr": ("configs/experiment/example.yaml", 26, 9, "0.002")}
    (output_dir,) = [d for d in result.diagnostics if d.key == "paths.output_dir"]
    assert (output_dir.code, output_dir.file, output_dir.line) == ("SDM205", "configs/paths/default.yaml", 15)


def test_the_cli_on_the_template_json_keys_are_composed_paths(template: Path) -> None:
    done = run_sdmspec(
        "lint", "configs", "--loader", "hydra", "--config-name", "train", "--override", "experiment=example",
        "--override", "trainer.max_epochs=5", "--format", "json", cwd=template,
    )  # fmt: skip
    assert done.returncode == 1, done.stderr
    report = json.loads(done.stdout)
    found = {(d["key"], d["file"], d["line"], d["column"]) for d in report["diagnostics"] if d["code"] == "SDM201"}
    assert found == {
        ("model.optimizer.lr", "configs/experiment/example.yaml", 26, 9),
        ("trainer.max_epochs", None, None, None),
    }
    epochs = next(d for d in report["diagnostics"] if d["key"] == "trainer.max_epochs")
    assert "the override trainer.max_epochs=5 on the command line" in epochs["message"]


def test_the_cli_on_a_missing_experiment_is_one_finding(template: Path) -> None:
    done = run_sdmspec("lint", "configs", "--loader", "hydra", "--config-name", "train", "--override", "experiment=x",
                       cwd=template)  # fmt: skip
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert "SDM010" in done.stdout and "Could not find 'experiment/x' (available: example)" in done.stdout


def test_s4_s_wikitext_experiment_and_a_drifted_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    configs = shared_path(S4)
    spec = load_spec(write_spec(tmp_path / "spec", S4_SPEC))
    monkeypatch.chdir(configs.parent)
    monkeypatch.setenv("SDMSPEC_CACHE", str(tmp_path / "cache"))
    entries = [Entry("config", ("experiment=lm/s4-wt103",)), Entry("config", ("experiment=synthetic/s4-copying",))]
    result = lint_composed(Path("configs"), entries, spec)
    found = {(d.key, d.file, d.line) for d in result.diagnostics if d.code == "SDM201"}
    # The WikiText-103 run is the paper's; the copying task is another setup, found at its lines.
    assert found == {
        ("model.n_layers", "configs/experiment/synthetic/s4-copying.yaml", 15),
        ("model.d_model", "configs/experiment/synthetic/s4-copying.yaml", 16),
        ("optimizer.lr", "configs/experiment/synthetic/s4-copying.yaml", 32),
        ("optimizer.weight_decay", "configs/experiment/synthetic/s4-copying.yaml", 33),
        ("train.interval", "configs/scheduler/constant.yaml", 3),
    }
    # Its ${eval:...} values (registered by S4's Python) are known only at run time, and not evaluated.
    (dt_min,) = [d for d in result.diagnostics if d.key == "model.layer.dt_min"]
    assert (dt_min.code, dt_min.file, dt_min.line) == ("SDM205", "configs/experiment/synthetic/s4-copying.yaml", 22)
