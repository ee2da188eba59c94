"""Supervisor restarts (OTP ``init`` -> ``init_children`` -> ``start_children``): a
declarative supervisor that is itself restarted starts every child it was given again,
in start order, temporary ones included (a temporary child is one its supervisor never
restarts, not one that is never started again). If one of them cannot start, the
supervisor's own start fails: it starts no further child and ends (kind
``spawn-error``), and its parent's policy applies. A guest supervisor spawns its own
children from its code again; the children a test or tree declared under it (spawn
records without ``by_parent``) are started again as a declarative supervisor's are."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

from ._check import Pass, check
from ._records import INIT, Actors, wasm_event
from ._responses import SUPERVISOR_RESTARTED
from ._violation import Violation

NAME = "supervisor_restart"


@dataclass
class _Rebuild:
    """One restart of a supervisor, and the starts of its children that followed."""

    supervisor: str
    record: dict  # the supervisor's restart record
    expected: list[str]  # its children, in start order (those that ever started)
    started: list[dict] = field(default_factory=list)  # their restart records (cause supervisor-restarted)
    failed: dict | None = None  # the exit of a child whose start failed
    end: dict | None = None  # the supervisor's exit


def check_supervisor_restart(records: Any, *, policies: Mapping[str, Mapping] | None = None) -> list[Violation]:
    """Each restart of a supervisor is followed by the restarts of the children it was
    given (cause ``supervisor-restarted:<id>``) in start order, unless one fails to start
    (then it ends, kind ``spawn-error``) or it ends first; and no child is restarted with
    that cause outside such a rebuild. ``policies`` is accepted for a uniform signature:
    which supervisors are declarative comes from the trace."""
    return check([SupervisorRestart], records, policies)


class SupervisorRestart(Pass):
    def __init__(self, checker: Any):
        super().__init__(checker)
        self.spawn_failed: set[str] = set()  # first init failed: never a spec
        self.initialized: dict[str, bool] = {}  # actor -> its current incarnation's init returned
        self.current: dict[str, _Rebuild] = {}  # supervisor -> its rebuild in progress
        self.done: list[_Rebuild] = []
        self.found: list[Violation] = []

    def on_spawn(self, r: dict) -> None:
        self.initialized[r["actor"]] = False

    def on_replay(self, r: dict) -> None:  # a replayed incarnation runs once its history is re-driven
        self.initialized[r["actor"]] = True

    def on_event(self, r: dict) -> None:
        if not self.initialized.get(r["actor"], True):
            event = wasm_event(r)
            if event is not None and event[0] == "WasmResult" and event[1] == INIT:
                self.initialized[r["actor"]] = True

    def on_restart(self, r: dict) -> None:
        actors, actor = self.actors, r["actor"]
        self.initialized[actor] = False
        why = r.get("cause") or ""
        info = actors.info.get(actor)
        declarative = info is not None and info.supervision is not None
        given = [c for c in actors.children.get(actor, ()) if c not in self.spawn_failed
                 and (declarative or not actors.info[c].spawn.get("by_parent"))]
        if given or declarative:
            if actor in self.current:
                self.done.append(self.current.pop(actor))
            self.current[actor] = _Rebuild(actor, r, given)
        if why.startswith(SUPERVISOR_RESTARTED):
            sup = why[len(SUPERVISOR_RESTARTED):]
            rebuild = self.current.get(sup)
            if rebuild is None or rebuild.end is not None:
                self.found.append(Violation(NAME, r["t"], (actor, sup), (
                    f"{actors.label(actor)} was restarted as a child of a restarted supervisor "
                    f"{actors.label(sup)}, but that supervisor was not being restarted"), (r,)))
            else:
                rebuild.started.append(r)

    def on_exit(self, r: dict) -> None:
        actor, initialized = r["actor"], self.initialized
        if r["reason"].get("incarnation", 1) <= 1 and not initialized.get(actor, True):
            self.spawn_failed.add(actor)
        rebuild = self.current.get(self.actors.parent(actor))
        last = rebuild.started[-1] if rebuild is not None and rebuild.started else None
        if (last is not None and rebuild.end is None and rebuild.failed is None and last["actor"] == actor
                and r["reason"].get("incarnation") == last.get("incarnation")
                and not initialized.get(actor, True)):
            rebuild.failed = r
        if actor in self.current:
            self.current[actor].end = r
            self.done.append(self.current.pop(actor))

    def violations(self) -> list[Violation]:
        """What was found, and every rebuild, those in progress as they stand."""
        found = list(self.found)
        for rebuild in [*self.done, *self.current.values()]:
            violation = _check(rebuild, self.actors, self.initialized)
            if violation is not None:
                found.append(violation)
        return sorted(found, key=lambda v: v.time_ms)


def _check(rebuild: _Rebuild, actors: Actors, initialized: dict[str, bool]) -> Violation | None:
    sup, expected = rebuild.supervisor, rebuild.expected
    got = [r["actor"] for r in rebuild.started]
    evidence = tuple(sorted([rebuild.record, *rebuild.started, *(x for x in (rebuild.failed, rebuild.end) if x)],
                            key=lambda x: x["seq"]))
    who = f"{actors.label(sup)}, restarted at {rebuild.record['t']} ms,"
    if got != expected[:len(got)]:
        return Violation(NAME, rebuild.record["t"], (sup, *expected), (
            f"{who} started its children {actors.labels(got)}; it should start every child it was given, in "
            f"start order, temporary ones included: {actors.labels(expected)}"), evidence)
    if rebuild.failed is not None:
        if rebuild.end is None or rebuild.end["reason"]["kind"] != "spawn-error":
            what = "did not end" if rebuild.end is None else f"ended with kind {rebuild.end['reason']['kind']!r}"
            return Violation(NAME, rebuild.failed["t"], (sup, rebuild.failed["actor"]), (
                f"{who} could not start its child {actors.label(rebuild.failed['actor'])}, then {what}: its own "
                f"start fails (kind 'spawn-error'), as an OTP supervisor's init does"), evidence)
        return None
    if len(got) == len(expected) or rebuild.end is not None:
        return None
    if got and not initialized.get(got[-1], True):
        return None  # the trace ended while that child's init was still running
    missing = expected[len(got):]
    return Violation(NAME, rebuild.record["t"], (sup, *missing), (
        f"{who} started {actors.labels(got)} but never {actors.labels(missing)}: a restarted supervisor starts "
        f"every child it was given, temporary ones included"), evidence)
