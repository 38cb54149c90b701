"""Run the validation checks in order, each isolated: a check that crashes becomes a ``fail`` with the reason.

The areas are the installed paper pipelines' (``Pipeline.validate_areas``, :mod:`sdmspec.plugins`): each names an
:class:`Area`. The core runs them; it has none of its own beyond the lint and environment checks of other commands.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from sdmspec.errors import MissingSectionError, SdmspecError
from sdmspec.extras import missing_extra
from sdmspec.plugins import PluginError, references, resolve
from sdmspec.schema import PaperSpec
from sdmspec.validate.report import CheckResult, CheckStatus, ValidateOptions, ValidationReport

CheckFunction = Callable[[PaperSpec, ValidateOptions], Iterable[CheckResult]]


@dataclass(frozen=True)
class Area:
    """One area of the report: its name (``sdmspec validate --check NAME``), its check, and the spec sections it
    reads (a spec without them skips the area as not applicable)."""

    name: str
    check: CheckFunction
    requires: tuple[str, ...] = ()


def installed_areas() -> dict[str, Area]:
    """Every installed pipeline's areas, in report order (pipelines by name, each's areas in its own order)."""
    found: dict[str, Area] = {}
    for pipeline, reference in references("validate_areas"):
        listed = resolve(reference)
        if not isinstance(listed, tuple | list) or not all(isinstance(area, Area) for area in listed):
            raise PluginError(f"pipeline {pipeline.name!r}: {reference} is not a sequence of validate Areas")
        for area in listed:
            if area.name in found:
                raise PluginError(f"pipeline {pipeline.name!r}: the validate area {area.name!r} is defined twice")
            found[area.name] = area
    return found


_OFFLINE_VARIABLES = ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE")


@contextmanager
def hub_offline() -> Iterator[None]:
    """Hugging Face libraries offline for the duration: validate reads caches and local files, never the network.

    huggingface_hub and datasets read the variables once, at import; when they were imported before (in a host
    process) their module constants are switched too, else a missing data set retries the hub for about 25 s.
    """
    saved_env = {name: os.environ.get(name) for name in _OFFLINE_VARIABLES}
    patched: list[tuple[object, str, object]] = []
    for name in _OFFLINE_VARIABLES:
        os.environ[name] = "1"
    for module_name, attributes in (
        ("huggingface_hub.constants", ("HF_HUB_OFFLINE",)),
        ("datasets.config", ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE")),
    ):
        imported = sys.modules.get(module_name)
        for attribute in attributes if imported is not None else ():
            patched.append((imported, attribute, getattr(imported, attribute)))
            setattr(imported, attribute, True)
    try:
        yield
    finally:
        for target, attribute, value in reversed(patched):
            setattr(target, attribute, value)
        for name, value in saved_env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _run_area(chosen: Area, spec: PaperSpec, options: ValidateOptions) -> list[CheckResult]:
    area, check = chosen.name, chosen.check
    missing = [section for section in chosen.requires if not spec.has(section)]
    if missing:
        names = ", ".join(f"'{section}'" for section in missing)
        noun = "section" if len(missing) == 1 else "sections"
        return [CheckResult(area, CheckStatus.SKIP, f"not applicable: the spec has no {names} {noun}")]
    try:
        return list(check(spec, options))
    except ModuleNotFoundError as err:
        extra = missing_extra(err)
        if extra is not None:  # a core-only install (the pre-commit hook's): the check cannot run here
            reason = f"needs {err.name}, which is not installed (install sdmspec's {extra!r} extra)"
            return [CheckResult(area, CheckStatus.SKIP, reason)]
        return [CheckResult(area, CheckStatus.FAIL, f"the check cannot run: {err}")]
    except MissingSectionError as err:  # a spec for another paper: this pipeline's check does not apply
        return [CheckResult(area, CheckStatus.SKIP, f"not applicable: the spec has no '{err.section}' section")]
    except SdmspecError as err:
        return [CheckResult(area, CheckStatus.FAIL, str(err))]
    except Exception as err:  # a crashing check is a finding about this setup, not a reason to lose the report
        first = str(err).strip().splitlines()[0] if str(err).strip() else ""
        return [CheckResult(area, CheckStatus.FAIL, f"the check crashed: {type(err).__name__}: {first}")]


def validate_setup(spec: PaperSpec, options: ValidateOptions, areas: Sequence[str] | None = None) -> ValidationReport:
    """Run the checks of ``areas`` (default: all, in :func:`installed_areas` order) and gather their results."""
    known = installed_areas()
    selected = list(known) if not areas else [area for area in known if area in areas]
    unknown = sorted(set(areas or ()) - set(known))
    if unknown:
        raise SdmspecError(f"unknown check(s) {', '.join(unknown)}; known: {', '.join(known) or 'none'}")
    results: list[CheckResult] = []
    with hub_offline():
        for area in selected:
            results.extend(_run_area(known[area], spec, options))
    return ValidationReport(checks=tuple(results))
