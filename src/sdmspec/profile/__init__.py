"""``sdmspec profile``: FLOPs the paper's way (fvcore), the torch way, analytically and effectively (zeros
skipped), and latency measured like a benchmark. torch and friends are imported inside functions only."""

from sdmspec.profile.records import FLOPS_UNITS, ProfileReport, ProfileResult
from sdmspec.profile.runner import run_profile

__all__ = ["FLOPS_UNITS", "ProfileReport", "ProfileResult", "run_profile"]
