"""Every rule on short inline YAML: the findings' (line, column, code), not their wording."""

from __future__ import annotations

import pytest
from lint_helpers import found

from mamba_sdm.spec import Spec
from sdmspec.lint import lint_text
from sdmspec.lint.rules import RULES

CASES: list[tuple[str, str, set[tuple[int | None, int | None, str]]]] = [
    # SDM0xx: input
    ("tab indentation", "training:\n\tpretrain: 1\n", {(2, 1, "SDM001")}),
    ("unclosed bracket", "training: {pretrain: [1, 2\n", {(2, 1, "SDM001")}),
    ("top-level list", "- a\n- b\n", {(1, 1, "SDM004")}),
    ("top-level scalar", "just text\n", {(1, 1, "SDM004")}),
    ("empty file", "", {(None, None, "SDM005")}),
    ("only a comment", "# nothing here\n", {(None, None, "SDM005")}),
    ("two documents", "a: 1\n---\nb: 2\n", {(3, 1, "SDM006")}),
    ("recursive alias", "a: &a [*a]\n", {(1, 4, "SDM007")}),
    ("nesting beyond 200", "a: " + "[" * 250 + "]" * 250 + "\n", {(1, 204, "SDM008")}),
    ("nesting beyond libyaml", "[" * 3000 + "]" * 3000 + "\n", {(1, 1001, "SDM008")}),
    ("python tag", "x: !!python/object/apply:os.system [true]\n", {(1, 4, "SDM009")}),
    ("local tag", "x: !foo 1\n", {(1, 4, "SDM009")}),
    # SDM1xx: YAML 1.1 pitfalls
    ("float as string", "training:\n  pretrain:\n    learning_rate: 2e-4\n", {(3, 20, "SDM101")}),
    ("float as string, unknown key", "foo: 1e5\n", {(1, 6, "SDM101")}),
    ("float text for a string setting", "training:\n  pretrain:\n    optimizer: 1e5\n", {(3, 16, "SDM201")}),
    ("unquoted version", "environment:\n  pytorch: 2.1\n", {(2, 12, "SDM102")}),
    ("unquoted 2.10 is 2.1", "environment:\n  pytorch: 2.10\n", {(2, 12, "SDM102"), (2, 12, "SDM201")}),
    ("yes as a value", "x: yes\n", {(1, 4, "SDM103")}),
    ("on as a key", "on: 1\n", {(1, 1, "SDM103")}),
    ("true is fine", "x: true\ny: false\n", set()),
    ("duplicate key", "a: 1\nb: 2\na: 3\n", {(3, 1, "SDM104")}),
    ("duplicate through spelling", "true: 1\nTrue: 2\n", {(2, 1, "SDM104")}),
    ("mistyped number", "training:\n  pretrain:\n    learning_rate: 1.0e_8\n", {(3, 20, "SDM108")}),
    ("quoted int", 'training:\n  pretrain:\n    batch_size: "128"\n', {(3, 17, "SDM105")}),
    ("quoted float", "training:\n  pretrain:\n    learning_rate: '2e-4'\n", {(3, 20, "SDM105")}),
    # 010 reaches the script as 8 (the pitfall), but the author meant 10, which is the paper's value.
    ("octal", "epochs:\n  mnli: 010\n", {(2, 9, "SDM106")}),
    ("leading zero string", "x: 09\n", {(1, 4, "SDM106")}),
    ("05 is 5 either way", "x: 05\n", set()),
    ("sexagesimal", "x: 1:30\n", {(1, 4, "SDM107")}),
    # SDM2xx: the paper's values
    ("value mismatch", "training:\n  pretrain:\n    batch_size: 24\n", {(3, 17, "SDM201")}),
    ("float mismatch", "training:\n  finetune:\n    learning_rate: 3.0e-4\n", {(3, 20, "SDM201")}),
    ("float match, other spelling", "training:\n  finetune:\n    learning_rate: 0.0001\n", set()),
    ("version release series", 'environment:\n  pytorch: "2.1.2+cu121"\n', set()),
    ("version mismatch", 'environment:\n  pytorch: "2.2"\n', {(2, 12, "SDM201")}),
    ("unspecified is info", "epochs:\n  qnli: 7\n", {(2, 9, "SDM202")}),
    # SDM3xx: structure and types
    ("unknown key", "training:\n  pretrain:\n    learning_rte: 2.0e-4\n", {(3, 5, "SDM301")}),
    ("unknown section", "trainig:\n  x: 1\n", {(1, 1, "SDM302")}),
    ("unrelated top-level key", "unrelated: 1\nci: {jobs: [a]}\n", set()),
    ("list for a number", "training:\n  pretrain:\n    batch_size: [128]\n", {(3, 17, "SDM303")}),
    ("null for a number", "training:\n  pretrain:\n    learning_rate:\n", {(3, 5, "SDM303")}),
    ("float for an int", "training:\n  pretrain:\n    max_epochs: 20.0\n", {(3, 17, "SDM303")}),
    ("bool for a number", "training:\n  pretrain:\n    max_epochs: true\n", {(3, 17, "SDM303")}),
    ("mapping for a string", "model:\n  name: {a: 1}\n", {(2, 9, "SDM303")}),
    ("scalar for a section", "epochs: 5\n", {(1, 1, "SDM303")}),
    # SDM4xx: across fields
    (
        "micro-batch must divide",
        "training:\n  pretrain: {batch_size: 128, micro_batch_size: 24}\n",
        {(2, 49, "SDM202"), (2, 49, "SDM402")},
    ),
    (
        "conflict across documents",
        "epochs: {sst2: 5}\n---\nepochs: {sst2: 6}\n",
        {(3, 1, "SDM006"), (3, 16, "SDM201"), (3, 16, "SDM401")},
    ),
]


@pytest.mark.parametrize(
    ("text", "expected"), [(text, expected) for _, text, expected in CASES], ids=[c[0] for c in CASES]
)
def test_rule_positions(spec: Spec, text: str, expected: set[tuple[int | None, int | None, str]]) -> None:
    assert found(text, spec) == expected


def test_every_rule_has_a_case_or_a_dedicated_test() -> None:
    covered = {code for _, _, expected in CASES for _, _, code in expected}
    # Below, in test_lint_malformed, (SDM000, SDM204) in test_lint_spec_problems and test_spec_init, SDM208 in
    # test_lint_loaders, and (SDM012, SDM013) in tests/hostile.
    dedicated = {"SDM000", "SDM002", "SDM003", "SDM007", "SDM012", "SDM013", "SDM203", "SDM204", "SDM208"}
    dedicated |= {"SDM901", "SDM902"}
    # The composed-config rules (--loader hydra), in tests/compose.
    dedicated |= {"SDM010", "SDM011", "SDM205", "SDM206", "SDM207"}
    assert set(RULES) <= covered | dedicated


def test_latin1_file_is_reported_at_the_first_bad_byte(spec: Spec) -> None:
    data = "# réglage\ntraining: {}\n".encode("latin-1")
    assert found(data, spec) == {(1, 4, "SDM002")}


def test_utf16_file_is_not_utf8(spec: Spec) -> None:
    assert {code for _, _, code in found("a: 1\n".encode("utf-16"), spec)} == {"SDM002"}


def test_binary_file(spec: Spec) -> None:
    assert found(bytes(range(256)), spec) == {(None, None, "SDM003")}


def test_missing_setting_has_no_position_and_respects_required(spec: Spec) -> None:
    result = lint_text("training:\n  pretrain:\n    batch_size: 128\n", spec, select=["SDM203"])
    keys = {d.key for d in result.diagnostics}
    assert all(d.line is None and d.file is None for d in result.diagnostics)
    assert "training.finetune.warmup_steps_ratio" in keys
    assert "training.pretrain.batch_size" not in keys
    assert not any(spec.settings[key].unspecified or not spec.settings[key].required for key in keys)


def test_unknown_key_suggests_the_closest_name(spec: Spec) -> None:
    result = lint_text("training:\n  pretrain:\n    learning_rte: 2.0e-4\n", spec, select=["SDM301"])
    (diagnostic,) = result.diagnostics
    assert diagnostic.expected == "learning_rate"
    assert diagnostic.key == "training.pretrain.learning_rte"


def test_value_mismatch_carries_expected_actual_and_source(spec: Spec) -> None:
    result = lint_text("training:\n  finetune:\n    learning_rate: 3e-4\n", spec, select=["SDM201"])
    (diagnostic,) = result.diagnostics
    assert (diagnostic.actual, diagnostic.expected) == ("3e-4", "1.0e-4")
    assert diagnostic.source == spec.settings["training.finetune.learning_rate"].source


def test_float_as_string_alone_is_no_value_error(spec: Spec) -> None:
    """2e-4 where the paper says 2e-4: the pitfall warning only, never a value error."""
    codes = {code for _, _, code in found("training:\n  pretrain:\n    learning_rate: 2e-4\n", spec)}
    assert codes == {"SDM101"}


def test_per_file_scope_allows_different_values(spec: Spec, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from sdmspec.lint import lint_paths

    (tmp_path / "a.yaml").write_text("model: {name: mamba-130m}\n")
    (tmp_path / "b.yaml").write_text("model: {name: mamba-370m}\n")
    (tmp_path / "c.yaml").write_text("epochs: {sst2: 5}\n")
    (tmp_path / "d.yaml").write_text("epochs: {sst2: 5.0e+0}\n")
    result = lint_paths([tmp_path], spec, select=["SDM401"])
    assert result.diagnostics == ()


def test_merge_keys_are_followed_like_safe_load(spec: Spec) -> None:
    text = "base: &b {batch_size: 24, max_epochs: 20}\ntraining:\n  pretrain:\n    <<: *b\n    max_epochs: 15\n"
    assert found(text, spec, select=["SDM201"]) == {(1, 23, "SDM201"), (5, 17, "SDM201")}


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("batch_size: 24  # sdmspec: ignore[SDM201] fits one 40GB card", set()),
        ("batch_size: 24  # sdmspec: ignore[value-mismatch] fits one 40GB card", set()),
        ("batch_size: 24  # sdmspec: ignore fits one 40GB card", set()),
        ("batch_size: 24  # sdmspec: ignore[SDM201]", {(3, 21, "SDM901")}),
        ("batch_size: 24  # sdmspec: ignore[SDM105] wrong code", {(3, 17, "SDM201"), (3, 21, "SDM902")}),
        ("batch_size: 128  # sdmspec: ignore[SDM201] stale", {(3, 22, "SDM902")}),
        ("batch_size: 24  # sdmspec: ignore[SDM201, SDM999] typo", {(3, 21, "SDM902")}),
    ],
)
def test_inline_suppression(spec: Spec, line: str, expected: set[tuple[int, int, str]]) -> None:
    assert found(f"training:\n  pretrain:\n    {line}\n", spec) == expected


def test_suppression_text_inside_a_quoted_string_is_not_a_suppression(spec: Spec) -> None:
    text = 'training:\n  pretrain:\n    optimizer: "x # sdmspec: ignore[SDM201] no"\n'
    assert found(text, spec) == {(3, 16, "SDM201")}


def test_suppression_applies_to_its_own_line_only(spec: Spec) -> None:
    text = "training:\n  pretrain:\n    # sdmspec: ignore[SDM201] above\n    batch_size: 24\n"
    assert found(text, spec) == {(4, 17, "SDM201"), (3, 5, "SDM902")}


def test_select_and_ignore_accept_codes_prefixes_and_names(spec: Spec) -> None:
    text = "training:\n  finetune:\n    learning_rate: 3e-4\n"
    assert {c for *_, c in found(text, spec, select=["SDM1"])} == {"SDM101"}
    assert {c for *_, c in found(text, spec, select=["value-mismatch"])} == {"SDM201"}
    ignored = lint_text(text, spec, ignore=["SDM2", "float-as-string"])
    assert not {d.code for d in ignored.diagnostics} & {"SDM101", "SDM201", "SDM203"}


def test_unknown_selector_is_a_usage_error(spec: Spec) -> None:
    from sdmspec.errors import EXIT_USAGE, SdmspecError

    with pytest.raises(SdmspecError) as caught:
        lint_text("a: 1\n", spec, select=["XYZ1"])
    assert caught.value.exit_code == EXIT_USAGE


def test_quoted_number_says_what_was_written_and_what_was_meant(spec: Spec) -> None:
    result = lint_text('epochs:\n  mrpc: &e "4"\n', spec, "c.yaml", select=["SDM105"])
    (finding,) = result.diagnostics
    assert (finding.expected, finding.actual) == ("4", '"4"')
    assert "the string '4', not the number" in finding.message
