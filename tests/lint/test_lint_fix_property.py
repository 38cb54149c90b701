"""A property over every rule's fixes: on any config, the fixed file lints no worse than before, writes no duplicate
key, and a second run of the fixer changes nothing. Configs are drawn from the spec's own settings, each written the
paper's way, a wrong way or one of YAML 1.1's pitfalls, under its key or a misspelling of it, sometimes twice."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mamba_sdm.spec import Spec
from sdmspec.lint import lint_text
from sdmspec.lint.fix import fix_bytes
from sdmspec.lint.selection import select_rules
from sdmspec.schema.setting import SettingType

RULES = select_rules(None, None)
# Written forms of a value by type: the paper's own spelling, and how configs drift.
WRITTEN: dict[SettingType, list[str]] = {
    SettingType.INT: ["128", "24", '"4"', "010", "1:30", "0x10", "yes"],
    SettingType.FLOAT: ["2.0e-4", "2e-4", "1.0e-4", "3e-4", '"1.0e-4"', "0.1", ".5", "1", "no"],
    SettingType.STR: ["AdamW", "adamw", "no", "on", '"pretrained"', "scratch", "1.0"],
    SettingType.BOOL: ["true", "yes", "no", '"true"', "0"],
    SettingType.VERSION: ["2.1", "2.10", '"2.1"', '"12.1"', "12.1", "2.2"],
}


def _typo(name: str) -> Callable[[int], str]:
    # Drop one letter or swap two neighbours: the misspellings a did-you-mean catches.
    def at(i: int) -> str:
        i %= max(len(name) - 1, 1)
        return name[:i] + name[i + 1 :] if i % 2 else name[:i] + name[i + 1 : i + 2] + name[i : i + 1] + name[i + 2 :]

    return at


@st.composite
def configs(draw: st.DrawFn, spec: Spec) -> str:
    keys = draw(st.lists(st.sampled_from(sorted(spec.settings)), min_size=1, max_size=8, unique=True))
    tree: dict[str, object] = {}
    for key in keys:
        *sections, name = key.split(".")
        node = tree
        for section in sections:
            child = node.setdefault(section, {})
            assert isinstance(child, dict)
            node = child
        forms = WRITTEN.get(spec.settings[key].type, ["x"])
        for _ in range(draw(st.integers(1, 2))):  # twice: a duplicate key
            written = draw(st.sampled_from(forms))
            spelled = _typo(name)(draw(st.integers(0, 40))) if draw(st.booleans()) else name
            node[f"{spelled}\x00{len(node)}"] = written
    return _block(tree, 0)


def _block(tree: dict[str, object], depth: int) -> str:
    lines = []
    for key, value in tree.items():
        name = key.split("\x00")[0]
        if isinstance(value, dict):
            lines.append(f"{'  ' * depth}{name}:\n{_block(value, depth + 1)}")
        else:
            lines.append(f"{'  ' * depth}{name}: {value}\n")
    return "".join(lines)


def _duplicates(text: str, spec: Spec) -> int:
    return sum(1 for d in lint_text(text, spec, "c.yaml").diagnostics if d.code == "SDM104")


@pytest.mark.parametrize("unsafe", [False, True], ids=["safe", "unsafe"])
def test_fixes_never_make_a_config_worse_and_are_idempotent(spec: Spec, unsafe: bool) -> None:
    @settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True)
    @given(text=configs(spec))
    def check(text: str) -> None:
        before = lint_text(text, spec, "c.yaml")
        fixed, _ = fix_bytes(text.encode(), "c.yaml", spec, RULES, unsafe=unsafe)
        after = lint_text(fixed, spec, "c.yaml")
        assert after.errors <= before.errors, fixed.decode()
        assert after.errors + after.warnings <= before.errors + before.warnings, fixed.decode()
        assert _duplicates(fixed.decode(), spec) <= _duplicates(text, spec), fixed.decode()
        again, count = fix_bytes(fixed, "c.yaml", spec, RULES, unsafe=unsafe)
        assert (again, count) == (fixed, 0), fixed.decode()

    check()


def test_a_typo_beside_its_key_is_never_renamed_onto_it(spec: Spec) -> None:
    """The issue's case: the rename would write a second learning_rate, and PyYAML would keep the typo's 3e-4."""
    text = "training:\n  finetune:\n    learnig_rate: 3.0e-4\n    learning_rate: 1.0e-4\n"
    fixed, count = fix_bytes(text.encode(), "c.yaml", spec, RULES, unsafe=True)
    assert (fixed.decode(), count) == (text, 0)
    (finding,) = [d for d in lint_text(text, spec, "c.yaml").diagnostics if d.code == "SDM301"]
    assert finding.fix is None and "line 4" in finding.message


def test_a_typo_that_repeats_its_key_is_deleted(spec: Spec) -> None:
    text = "training:\n  finetune:\n    learnig_rate: 1.0e-4  # old\n    learning_rate: 1.0e-4\n  pretrain: {}\n"
    fixed, count = fix_bytes(text.encode(), "c.yaml", spec, RULES, unsafe=True)
    assert count == 1
    assert fixed.decode() == "training:\n  finetune:\n    learning_rate: 1.0e-4\n  pretrain: {}\n"
    safe, _ = fix_bytes(text.encode(), "c.yaml", spec, RULES, unsafe=False)
    assert safe.decode() == text


def test_a_typo_in_flow_style_beside_its_key_is_left_with_a_note(spec: Spec) -> None:
    text = "training:\n  finetune: {learnig_rate: 1.0e-4, learning_rate: 1.0e-4}\n"
    fixed, count = fix_bytes(text.encode(), "c.yaml", spec, RULES, unsafe=True)
    assert (fixed.decode(), count) == (text, 0)
    (finding,) = [d for d in lint_text(text, spec, "c.yaml").diagnostics if d.code == "SDM301"]
    assert "delete this key" in finding.message


def test_a_base_60_number_for_a_number_setting_is_written_as_the_number_it_is(spec: Spec) -> None:
    """Found by the property: quoting `1:30` for an int setting made it a string (SDM303, an error) where it was a
    warning; the safe fix writes the 90 the job already reads."""
    fixed, count = fix_bytes(b"epochs:\n  mrpc: 1:30\n", "c.yaml", spec, RULES, unsafe=False)
    assert (fixed, count) == (b"epochs:\n  mrpc: 90\n", 1)
    other, _ = fix_bytes(b"notes:\n  when: 1:30\n", "c.yaml", spec, RULES, unsafe=True)
    assert other == b'notes:\n  when: "1:30"\n'
