"""Hostile YAML for fuzzing lint: the spec's settings, written every way a config can be, mixed with constructs
meant to break a reader (aliases and bombs, tags, deep nesting, huge integers, bad bytes, BOMs, duplicate keys).

Used by ``tests/hostile/test_fuzz_lint.py`` (a small budget in the suite) and ``benchmarks/fuzz_hostile.py`` (a
long run by hand). The property: lint and ``--fix`` never raise on any input, and every finding's position lies
in the file.
"""

from __future__ import annotations

from collections.abc import Sequence

from hypothesis import strategies as st

from mamba_sdm.spec import Spec
from sdmspec.lint import lint_text
from sdmspec.lint.fix import fix_bytes
from sdmspec.lint.selection import select_rules

SCALARS = (
    "2e-4", "2.0e-4", "128", "0o17", "010", "0x1F", "1:30", "190:20:30", "yes", "no", "on", "~", "null", "''",
    '"2.1"', "2.10", ".inf", "-.nan", "1_000", "+12", "!!int 12", "!!float 1", "!!str 3", "!!binary aGVsbG8=",
    "!!python/object:os.system", "!!python/name:builtins.eval", "!custom x", "&a 1", "*a", "*undefined",
    "|\n      block\n", ">-\n      folded\n", "[1, 2, {a: b}]", "{x: 1, x: 2}", "'unterminated", "\t1",
    "9" * 5000, ":".join(["59"] * 1200), "'" + "x" * 300 + "'", "\"\\x00\"", "\"\\uD800\"", "{" * 50 + "}" * 50,
)  # fmt: skip
RAW = (
    b"\xef\xbb\xbf", b"\xff\xfe", b"\x00", b"\xc3\x28", b"\r\n", b"\r", b"---\n", b"...\n", b"%YAML 1.1\n",
    b"%TAG ! tag:x,2000:\n", b"? [a]\n: 1\n", b"<<: *a\n", b"&a [*a]\n", b"\x85", b"\xe2\x80\xa8",
)  # fmt: skip


def _bomb(levels: int) -> str:
    lines = ["b0: &b0 [x, x, x, x, x, x, x, x, x]"]
    lines += [f"b{i}: &b{i} [{', '.join([f'*b{i - 1}'] * 9)}]" for i in range(1, levels)]
    return "\n".join(lines) + "\n"


def _nest(key_path: Sequence[str], value: str) -> str:
    lines = [f"{'  ' * depth}{part}:" for depth, part in enumerate(key_path[:-1])]
    lines.append(f"{'  ' * (len(key_path) - 1)}{key_path[-1]}: {value}")
    return "\n".join(lines) + "\n"


def hostile_configs(spec: Spec) -> st.SearchStrategy[bytes]:
    """Config files' bytes: settings of ``spec`` with hostile values, and pieces of hostile YAML between them."""
    keys = sorted(spec.settings)
    setting = st.builds(
        lambda key, value: _nest(key.split("."), value),
        st.sampled_from(keys),
        st.one_of(st.sampled_from(SCALARS), st.text(max_size=20).map(repr)),
    )
    piece = st.one_of(
        setting.map(str.encode),
        st.sampled_from(RAW),
        st.integers(1, 7).map(lambda levels: _bomb(levels).encode()),
        st.integers(1, 1200).map(lambda depth: ("k: " + "[" * depth + "]" * depth + "\n").encode()),
        st.binary(max_size=30),
    )
    return st.lists(piece, max_size=12).map(b"".join)


def check_lint_and_fix(data: bytes, spec: Spec) -> None:
    """The property: no exception from lint or --fix, and every finding placed inside the file."""
    result = lint_text(data, spec, "configs/fuzz.yaml")
    # Lines as editors, GitHub and SARIF count them: CR, LF and CRLF break lines, NEL and U+2028/9 do not.
    text = data.decode("utf-8", errors="replace")
    lines = text.count("\n") + text.count("\r") - text.count("\r\n") + 1
    for diagnostic in result.diagnostics:
        assert diagnostic.line is None or 1 <= diagnostic.line <= lines, diagnostic
    fixed, _ = fix_bytes(data, "configs/fuzz.yaml", spec, select_rules(None, None), unsafe=True)
    lint_text(fixed, spec, "configs/fuzz.yaml")
