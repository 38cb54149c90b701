"""Each file read as its program reads it: the `yaml` and `omegaconf` loaders, `auto` detection, `[tool.sdmspec]`,
and the setting types real configs need (unions, nullable sections, any, list[mapping]). What OmegaConf gives is
asked of OmegaConf itself (``OmegaConf.create``), so each rule is held to the loader's real behaviour."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import yaml
from omegaconf import OmegaConf
from typer.testing import CliRunner

from mamba_sdm.spec import Spec
from sdmspec.cli.app import app
from sdmspec.errors import ConfigError
from sdmspec.lint import lint_text
from sdmspec.lint.loaders import detect, get_loader
from sdmspec.lint.values import received
from sdmspec.schema.setting import Setting
from sdmspec.toolconfig import find_tool_config
from sdmspec_cli import run_sdmspec

runner = CliRunner()


def _codes(text: str, spec: Spec, loader: str) -> set[str]:
    # The paper's settings no snippet sets (SDM203) and its TODO sources (SDM204) are beside the point here.
    found = lint_text(text, spec, loader=loader).diagnostics
    return {d.code for d in found if d.code not in ("SDM202", "SDM203", "SDM204")}


@pytest.mark.parametrize(
    ("text", "code"),
    [("x: no\n", "SDM103"), ("x: 010\n", "SDM106"), ("x: 1:30\n", "SDM107"), ("a: 1\na: 2\n", "SDM104")],
)
def test_a_yaml_11_pitfall_omegaconf_keeps_is_reported_under_both_loaders(spec: Spec, text: str, code: str) -> None:
    assert code in _codes(text, spec, "yaml")
    assert code in _codes(text, spec, "omegaconf")
    if code != "SDM104":  # what lint says the program receives is what OmegaConf gives
        node = yaml.compose(text, Loader=get_loader("omegaconf").yaml_loader).value[0][1]
        assert received(node) == OmegaConf.create(text)["x"]


def test_2e_4_is_a_float_to_omegaconf_so_no_pitfall_there(spec: Spec) -> None:
    text = "training:\n  pretrain:\n    learning_rate: 2e-4\n"
    assert OmegaConf.create(text).training.pretrain.learning_rate == 2e-4
    assert "SDM101" in _codes(text, spec, "yaml")
    assert _codes(text, spec, "omegaconf") == set()


def test_a_duplicate_key_says_what_the_loader_does(spec: Spec) -> None:
    with pytest.raises(yaml.constructor.ConstructorError):
        OmegaConf.create("a: 1\na: 2\n")
    (yaml_says,) = lint_text("a: 1\na: 2\n", spec, loader="yaml", select=["SDM104"]).diagnostics
    (omegaconf_says,) = lint_text("a: 1\na: 2\n", spec, loader="omegaconf", select=["SDM104"]).diagnostics
    assert "yaml.safe_load keeps only this one" in yaml_says.message
    assert "OmegaConf.load refuses the file" in omegaconf_says.message


def test_an_interpolation_is_never_a_wrong_type_and_missing_is_reported_once(spec: Spec) -> None:
    text = "training:\n  pretrain:\n    batch_size: ${data.batch}\n    learning_rate: ???\n"
    found = [d for d in lint_text(text, spec, loader="omegaconf").diagnostics if d.code not in ("SDM203", "SDM204")]
    assert [(d.code, d.line) for d in found] == [("SDM208", 4)]
    assert "command line" in found[0].message
    # Under PyYAML the same text is two strings where numbers belong.
    assert {d.code for d in lint_text(text, spec, loader="yaml").diagnostics} >= {"SDM303"}


def test_a_top_level_list_is_a_listconfig_under_omegaconf(spec: Spec) -> None:
    assert "SDM004" in _codes("- a: 1\n", spec, "yaml")
    assert _codes("- a: 1\n", spec, "omegaconf") == set()


@pytest.mark.parametrize(
    ("text", "loader"),
    [
        ("lr: ${base.lr}\n", "omegaconf"),
        ("ckpt: ???\n", "omegaconf"),
        ("model:\n  _target_: x.Y\n", "omegaconf"),
        ("model:\n  _component_: torchtune.models.llama2\n", "omegaconf"),
        ("defaults:\n  - _self_\n  - data: mnist\n", "omegaconf"),
        ("lr: 2e-4\nname: '$x'\ndefaults: {a: 1}\n", "yaml"),
    ],
)
def test_auto_detects_omegaconf_from_what_only_it_gives_meaning(text: str, loader: str) -> None:
    assert detect([text]) == loader


def test_the_omegaconf_loader_without_omegaconf_is_one_line_naming_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "omegaconf", None)
    monkeypatch.setitem(sys.modules, "omegaconf._utils", None)
    with pytest.raises(ConfigError, match=r"pip install 'sdmspec\[omegaconf\]'$"):
        get_loader("omegaconf")


def test_lint_names_the_loader_in_every_format(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("model:\n  _target_: x.Y\n  lr: 3e-4\n")
    text = runner.invoke(app, ["lint", str(tmp_path), "--spec", "spec"])
    assert text.stdout.splitlines()[-1].endswith("Loader: omegaconf.")
    report = json.loads(runner.invoke(app, ["lint", str(tmp_path), "--spec", "spec", "-f", "json"]).stdout)
    assert report["summary"]["loader"] == "omegaconf"
    sarif = json.loads(runner.invoke(app, ["lint", str(tmp_path), "--loader", "yaml", "-f", "sarif"]).stdout)
    assert sarif["runs"][0]["properties"] == {"loader": "yaml"}


def test_an_unknown_loader_is_one_line_and_exit_2(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("a: 1\n")
    result = run_sdmspec("lint", str(tmp_path), "--loader", "ruamel")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "sdmspec: error: --loader: unknown loader 'ruamel' (known: auto, yaml, omegaconf, hydra)"
    ]


def test_tool_sdmspec_in_pyproject_gives_configs_spec_and_loader(
    tmp_path: Path, repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.sdmspec]\nloader = "yaml"\nconfigs = "conf"\nspec = "paper"\n')
    (tmp_path / "conf").mkdir()
    (tmp_path / "conf" / "a.yaml").write_text("optim:\n  _target_: x.Y\n  lr: 3e-4\n")
    (tmp_path / "paper").symlink_to(repo / "spec")
    tool, path = find_tool_config(tmp_path / "conf")
    assert (tool.loader, tool.configs, tool.spec, path) == ("yaml", ("conf",), "paper", tmp_path / "pyproject.toml")
    monkeypatch.chdir(tmp_path / "conf")  # a bare `sdmspec lint` from a subfolder finds pyproject.toml above
    report = json.loads(runner.invoke(app, ["lint", "-f", "json"]).stdout)
    assert report["summary"]["loader"] == "yaml"  # `_target_` would have meant omegaconf to auto
    assert {d["code"] for d in report["diagnostics"] if d["file"]} == {"SDM101"}


def test_an_unknown_key_in_tool_sdmspec_is_one_line_naming_the_file(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.sdmspec]\nloadr = "yaml"\n')
    (tmp_path / "configs").mkdir()
    (tmp_path / "configs" / "a.yaml").write_text("a: 1\n")
    result = run_sdmspec("lint", cwd=tmp_path)
    assert result.returncode == 2
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith(f"sdmspec: error: {tmp_path / 'pyproject.toml'}: [tool.sdmspec] unknown key 'loadr'")


def _spec_with(config: dict[str, object]) -> Spec:
    from sdmspec.schema.paper import PaperInfo

    def flat(tree: dict[str, object], prefix: str = "") -> dict[str, Setting]:
        found: dict[str, Setting] = {}
        for name, node in tree.items():
            assert isinstance(node, dict)
            if "type" in node:
                found[f"{prefix}{name}"] = Setting(key=f"{prefix}{name}", **node)
            else:
                found.update(flat(node, f"{prefix}{name}."))
        return found

    return Spec(paper=PaperInfo(title="t", source="s"), settings=flat(config))


def test_a_union_takes_each_member_and_names_them_all_when_none_fits() -> None:
    spec = _spec_with({"devices": {"type": ["int", "str"], "unspecified": True, "source": "s"}})
    for text in ("devices: 1\n", "devices: auto\n", 'devices: "1"\n'):
        assert _codes(text, spec, "yaml") == set(), text
    (wrong,) = lint_text("devices: [1]\n", spec).diagnostics
    assert (wrong.code, wrong.message) == ("SDM303", "devices must be one of [int, str]; got a list")


def test_a_union_pins_values_of_either_member() -> None:
    spec = _spec_with({"devices": {"type": ["int", "str"], "one_of": [1, "auto"], "source": "s"}})
    assert [d.code for d in lint_text("devices: auto\n", spec).diagnostics] == []
    assert [d.code for d in lint_text("devices: 1\n", spec).diagnostics] == []
    assert [d.code for d in lint_text("devices: 2\n", spec).diagnostics] == ["SDM201"]


def test_list_of_mappings_and_any_are_typed_and_checked_as_far_as_the_spec_says() -> None:
    spec = _spec_with(
        {
            "mixture": {"type": "list[mapping]", "unspecified": True, "source": "s"},
            "defaults": {"type": "any", "exact": ["_self_", {"data": "mnist"}], "source": "s"},
        }
    )
    assert lint_text("mixture: [{id: a, weight: 0.5}]\ndefaults: [_self_, {data: mnist}]\n", spec).errors == 0
    codes = [(d.code, d.line) for d in lint_text("mixture: [{id: a}, b]\ndefaults: [_self_]\n", spec).diagnostics]
    assert ("SDM303", 1) in codes and ("SDM201", 2) in codes


def test_a_nullable_section_takes_null_and_nothing_else(tmp_path: Path) -> None:
    (tmp_path / "config.yaml").write_text(
        "paper: {title: t, source: s}\nconfig:\n  logger:\n    nullable: true\n"
        "    wandb:\n      project: {type: str, unspecified: true, source: s}\n"
    )
    from sdmspec.schema import load_spec

    spec = load_spec(tmp_path / "config.yaml")
    assert spec.nullable_sections == frozenset({"logger"})
    assert lint_text("logger: null\n", spec).errors == 0
    assert lint_text("logger: {wandb: {project: x}}\n", spec).errors == 0
    assert [d.code for d in lint_text("logger: 5\n", spec).diagnostics] == ["SDM303"]


def test_infos_are_counted_not_listed_unless_asked(tmp_path: Path, repo: Path) -> None:
    (tmp_path / "a.yaml").write_text("epochs:\n  qnli: 5\n")
    plain = runner.invoke(app, ["lint", str(tmp_path), "--spec", str(repo / "spec")]).stdout
    shown = runner.invoke(app, ["lint", str(tmp_path), "--spec", str(repo / "spec"), "--show-infos"]).stdout
    assert "SDM202" not in plain and "SDM202" in shown
    assert "1 info in 1 file" in plain and "--show-infos" in plain


def test_a_safe_fix_writes_what_is_read_and_an_unsafe_one_changes_it(spec: Spec) -> None:
    from sdmspec.lint.diagnostics import Applicability

    (boolean,) = lint_text("finetune_flag: yes\n", spec, select=["SDM103"]).diagnostics
    assert boolean.fix is not None and boolean.fix.applicability is Applicability.SAFE  # yes -> true: the same True
    (version,) = lint_text("environment:\n  pytorch: 2.10\n", spec, select=["SDM102"]).diagnostics
    assert version.fix is not None and version.fix.applicability is Applicability.UNSAFE  # 2.1 -> "2.10" changes it


def test_one_file_given_is_read_as_its_folder_s_configs_call_for(spec: Spec, tmp_path: Path) -> None:
    """pre-commit passes only the changed file: one without `${` in a Hydra repository is still OmegaConf's."""
    from sdmspec.lint import lint_paths

    (tmp_path / "train.yaml").write_text("model:\n  _target_: x.Y\n")
    (tmp_path / "optim.yaml").write_text("lr: 2e-4\n")
    assert lint_paths([tmp_path / "optim.yaml"], spec).loader == "omegaconf"
    assert lint_paths([tmp_path / "optim.yaml"], spec, isolated=True).loader == "yaml"


def test_the_json_schema_holds_unions_nullable_sections_any_and_underscored_keys(tmp_path: Path) -> None:
    import jsonschema

    from sdmspec.schema import load_spec
    from sdmspec.schema.jsonschema import config_json_schema

    (tmp_path / "config.yaml").write_text(
        "paper: {title: t, source: s}\nconfig:\n"
        "  devices: {type: [int, str], unspecified: true, source: s}\n"
        "  defaults: {type: any, unspecified: true, source: s}\n"
        "  mixture: {type: 'list[mapping]', unspecified: true, source: s}\n"
        "  logger:\n    nullable: true\n    wandb: {project: {type: str, unspecified: true, source: s}}\n"
        "  optimizer:\n    _target_: {type: str, exact: torch.optim.AdamW, source: s}\n"
    )
    validator = jsonschema.Draft202012Validator(config_json_schema(load_spec(tmp_path / "config.yaml")))
    good = [
        {"devices": 1, "defaults": ["_self_", {"data": "mnist"}], "mixture": [{"id": "a"}], "logger": None},
        {"devices": "auto", "logger": {"wandb": {"project": "x"}}, "optimizer": {"_target_": "torch.optim.AdamW"}},
    ]
    for config in good:
        assert list(validator.iter_errors(config)) == [], config
    bad = [{"devices": [1]}, {"mixture": [1]}, {"logger": 5}, {"optimizer": {"_target_": "torch.optim.SGD"}}]
    for config in bad:
        assert list(validator.iter_errors(config)), config


def test_an_any_value_that_is_an_alias_bomb_is_read_within_bounds() -> None:
    from sdmspec.lint.values import TRUNCATED, loaded

    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 9)]
    node = yaml.compose("\n".join(lines) + "\n", Loader=yaml.CSafeLoader)
    assert TRUNCATED in json.dumps(loaded(node))  # 10**9 leaves if expanded: cut at the node budget
    deep = yaml.compose("v: " + "[" * 500 + "]" * 500 + "\n", Loader=yaml.CSafeLoader)
    assert TRUNCATED in json.dumps(loaded(deep))
