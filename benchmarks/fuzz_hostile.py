"""Fuzz lint and verify-sparsity's readers for longer than the suite does (issue 23).

The properties are the suite's own (``tests/hostile/fuzz_lint_cases.py``,
``tests/checkpoint/fuzz_checkpoint_cases.py``): lint and ``--fix`` never raise on hostile YAML built from the
spec's settings; the checkpoint readers, on mutated safetensors and torch ZIP bytes, read or refuse in one line.
Unlike the suite (derandomized, 60 examples each) this draws fresh random examples, prints each failure hypothesis
shrinks to and exits 1 when one was found.

Run: ``.venv/bin/python benchmarks/fuzz_hostile.py [--examples 2000] [--only lint|checkpoints]``
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO / "tests" / "hostile"), str(REPO / "tests" / "checkpoint")]

from fuzz_checkpoint_cases import check_reader, mutated_checkpoints  # noqa: E402
from fuzz_lint_cases import check_lint_and_fix, hostile_configs  # noqa: E402
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from sdmspec.schema import load_spec  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=2000, help="examples per property")
    parser.add_argument("--only", choices=("lint", "checkpoints"), help="fuzz one property only")
    args = parser.parse_args()
    spec = load_spec(REPO / "spec")
    budget = settings(
        max_examples=args.examples,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
        print_blob=True,
    )

    @budget
    @given(data=st.data())
    def lint_property(data: st.DataObject) -> None:
        check_lint_and_fix(data.draw(hostile_configs(spec)), spec)

    @budget
    @given(case=mutated_checkpoints())
    def checkpoint_property(case: tuple[str, bytes]) -> None:
        with tempfile.TemporaryDirectory() as folder:
            check_reader(Path(folder), case[0], case[1], spec.sparsity)

    failed = 0
    for name, prop in (("lint", lint_property), ("checkpoints", checkpoint_property)):
        if args.only not in (None, name):
            continue
        started = time.perf_counter()
        try:
            prop()
        except Exception as err:  # report what the fuzzer found, then carry on with the next property
            failed += 1
            print(f"{name}: FOUND {type(err).__name__}: {err}", flush=True)
        else:
            print(
                f"{name}: {args.examples} examples, nothing found ({time.perf_counter() - started:.0f} s)", flush=True
            )
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
