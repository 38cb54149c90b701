"""sdmspec as a new user meets it on five public ML repositories (``../shared/realworld``): `spec init` then `lint`
passes on the configs the spec was made from, with only the real defects found; the spec exports as a JSON Schema
the configs satisfy; a safe fix never changes a value the program receives; and the first run without a spec
finds the real duplicate keys. Each repository is read by the loader its program uses, detected from its configs."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from mamba_sdm.spec import Spec
from sdmspec.cli.app import app
from sdmspec.cli.lint import empty_spec
from sdmspec.lint.fix import fix_paths
from sdmspec.lint.loaders import get_loader
from sdmspec.lint.values import yaml12_number
from sdmspec.schema import load_spec
from shared_data import REALWORLD, shared_path

runner = CliRunner()

# Repository -> (the loader its program reads configs with, the real errors, the real warnings), checked by hand
# (../shared/realworld/README.md): s4 repeats `dropout` and `prenorm`; gpt-neox writes `"eps": 1.0e_8` once.
EXPECTED: dict[str, tuple[str, set[tuple[str, int, str]], set[tuple[str, int, str]]]] = {
    "huggingface__alignment-handbook": ("yaml", set(), set()),
    "EleutherAI__gpt-neox": ("yaml", set(), {("gmlp_small.yml", 27, "SDM108")}),
    "pytorch__torchtune": ("omegaconf", set(), set()),
    "ashleve__lightning-hydra-template": ("omegaconf", set(), set()),
    "state-spaces__s4": (
        "omegaconf",
        {("experiment/lm/transformer-wt103.yaml", 30, "SDM104"), ("model/layer/ff.yaml", 5, "SDM104")},
        set(),
    ),
}
REPOSITORIES = sorted(EXPECTED)


@pytest.fixture(scope="module")
def started(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Path]]:
    """Each repository's configs copied to a scratch folder, with the spec `sdmspec spec init` wrote from them."""
    shared_path(REALWORLD)
    roots: dict[str, Path] = {}
    for name in REPOSITORIES:
        root = tmp_path_factory.mktemp(name)
        shutil.copytree(REALWORLD / name / "configs", root / "configs")
        result = runner.invoke(app, ["spec", "init", str(root / "configs"), "-o", str(root / "spec")])
        assert result.exit_code == 0, result.output
        roots[name] = root
    yield roots


def _lint(root: Path, *args: str) -> tuple[int, dict[str, Any]]:
    result = runner.invoke(app, ["lint", str(root / "configs"), "-f", "json", *args])
    return result.exit_code, json.loads(result.stdout)


def _found(report: dict[str, Any], root: Path, severity: str) -> set[tuple[str, int, str]]:
    prefix = str(root / "configs") + "/"
    found = [d for d in report["diagnostics"] if d["severity"] == severity]
    return {(d["file"].removeprefix(prefix), d["line"], d["code"]) for d in found}


@pytest.mark.parametrize("name", REPOSITORIES)
def test_lint_passes_on_the_configs_spec_init_read_with_only_the_real_defects(
    started: dict[str, Path], name: str
) -> None:
    root = started[name]
    loader, errors, warnings = EXPECTED[name]
    code, report = _lint(root, "--spec", str(root / "spec"))
    assert report["summary"]["loader"] == loader
    assert (_found(report, root, "error"), _found(report, root, "warning")) == (errors, warnings)
    assert code == (1 if errors else 0)
    # A person reads the text: the findings and one summary line, not one line per TODO source.
    text = runner.invoke(app, ["lint", str(root / "configs"), "--spec", str(root / "spec")]).stdout
    assert len(text.splitlines()) <= 4 * (len(errors) + len(warnings)) + 2, text
    assert f"Loader: {loader}." in text.splitlines()[-1]


@pytest.mark.parametrize("name", REPOSITORIES)
def test_the_spec_exports_a_json_schema_the_configs_satisfy(started: dict[str, Path], name: str) -> None:
    import jsonschema

    root = started[name]
    result = runner.invoke(app, ["spec", "schema", "--spec", str(root / "spec")])
    assert result.exit_code == 0, result.output
    schema = json.loads(result.stdout)
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    loader = get_loader(EXPECTED[name][0])
    checked = 0
    for path in sorted((root / "configs").rglob("*.y*ml")):
        text = path.read_text(encoding="utf-8")
        defects = EXPECTED[name][1] | EXPECTED[name][2]
        if "${" in text or any(path.as_posix().endswith(f"configs/{file}") for file, _, _ in defects):
            continue  # an interpolation's type is known only once the program resolves it; the real defects fail
        data = yaml.load(text, Loader=loader.yaml_loader)
        if not isinstance(data, dict) or any("." in str(key) for key in _keys(data)):
            continue  # a literal dotted key (Hydra sweeper params) is a path to lint, a nested object to the schema
        errors = [f"{'.'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(data)]
        assert errors == [], f"{path}: {errors[:3]}"
        checked += 1
    assert checked >= 1
    if name in ("pytorch__torchtune", "ashleve__lightning-hydra-template"):
        assert '"_component_"' in result.stdout or '"_target_"' in result.stdout


def _keys(data: Any) -> Iterator[object]:
    if isinstance(data, dict):
        for key, value in data.items():
            yield key
            yield from _keys(value)
    elif isinstance(data, list):
        for item in data:
            yield from _keys(item)


def _leaves(data: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    if isinstance(data, dict):
        for key, value in data.items():
            yield from _leaves(value, f"{path}.{key}")
    elif isinstance(data, list):
        for index, item in enumerate(data):
            yield from _leaves(item, f"{path}[{index}]")
    else:
        yield path, data


@pytest.mark.parametrize("name", REPOSITORIES)
@pytest.mark.parametrize("loader", ["auto", "yaml"])
def test_a_safe_fix_never_changes_a_value_the_program_receives(
    started: dict[str, Path], tmp_path: Path, name: str, loader: str
) -> None:
    """Fix with the safe fixes, load every changed file before and after with the loader, compare every leaf: equal,
    or (under the `yaml` loader only) a string meant as a number that became that number (`2e-4` -> 2.0e-4).
    `yaml` on an OmegaConf repository is the user who picks the wrong loader: its SDM101 fixes are many."""
    shutil.copytree(started[name] / "configs", tmp_path / "configs")
    for spec in (empty_spec(), load_spec(started[name] / "spec")):
        outcome = fix_paths([tmp_path / "configs"], spec, loader=loader)
        files = [change.path.read_text(encoding="utf-8") for change in outcome.changes]
        reader = get_loader(loader, files).yaml_loader
        for change in outcome.changes:
            before = dict(_leaves(yaml.load(change.before.decode("utf-8-sig"), Loader=reader)))
            after = dict(_leaves(yaml.load(change.after.decode("utf-8-sig"), Loader=reader)))
            assert before.keys() == after.keys(), change.path
            for key, value in before.items():
                if value != after[key] or type(value) is not type(after[key]):
                    meant = loader == "yaml" and isinstance(value, str) and yaml12_number(value) == after[key]
                    assert meant, f"{change.path} {key}: {value!r} became {after[key]!r}"
    if (name, loader) == ("pytorch__torchtune", "yaml"):
        assert outcome.fixed > 100  # the property held over real fixes, not over none


@pytest.mark.parametrize("name", REPOSITORIES)
def test_the_first_run_without_a_spec_finds_the_real_duplicate_keys(
    started: dict[str, Path], name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = started[name]
    monkeypatch.chdir(root)
    shutil.rmtree(root / "spec-moved", ignore_errors=True)
    (root / "spec").rename(root / "spec-moved")
    try:
        result = runner.invoke(app, ["lint", "configs", "-f", "json"])
    finally:
        (root / "spec-moved").rename(root / "spec")
    loader, errors, _ = EXPECTED[name]
    report = json.loads(result.stdout)
    assert report["summary"]["loader"] == loader
    found = {(f.removeprefix("configs/"), line, code) for f, line, code in _found(report, Path("."), "error")}
    assert found == errors
    assert result.exit_code == (1 if errors else 0)
    (note,) = [line for line in result.stderr.splitlines() if "spec init" in line]
    assert note.startswith("sdmspec: note: no spec") and "`sdmspec spec init configs`" in note


def test_spec_init_keeps_the_keys_the_issue_found_dropped(started: dict[str, Path]) -> None:
    handbook = load_spec(started["huggingface__alignment-handbook"] / "spec")
    assert handbook.settings["dataset_mixture.datasets"].type.value == "list[mapping]"
    neox: Spec = load_spec(started["EleutherAI__gpt-neox"] / "spec")
    assert neox.settings["optimizer.params.eps"].type.value == "float"  # 1.0e_8 is a typo among 1.0e-8s
    hydra = load_spec(started["ashleve__lightning-hydra-template"] / "spec")
    assert "logger" in hydra.nullable_sections
    s4 = load_spec(started["state-spaces__s4"] / "spec")
    # A list of ints where written, an interpolation (no type until resolved) elsewhere; leading underscores kept.
    assert s4.settings["dataset.__l_max"].type.value == "list[int]"
    assert s4.settings["dataset._name_"].type.value == "str"
