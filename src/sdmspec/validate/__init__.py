"""``sdmspec validate``: is this machine and this repo ready to reproduce the paper's setup?

Each area (an installed pipeline's; this paper's are models, hyperparameters, data, profiling, iso-sparsity)
reports pass/warn/fail/skip with a reason. A check that cannot run here (no torch, no cached data, no checkpoints)
is skipped with the reason, never passed.
"""

from sdmspec.validate.areas import Area, installed_areas, validate_setup
from sdmspec.validate.report import CheckResult, CheckStatus, ValidateOptions, ValidationReport

__all__ = [
    "Area",
    "CheckResult",
    "CheckStatus",
    "ValidateOptions",
    "ValidationReport",
    "installed_areas",
    "validate_setup",
]
