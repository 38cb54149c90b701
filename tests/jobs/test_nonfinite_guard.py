"""Clipping and the non-finite guard on real smoke pre-trainings: a NaN loss is injected at chosen optimizer steps
(tests/fault_injection.py multiplies the loss by NaN, so the backward pass yields NaN gradients too, as a bad batch
would)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from job_helpers import options, read_events, read_json, run_cli

from fault_injection import environment, injected
from mamba_sdm.jobs.guard import MAX_SKIPPED_IN_A_ROW, StepGuard
from sdmspec.errors import JobError

DENSE = "mamba-130m-dense"


def _tensors(path: Path) -> dict[str, object]:
    from safetensors.torch import load_file

    return dict(load_file(str(path)))


def _assert_exported_weights_are_those_of(out: Path, checkpoint: str) -> dict[str, object]:
    """The exported model holds exactly the weights ``checkpoint`` saved (the mixers' included); returns them."""
    import torch

    saved = _tensors(out / "checkpoints" / checkpoint / "model.safetensors")
    final = _tensors(out / "model/model.safetensors")
    shared = saved.keys() & final.keys()
    assert any(".mixer." in name for name in shared)
    assert all(torch.equal(saved[name], final[name]) for name in shared)  # type: ignore[arg-type]
    return final


def test_every_step_is_clipped_and_logs_its_gradient_norm(pretrained: dict[str, Path]) -> None:
    result = read_json(pretrained[DENSE] / "result.json")
    assert result["max_grad_norm"] == 1.0 and result["skipped_steps"] == 0
    assert result["settings"]["training.pretrain.max_grad_norm"]["value"] == 1.0
    train = [e for e in read_events(pretrained[DENSE] / "metrics.jsonl") if e["event"] == "train"]
    norms = [e["grad_norm"] for e in train]
    assert all(isinstance(n, float) and n > 0 for n in norms)
    # The smoke learning rate makes the raw norm exceed the bound on some step: clipping had work to do.
    assert max(norms) > 1.0
    assert all(e["skipped_steps"] == 0 and e["total_steps"] == result["steps"] for e in train)


def test_a_nan_step_is_skipped_and_leaves_the_weights_untouched(tmp_path: Path, smoke_data: Path) -> None:
    import torch

    from mamba_sdm.jobs.pretrain import run_pretrain

    out = tmp_path / "nan"
    with injected(nan_at="3"):
        record = run_pretrain(options(DENSE, out, smoke_data, max_steps=3, checkpoint_every=1))
    assert record["steps"] == 3 and record["skipped_steps"] == 1
    events = read_events(out / "metrics.jsonl")
    assert [e["step"] for e in events if e["event"] == "skipped"] == [3]
    train = {e["step"]: e for e in events if e["event"] == "train"}
    assert train[3]["loss"] is None and train[3]["skipped_steps"] == 1 and train[2]["skipped_steps"] == 0
    # No checkpoint is written right after a skipped step (it could rotate out the last one from before it).
    assert (out / "checkpoints/latest").read_text().strip() == "step-00000002"
    assert not (out / "checkpoints/step-00000003").exists()
    # The exported model (after step 3) holds exactly the weights of step 2: the skipped step changed nothing.
    final = _assert_exported_weights_are_those_of(out, "step-00000002")
    assert all(bool(torch.isfinite(t).all()) for t in final.values())  # type: ignore[call-overload]
    # result.json stays standard JSON (no NaN token, which jq, JavaScript and other strict readers refuse): the
    # skipped last step's loss is null there, as it is in metrics.jsonl.
    strict = json.loads((out / "result.json").read_text(encoding="utf-8"), parse_constant=_refuse_constant)
    assert strict["metrics"]["train_loss_last"] is None and strict["skipped_steps"] == 1


def test_a_divergence_stops_with_one_line_and_the_last_good_checkpoint_resumes_exactly(
    pretrained: dict[str, Path], tmp_path: Path, smoke_data: Path
) -> None:
    import torch

    out = tmp_path / "diverged"
    command = ["job", "pretrain", "--variant", DENSE, "--out", str(out), "--smoke", "--data-dir", str(smoke_data)]
    command += ["--checkpoint-every", "2", "--quiet"]
    diverged = run_cli(*command, env=environment(nan_at="3-"))
    assert diverged.returncode == 1, diverged.stderr
    last = diverged.stderr.strip().splitlines()[-1]
    assert f"{MAX_SKIPPED_IN_A_ROW} optimizer steps in a row (up to step {2 + MAX_SKIPPED_IN_A_ROW})" in last
    assert "step-00000002" in last and "Traceback" not in diverged.stderr
    assert (out / "checkpoints/latest").read_text().strip() == "step-00000002"
    assert not (out / "result.json").exists()
    # The checkpoint from before the divergence resumes to exactly the uninterrupted run's weights.
    resumed = run_cli(*command)
    assert resumed.returncode == 0, resumed.stderr
    assert read_json(out / "result.json")["resumed_from_step"] == 2
    mine, reference = _tensors(out / "model/model.safetensors"), _tensors(pretrained[DENSE] / "model/model.safetensors")
    for name in reference:
        torch.testing.assert_close(mine[name], reference[name], rtol=0, atol=1e-5)


def _refuse_constant(name: str) -> None:
    raise AssertionError(f"result.json holds {name}, which is not JSON")


@pytest.mark.gpu
def test_a_nan_step_on_cuda_is_skipped_and_leaves_the_weights_untouched(tmp_path: Path, smoke_data: Path) -> None:
    """The guard on the GPU, at the precision auto picks there (bf16 autocast on Ampere or later): the clipped norm
    and the finiteness check run on CUDA gradients and weights, and the skipped step changes nothing."""
    from mamba_sdm.jobs.pretrain import run_pretrain

    out = tmp_path / "nan"
    with injected(nan_at="3"):
        record = run_pretrain(options(DENSE, out, smoke_data, device="cuda", max_steps=3, checkpoint_every=1))
    assert record["device"].startswith("cuda") and record["steps"] == 3 and record["skipped_steps"] == 1
    train = {e["step"]: e for e in read_events(out / "metrics.jsonl") if e["event"] == "train"}
    assert train[3]["loss"] is None and all(isinstance(train[s]["grad_norm"], float) for s in (1, 2))
    assert (out / "checkpoints/latest").read_text().strip() == "step-00000002"
    _assert_exported_weights_are_those_of(out, "step-00000002")


def test_the_guard_reads_the_latest_checkpoint_only_when_it_stops_the_job() -> None:
    """The stop line names the last good checkpoint; finding it reads a file, which must not happen every step."""
    asked: list[int] = []

    def latest() -> str:
        asked.append(1)
        return "step-00000040"

    guard = StepGuard("pretrain x", limit=2)
    assert all(guard.judge(step, 2.5, 1.0, latest) for step in range(1, 50))
    assert guard.judge(50, math.nan, 1.0, latest) is False
    assert asked == []
    with pytest.raises(JobError, match="the last good checkpoint is step-00000040"):
        guard.judge(51, 2.5, math.inf, latest)
    assert asked == [1]
