"""How long sdmspec takes to answer on issue 23's hostile inputs (each built here, in a temporary folder).

Each case is timed once, in this process, from building the input's path to the answer (a finding, a refusal):

- ``config-50mb``: lint on a 50 MB YAML config (refused by size: SDM013);
- ``int-5000-digits``: lint on a config holding a 5,000-digit integer (SDM013);
- ``spec-alias-bomb``: loading a spec whose extra file is an alias bomb of 10^7 nodes;
- ``spec-990-deep``: loading a spec nested 990 levels deep;
- ``keys-20000``: resolving 20,000 parametrized checkpoint keys (with their masks);
- ``zip-bomb-sniff``: naming a torch archive holding a record that inflates 320 KB into 256 MB;
- ``stride0``: reading a torch checkpoint holding a stride-0 tensor of 2^40 elements.

Run: ``.venv/bin/python benchmarks/bench_hostile.py``
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def _timed(name: str, action: Callable[[], object]) -> None:
    started = time.perf_counter()
    try:
        outcome = action()
        said = f"{type(outcome).__name__}"
    except Exception as err:  # the refusal is the answer
        said = f"{type(err).__name__}: {str(err)[:90]}"
    print(f"{name:<18} {time.perf_counter() - started:8.3f} s   {said}", flush=True)


def main() -> int:
    import torch

    from sdmspec.checkpoint.load import _resolve
    from sdmspec.checkpoint.sniff import describe_file
    from sdmspec.checkpoint.sources import load_torch_file
    from sdmspec.lint import lint_paths
    from sdmspec.schema import load_spec

    spec = load_spec(REPO / "spec")
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        big = root / "big.yaml"
        line = b"k%d: [" + b"1, " * 100 + b"1]\n"
        with big.open("wb") as handle:
            for index in range(50 * 2**20 // len(line)):
                handle.write(line.replace(b"%d", str(index).encode()))
        _timed("config-50mb", lambda: lint_paths([big], spec))
        digits = root / "digits.yaml"
        digits.write_text("training:\n  pretrain:\n    batch_size: " + "9" * 5000 + "\n")
        _timed("int-5000-digits", lambda: lint_paths([digits], spec))

        bomb = root / "spec-bomb"
        shutil.copytree(REPO / "spec", bomb)
        lines = ["bomb:", "  l0: &l0 [x, x, x, x, x, x, x, x, x, x]"]
        lines += [f"  l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 10)}]" for i in range(1, 7)]
        (bomb / "zz.yaml").write_text("\n".join(lines) + "\n")
        _timed("spec-alias-bomb", lambda: load_spec(bomb))
        deep = root / "spec-deep"
        shutil.copytree(REPO / "spec", deep)
        (deep / "zz.yaml").write_text("deep: " + "[" * 990 + "]" * 990 + "\n")
        _timed("spec-990-deep", lambda: load_spec(deep))

        keys = []
        for index in range(10_000):
            prefix = f"backbone.layers.{index}.mixer.in_proj.parametrizations.weight"
            keys += [f"{prefix}.original", f"{prefix}.0.mask"]
        _timed("keys-20000", lambda: _resolve(keys))

        archive_path = root / "bomb.pt"
        torch.save({"w": torch.ones(2)}, archive_path)
        with zipfile.ZipFile(archive_path, "a", compression=zipfile.ZIP_DEFLATED) as archive:
            archive.writestr("bomb/data/9", bytes(256 * 2**20))
        _timed("zip-bomb-sniff", lambda: describe_file(archive_path))

        stride0 = root / "stride0.pt"
        torch.save({"w": torch.zeros(1).expand(2**20, 2**20)}, stride0)
        _timed("stride0", lambda: load_torch_file(stride0))
    return 0


if __name__ == "__main__":
    sys.exit(main())
