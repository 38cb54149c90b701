"""fvcore on the wrapped model (MACs, skipped ops listed), its 2x against FlopCounterMode, and the reference path."""

from __future__ import annotations

from typing import Any

import pytest

from mamba_sdm.profile.analytic import MambaShape
from mamba_sdm.profile.counters import count_fvcore, count_torch, logits_only, reference_path
from mamba_sdm.spec import Spec


@pytest.fixture(scope="module")
def tiny_model(spec: Spec) -> Any:
    from mamba_sdm.models.build import build_model

    return build_model(spec, "130m", smoke=True, seed=0).eval()


def test_logits_only_wrapper_returns_a_tensor(tiny_model: Any) -> None:
    import torch

    ids = torch.zeros(1, 8, dtype=torch.long)
    out = logits_only(tiny_model)(ids)
    assert isinstance(out, torch.Tensor)
    assert out.shape == (1, 8, tiny_model.config.vocab_size)


def test_fvcore_counts_macs_and_lists_the_ops_it_skips(tiny_model: Any) -> None:
    fvcore = count_fvcore(tiny_model, 1, 16)
    torch_count = count_torch(tiny_model.config, 1, 16)
    # The scan's and the norm's elementwise ops are skipped, and listed with how often they occur.
    assert {"aten::mul", "aten::add", "aten::exp", "aten::softplus", "aten::silu"} <= set(fvcore.skipped)
    assert all(count > 0 for count in fvcore.skipped.values())
    # The 2x: fvcore counts one multiply-add as one flop, FlopCounterMode as two; on the same ops they agree exactly.
    assert 2 * fvcore.by_operator["linear"] == torch_count.by_operator["aten.mm"] - _dt_proj_flops(tiny_model, 1, 16)
    assert 2 * fvcore.by_operator["conv"] == torch_count.by_operator["aten.convolution"]
    assert 2 * fvcore.by_operator["matmul"] == torch_count.by_operator["aten.bmm"] + _dt_proj_flops(tiny_model, 1, 16)
    assert 2 * fvcore.macs == torch_count.flops


def _dt_proj_flops(model: Any, batch: int, seq_len: int) -> int:
    shape = MambaShape.from_config(model.config)
    return 2 * shape.n_layer * shape.dt_rank * shape.d_inner * batch * seq_len


def test_fvcore_drops_the_batch_of_dt_proj(tiny_model: Any) -> None:
    """fvcore's matmul handle counts prod(A.shape) * B.shape[-1]: for dt_proj's `W @ x` with W 2-D and x batched,
    the batch is lost. So beyond the 2x, fvcore undercounts by dt_proj's work on all but one sequence."""
    shape = MambaShape.from_config(tiny_model.config)
    batch, seq_len = 3, 16
    fvcore = count_fvcore(tiny_model, batch, seq_len)
    torch_count = count_torch(tiny_model.config, batch, seq_len)
    missing = shape.n_layer * shape.dt_rank * shape.d_inner * seq_len * (batch - 1)
    assert torch_count.flops == 2 * (fvcore.macs + missing)


def test_reference_path_unwraps_kernel_functions_and_restores_them(monkeypatch: pytest.MonkeyPatch) -> None:
    from transformers.models.mamba import modeling_mamba

    monkeypatch.setattr(modeling_mamba, "is_fast_path_available", True, raising=False)  # transformers 4.x's flag
    wrapped = {name: getattr(modeling_mamba, name) for name in ("causal_conv1d_fn", "mamba_selective_scan")}
    with reference_path() as switched:
        assert "is_fast_path_available" in switched
        assert modeling_mamba.is_fast_path_available is False
        for name, function in wrapped.items():
            if hasattr(function, "__wrapped__"):  # transformers 5.x's kernel wrappers
                assert name in switched
                assert getattr(modeling_mamba, name) is not function
                assert not hasattr(getattr(modeling_mamba, name), "__wrapped__")
    assert modeling_mamba.is_fast_path_available is True
    for name, function in wrapped.items():
        assert getattr(modeling_mamba, name) is function


def _choice(path: str) -> Any:
    from mamba_sdm.models.scan import Scan, ScanChoice

    return ScanChoice(Scan(path), Scan(path), "test")


def test_parallel_and_reference_paths_count_the_same(tiny_model: Any) -> None:
    """The parallel scan (mambapy) and the sequential loop give identical FlopCounterMode and fvcore counts, per
    operator, at a length that is not a power of two (pscan pads) and a batch above 1. Only fvcore's list of
    skipped elementwise ops differs: the loop's per-position recurrence (one mul and one add per layer and position)
    is, on the parallel path, inside mambapy's autograd Function, one opaque PythonOp per layer."""
    batch, seq_len = 2, 24
    layers = MambaShape.from_config(tiny_model.config).n_layer
    loop_torch = count_torch(tiny_model.config, batch, seq_len, _choice("reference"))
    fast_torch = count_torch(tiny_model.config, batch, seq_len, _choice("parallel"))
    assert (loop_torch.scan, fast_torch.scan) == ("reference", "parallel")
    assert loop_torch.device == fast_torch.device == "meta"
    assert fast_torch.flops == loop_torch.flops
    assert fast_torch.by_operator == loop_torch.by_operator
    assert set(fast_torch.by_operator) == {"aten.mm", "aten.convolution", "aten.bmm"}

    loop_fv = count_fvcore(tiny_model, batch, seq_len, _choice("reference"))
    fast_fv = count_fvcore(tiny_model, batch, seq_len, _choice("parallel"))
    assert fast_fv.macs == loop_fv.macs and fast_fv.by_operator == loop_fv.by_operator
    loop_skipped, fast_skipped = dict(loop_fv.skipped), dict(fast_fv.skipped)
    assert fast_skipped.pop("prim::PythonOp.PScan") == layers
    for op in ("aten::mul", "aten::add"):
        assert loop_skipped.pop(op) - fast_skipped.pop(op) == layers * seq_len
    assert loop_skipped == fast_skipped


def test_counting_scan_prefers_the_parallel_path_and_never_the_kernels(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    from mamba_sdm.models.scan import Scan
    from mamba_sdm.profile.counters import counting_scan

    for requested in (Scan.AUTO, Scan.KERNELS, Scan.PARALLEL):
        assert counting_scan(requested).path is Scan.PARALLEL
    assert counting_scan(Scan.REFERENCE).path is Scan.REFERENCE
    monkeypatch.setitem(sys.modules, "mambapy.pscan", None)  # the import now fails, as without the package
    fallback = counting_scan(Scan.AUTO)
    assert fallback.path is Scan.REFERENCE and "mambapy is not usable" in fallback.reason
    with pytest.raises(ValueError, match="kernels"):
        count_torch(None, 1, 8, _choice("kernels"))
