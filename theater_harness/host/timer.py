"""`theater:simple/timer` on the virtual clock: set-interval, clear-interval, now, and the
ticks it delivers (mailbox items of kind ``tick``).

``set-interval(name, interval-ms)`` starts a timer of the calling actor's incarnation: it
ticks at once (as Theater's tokio interval does: its first tick completes immediately),
then every ``interval-ms`` of virtual time, each tick a call of the actor's export
``theater:simple/timer.handle-tick`` with the timer's name, in turn with its other mail.
Setting a name the actor already uses is Theater's error ``Timer '<name>' already exists``
(clear it first), and clearing one it does not have is ``Timer '<name>' not found``. A
timer ends when it is cleared, when a tick call fails (the call's failure ends the
incarnation, as any failed call does) or is skipped (the actor lacks the export: Theater's
call fails and removes the timer; here the skip is recorded and the incarnation goes on),
and when its incarnation ends (the runtime calls ``cancel_timers_of``). Ticks do not pile
up: while a tick of a timer waits in the mailbox (the actor is busy), the ticks that come
due meanwhile are merged into it, as Theater's timer task awaits each tick call before the
next. ``now()`` is epoch milliseconds: the runtime's ``epoch_ms`` plus virtual time.

A probe (a Python-side actor of a test) may set timers too: its ticks arrive as
``ProbeMessage`` of kind ``tick`` (payload: the timer's name, UTF-8).

Everything is scheduled through ``rt.scheduler`` (priority TIMER), so a run is
deterministic. The timers live in ``rt.timers`` (actor id -> name -> Timer), created on
first use.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .._scheduler import TIMER
from ..exit import SKIPPED

HANDLE_TICK = ("timer", "handle-tick")
MAX_TIMERS = 1000  # timers one incarnation may hold at once
MAX_NAME_BYTES = 4096  # a timer's name, UTF-8
_TIME_MAX = (1 << 63) - 1  # virtual times stay within 64 bits (the scheduler's, the trace's)


@dataclass(eq=False)
class Timer:
    """One interval timer of one incarnation of an actor."""

    name: str
    actor: Any
    incarnation: int
    interval_ms: int
    entry: Any = field(default=None, repr=False)  # the scheduler entry of its next tick
    live: bool = True
    queued: bool = False  # a tick of it waits in the actor's mailbox

    def cancel(self, rt: Any) -> None:
        self.live = False
        if self.entry is not None:
            rt.scheduler.cancel(self.entry)
            self.entry = None


def timers_of(rt: Any, actor: Any) -> dict[str, Timer]:
    """The live timers of ``actor``'s current incarnation, by name (in the order set)."""
    every = getattr(rt, "timers", None)
    if every is None:
        every = rt.timers = {}
    mine = every.get(actor.id)
    if mine is None:
        mine = every[actor.id] = {}
    elif mine and next(iter(mine.values())).incarnation != actor.incarnation:
        for timer in mine.values():  # an ended incarnation's (if the runtime did not cancel them)
            timer.cancel(rt)
        mine.clear()
    return mine


def _forget(rt: Any, timer: Timer) -> None:
    """Cancel ``timer`` and remove it from its actor's timers (if it is still there)."""
    timer.cancel(rt)
    mine = getattr(rt, "timers", {}).get(timer.actor.id)
    if mine is not None and mine.get(timer.name) is timer:
        del mine[timer.name]


# --- host functions ----------------------------------------------------------------


def set_interval(rt: Any, actor: Any, name: str, interval_ms: int) -> tuple[bool, Any]:
    name, interval_ms = str(name), int(interval_ms)  # plain values (packr's String, U64 are subclasses)
    if interval_ms < 1:
        return (False, f"set-interval: interval-ms must be at least 1, got {interval_ms}")
    if interval_ms > _TIME_MAX - rt.now:
        return (False, f"set-interval: interval-ms {interval_ms} is too large (at most {_TIME_MAX - rt.now})")
    size = len(name) if name.isascii() else len(name.encode("utf-8", "surrogatepass"))
    if size > MAX_NAME_BYTES:
        return (False, f"set-interval: a timer name is at most {MAX_NAME_BYTES} bytes, got {size}")
    mine = timers_of(rt, actor)
    if name in mine:
        return (False, f"Timer '{name}' already exists")
    if len(mine) >= MAX_TIMERS:
        return (False, f"set-interval: actor {actor.id} ({actor.name}) already has {len(mine)} timers, "
                       f"the most one actor may have; clear one first")
    timer = mine[name] = Timer(name, actor, actor.incarnation, interval_ms)
    timer.entry = rt.scheduler.after(0, _fire, rt, timer, priority=TIMER)
    return (True, name)


def clear_interval(rt: Any, actor: Any, name: str) -> tuple[bool, Any]:
    name = str(name)
    timer = timers_of(rt, actor).pop(name, None)
    if timer is None:
        return (False, f"Timer '{name}' not found")
    timer.cancel(rt)
    return (True, None)


def now(rt: Any, actor: Any) -> int:
    return rt.epoch_ms + rt.now


FUNCTIONS = {"set-interval": set_interval, "clear-interval": clear_interval, "now": now}


def cancel_timers_of(rt: Any, actor: Any) -> None:
    """End every timer of ``actor`` (its incarnation ended): none ticks any more. The runtime
    calls it when an incarnation ends; ticks already in the mailbox are dropped with it."""
    mine = getattr(rt, "timers", {}).pop(actor.id, None)
    for timer in (mine or {}).values():
        timer.cancel(rt)


# --- ticks ---------------------------------------------------------------------------


def _fire(rt: Any, timer: Timer) -> None:
    """A tick is due: schedule the next one, and deliver this one (unless the previous
    tick still waits in the mailbox: then this one merges into it)."""
    if not timer.live:
        return
    actor = timer.actor
    if not actor.alive or actor.incarnation != timer.incarnation:
        _forget(rt, timer)  # its incarnation ended (and the runtime did not cancel it)
        return
    timer.entry = rt.scheduler.after(timer.interval_ms, _fire, rt, timer, priority=TIMER)
    if actor.probe is not None:
        _probe_tick(rt, actor, timer)
    elif not timer.queued:
        timer.queued = True
        rt.arrive(actor, ("tick", timer))


def _probe_tick(rt: Any, actor: Any, timer: Timer) -> None:
    from ..probe import ProbeMessage

    rt.trace.add(rt.now, "tick", actor.id, ("timer", timer.name))
    actor.probe._keep(ProbeMessage("tick", timer.name.encode("utf-8", "surrogatepass"), rt.now))


def _deliver_tick(rt: Any, actor: Any, item: tuple) -> None:
    """Call the actor's ``timer.handle-tick`` with the timer's name."""
    timer: Timer = item[1]
    timer.queued = False
    if not timer.live or timer.incarnation != actor.incarnation:
        rt.trace.add(rt.now, "drop", actor.id, {"item": "tick", "timer": timer.name,
                                                "reason": "the timer was cleared or replaced meanwhile"})
        return
    rt.trace.add(rt.now, "tick", actor.id, ("timer", timer.name))

    def handled(result: Any) -> None:
        if result is None or result is SKIPPED:  # the call failed (the incarnation ended), or no export
            _forget(rt, timer)

    rt._call(actor, HANDLE_TICK, (actor.state, (timer.name,)), handled)


ITEMS = {"tick": _deliver_tick}


def undeliverable(rt: Any, actor: Any, item: tuple) -> None:
    """A tick for an incarnation that ended: dropped, and recorded."""
    timer: Timer = item[1]
    timer.queued = False
    rt.trace.add(rt.now, "drop", actor.id, {
        "item": "tick", "timer": timer.name,
        "reason": f"actor {actor.id} ({actor.name}) is not running: it is {actor.status}"})
