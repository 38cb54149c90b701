"""Masking strategies by name, so the paper's exact SDM formulation can replace ours without touching the jobs."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from mamba_sdm.models.masking.base import MaskingStrategy
from sdmspec.errors import SdmspecError

STRATEGIES: dict[str, MaskingStrategy] = {}

_S = TypeVar("_S", bound=type[MaskingStrategy])


def register_strategy(name: str) -> Callable[[_S], _S]:
    """Class decorator: register one instance of the strategy under ``name`` (also set as its ``name``)."""

    def register(cls: _S) -> _S:
        if name in STRATEGIES:
            raise SdmspecError(f"masking strategy {name!r} is registered twice")
        cls.name = name
        STRATEGIES[name] = cls()
        return cls

    return register


def get_strategy(name: str) -> MaskingStrategy:
    """The strategy registered as ``name``; an unknown name raises SdmspecError listing the registered ones."""
    try:
        return STRATEGIES[name]
    except KeyError:
        known = ", ".join(sorted(STRATEGIES)) or "none"
        raise SdmspecError(f"unknown masking strategy {name!r}; registered: {known}") from None
