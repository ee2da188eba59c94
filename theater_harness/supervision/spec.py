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

Specs are validated up front (``schema/manifest.py``, when the manifest is read) into
frozen records with defaults (OTP's ``supervisor`` habit); an invalid one is a
ManifestError naming the file, the field and what is valid.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Mapping

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


def parse_supervision(table: Any, source: str) -> SupervisorSpec:
    """Validate a ``[supervision]`` table (``schema.manifest.check_supervision``) into a
    SupervisorSpec."""
    from ..schema.manifest import check_supervision

    spec = check_supervision(table, source)
    default = _child(spec["default"])
    return SupervisorSpec(
        strategy=spec["strategy"],
        intensity=spec["intensity"],
        period_ms=spec["period_ms"],
        resolution_ms=spec["resolution_ms"],
        permanent_errors=spec["permanent_errors"],
        auto_shutdown=spec["auto_shutdown"],
        default=default,
        children=MappingProxyType({name: _child(child) for name, child in spec["children"].items()}),
    )


def _child(spec: dict[str, Any]) -> ChildSpec:
    backoff = spec["backoff"]
    return ChildSpec(restart=spec["restart"], recovery=spec["recovery"], shutdown_ms=spec["shutdown_ms"],
                     brutal_kill=spec["brutal_kill"], backoff=None if backoff is None else Backoff(**backoff),
                     significant=spec["significant"])


def supervision_of(manifest: Any) -> SupervisorSpec | None:
    """The manifest's declared policy, or None when it has no ``[supervision]`` table."""
    table = manifest.tables.get("supervision")
    if table is None:
        return None
    return parse_supervision(table, manifest.source)
