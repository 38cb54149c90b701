"""The scan is a choice: parallel (mambapy) and reference compute the same model, masks included; auto never picks
the reference loop on a GPU silently; every mixer runs the path it was given."""

from __future__ import annotations

import sys

import pytest
import torch

from mamba_sdm.models.build import build_model
from mamba_sdm.models.masking import get_strategy
from mamba_sdm.models.scan import Scan, ScanChoice, apply_scan, parse_scan, resolve_scan, scan_of
from mamba_sdm.spec import Spec
from sdmspec.errors import SdmspecError


def _loss_and_grads(
    spec: Spec, path: str, *, sdm: bool, sparsity: float = 0.3
) -> tuple[float, dict[str, torch.Tensor]]:
    model = build_model(spec, "130m", smoke=True, seed=0)
    if sdm:
        strategy = get_strategy("sdm")
        strategy.attach(model, spec.sparsity)
        strategy.set_sparsity(model, sparsity)
    apply_scan(model, resolve_scan(path, "cpu"))
    ids = torch.randint(0, model.config.vocab_size, (2, 96), generator=torch.Generator().manual_seed(3))
    loss = model(input_ids=ids, labels=ids).loss
    loss.backward()
    grads = {name: p.grad.detach().clone() for name, p in model.named_parameters() if p.grad is not None}
    return loss.item(), grads


@pytest.mark.parametrize("sdm", [False, True], ids=["dense", "sdm-masked"])
def test_parallel_and_reference_give_the_same_loss_and_gradients(spec: Spec, sdm: bool) -> None:
    reference_loss, reference_grads = _loss_and_grads(spec, "reference", sdm=sdm)
    parallel_loss, parallel_grads = _loss_and_grads(spec, "parallel", sdm=sdm)
    assert parallel_loss == pytest.approx(reference_loss, rel=1e-6, abs=1e-6)
    assert parallel_grads.keys() == reference_grads.keys()
    if sdm:  # the masks' scores get gradients on both paths
        assert any(".parametrizations." in name and name.endswith("scores") for name in parallel_grads)
    for name, grad in reference_grads.items():
        torch.testing.assert_close(parallel_grads[name], grad, rtol=1e-4, atol=1e-6, msg=name)


def test_the_paths_really_differ_in_what_runs(spec: Spec) -> None:
    """The sequential loop calls the scan step once per position; mambapy's pscan runs instead of it."""
    from mambapy import pscan as pscan_module

    calls: list[int] = []
    original = pscan_module.PScan.forward

    def counting(ctx: object, *args: object) -> object:
        calls.append(1)
        return original(ctx, *args)

    model = build_model(spec, "130m", smoke=True, seed=0)
    ids = torch.zeros((1, 16), dtype=torch.long)
    try:
        pscan_module.PScan.forward = staticmethod(counting)  # type: ignore[method-assign]
        apply_scan(model, resolve_scan("reference", "cpu"))
        model(input_ids=ids)
        assert calls == [] and scan_of(model) is Scan.REFERENCE
        apply_scan(model, resolve_scan("parallel", "cpu"))
        model(input_ids=ids)
        assert len(calls) == model.config.num_hidden_layers and scan_of(model) is Scan.PARALLEL
    finally:
        pscan_module.PScan.forward = original  # type: ignore[method-assign]
    assert model.config.use_mambapy is True


def test_auto_on_cpu_takes_the_parallel_scan_and_says_why() -> None:
    choice = resolve_scan("auto", "cpu")
    assert choice.path is Scan.PARALLEL and choice.requested is Scan.AUTO
    assert "CUDA only" in choice.reason and "mambapy" in choice.reason
    assert choice.record() == {"scan": "parallel", "scan_requested": "auto", "scan_reason": choice.reason}


def test_kernels_are_refused_off_cuda_with_one_line() -> None:
    with pytest.raises(SdmspecError, match=r"^--scan kernels needs a CUDA device; this job runs on cpu$"):
        resolve_scan("kernels", "cpu")


def test_unknown_scan_names_the_choices() -> None:
    with pytest.raises(SdmspecError, match="auto, kernels, parallel, reference"):
        parse_scan("fast")
    assert parse_scan(" Parallel ") is Scan.PARALLEL


def test_auto_refuses_the_reference_loop_on_a_gpu_without_mambapy(monkeypatch: pytest.MonkeyPatch) -> None:
    import mamba_sdm.models.scan as scan

    monkeypatch.setattr(scan, "kernels_status", lambda: (False, "mamba_ssm is not usable"))
    monkeypatch.setattr(scan, "parallel_status", lambda: (False, "mambapy is not usable"))
    with pytest.raises(SdmspecError, match="refusing to run the sequential reference loop on a GPU silently"):
        resolve_scan("auto", "cuda")
    # On a CPU the loop is the last resort, and the choice says so.
    choice = resolve_scan("auto", "cpu")
    assert choice.path is Scan.REFERENCE and "the sequential loop" in choice.reason


def test_the_reason_says_when_transformers_runs_the_parallel_scan_in_training_only(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import types

    import mamba_sdm.models.scan as scan

    # The installed transformers has the functional layout: mambapy runs in training and evaluation alike.
    assert "training only" not in resolve_scan("parallel", "cpu").reason
    # transformers 4.x: no module-level scan functions, the mixer's slow_forward checks self.training.
    older = types.ModuleType("modeling_mamba_4x")
    monkeypatch.setitem(sys.modules, scan._MODELING, older)
    for requested in ("parallel", "auto"):
        reason = resolve_scan(requested, "cpu").reason
        assert "uses it in training only: evaluation and latency run the sequential loop" in reason
    # Before the model code is imported, transformers' version decides.
    monkeypatch.delitem(sys.modules, scan._MODELING)
    monkeypatch.setattr(scan.importlib.metadata, "version", lambda name: "4.46.3")
    assert "transformers 4.46.3 uses it in training only" in resolve_scan("parallel", "cpu").reason
    monkeypatch.setattr(scan.importlib.metadata, "version", lambda name: "5.17.0")
    assert "training only" not in resolve_scan("parallel", "cpu").reason


def test_a_cpu_model_never_reaches_a_bound_kernel(spec: Spec, monkeypatch: pytest.MonkeyPatch) -> None:
    """transformers binds mamba-ssm at import, process-wide; a mixer asked for parallel/reference runs PyTorch."""
    from transformers.models.mamba import modeling_mamba

    import mamba_sdm.models.scan as scan

    def kernel(*args: object, **kwargs: object) -> object:
        raise AssertionError("a CUDA kernel was called")

    kernel.__wrapped__ = modeling_mamba.mamba_selective_scan  # type: ignore[attr-defined]
    monkeypatch.setattr(scan, "_ORIGINALS", {})
    monkeypatch.setattr(modeling_mamba, "mamba_selective_scan", kernel)
    model = build_model(spec, "130m", smoke=True, seed=0)
    apply_scan(model, ScanChoice(Scan.PARALLEL, Scan.PARALLEL, "test"))
    model(input_ids=torch.zeros((1, 8), dtype=torch.long))  # would raise through `kernel`
    apply_scan(model, ScanChoice(Scan.KERNELS, Scan.KERNELS, "test"))
    with pytest.raises(AssertionError, match="a CUDA kernel was called"):
        model(input_ids=torch.zeros((1, 8), dtype=torch.long))
    monkeypatch.setattr(modeling_mamba, "mamba_selective_scan", scan._ORIGINALS["mamba_selective_scan"].__wrapped__)


@pytest.mark.gpu
def test_parallel_matches_reference_on_cuda(spec: Spec) -> None:
    if not torch.cuda.is_available():
        pytest.skip("needs a CUDA GPU")
    losses = {}
    for path in ("reference", "parallel", "auto"):
        model = build_model(spec, "130m", smoke=True, seed=0, device="cuda")
        choice = resolve_scan(path, "cuda")
        apply_scan(model, choice)
        ids = torch.randint(0, model.config.vocab_size, (2, 64), generator=torch.Generator().manual_seed(3)).cuda()
        losses[path] = model(input_ids=ids, labels=ids).loss.item()
        if path == "auto":
            assert choice.path in (Scan.KERNELS, Scan.PARALLEL)
    assert losses["parallel"] == pytest.approx(losses["reference"], rel=1e-5)
    assert losses["auto"] == pytest.approx(losses["reference"], rel=1e-3)  # the kernels reorder the sums
