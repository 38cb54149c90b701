"""A job's parameters for its tracker run: its options and the settings it resolves (values as the job reads them)."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any


def job_params(options: Any, setting_keys: list[str], **extra: Any) -> dict[str, Any]:
    """``options`` (a JobOptions) as ``job.<field>``, ``extra`` likewise, and each of ``setting_keys`` resolved from
    the configs (with the smoke overlay) as ``<key>``. Settings that do not resolve are left out: the job itself says
    why when it starts."""
    params: dict[str, Any] = {}
    for item in dataclasses.fields(options):
        value = getattr(options, item.name)
        if item.name != "extra" and value is not None:
            params[f"job.{item.name}"] = str(value) if isinstance(value, Path) else value
    params.update({f"job.{key}": str(value) if isinstance(value, Path) else value for key, value in extra.items()})
    if setting_keys:
        try:
            from mamba_sdm.jobs.common import SMOKE_OVERLAY
            from mamba_sdm.spec import load_mamba_spec
            from sdmspec.settings import resolve_settings

            settings = resolve_settings([options.configs or Path("configs")], load_mamba_spec(options.spec_path))
            if options.smoke:
                settings = settings.overlay(SMOKE_OVERLAY, "smoke")
            params.update({key: settings.get(key) for key in setting_keys})
        except Exception:  # the job reports unreadable configs or a missing spec in its own words
            pass
    return params
