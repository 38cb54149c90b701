"""`sdmspec profile --smoke` end to end: the JSON and CSV contract, the plots, the traces and the errors."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from sdmspec.cli.app import main
from sdmspec.schema import Spec

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
VARIANTS = ("mamba-130m-dense", "mamba-130m-sdm")


def _run(argv: list[str]) -> int:
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    return int(exit_info.value.code or 0)


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("profile")
    argv = ["profile", "--smoke", "--seq-len", "16", "--seq-len", "32", "--out", str(out), "--device", "cpu"]
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
    assert dense["flops"]["effective"] == dense["flops"]["analytic"]
    assert sdm["flops"]["effective"] < sdm["flops"]["analytic"] == dense["flops"]["analytic"]


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
    ],
)
def test_bad_input_exits_2_with_one_line(extra: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _run(["profile", "--smoke", "--out", str(tmp_path), *extra]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("sdmspec: error: ")
    assert not (tmp_path / "profile.json").exists()


@pytest.mark.gpu
def test_cuda_run_times_on_the_gpu_and_counts_on_the_reference_path(spec: Spec, tmp_path: Path) -> None:
    """On a GPU the latency runs there (fast kernels when mamba-ssm and causal-conv1d are usable), while the FLOP
    counts stay those of the reference path: the same numbers as on the CPU."""
    from sdmspec.profile import run_profile

    gpu = run_profile(spec, ["mamba-130m-dense"], seq_lens=[16], smoke=True, out_dir=tmp_path / "gpu", device="cuda")
    cpu = run_profile(spec, ["mamba-130m-dense"], seq_lens=[16], smoke=True, out_dir=tmp_path / "cpu", device="cpu")
    (on_gpu,), (on_cpu,) = gpu.results, cpu.results
    assert on_gpu.hardware.device == "cuda" and on_gpu.hardware.gpu
    assert on_gpu.latency.median > 0
    assert on_gpu.flops == on_cpu.flops
    assert on_gpu.latency_path.startswith("fast kernels") == on_gpu.hardware.fast_kernels
