"""``--select`` / ``--ignore``: which rules run. A selector is a code (``SDM201``), a prefix (``SDM2``, ``SDM``), a
rule name (``value-mismatch``) or ``ALL``; ruff's semantics: start from the selection (all rules by default), then
remove the ignored ones.
"""

from __future__ import annotations

from collections.abc import Collection

from sdmspec.errors import SdmspecError
from sdmspec.lint.rules import RULES, Rule


class SelectorError(SdmspecError):
    """A ``--select``/``--ignore`` value names no rule (a usage error: exit 2)."""


def find_rule(selector: str) -> Rule | None:
    """The rule a code or name refers to exactly, if any."""
    wanted = selector.strip()
    rule = RULES.get(wanted.upper())
    if rule is not None:
        return rule
    return next((rule for rule in RULES.values() if wanted.lower() == rule.NAME), None)


def matching(selector: str) -> set[str]:
    """The codes ``selector`` refers to; raises :class:`SelectorError` when it refers to none."""
    wanted = selector.strip()
    if wanted.upper() == "ALL":
        return set(RULES)
    exact = find_rule(wanted)
    if exact is not None:
        return {exact.CODE}
    codes = {code for code in RULES if wanted.upper().startswith("SDM") and code.startswith(wanted.upper())}
    if not codes:
        raise SelectorError(f"unknown rule selector {selector!r} (see `sdmspec lint --explain all`)")
    return codes


def split(values: Collection[str] | None) -> list[str]:
    """Selectors from option values, each of which may hold several separated by commas."""
    return [part.strip() for value in values or () for part in value.split(",") if part.strip()]


def select_rules(select: Collection[str] | None = None, ignore: Collection[str] | None = None) -> tuple[Rule, ...]:
    """The rules to run, in code order."""
    selectors = split(select)
    chosen = set(RULES) if not selectors else set().union(*(matching(s) for s in selectors))
    for selector in split(ignore):
        chosen -= matching(selector)
    return tuple(RULES[code] for code in sorted(chosen))
