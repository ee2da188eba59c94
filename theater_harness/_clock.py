"""Virtual time: integer milliseconds that only the scheduler moves, and only forward."""

from __future__ import annotations

from .errors import SimulationError


class VirtualClock:
    """The simulation's clock. Reading it is free; only ``Scheduler`` advances it."""

    __slots__ = ("_now",)

    def __init__(self, start_ms: int = 0):
        if not isinstance(start_ms, int) or isinstance(start_ms, bool) or start_ms < 0:
            raise SimulationError(f"the clock starts at a whole, non-negative number of ms, not {start_ms!r}")
        self._now = start_ms

    @property
    def now(self) -> int:
        """Virtual time in milliseconds since the start of the run."""
        return self._now

    def _advance_to(self, when: int) -> None:
        if when < self._now:
            raise SimulationError(f"time can't go backwards (from {self._now} ms to {when} ms)")
        self._now = when

    def __repr__(self) -> str:
        return f"VirtualClock(now={self._now} ms)"
