"""`sdmspec verify-sparsity` end to end: reports, exit codes, plot, and one-line errors."""

from __future__ import annotations

import builtins
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from ckpt_factory import mamba_state, save, unzero, zero_fraction, zero_more

from sdmspec.cli.app import main

OUT_PROJ_1 = "backbone.layers.1.mixer.out_proj.weight"
IN_PROJ_0 = "backbone.layers.0.mixer.in_proj.weight"


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, dict[str, torch.Tensor]]:
    folder = tmp_path_factory.mktemp("pair")
    sdm = zero_fraction(mamba_state(seed=1), 0.5, seed=10)
    challenge = zero_fraction(mamba_state(seed=2), 0.5, seed=20)
    return save(sdm, folder / "sdm.pt"), save(challenge, folder / "challenge.pt"), challenge


def run(args: list[str], capsys: pytest.CaptureFixture[str], repo: Path) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as info:
        main(["verify-sparsity", *args, "--spec", str(repo / "spec")])
    captured = capsys.readouterr()
    return int(info.value.code or 0), captured.out, captured.err


def test_match_exits_0_with_a_text_report(pair, capsys, repo: Path) -> None:
    code, out, _ = run([str(pair[0]), str(pair[1])], capsys, repo)
    assert code == 0
    assert "MATCH" in out and "backbone.layers.1.mixer.out_proj" in out and "MISMATCH" not in out


def test_mismatch_exits_1_and_names_the_layer(pair, tmp_path: Path, capsys, repo: Path) -> None:
    worse = save(zero_more(pair[2], OUT_PROJ_1), tmp_path / "worse.pt")
    code, out, _ = run([str(pair[0]), str(worse)], capsys, repo)
    assert code == 1
    assert "MISMATCH" in out and "backbone.layers.1.mixer.out_proj (" in out


def test_per_layer_flag(pair, tmp_path: Path, capsys, repo: Path) -> None:
    moved = save(unzero(zero_more(pair[2], IN_PROJ_0, 2), OUT_PROJ_1, 2), tmp_path / "moved.pt")
    assert run([str(pair[0]), str(moved)], capsys, repo)[0] == 0
    code, out, _ = run([str(pair[0]), str(moved), "--per-layer", "--format", "json"], capsys, repo)
    data = json.loads(out)
    assert code == 1 and data["rule"]["per_layer"] is True
    assert sorted(layer["name"] for layer in data["layers"] if not layer["match"]) == [
        "backbone.layers.0.mixer.in_proj",
        "backbone.layers.1.mixer.out_proj",
    ]


def test_json_report_and_plot_and_output_file(pair, tmp_path: Path, capsys, repo: Path) -> None:
    plot, report = tmp_path / "plots" / "sparsity.png", tmp_path / "report.json"
    args = [str(pair[0]), str(pair[1]), "--format", "json", "--plot", str(plot), "--output", str(report)]
    code, out, _ = run(args, capsys, repo)
    assert code == 0 and out == ""
    data = json.loads(report.read_text())
    assert data["verdict"] == "match"
    assert [side["path"] for side in data["checkpoints"]] == [str(pair[0]), str(pair[1])]
    assert len(data["layers"]) == 8 and all(layer["match"] for layer in data["layers"])
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert [p.name for p in plot.parent.iterdir()] == ["sparsity.png"]  # no temp file left behind


def test_an_unsupported_plot_format_is_a_usage_error(pair, tmp_path: Path, capsys, repo: Path) -> None:
    code, out, err = run([str(pair[0]), str(pair[1]), "--plot", str(tmp_path / "p.txt")], capsys, repo)
    assert code == 2 and out == "" and err.count("\n") == 1


@pytest.mark.parametrize("bad", ["missing.pt", "garbage.pt", "folder"])
def test_unreadable_input_exits_2_with_one_line(pair, tmp_path: Path, capsys, repo: Path, bad: str) -> None:
    target = tmp_path / bad
    if bad == "garbage.pt":
        target.write_bytes(b"PK\x03\x04 not really a zip")
    elif bad == "folder":
        target.mkdir()
    code, out, err = run([str(pair[0]), str(target)], capsys, repo)
    assert code == 2 and out == ""
    assert err.startswith("sdmspec: error: ") and err.count("\n") == 1 and str(target) in err


class _CreatesAFile:
    def __init__(self, target: Path) -> None:
        self.target = target

    def __reduce__(self):
        return (builtins.open, (str(self.target), "w"))


def test_malicious_pickle_is_refused_by_the_real_command(pair, tmp_path: Path, repo: Path) -> None:
    target = tmp_path / "pwned"
    evil = save({"state_dict": {IN_PROJ_0: torch.zeros(2)}, "hook": _CreatesAFile(target)}, tmp_path / "evil.pt")
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "NO_COLOR": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "sdmspec", "verify-sparsity", str(pair[0]), str(evil), "--spec", str(repo / "spec")],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.startswith("sdmspec: error: ") and "refused" in done.stderr
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert not target.exists()
