"""Applying a fault schedule to a run, at the runtime's choke points.

Every call into an actor (``on_call``), every message between actors (``on_message``),
every host import (``on_host``) and every restart (``on_restart``) passes one check
here; faults triggered by time act when their time comes (``_arm``). Each fault that
fires is recorded in the trace as a ``fault`` record (with the target's lifecycle phase,
its restart type and its supervisor's strategy, for fault-space coverage); what it
causes (an exit, a drop, a restart) follows in the trace as usual.
"""

from __future__ import annotations

from typing import Any

from .._scheduler import URGENT
from .model import ON_CALL_KINDS, ON_MESSAGE_KINDS, OUTSIDE, Fault, FaultSchedule

INIT = ("actor", "init")


class FaultInjector:
    """A schedule's faults, armed and applied against one runtime."""

    def __init__(self, runtime: Any, schedule: FaultSchedule):
        self.rt = runtime
        self.faults: list[Fault] = []
        self.fired: list[int] = []  # fault indexes, in the order they fired
        self._calls: dict[str, int] = {}  # actor id -> calls into its exports other than init so far
        self._inits: dict[str, int] = {}  # actor id -> inits so far
        self._messages: dict[tuple[str, str], int] = {}  # (from, to) -> messages so far
        self._armed_calls: list[int] = []  # time-triggered call faults waiting for their call
        self._armed_messages: list[int] = []
        self._partitions: list[tuple[int, tuple[tuple[str, ...], ...]]] = []
        self._host_errors: dict[int, int] = {}  # fault index -> calls it still fails
        self._corrupt: list[int] = []  # corrupt-state faults waiting for a restart
        self._held: dict[tuple[str, str], list] = {}  # reordered messages waiting for the next
        self.add(schedule)

    # --- arming ----------------------------------------------------------------------

    def add(self, schedule: FaultSchedule) -> None:
        for fault in schedule:
            index = len(self.faults)
            self.faults.append(fault)
            if fault.on_call is not None or fault.on_message is not None:
                continue  # checked at each call / message
            when = max(fault.at_ms or 0, self.rt.now)
            self.rt.scheduler.at(when, self._arm, index, priority=URGENT)

    def _arm(self, index: int) -> None:
        fault = self.faults[index]
        kind = fault.kind
        if kind in ON_CALL_KINDS:
            self._armed_calls.append(index)
        elif kind in ON_MESSAGE_KINDS:
            self._armed_messages.append(index)
        elif kind == "host-error":
            self._host_errors[index] = fault.param("count", 1)
        elif kind == "corrupt-state":
            self._corrupt.append(index)
        elif kind == "partition":
            self._partitions.append((index, fault.groups))
            self._fire(index, None)
            if fault.param("duration_ms"):
                self.rt.scheduler.after(fault.param("duration_ms"), self._heal, index, priority=URGENT)
        elif kind == "heal":
            self._fire(index, None)
            self._partitions.clear()
        elif kind in ("stop", "memory"):
            for actor in self._targets(fault.target):
                if actor.alive:
                    self._fire(index, actor)
                    if kind == "stop":
                        self.rt.stop_from_fault(actor, index)
                    elif actor.instance is not None:
                        account = actor.instance.memory
                        account.cap = account.used  # the next growth is refused

    def _heal(self, index: int) -> None:
        self._partitions = [(i, g) for i, g in self._partitions if i != index]
        self.rt.trace.add(self.rt.now, "heal", None, ("fault", index))

    # --- resolving targets -----------------------------------------------------------

    def _targets(self, ref: str) -> list[Any]:
        """Actors ``ref`` names: an id, a path of names from a root, or a name."""
        actors = self.rt._actors
        if ref in actors:
            return [actors[ref]]
        if "/" in ref:
            level = [a for a in actors.values() if a.parent is None]
            found: list[Any] = []
            for part in ref.split("/"):
                found = [a for a in level if a.name == part]
                level = [actors[c] for a in found for c in a.children]
            return found
        return [a for a in actors.values() if a.name == ref]

    def _matches(self, ref: str, actor: Any) -> bool:
        if ref == actor.id:
            return True
        if "/" in ref:
            return actor in self._targets(ref)
        return ref == actor.name

    def _link_matches(self, link: tuple[str, str], sender: Any, target: Any) -> bool:
        src, dst = link
        sender_ok = (sender is None and src == OUTSIDE) or (sender is not None and self._matches(src, sender))
        return sender_ok and self._matches(dst, target)

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
        is_init = key == INIT
        # init calls and the other calls are counted apart, over all incarnations: an init
        # fault's on_call = 2 is the first restart; a trap's on_call = 1 is the first handler call
        counts = self._inits if is_init else self._calls
        count = counts[actor.id] = counts.get(actor.id, 0) + 1
        for index, fault in enumerate(self.faults):
            if fault.on_call != count or fault.kind not in ON_CALL_KINDS or index in self.fired:
                continue
            if fault.kind.startswith("init-") == is_init and self._matches(fault.target, actor):
                self._fire(index, actor, phase="init" if is_init else "running", call=count)
                return index, fault
        for index in self._armed_calls:
            fault = self.faults[index]
            if fault.kind.startswith("init-") == is_init and self._matches(fault.target, actor):
                self._armed_calls.remove(index)
                self._fire(index, actor, phase="init" if is_init else "running", call=count)
                return index, fault
        return None

    def on_message(self, sender: Any, target: Any, item: tuple, delay: int) -> list[tuple[int, tuple]]:
        """The deliveries ``(delay, item)`` a message becomes: none (dropped), one, two."""
        key = (sender.id if sender is not None else OUTSIDE, target.id)
        count = self._messages[key] = self._messages.get(key, 0) + 1
        for index, groups in self._partitions:
            if _separated(groups, sender, target):
                self._record_drop(index, target, item, "partition")
                return self._with_held(key, [])
        chosen = None
        for index, fault in enumerate(self.faults):
            if (fault.on_message == count and index not in self.fired
                    and self._link_matches(fault.link, sender, target)):
                chosen = index
                break
        if chosen is None:
            for index in self._armed_messages:
                if self._link_matches(self.faults[index].link, sender, target):
                    chosen = index
                    self._armed_messages.remove(index)
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
        """The host-error fault, if any, that fails this host call."""
        for index, remaining in list(self._host_errors.items()):
            fault = self.faults[index]
            if (self._matches(fault.target, actor) and fault.param("interface", interface) == interface
                    and fault.param("function", function) == function):
                if remaining <= 1:
                    del self._host_errors[index]
                else:
                    self._host_errors[index] = remaining - 1
                self._fire(index, actor, host_import=f"{interface}.{function}")
                return index
        return None

    def on_restart(self, actor: Any, state: bytes | None) -> bytes | None:
        """The state a restarting actor recovers, corrupted if a fault says so."""
        for index in self._corrupt:
            fault = self.faults[index]
            if self._matches(fault.target, actor):
                self._corrupt.remove(index)
                self._fire(index, actor, phase="restarting")
                return fault.param("state", "\x00corrupted state\x00").encode()
        return state


def _separated(groups: tuple[tuple[str, ...], ...], sender: Any, target: Any) -> bool:
    """Whether a partition's groups put sender and target on different sides."""
    if sender is None:
        return False

    def side(actor: Any) -> int | None:
        for i, group in enumerate(groups):
            if actor.id in group or actor.name in group:
                return i
        return None

    a, b = side(sender), side(target)
    return a is not None and b is not None and a != b
