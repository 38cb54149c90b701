"""An entry: what one launch of a Hydra program composes (a config name and its overrides), and where it was written.

The spec lists the runs the paper reports as entries (``spec/runs.yaml``); the command line gives one
(``--config-name train --override experiment=example``); ``sdmspec run -- python train.py experiment=example`` gives
one from the command it launches. Every path of the composed lint starts from one of these.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sdmspec.lint.diagnostics import Location


@dataclass(frozen=True)
class Entry:
    """``config_name`` composed with ``overrides`` (Hydra's command-line syntax, in order).

    ``where`` is the entry's place in the spec (None for one from the command line); ``override_places`` the place
    of each override there, so a value an entry's override sets is reported at that line.
    """

    config_name: str
    overrides: tuple[str, ...] = ()
    name: str | None = None
    where: Location | None = None
    override_places: tuple[Location | None, ...] = field(default=(), compare=False)

    @property
    def label(self) -> str:
        """How findings name the entry: its name, else the config name and overrides as a command line shows them."""
        return self.name or " ".join((self.config_name, *self.overrides))

    def override_place(self, index: int) -> Location | None:
        return self.override_places[index] if index < len(self.override_places) else None
