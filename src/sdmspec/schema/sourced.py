"""The base of every spec record: it says where it comes from (the description's words, or "assumption")."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

FROZEN = ConfigDict(extra="forbid", frozen=True)


class Sourced(BaseModel):
    """Base for spec records: every one says where it comes from."""

    model_config = FROZEN

    source: str = Field(min_length=1)

    @property
    def is_assumption(self) -> bool:
        return self.source.strip().lower().startswith("assumption")
