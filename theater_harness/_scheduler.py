"""The event heap that drives a run.

Events run in ``(time, priority, seq)`` order: ``seq`` comes from a counter, so the
order is total and two events at the same instant run in the order they were scheduled.
A heap holds them, with a FIFO lane beside it for the current instant (see Scheduler).
Time moves in one place (the run loops: ``step``), only forward, and jumps straight to the
next event when nothing is runnable. A blocking host call runs the scheduler
re-entrantly (``run_while``) from inside a wasm call.

Two things end the run loops without an exception (``halt``), through the owner's hooks:
more than ``max_events_per_instant`` events at one virtual instant (``on_instant_limit``:
something keeps itself busy without letting time pass), and a ``MemoryError`` out of an
event (``on_memory_error``: the OS refused the process memory or a memory map). Without a
hook, the first raises ``SimulationError`` and the second propagates.
"""

from __future__ import annotations

import itertools
from collections import deque
from heapq import heappop, heappush
from typing import Any, Callable

from ._clock import VirtualClock
from .errors import SimulationError

# Priorities for events at the same instant: consequences of a failure are handled
# before ordinary deliveries, and timers fire after the deliveries of their instant.
URGENT = 0
NORMAL = 1
TIMER = 2

DEFAULT_MAX_EVENTS = 1_000_000
_NO_BOUND = 1 << 62


class Scheduler:
    """A discrete-event scheduler over a ``VirtualClock``."""

    __slots__ = ("clock", "_heap", "_lane", "_seq", "_cancelled", "events_run", "halted", "max_events_per_instant",
                 "_instant_start", "on_instant_limit", "on_memory_error")

    def __init__(self, clock: VirtualClock | None = None):
        self.clock = clock if clock is not None else VirtualClock()
        # Entries are tuples (time, priority, seq, fn, args). Most events are scheduled
        # for the current instant at NORMAL priority (a message with no latency, the next
        # queued mail): they go to a FIFO lane instead of the heap. Its entries all have
        # time == now and rising seqs, so taking the smaller of the lane's head and the
        # heap's top is exactly the heap order, without a heap operation per message.
        self._heap: list[tuple] = []
        self._lane: deque[tuple] = deque()
        self._seq = itertools.count()
        self._cancelled: set[int] = set()  # seqs of cancelled entries, skipped when reached
        self.events_run = 0
        self.halted: str | None = None  # set by halt(): run loops stop
        self.max_events_per_instant = _NO_BOUND  # events at one virtual instant before on_instant_limit
        self._instant_start = 0  # events_run when the clock last moved
        self.on_instant_limit: Callable[[int], None] | None = None  # called with the count; must halt
        self.on_memory_error: Callable[[MemoryError], None] | None = None  # must halt

    @property
    def now(self) -> int:
        return self.clock._now

    def at(self, when: int, fn: Callable[..., Any], *args: Any, priority: int = NORMAL) -> tuple:
        """Schedule ``fn(*args)`` at virtual time ``when``; returns a cancellable entry."""
        now = self.clock._now
        if when < now:
            raise SimulationError(f"cannot schedule at {when} ms: it is already {now} ms")
        entry = (when, priority, next(self._seq), fn, args)
        if when == now and priority == NORMAL:
            self._lane.append(entry)
        else:
            heappush(self._heap, entry)
        return entry

    def after(self, delay: int, fn: Callable[..., Any], *args: Any, priority: int = NORMAL) -> tuple:
        """Schedule ``fn(*args)`` ``delay`` ms from now (every message takes this path)."""
        if delay < 0:
            raise SimulationError(f"cannot schedule {delay} ms in the past")
        entry = (self.clock._now + delay, priority, next(self._seq), fn, args)
        if delay == 0 and priority == NORMAL:
            self._lane.append(entry)
        else:
            heappush(self._heap, entry)
        return entry

    def cancel(self, entry: tuple) -> None:
        """Cancel a scheduled entry (it stays queued and is skipped)."""
        self._cancelled.add(entry[2])

    def _pop(self) -> tuple | None:
        """Take the next live entry, or None when there is none."""
        heap, lane, cancelled = self._heap, self._lane, self._cancelled
        while True:
            if lane:
                entry = heappop(heap) if heap and heap[0] < lane[0] else lane.popleft()
            elif heap:
                entry = heappop(heap)
            else:
                return None
            if not cancelled or entry[2] not in cancelled:
                return entry
            cancelled.discard(entry[2])

    def peek(self) -> int | None:
        """Time of the next live event, or None when there is none."""
        heap, lane, cancelled = self._heap, self._lane, self._cancelled
        while lane and lane[0][2] in cancelled:
            cancelled.discard(lane.popleft()[2])
        if lane:
            return lane[0][0]  # the current instant: nothing in the heap is earlier
        while heap and heap[0][2] in cancelled:
            cancelled.discard(heappop(heap)[2])
        return heap[0][0] if heap else None

    def step(self) -> bool:
        """Run the next event, moving the clock to its time. False when idle."""
        entry = self._pop()
        if entry is None:
            return False
        when = entry[0]
        if when != self.clock._now:
            self.clock._advance_to(when)  # the one place virtual time moves
            self._instant_start = self.events_run
        self.events_run += 1
        if self.events_run - self._instant_start > self.max_events_per_instant:
            self._instant_limit()
            return False
        try:
            entry[3](*entry[4])
        except MemoryError as exc:
            self._memory_error(exc)
        return True

    def run_until_idle(self, max_events: int = DEFAULT_MAX_EVENTS) -> int:
        """Run until no event is left; returns the number of events run."""
        heap, lane, clock, cancelled = self._heap, self._lane, self.clock, self._cancelled
        ran = 0
        while self.halted is None:  # step(), inlined: this loop runs every event
            if lane:
                entry = heappop(heap) if heap and heap[0] < lane[0] else lane.popleft()
            elif heap:
                entry = heappop(heap)
            else:
                break
            if cancelled and entry[2] in cancelled:
                cancelled.discard(entry[2])
                continue
            when = entry[0]
            if when != clock._now:
                clock._advance_to(when)
                self._instant_start = self.events_run
            self.events_run += 1
            if self.events_run - self._instant_start > self.max_events_per_instant:
                self._instant_limit()
                break
            try:
                entry[3](*entry[4])
            except MemoryError as exc:
                self._memory_error(exc)
            ran += 1
            if ran >= max_events and self.peek() is not None:
                raise SimulationError(
                    f"still busy after {ran} events (now {self.now} ms): something schedules work "
                    f"forever (a periodic timer or a message loop); use run(until=...) instead, "
                    f"or pass a larger max_events"
                )
        return ran

    def run(self, until: int, max_events: int = DEFAULT_MAX_EVENTS) -> int:
        """Run every event due at or before ``until``, then set the clock to ``until``."""
        if until < self.clock._now:
            raise SimulationError(f"cannot run until {until} ms: it is already {self.clock._now} ms")
        ran = 0
        while self.halted is None:
            nxt = self.peek()
            if nxt is None or nxt > until:
                break
            self.step()
            ran += 1
            if ran >= max_events:
                raise SimulationError(
                    f"more than {max_events} events before {until} ms (now {self.now} ms): "
                    f"something loops without letting virtual time pass"
                )
        if self.halted is None and self.clock._now < until:
            self.clock._advance_to(until)
            self._instant_start = self.events_run
        return ran

    def run_while(self, condition: Callable[[], bool]) -> bool:
        """Step while ``condition()`` holds and events remain (nested runs for blocking
        host calls). Returns True if the condition became false."""
        while condition():
            if self.halted is not None or not self.step():
                return not condition()
        return True

    def _instant_limit(self) -> None:
        count = self.events_run - self._instant_start
        if self.on_instant_limit is None:
            raise SimulationError(f"{count} events at {self.clock._now} ms, more than max_events_per_instant "
                                  f"{self.max_events_per_instant}: something loops without letting virtual time pass")
        self.on_instant_limit(count)
        self.halt(f"{count} events at {self.clock._now} ms")

    def _memory_error(self, exc: MemoryError) -> None:
        if self.on_memory_error is None:
            raise exc
        self.on_memory_error(exc)
        self.halt(f"out of memory: {exc}")

    def halt(self, reason: str) -> None:
        """Stop every run loop (the run has ended, e.g. the root supervisor failed)."""
        if self.halted is None:
            self.halted = reason
