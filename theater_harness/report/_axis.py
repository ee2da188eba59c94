"""The timeline's time axis: x proportional to virtual time, ticks at round intervals.

The page's script zooms by the same rules (``_html._JS`` has ``tickStep``, ``tickLabel``
and ``X``, the same functions in JavaScript), so the page drawn here is the page at zoom 1.
"""

from __future__ import annotations

from dataclasses import dataclass

X0 = 16  # px from the lanes' left edge to time 0 (room for a mark's half)
TIME_W = 1000  # px for the whole run at zoom 1
TICK_GAP = 80  # px at least between two ticks
MAX_PX_PER_MS = 50  # zooming in stops when a millisecond is this wide ...
MAX_W = 400_000  # ... or when the whole run is this wide


def tick_step(px_per_ms: float, gap: float = TICK_GAP) -> int:
    """The smallest of 1, 2, 5, 10, 20, 50, ... ms whose ticks are at least ``gap`` px apart."""
    want = gap / px_per_ms
    base = 1
    while True:
        for m in (1, 2, 5):
            if base * m >= want:
                return base * m
        base *= 10


def tick_label(t: int, step: int) -> str:
    """``1500 ms``; in whole seconds (``3 s``) when the ticks are whole seconds apart."""
    return f"{t // 1000} s" if step % 1000 == 0 else f"{t} ms"


def num(x: float) -> str:
    """A coordinate, to a tenth of a pixel, without a trailing ``.0``."""
    return f"{x:.1f}".removesuffix(".0")


@dataclass(frozen=True, slots=True)
class Axis:
    """Virtual time ``t`` (ms) to x: ``X0 + t * scale * zoom + dx``, where ``dx`` is a few
    pixels that set apart the records one lane has in the same millisecond."""

    end_ms: int

    @property
    def scale(self) -> float:
        """px per ms at zoom 1."""
        return TIME_W / max(1, self.end_ms)

    @property
    def max_zoom(self) -> float:
        return max(1.0, min(MAX_PX_PER_MS / self.scale, MAX_W / TIME_W))

    def x(self, t: float, dx: float = 0.0, zoom: float = 1.0) -> float:
        return X0 + t * self.scale * zoom + dx

    def ticks(self, zoom: float = 1.0) -> list[tuple[float, int, str]]:
        """(x, time, label) of every tick from 0 to the end of the run."""
        step = tick_step(self.scale * zoom)
        return [(self.x(t, 0.0, zoom), t, tick_label(t, step)) for t in range(0, self.end_ms + 1, step)]
