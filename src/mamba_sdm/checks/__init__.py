"""This pipeline's areas of ``sdmspec validate``: one module per area, each exposing
``check_<area>(spec, options) -> Iterable[CheckResult]``; :data:`AREAS` lists them for the core
(:mod:`sdmspec.plugins`).

torch, transformers and datasets are imported inside the check functions only.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from mamba_sdm.checks.data import check_data
from mamba_sdm.checks.hyperparameters import check_hyperparameters
from mamba_sdm.checks.models import check_variants
from mamba_sdm.checks.profiling import check_profiling
from mamba_sdm.checks.sparsity import check_iso_sparsity
from mamba_sdm.spec import Spec
from sdmspec.errors import SdmspecError
from sdmspec.schema import PaperSpec
from sdmspec.validate.areas import Area, CheckFunction
from sdmspec.validate.report import CheckResult, ValidateOptions


def _on_this_spec(check: Callable[[Spec, ValidateOptions], Iterable[CheckResult]]) -> CheckFunction:
    """The core passes the spec it loaded (every installed pipeline's sections): this pipeline's type when it is."""

    def checked(spec: PaperSpec, options: ValidateOptions) -> Iterable[CheckResult]:
        if not isinstance(spec, Spec):
            raise SdmspecError("the spec was not loaded with the mamba-sdm pipeline's sections")
        return check(spec, options)

    return checked


# In report order, each with the spec sections it reads.
AREAS: tuple[Area, ...] = (
    Area("variants", _on_this_spec(check_variants), ("models", "variants", "sparsity")),
    Area("hyperparameters", _on_this_spec(check_hyperparameters)),
    Area("data", _on_this_spec(check_data), ("data", "models")),
    Area("profiling", _on_this_spec(check_profiling), ("models", "profiling")),
    Area("iso-sparsity", _on_this_spec(check_iso_sparsity), ("variants", "sparsity")),
)
