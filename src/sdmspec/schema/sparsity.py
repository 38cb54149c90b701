"""The ``sparsity`` section: which parameters are prunable and how iso-sparsity is judged.

Any pruning paper has one, and ``sdmspec verify-sparsity`` (the core's checkpoint comparison) reads it, so it lives
in the core beside :class:`~sdmspec.schema.paper.PaperSpec`, which holds it as an optional section.
"""

from __future__ import annotations

import re

from pydantic import Field, field_validator

from sdmspec.schema.sourced import Sourced


class SparsityRule(Sourced):
    """How iso-sparsity is judged: zero counts compared globally (and per layer when asked), within a tolerance."""

    tolerance: int = Field(default=0, ge=0, description="Largest allowed difference in zero counts.")
    per_layer: bool = False


class SparsitySpec(Sourced):
    """The prunable set (regexes searched in canonical parameter names) and the iso-sparsity rule."""

    prunable: tuple[str, ...] = Field(min_length=1)
    target: float = Field(ge=0.0, lt=1.0)
    target_source: str = Field(min_length=1)
    # Warn when a checkpoint's sparsity is further than this from the target.
    target_tolerance: float = Field(default=0.005, ge=0.0)
    rule: SparsityRule

    @field_validator("prunable")
    @classmethod
    def _patterns_compile(cls, patterns: tuple[str, ...]) -> tuple[str, ...]:
        for pattern in patterns:
            try:
                re.compile(pattern)
            except re.error as err:
                raise ValueError(f"prunable pattern {pattern!r} is not a regular expression: {err}") from err
        return patterns

    def is_prunable(self, name: str) -> bool:
        """Whether a canonical parameter name (``backbone.layers.0.mixer.in_proj.weight``) is in the prunable set."""
        return any(re.search(pattern, name) for pattern in self.prunable)
