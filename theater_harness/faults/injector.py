"""Applying a fault schedule to a run, at the runtime's choke points.

Every call into an actor (``on_call``), every message between actors (``on_message``),
every host import (``on_host``), every call into the outside world (``on_world``) and
every restart (``on_restart``) passes one check here; faults triggered by time act when
their time comes (``_arm``). Each fault that fires is recorded in the trace as a
``fault`` record (with the target's lifecycle phase, its restart type and its
supervisor's strategy, for fault-space coverage); what it causes (an exit, a drop, a
restart) follows in the trace as usual.

A time-triggered actor fault acts on what is there at its time (``model.BOUND_KINDS``):
it is bound to the incarnations alive then, and is *missed* if there are none, or if
they all end before the fault could act: a ``missed`` record (its ``why`` in words from
``.missed``), never re-armed. The runtime tells the injector of every incarnation's end
(``ended``), so the miss is recorded right after that exit.

A target (or a link's end) that names more than one running actor is ambiguous
(``targets.ambiguous``): the fault acts on none of them. Found when the schedule is
injected, that raises ``AmbiguousTargetError`` there and adds none of its faults; found when
the fault is armed or first matches a call, a message or a restart, it is a ``missed``
record listing the candidates, and the error is raised out of the run (``rt.run``,
``advance``, ``ask``, ...) as the next event of that instant: never from inside an actor's
call, so the runtime stays consistent and can run on once the test has caught it.
"""

from __future__ import annotations

from typing import Any

from .._scheduler import URGENT
from . import targets, world
from .missed import ended_first, not_running
from .model import BOUND_KINDS, KINDS, ON_CALL_KINDS, ON_MESSAGE_KINDS, OUTSIDE, WORLD_KINDS, Fault, FaultSchedule

INIT = ("actor", "init")
STARTING = "starting"  # an actor's status while its init runs (actors are duck-typed here)


class FaultInjector:
    """A schedule's faults, armed and applied against one runtime."""

    def __init__(self, runtime: Any, schedule: FaultSchedule):
        self.rt = runtime
        self.faults: list[Fault] = []
        self.fired: list[int] = []  # fault indexes, in the order they fired
        self.missed: list[int] = []  # fault indexes, in the order they were found missed
        self._calls: dict[str, int] = {}  # actor id -> calls into its exports other than init so far
        self._inits: dict[str, int] = {}  # actor id -> inits so far
        self._messages: dict[tuple[str, str], int] = {}  # (from, to) -> messages so far
        self._armed_inits: list[int] = []  # time-triggered init faults waiting for the next init
        self._bound: dict[int, dict[str, int]] = {}  # fault index -> {actor id: incarnation} it waits on
        self._armed_messages: list[int] = []
        self._partitions: list[tuple[int, tuple[tuple[str, ...], ...]]] = []
        self._host_errors: dict[int, int] = {}  # fault index -> calls it still fails
        self._corrupt: list[int] = []  # corrupt-state faults waiting for a restart
        self._held: dict[tuple[str, str], list] = {}  # reordered messages waiting for the next
        self._world: dict[int, int | None] = {}  # armed world faults -> the end of their window (None: none)
        self._world_left: dict[int, int] = {}  # armed world faults with a count -> calls they still hit
        self.add(schedule)

    # --- arming ----------------------------------------------------------------------

    def add(self, schedule: FaultSchedule) -> None:
        for offset, fault in enumerate(schedule):  # checked first: an error adds none of them
            for ref, _ in self._refs(fault, None, None):
                candidates = targets.ambiguous(self.rt._actors, ref)
                if candidates:
                    raise targets.ambiguity(self.rt._actors, len(self.faults) + offset, fault, ref, candidates)
        for fault in schedule:
            index = len(self.faults)
            self.faults.append(fault)
            if fault.on_call is not None or fault.on_message is not None:
                continue  # checked at each call / message
            when = max(fault.at_ms or 0, self.rt.now)
            self.rt.scheduler.at(when, self._arm, index, priority=URGENT)

    def _arm(self, index: int) -> None:
        """A time-triggered fault's time has come."""
        self._sweep()
        fault = self.faults[index]
        kind = fault.kind
        if kind in ON_MESSAGE_KINDS:
            self._armed_messages.append(index)
        elif kind in ("init-trap", "init-err"):
            self._armed_inits.append(index)  # the next init: it begins an incarnation, whichever
        elif kind == "corrupt-state":
            self._corrupt.append(index)  # the next recovered state: likewise
        elif kind == "partition":
            self._partitions.append((index, fault.groups))
            self._fire(index, None)
            if fault.param("duration_ms"):
                self.rt.scheduler.after(fault.param("duration_ms"), self._heal, index, priority=URGENT)
        elif kind == "heal":
            self._fire(index, None)
            self._partitions.clear()
        elif kind in WORLD_KINDS:  # bound to no incarnation: the world is outside the actor
            duration = fault.param("duration_ms")
            self._world[index] = self.rt.now + duration if duration else None
            if "count" in KINDS[kind][1]:
                self._world_left[index] = fault.param("count", 1)
        else:
            self._bind(index, fault)

    def _bind(self, index: int, fault: Fault) -> None:
        """An actor fault acts on the incarnations alive now: at once (``AT_ONCE_KINDS``), or
        on their next call or host import (``BOUND_KINDS``). None alive: it is missed."""
        named = targets.named(self.rt._actors, fault.target)
        alive = [actor for actor in named if actor.alive]
        if not alive:
            self._miss(index, named, not_running(fault.target, named))
        elif len(alive) > 1 and fault.target not in self.rt._actors:
            self._ambiguous(index, fault.target, alive)
        elif fault.kind in BOUND_KINDS:
            self._bound[index] = {actor.id: actor.incarnation for actor in alive}
            if fault.kind == "host-error":
                self._host_errors[index] = fault.param("count", 1)
        else:  # AT_ONCE_KINDS
            for actor in alive:
                if actor.alive:  # stopping one may have ended another (its child)
                    self._act(index, fault.kind, actor)
            self._sweep()  # what it ended may have been waited on

    def _act(self, index: int, kind: str, actor: Any) -> None:
        if kind == "stop":
            self._fire(index, actor)
            self.rt.stop_from_fault(actor, index)
        elif kind == "kill":
            self._fire(index, actor, phase="init" if actor.status == STARTING else "running")
            self.rt.kill_from_fault(actor, index)
        else:  # memory
            self._fire(index, actor)
            if actor.instance is not None:
                account = actor.instance.memory
                account.cap = account.used  # the next growth is refused

    def _heal(self, index: int) -> None:
        self._partitions = [(i, g) for i, g in self._partitions if i != index]
        self.rt.trace.add(self.rt.now, "heal", None, ("fault", index))

    # --- missed faults ---------------------------------------------------------------

    def ended(self, actor: Any) -> None:
        """An incarnation of ``actor`` has ended (called by the runtime after its exit)."""
        if self._bound:
            self._sweep()

    def _sweep(self) -> None:
        """Bound faults whose incarnations have all ended are done: missed, unless they
        fired (a host-error that failed some imports already)."""
        if not self._bound:
            return
        for index, bound in list(self._bound.items()):
            if any(self._lives(actor_id, incarnation) for actor_id, incarnation in bound.items()):
                continue
            del self._bound[index]
            self._host_errors.pop(index, None)
            if index not in self.fired:
                actors = [self.rt._actors[actor_id] for actor_id in bound]
                extra = {"incarnation": bound[actors[0].id]} if len(actors) == 1 else {}
                self._miss(index, actors, ended_first(self.rt, self.faults[index], bound), **extra)

    def _lives(self, actor_id: str, incarnation: int) -> bool:
        actor = self.rt._actors[actor_id]
        return actor.alive and actor.incarnation == incarnation

    def _refs(self, fault: Fault, sender: Any, target: Any) -> list[tuple[str, Any]]:
        """The actor refs a fault names that could be ambiguous, each with the actor a choke
        point matched it to (None: none yet): its target, or its link's ends."""
        if fault.target is not None:
            return [(fault.target, target)]
        if fault.link is not None:
            return [(fault.link[0], sender), (fault.link[1], target)]
        return []  # a partition's groups: a name there stands for every actor of that name

    def _resolves(self, index: int, sender: Any, target: Any) -> bool:
        """Whether fault ``index``, matched at a choke point to ``target`` (and, for a link,
        ``sender``), names just that; if not it is ambiguous, recorded and raised."""
        for ref, matched in self._refs(self.faults[index], sender, target):
            candidates = targets.ambiguous(self.rt._actors, ref, matched)
            if candidates:
                self._ambiguous(index, ref, candidates)
                return False
        return True

    def _ambiguous(self, index: int, ref: str, candidates: list[Any]) -> None:
        """Fault ``index`` names several running actors: a missed record listing them, and
        the error, raised from the run as the next event of this instant."""
        error = targets.ambiguity(self.rt._actors, index, self.faults[index], ref, candidates)
        self._miss(index, candidates, error.why, candidates=[list(c) for c in error.candidates])
        self.rt.scheduler.after(0, _raise, error, priority=URGENT)

    def _miss(self, index: int, named: list[Any], why: str, **extra: Any) -> None:
        """Record a missed fault, on its target's actor when it names exactly one."""
        self.missed.append(index)
        fault = self.faults[index]
        fields: dict[str, Any] = {"fault": index, "fault_kind": fault.kind, "describe": fault.describe(),
                                  "target": fault.target, "why": why, **extra}
        self.rt.trace.add(self.rt.now, "missed", named[0].id if len(named) == 1 else None, fields)

    def outcome(self, index: int) -> str:
        """``fired``, ``missed`` or ``pending`` (neither, so far). A miss is recorded when
        it happens: the runtime reports every incarnation's end (``ended``)."""
        if index in self.fired:
            return "fired"
        if index in self.missed:
            return "missed"
        return "pending"

    # --- records ---------------------------------------------------------------------

    def _fire(self, index: int, actor: Any, **extra: Any) -> None:
        self.fired.append(index)
        fault = self.faults[index]
        fields: dict[str, Any] = {"fault": index, "fault_kind": fault.kind, "describe": fault.describe()}
        if actor is not None:
            parent = self.rt._actors.get(actor.parent) if actor.parent else None
            fields.update({
                "target": actor.id,
                "phase": extra.pop("phase", "running" if actor.alive else "ended"),
                "restart": actor.child_spec.restart,
                "strategy": parent.spec.strategy if parent is not None and parent.spec is not None else None,
            })
        fields.update(extra)
        self.rt.trace.add(self.rt.now, "fault", actor.id if actor is not None else None, fields)

    # --- choke points -----------------------------------------------------------------

    def on_call(self, actor: Any, key: tuple[str, str]) -> tuple[int, Fault] | None:
        """The fault, if any, that takes over this call into ``actor``."""
        if self._bound:
            self._sweep()
        is_init = key == INIT
        # init calls and the other calls are counted apart, over all incarnations: an init
        # fault's on_call = 2 is the first restart; a trap's on_call = 1 is the first handler call
        counts = self._inits if is_init else self._calls
        count = counts[actor.id] = counts.get(actor.id, 0) + 1
        phase = "init" if is_init else "running"
        for index, fault in enumerate(self.faults):
            if fault.on_call != count or fault.kind not in ON_CALL_KINDS or index in self.fired or index in self.missed:
                continue
            if (fault.kind.startswith("init-") == is_init and targets.matches(self.rt._actors, fault.target, actor)
                    and self._resolves(index, None, actor)):
                self._fire(index, actor, phase=phase, call=count)
                return index, fault
        if is_init:
            for index in list(self._armed_inits):
                fault = self.faults[index]
                if targets.matches(self.rt._actors, fault.target, actor):
                    self._armed_inits.remove(index)
                    if self._resolves(index, None, actor):
                        self._fire(index, actor, phase=phase, call=count)
                        return index, fault
            return None
        for index, bound in self._bound.items():  # in the order they were armed
            fault = self.faults[index]
            if fault.kind in ON_CALL_KINDS and bound.get(actor.id) == actor.incarnation:
                del self._bound[index]
                self._fire(index, actor, phase=phase, call=count)
                return index, fault
        return None

    def on_message(self, sender: Any, target: Any, item: tuple, delay: int) -> list[tuple[int, tuple]]:
        """The deliveries ``(delay, item)`` a message becomes: none (dropped), one, two."""
        if self._bound:
            self._sweep()
        key = (sender.id if sender is not None else OUTSIDE, target.id)
        count = self._messages[key] = self._messages.get(key, 0) + 1
        for index, groups in self._partitions:
            if targets.separated(groups, sender, target):
                self._record_drop(index, target, item, "partition")
                return self._with_held(key, [])
        chosen = None
        for index, fault in enumerate(self.faults):
            if (fault.on_message == count and index not in self.fired and index not in self.missed
                    and targets.link_matches(self.rt._actors, fault.link, sender, target)
                    and self._resolves(index, sender, target)):
                chosen = index
                break
        if chosen is None:
            for index in list(self._armed_messages):
                if targets.link_matches(self.rt._actors, self.faults[index].link, sender, target):
                    self._armed_messages.remove(index)
                    if self._resolves(index, sender, target):
                        chosen = index
                        break
        if chosen is None:
            return self._with_held(key, [(delay, item)])
        fault = self.faults[chosen]
        self._fire(chosen, target, message=count, link=list(key))
        if fault.kind == "drop":
            self._record_drop(chosen, target, item, "dropped")
            return self._with_held(key, [])
        if fault.kind == "delay":
            return self._with_held(key, [(delay + fault.param("delay_ms", 1000), item)])
        if fault.kind == "duplicate":
            return self._with_held(key, [(delay, item), (delay, item)])
        # reorder: hold it back; the next message on the link overtakes it
        hold = fault.param("hold_ms", 1000)
        entry = self.rt.scheduler.after(delay + hold, self._release, key, priority=URGENT)
        self._held.setdefault(key, []).append((entry, target, item))
        return []

    def _with_held(self, key: tuple[str, str], deliveries: list) -> list:
        """Messages held back on this link go out right after this one."""
        held = self._held.pop(key, None)
        if not held:
            return deliveries
        last = deliveries[-1][0] if deliveries else 0
        for entry, _, item in held:
            self.rt.scheduler.cancel(entry)
            deliveries.append((last, item))
        return deliveries

    def _release(self, key: tuple[str, str]) -> None:
        for _, target, item in self._held.pop(key, []):
            self.rt.arrive(target, item)

    def _record_drop(self, index: int, target: Any, item: tuple, reason: str) -> None:
        fields = {"fault": index, "reason": reason, "item": item[0]}
        if item[0] == "send":
            fields["msg"] = item[1]
        elif item[0] == "request":
            fields["request"] = item[1].id
        self.rt.trace.add(self.rt.now, "drop", target.id, fields)

    def on_host(self, actor: Any, interface: str, function: str) -> int | None:
        """The host-error fault, if any, that fails this host call: one bound to the
        calling incarnation, for this import."""
        self._sweep()
        for index, remaining in list(self._host_errors.items()):
            fault = self.faults[index]
            if (self._bound[index].get(actor.id) == actor.incarnation
                    and fault.param("interface", interface) == interface
                    and fault.param("function", function) == function):
                if remaining <= 1:
                    del self._host_errors[index]
                    del self._bound[index]
                else:
                    self._host_errors[index] = remaining - 1
                self._fire(index, actor, host_import=f"{interface}.{function}")
                return index
        return None

    def on_world(self, call: Any) -> Any:
        """The ``fault(call, act)`` (``host/world_calls.py``'s protocol) of the world fault,
        if any, that hits ``call``: the first armed one, in the order they were armed, whose
        target made the call and whose kind aims at it (``world.aims_at``)."""
        if not self._world or call.actor is None:
            return None
        for index, until in list(self._world.items()):
            if until is not None and self.rt.now >= until:
                del self._world[index]
                continue
            fault = self.faults[index]
            if (world.aims_at(fault, call) and targets.matches(self.rt._actors, fault.target, call.actor)
                    and self._resolves(index, None, call.actor)):
                return lambda call, act: self._world_fault(index, call, act)
        return None

    def _world_fault(self, index: int, call: Any, act: Any) -> None:
        """Fault ``index`` hits ``call``; if it acted, it is recorded, and the call's world
        record names it (``call.fault``)."""
        if not world.apply(self.rt, self.faults[index], call, act):
            return
        left = self._world_left.get(index)
        if left == 1:
            del self._world_left[index], self._world[index]
        elif left is not None:
            self._world_left[index] = left - 1
        call.fault = index
        actor = call.actor
        self._fire(index, actor, phase="init" if actor.status == STARTING else "running",
                   world_call=f"{call.interface}.{call.function}")

    def on_restart(self, actor: Any, state: bytes | None) -> bytes | None:
        """The state a restarting actor recovers, corrupted if a fault says so."""
        self._sweep()
        for index in list(self._corrupt):
            fault = self.faults[index]
            if targets.matches(self.rt._actors, fault.target, actor):
                self._corrupt.remove(index)
                if self._resolves(index, None, actor):
                    self._fire(index, actor, phase="restarting")
                    return fault.param("state", "\x00corrupted state\x00").encode()
        return state


def _raise(error: Exception) -> None:
    """An event that raises ``error`` out of the run loop, outside every actor's call."""
    raise error
