"""Faults as frozen records, and schedules of them that round-trip through TOML and JSON.

A fault says what goes wrong (``kind``), where (an actor, a link between two actors, or
groups of actors for a partition), when (at a virtual time, on the target's Nth call,
or on a link's Nth message), and with which parameters. The host applies every fault at
one of its choke points (calls, link deliveries, host imports, restarts); no actor's
wasm is changed.

    [[fault]]
    kind = "trap"              # see KINDS
    target = "root/worker"     # an actor: its id, its name, or a path of names from a root
    on_call = 3                # its 3rd handler call (or at_ms = 1500: the next call of
                               # the incarnation alive at 1500 ms)

    [[fault]]
    kind = "drop"
    link = ["pinger", "echo"]  # from, to ("outside" for messages sent from the test)
    on_message = 2

    [[fault]]
    kind = "store-lost-write"  # a world fault: the target's next write to the store is
    target = "worker"          # acknowledged but not kept (see WORLD_KINDS)
    at_ms = 300

    [[fault]]
    kind = "partition"
    groups = [["a", "b"], ["c"]]
    at_ms = 100
    duration_ms = 2000
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Iterable, Iterator

# kind -> (where it applies, the parameters it takes with their types)
ACTOR, LINK, GROUPS = "actor", "link", "groups"
KINDS: dict[str, tuple[str, dict[str, type]]] = {
    "trap": (ACTOR, {}),                          # a call into the actor traps
    "err": (ACTOR, {"message": str}),              # a call returns err(message)
    "init-trap": (ACTOR, {}),                     # its next init traps (a failing restart)
    "init-err": (ACTOR, {"message": str}),         # its next init returns err
    "hang": (ACTOR, {"duration_ms": int}),         # a call loops until its fuel runs out
    "slow": (ACTOR, {"delay_ms": int}),            # a call takes delay_ms of virtual time
    "memory": (ACTOR, {}),                        # its memory cap drops to what it uses now
    "host-error": (ACTOR, {"interface": str, "function": str, "count": int}),  # an import fails
    "stop": (ACTOR, {}),                          # stopped from outside
    "kill": (ACTOR, {}),                          # killed from outside (OTP's exit(Pid, kill)): a failure
    "corrupt-state": (ACTOR, {"state": str}),      # its next recovered state is garbage
    "drop": (LINK, {}),                           # a message on the link is lost
    "delay": (LINK, {"delay_ms": int}),            # a message arrives delay_ms late
    "duplicate": (LINK, {}),                      # a message arrives twice
    "reorder": (LINK, {"hold_ms": int}),           # a message is overtaken by the next one
    "partition": (GROUPS, {"duration_ms": int}),   # no message crosses between the groups
    "heal": (GROUPS, {}),                         # every partition ends
    # World faults (``faults/world.py``): they hit the target's calls into the outside world
    "store-unavailable": (ACTOR, {"duration_ms": int, "function": str}),  # every store call errs
    "store-slow": (ACTOR, {"delay_ms": int, "count": int, "function": str}),  # an answer comes late
    "store-lost-write": (ACTOR, {"count": int, "function": str}),  # a write acknowledged, not kept
    "store-corrupt-read": (ACTOR, {"count": int, "function": str}),  # a get's content, its first byte flipped
    "fs-full": (ACTOR, {"duration_ms": int, "function": str}),  # writes that add data: no space left
    "fs-io-error": (ACTOR, {"count": int, "function": str}),  # a filesystem call: an I/O error
    "fs-slow": (ACTOR, {"delay_ms": int, "count": int, "function": str}),  # an answer comes late
    "http-timeout": (ACTOR, {"count": int, "delay_ms": int, "route": str}),  # never reaches the route
    "http-refused": (ACTOR, {"count": int, "route": str}),  # connection refused at once
    "http-5xx": (ACTOR, {"status": int, "count": int, "route": str}),  # the server answers 5xx
    "http-slow": (ACTOR, {"delay_ms": int, "count": int, "route": str}),  # the response comes late
    "http-lost-response": (ACTOR, {"count": int, "route": str}),  # the server acts, the answer is lost
    "rpc-drop": (ACTOR, {"count": int}),                 # the call never reaches its callee
    "rpc-delay": (ACTOR, {"delay_ms": int, "count": int}),  # the call reaches its callee late
    "rpc-target-down": (ACTOR, {"duration_ms": int}),    # its calls fail as if the callee were down
}
# The world faults, by the interface of the calls they hit (``WorldCall.interface``): a
# kind's prefix names it. Triggered by time (``at_ms``, else from when it is injected), a
# world fault then hits its target's next ``count`` (default 1) matching calls, or, with
# ``duration_ms``, every matching call for that long (no duration_ms: to the run's end).
# The world is outside the actor, so a world fault is bound to no incarnation and never
# missed: one that met no matching call by the end of the run stays pending.
_WORLD_INTERFACES = {"store": "store", "fs": "filesystem", "http": "http-client", "rpc": "rpc"}
WORLD_KINDS: dict[str, str] = {kind: _WORLD_INTERFACES[kind.partition("-")[0]] for kind in KINDS
                               if kind.partition("-")[0] in _WORLD_INTERFACES}
# The functions of each world interface, by their WIT names (both eras'), and those each
# world kind hits (a ``function`` parameter narrows them to one).
WORLD_FUNCTIONS: dict[str, tuple[str, ...]] = {
    "store": ("new", "store", "get", "exists", "label", "get-by-label", "remove-label", "remove-from-label",
              "store-at-label", "replace-content-at-label", "replace-at-label", "list-all-content",
              "calculate-total-size", "list-labels"),
    "filesystem": ("read-file", "write-file", "list-files", "delete-file", "create-dir", "delete-dir",
                   "path-exists", "execute-command", "execute-nix-command"),
    "http-client": ("send-http",),
    "rpc": ("call",),
}
STORE_WRITES = ("store", "label", "remove-label", "remove-from-label", "store-at-label", "replace-content-at-label",
                "replace-at-label")
WORLD_HITS: dict[str, tuple[str, ...]] = {
    kind: {"store-lost-write": STORE_WRITES, "store-corrupt-read": ("get",),
           "fs-full": ("write-file", "create-dir")}.get(kind, WORLD_FUNCTIONS[interface])
    for kind, interface in WORLD_KINDS.items()}
# Kinds applied to the next matching call or message; the others act at once.
ON_CALL_KINDS = frozenset({"trap", "err", "init-trap", "init-err", "hang", "slow"})
ON_MESSAGE_KINDS = frozenset({"drop", "delay", "duplicate", "reorder"})
# Triggered by time, these act on the incarnation(s) of their target alive at that time
# (a fault with no trigger: at the time it is injected). The first group waits for that
# incarnation's next call (host-error: its matching imports), the second acts at once.
# Either is missed if no target is alive then, or if the incarnation ends first. The
# exceptions, init-trap/init-err and corrupt-state, apply to the next init or the next
# recovered state: both belong to an incarnation that does not exist yet.
BOUND_KINDS = frozenset({"trap", "err", "hang", "slow", "host-error"})
AT_ONCE_KINDS = frozenset({"stop", "memory", "kill"})
OUTSIDE = "outside"  # the sender of messages from the test itself


@dataclass(frozen=True)
class Fault:
    """One fault. Exactly one of ``target``/``link``/``groups`` is set (per its kind), and
    at most one trigger: ``at_ms``, ``on_call`` or ``on_message`` (the link's Nth message,
    from 1); none means "from the start" (from when it is injected). ``on_call`` counts
    from 1 over all incarnations: for ``init-trap``/``init-err`` the target's Nth init (1 is
    its spawn, 2 its first restart), for the other kinds its Nth call into an export other
    than init. ``at_ms`` acts on what is there at that instant: see ``BOUND_KINDS``."""

    kind: str
    target: str | None = None
    link: tuple[str, str] | None = None
    groups: tuple[tuple[str, ...], ...] | None = None
    at_ms: int | None = None
    on_call: int | None = None
    on_message: int | None = None
    params: tuple[tuple[str, Any], ...] = ()

    def param(self, name: str, default: Any = None) -> Any:
        return dict(self.params).get(name, default)

    def to_dict(self) -> dict:
        out: dict[str, Any] = {"kind": self.kind}
        if self.target is not None:
            out["target"] = self.target
        if self.link is not None:
            out["link"] = list(self.link)
        if self.groups is not None:
            out["groups"] = [list(g) for g in self.groups]
        for key in ("at_ms", "on_call", "on_message"):
            if getattr(self, key) is not None:
                out[key] = getattr(self, key)
        out.update(self.params)
        return out

    def describe(self) -> str:
        where = self.target or (" -> ".join(self.link) if self.link else
                                " | ".join(",".join(g) for g in self.groups or ()))
        when = (f"at {self.at_ms} ms" if self.at_ms is not None else
                f"on call {self.on_call}" if self.on_call is not None else
                f"on message {self.on_message}" if self.on_message is not None else "from the start")
        extra = "".join(f" {k}={v}" for k, v in self.params)
        return f"{self.kind} {where} {when}{extra}"


def fault_from_dict(raw: Any, *, source: str = "<faults>", where: str = "fault") -> Fault:
    """Validate one fault table (``schema.faults``); errors name the source, the table and the key."""
    from ..schema.faults import check_fault

    return Fault(**check_fault(raw, source=source, where=where))


@dataclass(frozen=True)
class FaultSchedule:
    """An ordered list of faults."""

    faults: tuple[Fault, ...] = field(default_factory=tuple)

    def __init__(self, faults: Iterable[Fault] = ()):
        object.__setattr__(self, "faults", tuple(faults))

    def __iter__(self) -> Iterator[Fault]:
        return iter(self.faults)

    def __len__(self) -> int:
        return len(self.faults)

    def __getitem__(self, index: int) -> Fault:
        return self.faults[index]

    def to_dicts(self) -> list[dict]:
        return [f.to_dict() for f in self.faults]

    def to_json(self) -> str:
        return json.dumps({"fault": self.to_dicts()}, sort_keys=True, separators=(",", ":"))

    def to_toml(self) -> str:
        """``[[fault]]`` tables, one per fault (the form scenario files use)."""
        import tomli_w

        return "\n".join(f"[[fault]]\n{tomli_w.dumps(f)}" for f in self.to_dicts())

    @classmethod
    def from_dicts(cls, raw: Any, *, source: str = "<faults>", where: str = "fault") -> "FaultSchedule":
        """A schedule from a list of fault tables, validated (``schema.faults``)."""
        from ..schema.faults import check_faults

        return cls(Fault(**values) for values in check_faults(raw, source=source, where=where))

    @classmethod
    def from_json(cls, text: str, *, source: str = "<faults>") -> "FaultSchedule":
        """A schedule file's JSON: ``{"fault": [...]}``, a bare list of faults, or a saved trace."""
        from ..schema.faults import parse_schedule

        return cls(Fault(**values) for values in parse_schedule(text, source, json_text=True))

    @classmethod
    def from_toml(cls, text: str, *, source: str = "<faults>") -> "FaultSchedule":
        """A schedule file's TOML: ``[[fault]]`` tables."""
        from ..schema.faults import parse_schedule

        return cls(Fault(**values) for values in parse_schedule(text, source, json_text=False))

    def describe(self) -> list[str]:
        return [f"#{i} {f.describe()}" for i, f in enumerate(self.faults)]

    def without(self, index: int) -> "FaultSchedule":
        return FaultSchedule(f for i, f in enumerate(self.faults) if i != index)

    def with_fault(self, fault: Fault) -> "FaultSchedule":
        return FaultSchedule(self.faults + (fault,))


def fault(kind: str, target: str | None = None, *, link: tuple[str, str] | None = None,
          groups: Iterable[Iterable[str]] | None = None, at_ms: int | None = None, on_call: int | None = None,
          on_message: int | None = None, **params: Any) -> Fault:
    """Build a validated Fault from Python: ``fault("trap", "worker", on_call=2)``."""
    raw: dict[str, Any] = {"kind": kind, **params}
    if target is not None:
        raw["target"] = target
    if link is not None:
        raw["link"] = list(link)
    if groups is not None:
        raw["groups"] = [list(g) for g in groups]
    for key, value in (("at_ms", at_ms), ("on_call", on_call), ("on_message", on_message)):
        if value is not None:
            raw[key] = value
    return fault_from_dict(raw, source="fault()")


__all__ = ["Fault", "FaultSchedule", "KINDS", "OUTSIDE", "WORLD_KINDS", "fault", "fault_from_dict"]
