"""Resolve a composed config's ``${...}`` the way OmegaConf does, with its built-in resolvers only.

A resolver the program registers in its Python (``OmegaConf.register_new_resolver("eval", eval)``, ``div_up``) is
the program's code, and a config's text is untrusted: it is never called. Before anything is resolved, the value's
interpolation and every value it refers to (followed through references, ``${a.b}``, ``${..c}``) are parsed with
OmegaConf's own grammar, and a resolver that is not one of OmegaConf's built-ins stops the resolution: the value is
known only at run time. This holds also in a process where such a resolver is registered (a program that imports
sdmspec): the check is on names, not on what happens to be registered. Hydra's ``${hydra:...}`` and ``${now:...}``
are Hydra's, but they are known only when the job starts, so they are run-time values too.

What resolves is OmegaConf's doing (``OmegaConf.select``); what does not is a value with a reason: ``???`` left
unset (MISSING), run time, or an interpolation that cannot be resolved here (``${oc.env:VAR}`` with VAR unset).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from omegaconf import DictConfig

# OmegaConf's own resolvers (omegaconf.resolvers, registered by OmegaConf itself): pure functions of the config and
# the environment, none of them runs code a config names.
BUILTIN_RESOLVERS = frozenset(
    {"oc.env", "oc.select", "oc.decode", "oc.create", "oc.deprecated", "oc.dict.keys", "oc.dict.values"}
)
# Hydra's, filled in when the job starts (its output folder, the clock).
HYDRA_RUNTIME_RESOLVERS = frozenset({"hydra", "now"})
# Built-ins whose first argument is a key (``${oc.select:a.b,0}``): a reference, followed like ``${a.b}``.
_KEY_RESOLVERS = frozenset({"oc.select", "oc.deprecated", "oc.dict.keys", "oc.dict.values"})
# Built-ins that turn text into config (``oc.decode`` parses it, ``oc.create`` loads it): safe on literal text, but
# on a computed value (``${oc.decode:${oc.env:X}}``) the text could hold an interpolation of any resolver.
_TEXT_TO_CONFIG_RESOLVERS = frozenset({"oc.decode", "oc.create"})
_MISSING = "???"


class Status(str, Enum):
    VALUE = "value"
    MISSING = "missing"
    RUNTIME = "runtime"
    UNRESOLVED = "unresolved"


@dataclass(frozen=True)
class Resolved:
    """A key's composed value, or why there is none. ``raw`` is the interpolation as written when the value is
    interpolated; ``via`` the keys a reference led to, in order (the last one holds the value written)."""

    key: str
    status: Status
    value: object = None
    raw: str | None = None
    via: tuple[str, ...] = ()
    why: str = ""


def _leaves(tree: object, prefix: str) -> Iterator[tuple[str, object]]:
    if isinstance(tree, dict) and tree:
        for name, value in tree.items():
            yield from _leaves(value, f"{prefix}.{name}" if prefix else str(name))
    elif prefix:
        yield prefix, tree


def _strings(value: object) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _strings(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)


def _reference_target(key: str, reference: str) -> str:
    """The absolute key of ``${reference}`` written at ``key`` (``.b`` is a sibling, ``..c`` one level up)."""
    if not reference.startswith("."):
        return reference
    dots = len(reference) - len(reference.lstrip("."))
    parts = key.split(".")[:-1]  # the container holding the key
    parts = parts[: max(len(parts) - (dots - 1), 0)]
    rest = reference[dots:]
    return ".".join([*parts, rest]) if rest else ".".join(parts)


class Resolver:
    """Resolves keys of one composed config (see the module docstring); each key's verdict is computed once."""

    def __init__(self, config: DictConfig) -> None:
        from omegaconf import OmegaConf

        self.config = config
        self.raw: dict[str, object] = dict(_leaves(OmegaConf.to_container(config, resolve=False), ""))
        self._refusals: dict[str, tuple[Status, str] | None] = {}

    def has(self, key: str) -> bool:
        return key in self.raw

    def _grammar(self, text: str) -> tuple[list[str], list[str]] | str:
        """(resolver names, referenced keys) in ``text``, or why it cannot be read, by OmegaConf's own grammar."""
        from omegaconf import grammar_parser
        from omegaconf.errors import GrammarParseError
        from omegaconf.grammar.gen.OmegaConfGrammarParser import OmegaConfGrammarParser

        try:
            tree = grammar_parser.parse(text)
        except GrammarParseError as err:
            return f"not an interpolation OmegaConf can read: {str(err).splitlines()[0]}"
        resolvers: list[str] = []
        references: list[str] = []
        pending: list[Any] = [tree]
        while pending:
            node = pending.pop()
            if isinstance(node, OmegaConfGrammarParser.InterpolationResolverContext):
                name = node.resolverName().getText()  # type: ignore[no-untyped-call]
                resolvers.append(name)
                arguments = node.sequence()  # type: ignore[no-untyped-call]
                elements = arguments.element() if arguments is not None else []
                if name in _KEY_RESOLVERS and elements:
                    references.append(elements[0].getText())
                if name in _TEXT_TO_CONFIG_RESOLVERS and "${" in (arguments.getText() if arguments else ""):
                    resolvers.append(f"{name} of a computed value")
            elif isinstance(node, OmegaConfGrammarParser.InterpolationNodeContext):
                references.append(node.getText()[2:-1])
            pending.extend(node.getChildren() if hasattr(node, "getChildren") else ())
        return resolvers, references

    def _refusal(self, key: str, seen: frozenset[str] = frozenset()) -> tuple[Status, str] | None:
        """Why ``key`` must not be resolved (a resolver that is not a built-in, here or in what it refers to)."""
        if key in self._refusals:
            return self._refusals[key]
        verdict: tuple[Status, str] | None = None
        for text in _strings(self.raw.get(key)):
            if "${" not in text:
                continue
            found = self._grammar(text)
            if isinstance(found, str):
                verdict = (Status.UNRESOLVED, found)
                break
            resolvers, references = found
            verdict = _resolver_refusal(resolvers)
            if verdict is None:
                verdict = self._references_refusal(key, references, seen | {key})
            if verdict is not None:
                break
        self._refusals[key] = verdict
        return verdict

    def _references_refusal(self, key: str, references: list[str], seen: frozenset[str]) -> tuple[Status, str] | None:
        for reference in references:
            if "${" in reference:
                # A key computed by another interpolation cannot be followed before it is resolved.
                return Status.RUNTIME, f"${{{reference}}} names a key computed at run time"
            target = _reference_target(key, reference)
            prefix = f"{target}."
            for other in self.raw:
                if (other == target or other.startswith(prefix)) and other not in seen:
                    verdict = self._refusal(other, seen)
                    if verdict is not None:
                        status, why = verdict
                        return status, why if why.startswith("through ") else f"through {other}: {why}"
        return None

    def resolve(self, key: str) -> Resolved:
        from omegaconf import DictConfig, ListConfig, OmegaConf
        from omegaconf.errors import (
            InterpolationToMissingValueError,
            MissingMandatoryValue,
            OmegaConfBaseException,
            UnsupportedInterpolationType,
        )

        raw = self.raw.get(key)
        interpolated = any("${" in text for text in _strings(raw))
        written = raw if isinstance(raw, str) and interpolated else None
        if raw == _MISSING and not interpolated:
            return Resolved(key, Status.MISSING, raw=None, why="'???' (MISSING): no value is given")
        refusal = self._refusal(key)
        if refusal is not None:
            status, why = refusal
            return Resolved(key, status, raw=written, why=why)
        via = self._via(key) if interpolated else ()
        try:
            value = OmegaConf.select(self.config, key, throw_on_resolution_failure=True, throw_on_missing=True)
            if isinstance(value, DictConfig | ListConfig):
                value = OmegaConf.to_container(value, resolve=True)
        except (InterpolationToMissingValueError, MissingMandatoryValue) as err:
            return Resolved(key, Status.MISSING, raw=written, via=via, why=_one_line(err))
        except UnsupportedInterpolationType as err:
            return Resolved(key, Status.RUNTIME, raw=written, via=via, why=_one_line(err))
        except OmegaConfBaseException as err:
            return Resolved(key, Status.UNRESOLVED, raw=written, via=via, why=_one_line(err))
        return Resolved(key, Status.VALUE, value=value, raw=written, via=via)

    def _via(self, key: str) -> tuple[str, ...]:
        """The keys a pure reference (``${a.b}``, chained) leads to; empty for a computed string or a resolver."""
        from omegaconf import OmegaConf
        from omegaconf.errors import OmegaConfBaseException
        from omegaconf.nodes import InterpolationResultNode

        parent_key, _, name = key.rpartition(".")
        chain: list[str] = []
        try:
            parent = OmegaConf.select(self.config, parent_key) if parent_key else self.config
            node: Any = parent._get_node(name) if parent is not None else None
            while node is not None and node._is_interpolation() and len(chain) < 32:
                target = node._maybe_dereference_node()
                if target is None or isinstance(target, InterpolationResultNode):
                    break
                chain.append(target._get_full_key(None))
                node = target
        except (OmegaConfBaseException, AttributeError, KeyError):
            return tuple(chain)
        return tuple(chain)


def _resolver_refusal(resolvers: list[str]) -> tuple[Status, str] | None:
    for name in resolvers:
        if name.endswith(" of a computed value"):
            return Status.RUNTIME, f"{name}: text made into config at run time could hold any resolver"
        if name in HYDRA_RUNTIME_RESOLVERS:
            return Status.RUNTIME, f"${{{name}:...}} is set by Hydra when the job starts"
        if name not in BUILTIN_RESOLVERS:
            return (
                Status.RUNTIME,
                f"the resolver '{name}' is the program's own Python code (not one of OmegaConf's built-ins): "
                "lint never evaluates it",
            )
    return None


def _one_line(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    line = text[0] if text else type(err).__name__
    # OmegaConf wraps the resolver's exception: "KeyError raised while resolving interpolation: ..." says it twice.
    for wrapper in ("KeyError raised while resolving interpolation: ", "MissingMandatoryValue while resolving "):
        line = line.replace(wrapper, "")
    return line
