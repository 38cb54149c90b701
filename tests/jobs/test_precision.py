"""Precision as a setting: what auto resolves to, what is refused, and what result.json records."""

from __future__ import annotations

from pathlib import Path

import pytest
from job_helpers import options, read_events, read_json

from mamba_sdm.jobs.precision import resolve_precision
from sdmspec.errors import EXIT_USAGE, JobError, SdmspecError


def test_auto_is_fp32_on_the_cpu_and_bf16_is_refused_there() -> None:
    auto = resolve_precision("auto", "cpu")
    assert (auto.autocast, auto.tf32, auto.bf16) == (None, False, False)
    assert auto.reason == "auto: fp32 on cpu"
    assert resolve_precision("fp32", "cpu").record() == {
        "requested": "fp32", "autocast": None, "tf32": False, "reason": "asked for fp32"
    }  # fmt: skip
    with pytest.raises(JobError, match="needs a CUDA GPU with bfloat16 support; this job would run on the CPU") as no:
        resolve_precision("bf16", "cpu")
    assert no.value.exit_code == EXIT_USAGE


def test_an_unknown_precision_is_a_usage_error() -> None:
    with pytest.raises(SdmspecError, match="precision must be one of auto, bf16, fp32, got 'fp16'") as caught:
        resolve_precision("fp16", "cpu")
    assert caught.value.exit_code == EXIT_USAGE


def test_bf16_that_a_gpu_only_emulates_is_not_support(monkeypatch: pytest.MonkeyPatch) -> None:
    """A V100 (compute capability 7.0) runs bfloat16 only through fp32 emulation, slower than fp32, which torch's
    default ``is_bf16_supported()`` counts as support: auto must pick fp32 there and bf16 must be refused. torch's own
    check runs; only what it asks the (absent) GPU is answered as a V100 would, emulation included."""
    import types

    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "current_device", lambda: 0)
    monkeypatch.setattr(torch.cuda, "get_device_properties", lambda device=None: types.SimpleNamespace(major=7))
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda device=None: (7, 0))
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda device=None: "Tesla V100-SXM2-32GB")
    monkeypatch.setattr(torch.cuda, "_check_bf16_tensor_supported", lambda device: True)
    auto = resolve_precision("auto", "cuda")
    assert (auto.autocast, auto.tf32) == (None, False)
    assert auto.reason == "no bfloat16 support on Tesla V100-SXM2-32GB"
    with pytest.raises(JobError, match="this job would run on Tesla V100-SXM2-32GB, which has no bfloat16 support"):
        resolve_precision("bf16", "cuda")


def test_the_job_records_the_precision_that_ran(pretrained: dict[str, Path]) -> None:
    out = pretrained["mamba-130m-sdm"]
    result = read_json(out / "result.json")
    assert result["precision"] == {"requested": "auto", "autocast": None, "tf32": False, "reason": "auto: fp32 on cpu"}
    assert result["settings"]["training.precision"] == {"value": "auto", "origin": "spec default"}
    setup = next(e for e in read_events(out / "metrics.jsonl") if e["event"] == "setup")
    assert setup["precision"] == result["precision"]


def test_the_option_overrides_the_setting(tmp_path: Path, smoke_data: Path) -> None:
    from mamba_sdm.jobs.pretrain import run_pretrain

    record = run_pretrain(options("mamba-130m-dense", tmp_path, smoke_data, precision="fp32", max_steps=1))
    assert record["precision"]["requested"] == "fp32" and record["precision"]["autocast"] is None


@pytest.mark.gpu
def test_auto_is_bf16_autocast_with_tf32_on_an_ampere_gpu(tmp_path: Path, smoke_data: Path) -> None:
    import torch

    from mamba_sdm.jobs.pretrain import run_pretrain

    major, _ = torch.cuda.get_device_capability()
    auto = resolve_precision("auto", "cuda")
    assert auto.bf16 == (major >= 8) and auto.tf32 == (major >= 8)  # bf16 natively: Ampere or later
    record = run_pretrain(options("mamba-130m-dense", tmp_path, smoke_data, device="cuda", max_steps=2))
    assert record["precision"]["autocast"] == ("bf16" if auto.bf16 else None)
    assert record["precision"]["tf32"] == (major >= 8) and torch.backends.cuda.matmul.allow_tf32 == (major >= 8)
    train = [e for e in read_events(tmp_path / "metrics.jsonl") if e["event"] == "train"]
    assert len(train) == 2 and all(e["loss"] is not None for e in train)
