"""The packages this pipeline's runs need, as rows of ``sdmspec env`` / the run's environment gate (never gating).

mamba-ssm and causal-conv1d are the fast scan kernels (CUDA extensions: they install without CUDA and fail only on
import, so they count as usable only where they import on a GPU); fvcore is the FLOP counter the paper names.
"""

from __future__ import annotations

from mamba_sdm.spec import Spec
from sdmspec.environment import PackageCheck
from sdmspec.schema import PaperSpec

MAMBA_SSM = PackageCheck("mamba-ssm", ("mamba-ssm", "mamba_ssm"), "usable", cuda_import=("mamba_ssm", "ops"))
CAUSAL_CONV1D = PackageCheck(
    "causal-conv1d", ("causal-conv1d", "causal_conv1d"), "usable", cuda_import=("causal_conv1d", "causal_conv1d_fn")
)


def pipeline_rows(spec: PaperSpec) -> list[PackageCheck]:
    """The kernels when the spec has this pipeline's models; fvcore when its profiling section names it."""
    if not isinstance(spec, Spec):
        return []
    found: list[PackageCheck] = []
    if spec.has("models"):
        found += [MAMBA_SSM, CAUSAL_CONV1D]
    if spec.has("profiling") and spec.profiling.flops_tool == "fvcore":
        found.append(PackageCheck("fvcore", ("fvcore",), f"installed ({spec.profiling.source})"))
    return found
