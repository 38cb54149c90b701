"""The composed lint on the tests' own Hydra app: provenance through the defaults list, packages and overrides."""

from __future__ import annotations

from pathlib import Path

import pytest
from compose_helpers import app_spec, by_key, lint_app, places

from sdmspec.compose.composed_lint import compose_and_resolve
from sdmspec.compose.entry import Entry
from sdmspec.compose.hydra_compose import compose_entry
from sdmspec.compose.interpolation import Status
from sdmspec.compose.provenance import provenance
from sdmspec.lint.diagnostics import Location


def test_the_paper_s_run_lints_clean_of_errors(app: Path) -> None:
    result = lint_app(app, "data.workers=4")
    assert result.errors == 0
    # What cannot be known here is said, not passed silently: the data root's environment variable is unset.
    assert places(result.diagnostics) >= {("conf/data/small.yaml", 3, 7, "SDM207", "data.root")}


def test_an_experiment_file_s_value_is_reported_where_it_is_written(app: Path) -> None:
    result = lint_app(app, "experiment=drift", "data.workers=4")
    errors = {(d.file, d.line, d.column, d.key) for d in result.diagnostics if d.code == "SDM201"}
    assert errors == {
        ("conf/experiment/drift.yaml", 4, 15, "trainer.max_epochs"),
        ("conf/experiment/drift.yaml", 7, 7, "optimizer.lr"),
    }
    (lr,) = by_key(result, "optimizer.lr")
    assert (lr.expected, lr.actual) == ("1.0e-4", "0.0003")  # OmegaConf reads 3e-4 as a float, as Hydra does


def test_a_suppression_beside_the_winning_value_silences_it(app: Path) -> None:
    drift = app / "conf" / "experiment" / "drift.yaml"
    drift.write_text(drift.read_text().replace("lr: 3e-4", "lr: 3e-4  # sdmspec: ignore[value-mismatch] the ablation"))
    result = lint_app(app, "experiment=drift", "data.workers=4")
    assert [d.key for d in result.diagnostics if d.code == "SDM201"] == ["trainer.max_epochs"]


def test_a_group_override_changes_which_file_sets_the_value(app: Path) -> None:
    result = lint_app(app, "optimizer=sgd", "data.workers=4")
    assert {(d.file, d.line, d.key) for d in result.diagnostics if d.code == "SDM201"} == {
        ("conf/optimizer/sgd.yaml", 2, "optimizer.lr"),
        ("conf/optimizer/sgd.yaml", 4, "optimizer.betas[0]"),
        ("conf/optimizer/sgd.yaml", 4, "optimizer.betas[1]"),
    }
    # Each list element is placed at itself.
    columns = sorted(d.column for d in by_key(result, "optimizer.betas[0]") + by_key(result, "optimizer.betas[1]"))
    assert columns == [9, 14]


def test_an_override_in_an_experiment_s_defaults_list_is_followed(app: Path) -> None:
    result = lint_app(app, "experiment=sgd", "data.workers=4")
    (lr,) = by_key(result, "optimizer.lr")
    assert (lr.file, lr.line, lr.actual) == ("conf/optimizer/sgd.yaml", 2, "0.1")


def test_a_value_set_on_the_command_line_names_the_override(app: Path) -> None:
    result = lint_app(app, "trainer.max_epochs=5", "data.workers=4")
    (epochs,) = by_key(result, "trainer.max_epochs")
    assert (epochs.code, epochs.file, epochs.line) == ("SDM201", None, None)
    assert "the override trainer.max_epochs=5 on the command line" in epochs.message
    assert epochs.spec_location == Location("spec/config.yaml", 7, 5)  # SARIF's and GitHub's anchor, as for SDM203
    forced = lint_app(app, "++optimizer.lr=1e-3", "data.workers=4")  # Hydra's parser types 1e-3 as a float
    assert [(d.code, d.actual) for d in by_key(forced, "optimizer.lr")] == [("SDM201", "0.001")]


def test_a_deleted_key_is_missing_from_the_composed_config(app: Path) -> None:
    result = lint_app(app, "~trainer.max_epochs", "data.workers=4")
    (missing,) = by_key(result, "trainer.max_epochs")
    assert missing.code == "SDM203"


def test_an_interpolated_value_names_both_places(app: Path) -> None:
    result = lint_app(app, "experiment=interp", "data.workers=4")
    (lr,) = by_key(result, "optimizer.lr")
    assert (lr.code, lr.file, lr.line, lr.column, lr.actual) == ("SDM201", "conf/experiment/interp.yaml", 4, 7, "0.002")
    assert lr.related == (Location("conf/experiment/interp.yaml", 2, 10),)
    assert "${base_lr}" in lr.message and "base_lr is set at conf/experiment/interp.yaml:2:10" in lr.message


def test_an_environment_variable_resolves_when_set_and_is_a_finding_when_not(app: Path, monkeypatch) -> None:
    unset = lint_app(app, "data.workers=4")
    (root,) = by_key(unset, "data.root")
    assert (root.code, root.severity.value) == ("SDM207", "warning")
    assert "SDMSPEC_TEST_DATA_ROOT" in root.message
    monkeypatch.setenv("SDMSPEC_TEST_DATA_ROOT", "/data")
    (resolved,) = by_key(lint_app(app, "data.workers=4"), "data.root")
    assert (resolved.code, resolved.actual) == ("SDM202", "/data")  # resolved: the value the program gets


def test_a_mandatory_value_left_unset_is_an_error_where_the_paper_pins_it(app: Path) -> None:
    result = lint_app(app)
    (workers,) = by_key(result, "data.workers")
    assert (workers.code, workers.file, workers.line, workers.column) == ("SDM206", "conf/data/small.yaml", 2, 10)
    assert workers.expected == "4"


def test_the_spec_s_entries_are_each_composed_and_a_shared_finding_names_both(app: Path) -> None:
    from sdmspec.compose.lint_command import hydra_lint

    spec = app_spec(app)
    result = hydra_lint([Path("conf")], spec, config_name=None, spec_path=app / "spec")
    assert {(d.file, d.line, d.key) for d in result.diagnostics if d.code == "SDM201"} == {
        ("conf/experiment/drift.yaml", 4, "trainer.max_epochs"),
        ("conf/experiment/drift.yaml", 7, "optimizer.lr"),
    }
    (root,) = by_key(result, "data.root")
    assert root.message.endswith("[entries: paper; drift]")
    (lr,) = by_key(result, "optimizer.lr")
    assert lr.message.endswith("[entry: drift]")


def test_an_entry_s_override_is_placed_at_its_line_in_the_spec(app: Path) -> None:
    (app / "spec" / "runs.yaml").write_text(
        "runs:\n  - config-name: train\n    overrides: [data.workers=4, trainer.max_epochs=2]\n    source: T1\n"
    )
    from sdmspec.compose.lint_command import hydra_lint

    result = hydra_lint([Path("conf")], app_spec(app), config_name=None, spec_path=app / "spec")
    (epochs,) = by_key(result, "trainer.max_epochs")
    assert (epochs.file, epochs.line, epochs.column) == (str(Path("spec/runs.yaml")), 3, 33)


def test_a_missing_group_option_is_one_finding_at_the_entry(app: Path) -> None:
    (app / "spec" / "runs.yaml").write_text(
        "runs:\n  - config-name: train\n    source: T1\n  - config-name: train\n    overrides: [experiment=broken]\n"
        "    source: T2\n"
    )
    from sdmspec.compose.lint_command import hydra_lint

    result = hydra_lint([Path("conf")], app_spec(app), config_name=None, spec_path=app / "spec")
    (failed,) = [d for d in result.diagnostics if d.code == "SDM010"]
    assert (failed.file, failed.line, failed.column) == ("spec/runs.yaml", 4, 5)
    assert "Could not find 'optimizer/lamb'" in failed.message and "available: adam, sgd" in failed.message
    assert by_key(result, "data.workers")[0].code == "SDM206"  # the other entry is still linted


def test_provenance_replays_the_defaults_list_in_hydra_s_order(app: Path) -> None:
    composition = compose_entry(Path("conf"), Entry("train", ("experiment=drift",)))
    assert [merged.config_path for merged in composition.files] == [
        "train", "optimizer/adam", "data/small", "experiment/drift",
    ]  # fmt: skip
    origins = provenance(composition, Path("conf")).origins
    # _self_ comes first in train.yaml: the experiment file wins over it, the groups fill in the rest.
    assert origins["trainer.max_epochs"].location == Location("conf/experiment/drift.yaml", 4, 15)
    assert origins["trainer.devices"].location == Location("conf/train.yaml", 9, 12)
    assert origins["optimizer.weight_decay"].location == Location("conf/optimizer/adam.yaml", 3, 15)
    assert "defaults" not in origins


def test_resolution_statuses(app: Path) -> None:
    spec = app_spec(app)
    composed = compose_and_resolve(Path("conf"), Entry("train", ("experiment=interp",)), spec)
    assert composed.values["optimizer.lr"].status is Status.VALUE
    assert composed.values["optimizer.lr"].via == ("base_lr",)
    assert composed.values["data.workers"].status is Status.MISSING
    assert composed.values["data.root"].status is Status.UNRESOLVED


def test_the_composition_is_hydra_compose_s(app: Path) -> None:
    # Composition goes through Hydra's private steps to keep the defaults list: it must give what the public API does.
    from hydra import compose, initialize_config_dir
    from omegaconf import OmegaConf

    from sdmspec.compose.hydra_compose import HydraComposer

    entries = [(), ("experiment=drift",), ("experiment=sgd", "~trainer.devices"), ("++optimizer.lr=3", "+extra=1")]
    with HydraComposer(Path("conf")) as composer:
        ours = [composer.compose(Entry("train", overrides)).config for overrides in entries]
    with initialize_config_dir(config_dir=str(app / "conf"), version_base=None):
        theirs = [compose("train", overrides=list(overrides)) for overrides in entries]
    for mine, hydra_s in zip(ours, theirs, strict=True):
        assert OmegaConf.to_container(mine, resolve=False) == OmegaConf.to_container(hydra_s, resolve=False)


def test_a_kept_composition_gives_the_same_findings_without_hydra(app: Path) -> None:
    from sdmspec.compose import hydra_compose

    first = lint_app(app, "experiment=interp")
    assert list((app.parent / "cache").glob("compose-v1/*.json"))

    def no_hydra(self: object, entry: Entry) -> None:
        raise AssertionError("composed again")

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(hydra_compose.HydraComposer, "_compose_with_stand_ins", no_hydra)
        again = lint_app(app, "experiment=interp")
    assert again.diagnostics == first.diagnostics
    # A changed file is composed afresh.
    (app / "conf" / "experiment" / "interp.yaml").write_text("# @package _global_\nbase_lr: 1.0e-4\n")
    changed = lint_app(app, "experiment=interp", "data.workers=4")
    assert by_key(changed, "optimizer.lr") == []
