"""`sdmspec profile --smoke` end to end: the JSON and CSV contract, counts shared per architecture and shape, the
scan the latency ran on, the plots, the traces and the errors."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from sdmspec.cli.app import main

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
# Two variants of one architecture (they must share their counts) and one of another.
VARIANTS = ("mamba-130m-dense", "mamba-130m-sdm", "mamba-370m-sdm")
SEQ_LENS = (16, 32)


def _run(argv: list[str]) -> int:
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    return int(exit_info.value.code or 0)


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("profile")
    argv = ["profile", "--smoke", "--out", str(out), "--device", "cpu"]
    for seq_len in SEQ_LENS:
        argv += ["--seq-len", str(seq_len)]
    for variant in VARIANTS:
        argv += ["--variant", variant]
    assert _run(argv) == 0
    return out


def test_json_contract(smoke_run: Path) -> None:
    document = json.loads((smoke_run / "profile.json").read_text())
    assert document["smoke"] is True
    assert document["on_spec_hardware"] is False  # a CPU run is never the paper's A100
    assert document["environment"]["mismatches"]
    results = document["results"]
    assert [(r["variant"], r["seq_len"]) for r in results] == [(v, s) for v in VARIANTS for s in (16, 32)]
    for result in results:
        assert result["batch_size"] == 1
        assert set(result["flops"]) == {"fvcore", "torch", "analytic", "effective"}
        assert set(result["flops_units"]) == set(result["flops"])
        assert "MACs" in result["flops_units"]["fvcore"] and "FLOPs" in result["flops_units"]["torch"]
        assert result["flops"]["torch"] == 2 * result["flops"]["fvcore"]
        assert result["latency_ms"]["median"] > 0 and result["latency_ms"]["iqr"] >= 0
        assert result["device"] == "cpu" and result["on_spec_hardware"] is False
        assert "off spec hardware" in result["hardware"]
        assert result["fvcore_skipped_ops"]
        assert (smoke_run / result["trace"]).is_file() and (smoke_run / result["top_operators"]).is_file()
    dense, sdm = results[0], results[2]
    assert (dense["variant"], sdm["variant"]) == ("mamba-130m-dense", "mamba-130m-sdm")
    assert dense["flops"]["effective"] == dense["flops"]["analytic"]
    assert sdm["flops"]["effective"] < sdm["flops"]["analytic"] == dense["flops"]["analytic"]


def test_flops_are_counted_once_per_architecture_and_shape(smoke_run: Path) -> None:
    """3 variants x 2 lengths are 6 results, but two architectures x 2 lengths are 4 counts: profile.json lists each
    count once (with the variants that share it) and every result points at its architecture's count."""
    document = json.loads((smoke_run / "profile.json").read_text())
    counts, results = document["flop_counts"], document["results"]
    assert len(results) == 6
    assert [c["index"] for c in counts] == [0, 1, 2, 3]
    keys = [(c["shape"]["n_layer"], c["batch_size"], c["seq_len"]) for c in counts]
    assert len(set(keys)) == 4 and {k[0] for k in keys} == {2, 4}  # the 130m and 370m smoke depths
    by_index = {c["index"]: c for c in counts}
    for result in results:
        count = by_index[result["flop_count"]]
        assert result["variant"] in count["variants"] and count["seq_len"] == result["seq_len"]
        assert result["flops"]["torch"] == count["torch"]["flops"]
        assert result["flops"]["fvcore"] == count["fvcore"]["macs"]
    shared = {(r["variant"], r["seq_len"]): r["flop_count"] for r in results}
    for seq_len in SEQ_LENS:
        assert shared["mamba-130m-dense", seq_len] == shared["mamba-130m-sdm", seq_len]
        assert shared["mamba-130m-dense", seq_len] != shared["mamba-370m-sdm", seq_len]
    for count in counts:
        assert count["counted_on"] == count["variants"][0]
        assert len(count["variants"]) == (2 if count["shape"]["n_layer"] == 2 else 1)
        # FlopCounterMode on the meta device, fvcore on the profiling device, both on the parallel scan.
        assert (count["torch"]["device"], count["fvcore"]["device"]) == ("meta", "cpu")
        assert count["torch"]["scan"] == count["fvcore"]["scan"] == "parallel"
        assert count["torch"]["seconds"] >= 0 and count["fvcore"]["seconds"] > 0


def test_the_scan_is_recorded_and_labels_the_latency(smoke_run: Path) -> None:
    """On a CPU, --scan auto (the default) resolves to the parallel scan: profile.json says so with the reason, at
    the top (where the runner reads how a stage ran) and on every row, as does the CSV."""
    from mamba_sdm.expected_scan import stage_acceleration

    document = json.loads((smoke_run / "profile.json").read_text())
    assert (document["scan"], document["scan_requested"]) == ("parallel", "auto")
    assert "mambapy" in document["scan_reason"] and "CUDA only" in document["scan_reason"]
    assert document["counting_scan"]["scan"] == "parallel"
    assert "parallel scan" in document["counting_path"]
    assert stage_acceleration(str(smoke_run / "profile.json")) == {
        "scan": "parallel",
        "scan_requested": "auto",
        "scan_reason": document["scan_reason"],
    }
    for result in document["results"]:
        assert (result["scan"], result["scan_requested"]) == ("parallel", "auto")
        assert result["scan_reason"] == document["scan_reason"]
        assert result["latency_path"] == "parallel scan (mambapy, PyTorch)"
    with (smoke_run / "profile.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert {(row["scan"], row["scan_requested"], row["scan_reason"]) for row in rows} == {
        ("parallel", "auto", document["scan_reason"])
    }


def test_scan_reference_times_and_counts_on_the_loop_with_the_same_counts(smoke_run: Path, tmp_path: Path) -> None:
    """--scan reference runs everything on the sequential loop; its FLOPs equal the parallel-scan counts exactly,
    and fvcore's skipped-op list differs only by the loop's per-position recurrence ops."""
    argv = ["profile", "--smoke", "--variant", "mamba-130m-sdm", "--seq-len", "32", "--device", "cpu"]
    assert _run([*argv, "--scan", "reference", "--no-trace", "--out", str(tmp_path)]) == 0
    (loop,) = json.loads((tmp_path / "profile.json").read_text())["results"]
    parallel = next(
        r
        for r in json.loads((smoke_run / "profile.json").read_text())["results"]
        if (r["variant"], r["seq_len"]) == ("mamba-130m-sdm", 32)
    )
    assert (loop["scan"], loop["scan_requested"]) == ("reference", "reference")
    assert loop["latency_path"] == "reference scan (sequential loop, PyTorch)"
    assert loop["flops"] == parallel["flops"]
    assert loop["torch_by_operator"] == parallel["torch_by_operator"]
    assert loop["fvcore_by_operator"] == parallel["fvcore_by_operator"]
    layers, positions = 2, 32
    assert parallel["fvcore_skipped_ops"].pop("prim::PythonOp.PScan") == layers
    for op in ("aten::mul", "aten::add"):
        assert loop["fvcore_skipped_ops"].pop(op) - parallel["fvcore_skipped_ops"].pop(op) == layers * positions
    assert loop["fvcore_skipped_ops"] == parallel["fvcore_skipped_ops"]


def test_csv_has_the_same_rows(smoke_run: Path) -> None:
    document = json.loads((smoke_run / "profile.json").read_text())
    with (smoke_run / "profile.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == len(document["results"])
    for row, result in zip(rows, document["results"], strict=True):
        assert row["variant"] == result["variant"] and int(row["seq_len"]) == result["seq_len"]
        assert int(row["flops_torch"]) == result["flops"]["torch"]
        assert int(row["flops_effective"]) == result["flops"]["effective"]
        assert row["on_spec_hardware"] == "False" and "off spec hardware" in row["hardware"]
        assert float(row["latency_median_ms"]) > 0


def test_plots_are_valid_pngs(smoke_run: Path) -> None:
    import matplotlib.image

    for name in ("latency_vs_seq_len.png", "flops_dense_vs_effective.png"):
        path = smoke_run / name
        assert path.read_bytes()[:8] == PNG_MAGIC
        height, width, _ = matplotlib.image.imread(path).shape
        assert height > 100 and width > 100


@pytest.mark.parametrize(
    "extra",
    [
        ["--variant", "no-such-variant"],
        ["--checkpoint", "no-equals-sign"],
        ["--variant", "mamba-130m-dense", "--checkpoint", "mamba-130m-sdm=x.pt"],
        ["--variant", "mamba-130m-sdm", "--checkpoint", "mamba-130m-sdm=/does/not/exist.pt"],
        ["--device", "tpu"],
        ["--scan", "kernels", "--device", "cpu"],
    ],
)
def test_bad_input_exits_2_with_one_line(extra: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _run(["profile", "--smoke", "--out", str(tmp_path), *extra]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("sdmspec: error: ")
    assert not (tmp_path / "profile.json").exists()


def test_an_unknown_scan_is_one_line_and_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _run(["profile", "--smoke", "--scan", "fast", "--out", str(tmp_path)]) == 2
    captured = capsys.readouterr()
    assert captured.err.strip().splitlines() == [
        "sdmspec: error: --scan must be one of auto, kernels, parallel, reference, got 'fast'"
    ]
    assert not tmp_path.joinpath("profile.json").exists()


@pytest.mark.gpu
def test_cuda_profile_with_scan_auto_times_a_fast_path_and_counts_like_the_cpu(tmp_path: Path) -> None:
    """On a GPU, --scan auto times mamba-ssm's kernels or the parallel scan (never the loop, silently), and the FLOP
    counts, made once on the GPU model for both variants, are those of the CPU run."""
    argv = ["profile", "--smoke", "--variant", "mamba-130m-dense", "--variant", "mamba-130m-sdm", "--seq-len", "16"]
    argv += ["--scan", "auto", "--no-trace"]
    assert _run([*argv, "--device", "cuda", "--out", str(tmp_path / "gpu")]) == 0
    assert _run([*argv, "--device", "cpu", "--out", str(tmp_path / "cpu")]) == 0
    gpu = json.loads((tmp_path / "gpu" / "profile.json").read_text())
    cpu = json.loads((tmp_path / "cpu" / "profile.json").read_text())
    assert gpu["scan"] in ("kernels", "parallel") and gpu["scan_requested"] == "auto"
    assert gpu["environment"]["device"] == "cuda" and gpu["environment"]["gpu"]
    (count,) = gpu["flop_counts"]
    assert count["variants"] == ["mamba-130m-dense", "mamba-130m-sdm"]
    assert (count["torch"]["device"], count["fvcore"]["device"]) == ("meta", "cuda")
    for on_gpu, on_cpu in zip(gpu["results"], cpu["results"], strict=True):
        assert on_gpu["device"] == "cuda" and on_gpu["latency_ms"]["median"] > 0
        assert on_gpu["scan"] == gpu["scan"]
        assert on_gpu["latency_path"].startswith("kernels" if gpu["scan"] == "kernels" else "parallel scan")
        assert on_gpu["flops"] == on_cpu["flops"]


def test_torch_profiler_chatter_goes_to_a_log_beside_the_traces(repo: Path, tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    out = tmp_path / "profile"
    argv = ["profile", "--smoke", "--out", str(out), "--device", "cpu", "--variant", VARIANTS[0], "--seq-len", "16"]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "sdmspec", *argv], cwd=repo, env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert (out / "traces" / f"{VARIANTS[0]}_b1_s16.json").stat().st_size > 0
    log = out / "traces" / "profiler.log"
    assert log.is_file()
    for chatter in ("profiler_start", "profiler_stop", "STAGE:"):
        assert chatter not in done.stdout + done.stderr
    assert f"profiling {VARIANTS[0]}" in done.stdout + done.stderr  # the command's own progress still shows
