"""Declarative supervision policies: the ``[supervision]`` table of a parent's manifest.

    [supervision]
    strategy = "one_for_one"           # one_for_all, rest_for_one
    intensity = 1                      # at most this many restarts ...
    period_ms = 5000                   # ... within this window (OTP's defaults: 1 and 5 s)
    permanent_errors = ["permanent"]   # failure messages (regexes) never worth a restart
    auto_shutdown = "never"            # any_significant, all_significant (OTP 24+)

    [supervision.default]              # every child not named below
    restart = "permanent"              # transient, temporary
    significant = false                # true: its own end may shut the supervisor down
    recovery = "init"                  # last, replay
    shutdown_ms = 5000                 # or shutdown = "brutal_kill" / "infinity"
    backoff = { min_ms = 100, max_ms = 10000, random_factor = 0.2, reset_after_ms = 60000 }

    [supervision.children.counter]     # by the child's name, or its manifest's name
    restart = "transient"

Specs are validated up front into frozen records with defaults (OTP's ``supervisor``
habit); an invalid one is a ManifestError naming the file, the field and what is valid.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Mapping

from ..errors import ManifestError

STRATEGIES = ("one_for_one", "one_for_all", "rest_for_one")
RESTART_TYPES = ("permanent", "transient", "temporary")
RECOVERY_MODES = ("init", "last", "replay")
AUTO_SHUTDOWN = ("never", "any_significant", "all_significant")
DEFAULT_SHUTDOWN_MS = 5000  # OTP's default for workers
INFINITY = None  # a shutdown that waits as long as the child's call takes


@dataclass(frozen=True)
class Backoff:
    """Akka-style restart delays: min(max, min * 2^n) * (1 + U[0,1) * random_factor),
    n counting consecutive restarts, reset after ``reset_after_ms`` of healthy running."""

    min_ms: int
    max_ms: int
    random_factor: float = 0.0
    reset_after_ms: int | None = None


@dataclass(frozen=True)
class ChildSpec:
    """How a supervisor treats one child."""

    restart: str = "permanent"
    recovery: str = "init"
    shutdown_ms: int | None = DEFAULT_SHUTDOWN_MS  # None: infinity
    brutal_kill: bool = False
    backoff: Backoff | None = None
    significant: bool = False  # OTP 24+: its end (not restarted) counts toward auto_shutdown


@dataclass(frozen=True)
class SupervisorSpec:
    """A parent's declared policy over its children."""

    strategy: str = "one_for_one"
    intensity: int = 1
    period_ms: int = 5000
    resolution_ms: int = 1000  # restart times are compared in whole units (OTP: seconds)
    permanent_errors: tuple[re.Pattern, ...] = ()
    auto_shutdown: str = "never"
    default: ChildSpec = ChildSpec()
    children: Mapping[str, ChildSpec] = field(default_factory=lambda: MappingProxyType({}))

    def child_spec(self, name: str, manifest_name: str) -> ChildSpec:
        """The spec for a child: by its own name, else its manifest's name, else the default."""
        return self.children.get(name) or self.children.get(manifest_name) or self.default

    def is_permanent_error(self, message: str) -> bool:
        return any(p.search(message) for p in self.permanent_errors)


class _Table:
    """Typed reads of one TOML table, with errors naming file and field."""

    def __init__(self, table: Any, where: str, source: str):
        if not isinstance(table, dict):
            raise ManifestError(f"expected a table, got {type(table).__name__}", file=source, field=where)
        self.table, self.where, self.source = table, where, source

    def error(self, key: str, message: str) -> ManifestError:
        return ManifestError(message, file=self.source, field=f"{self.where}.{key}")

    def unknown(self, known: tuple[str, ...]) -> None:
        extra = sorted(set(self.table) - set(known))
        if extra:
            raise self.error(extra[0], f"unknown key; known keys: {', '.join(known)}")

    def choice(self, key: str, choices: tuple[str, ...], default: str) -> str:
        value = self.table.get(key, default)
        if value not in choices:
            raise self.error(key, f"{value!r} is not one of {', '.join(choices)}")
        return value

    def integer(self, key: str, default: int | None, low: int = 0) -> int | None:
        value = self.table.get(key, default)
        if value is None:
            return None
        if not isinstance(value, int) or isinstance(value, bool) or value < low:
            raise self.error(key, f"expected an integer >= {low}, got {value!r}")
        return value

    def boolean(self, key: str, default: bool) -> bool:
        value = self.table.get(key, default)
        if not isinstance(value, bool):
            raise self.error(key, f"expected true or false, got {value!r}")
        return value

    def number(self, key: str, default: float, low: float = 0.0) -> float:
        value = self.table.get(key, default)
        if not isinstance(value, (int, float)) or isinstance(value, bool) or value < low:
            raise self.error(key, f"expected a number >= {low}, got {value!r}")
        return float(value)


def _child(table: Any, where: str, source: str, base: ChildSpec, auto_shutdown: str) -> ChildSpec:
    t = _Table(table, where, source)
    t.unknown(("restart", "recovery", "shutdown_ms", "shutdown", "backoff", "significant"))
    shutdown_ms, brutal = base.shutdown_ms, base.brutal_kill
    if "shutdown_ms" in t.table and "shutdown" in t.table:
        raise t.error("shutdown", "give either shutdown_ms (a number) or shutdown (\"brutal_kill\" or \"infinity\")")
    if "shutdown_ms" in t.table:
        shutdown_ms, brutal = t.integer("shutdown_ms", None), False
    elif "shutdown" in t.table:
        word = t.choice("shutdown", ("brutal_kill", "infinity"), "infinity")
        shutdown_ms, brutal = (0, True) if word == "brutal_kill" else (INFINITY, False)
    backoff = base.backoff
    if "backoff" in t.table:
        b = _Table(t.table["backoff"], f"{where}.backoff", source)
        b.unknown(("min_ms", "max_ms", "random_factor", "reset_after_ms"))
        low = b.integer("min_ms", None, 1)
        if low is None:
            raise b.error("min_ms", "missing (the first restart delay, in ms)")
        high = b.integer("max_ms", low, low)
        backoff = Backoff(low, high, b.number("random_factor", 0.0), b.integer("reset_after_ms", None, 1))
    restart = t.choice("restart", RESTART_TYPES, base.restart)
    significant = t.boolean("significant", base.significant)
    if significant and restart == "permanent":  # OTP's bad_combination, checked as supervisor.erl does
        raise t.error("significant", "a permanent child cannot be significant (it is always restarted); "
                                     "make it transient or temporary, or set significant = false")
    if significant and auto_shutdown == "never":
        raise t.error("significant", "significant children need supervision.auto_shutdown = "
                                     "\"any_significant\" or \"all_significant\" (it is \"never\")")
    return ChildSpec(
        restart=restart,
        recovery=t.choice("recovery", RECOVERY_MODES, base.recovery),
        shutdown_ms=shutdown_ms,
        brutal_kill=brutal,
        backoff=backoff,
        significant=significant,
    )


def parse_supervision(table: Any, source: str) -> SupervisorSpec:
    """Validate a ``[supervision]`` table into a SupervisorSpec."""
    t = _Table(table, "supervision", source)
    t.unknown(("strategy", "intensity", "period_ms", "resolution_ms", "permanent_errors", "auto_shutdown", "default",
               "children"))
    patterns = t.table.get("permanent_errors", [])
    if not isinstance(patterns, list) or not all(isinstance(p, str) for p in patterns):
        raise t.error("permanent_errors", "expected a list of regular expressions (strings)")
    compiled = []
    for i, pattern in enumerate(patterns):
        try:
            compiled.append(re.compile(pattern))
        except re.error as exc:
            raise t.error(f"permanent_errors[{i}]", f"not a valid regular expression: {exc}") from None
    auto_shutdown = t.choice("auto_shutdown", AUTO_SHUTDOWN, "never")
    default = _child(t.table.get("default", {}), "supervision.default", source, ChildSpec(), auto_shutdown)
    children_table = _Table(t.table.get("children", {}), "supervision.children", source)
    children = {name: _child(spec, f"supervision.children.{name}", source, default, auto_shutdown)
                for name, spec in children_table.table.items()}
    resolution = t.integer("resolution_ms", 1000, 1)
    return SupervisorSpec(
        strategy=t.choice("strategy", STRATEGIES, "one_for_one"),
        intensity=t.integer("intensity", 1),
        period_ms=t.integer("period_ms", 5000, resolution),
        resolution_ms=resolution,
        permanent_errors=tuple(compiled),
        auto_shutdown=auto_shutdown,
        default=default,
        children=MappingProxyType(children),
    )


def supervision_of(manifest: Any) -> SupervisorSpec | None:
    """The manifest's declared policy, or None when it has no ``[supervision]`` table."""
    table = manifest.tables.get("supervision")
    if table is None:
        return None
    return parse_supervision(table, manifest.source)
