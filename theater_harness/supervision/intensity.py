"""Restart intensity, as OTP's ``supervisor:add_restart/1``: a pure function of the
restart times already recorded, the time now, and the limits.

Each restart is recorded first; if more than ``intensity`` restarts then lie in the
window ``[now - period, now]`` the supervisor gives up (escalates). Like OTP, times are
compared in whole units of ``resolution_ms`` (OTP: whole seconds), inclusively.

The history is bounded: it never holds more than ``intensity + 1`` times (one more
restart than the limit ends the supervisor, so older ones can never matter), and times
that left the window are cut from its old end only, so recording a restart costs O(1)
Python steps however many restarts a long window holds.
"""

from __future__ import annotations


def in_period(then_ms: int, now_ms: int, period_ms: int, resolution_ms: int = 1000) -> bool:
    """Whether a restart at ``then_ms`` still counts at ``now_ms``."""
    return now_ms // resolution_ms - then_ms // resolution_ms <= period_ms // resolution_ms


def add_restart(restarts: tuple[int, ...], now_ms: int, intensity: int, period_ms: int,
                resolution_ms: int = 1000) -> tuple[tuple[int, ...], bool]:
    """Record a restart at ``now_ms``: the restarts still in the window (newest first, at
    most ``intensity + 1``), and whether there are now more than ``intensity`` of them.

    ``restarts`` is newest first, so the expired ones are a suffix (OTP's ``takewhile``).
    """
    end = len(restarts)
    oldest_kept = now_ms // resolution_ms - period_ms // resolution_ms
    while end and restarts[end - 1] // resolution_ms < oldest_kept:
        end -= 1
    return (now_ms,) + restarts[:min(end, intensity)], end + 1 > intensity
