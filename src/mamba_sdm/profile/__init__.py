"""``sdmspec profile``: FLOPs the paper's way (fvcore), the torch way, analytically and effectively (zeros
skipped), and latency measured like a benchmark. torch and friends are imported inside functions only."""

from mamba_sdm.profile.profile_run import run_profile
from mamba_sdm.profile.records import FLOPS_UNITS, ProfileReport, ProfileResult

__all__ = ["FLOPS_UNITS", "ProfileReport", "ProfileResult", "run_profile"]
