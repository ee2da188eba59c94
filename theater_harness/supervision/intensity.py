"""Restart intensity, as OTP's ``supervisor:add_restart/1``: a pure function of the
restart times already recorded, the time now, and the limits.

Each restart is recorded first; if more than ``intensity`` restarts then lie in the
window ``[now - period, now]`` the supervisor gives up (escalates). Like OTP, times are
compared in whole units of ``resolution_ms`` (OTP: whole seconds), inclusively.
"""

from __future__ import annotations


def in_period(then_ms: int, now_ms: int, period_ms: int, resolution_ms: int = 1000) -> bool:
    """Whether a restart at ``then_ms`` still counts at ``now_ms``."""
    return now_ms // resolution_ms - then_ms // resolution_ms <= period_ms // resolution_ms


def add_restart(restarts: tuple[int, ...], now_ms: int, intensity: int, period_ms: int,
                resolution_ms: int = 1000) -> tuple[tuple[int, ...], bool]:
    """Record a restart at ``now_ms``: the restarts still in the window (newest first),
    and whether there are now more than ``intensity`` of them."""
    kept = (now_ms,) + tuple(t for t in restarts if in_period(t, now_ms, period_ms, resolution_ms))
    return kept, len(kept) > intensity
