"""FLOPs counted once per architecture and shape, shared by every variant with that architecture.

fvcore's and FlopCounterMode's counts depend on tensor shapes only, never on the weights' values: the dense, SDM,
challenge and random variants of one size count the same at one (batch size, sequence length). So each counter runs
once per (architecture, batch size, sequence length), on the path :func:`~mamba_sdm.profile.counters.counting_scan`
picks, and every variant's result points at that count. The effective FLOPs, which do depend on the zeros, are not
counted by a tool: they are the closed form scaled by each variant's own densities
(:func:`~mamba_sdm.profile.analytic.effective_flops`).
"""

from __future__ import annotations

from collections.abc import Callable

from mamba_sdm.models.scan import ScanChoice
from mamba_sdm.profile.analytic import MambaShape
from mamba_sdm.profile.counters import count_fvcore, count_torch
from mamba_sdm.profile.loading import LoadedVariant
from mamba_sdm.profile.records import FlopCount


class CountCache:
    """The counts made so far, by (architecture, batch size, sequence length), in the order they were made."""

    def __init__(self, scan: ScanChoice, progress: Callable[[str], None] | None = None) -> None:
        self.scan = scan
        self._progress = progress
        self._counts: dict[tuple[MambaShape, int, int], FlopCount] = {}

    @property
    def counts(self) -> tuple[FlopCount, ...]:
        return tuple(self._counts.values())

    def get(self, loaded: LoadedVariant, batch_size: int, seq_len: int) -> FlopCount:
        """The count for ``loaded``'s architecture at this shape; the counters run on the first request only.
        fvcore traces ``loaded.model`` itself (on its device; the scan set on it for counting stays set)."""
        key = (loaded.shape, batch_size, seq_len)
        if key not in self._counts:
            if self._progress:
                self._progress(
                    f"counting FLOPs for {loaded.variant}'s architecture: batch {batch_size}, {seq_len} tokens, "
                    f"{self.scan.path.value} scan"
                )
            self._counts[key] = FlopCount(
                index=len(self._counts),
                shape=loaded.shape,
                batch_size=batch_size,
                seq_len=seq_len,
                torch=count_torch(loaded.config, batch_size, seq_len, self.scan),
                fvcore=count_fvcore(loaded.model, batch_size, seq_len, self.scan),
                counted_on=loaded.variant,
            )
        return self._counts[key]
