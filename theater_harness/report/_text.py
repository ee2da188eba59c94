"""Plain-text views of a trace: the supervision tree, and a timeline of notable records."""

from __future__ import annotations

from bisect import bisect_left
from typing import Any, Iterable

from ._actors import actors_of, lane_name, lane_of, tree_rows
from ._describe import NOTABLE, describe
from ._source import records_of


def render_tree(records: Any, *, at_ms: int | None = None) -> str:
    """The supervision tree at the end of the run (or at ``at_ms``): one line per actor,
    indented under its parent, with its short id, status, incarnations and, for a
    supervisor, its strategy ("guest" when the supervision is the actor's own code)."""
    rows = tree_rows(actors_of(records_of(records), at_ms))
    if not rows:
        return "(no actors)"
    cells = [("  " * depth + a.name, a.short_id, a.status_text, f"inc {a.incarnations}",
              f"supervisor {a.supervision}" if a.supervision else "") for depth, a in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(4)]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(row, widths + [0])).rstrip() for row in cells)


def _nearest(times: list[int], around_ms: int, window: int) -> tuple[int, int]:
    """The slice [lo, hi) of at most ``window`` records nearest ``around_ms`` in time (ties:
    the later record, so what happens at ``around_ms`` comes first)."""
    lo = hi = bisect_left(times, around_ms)
    while hi - lo < window and (lo > 0 or hi < len(times)):
        if lo > 0 and (hi == len(times) or around_ms - times[lo - 1] < times[hi] - around_ms):
            lo -= 1
        else:
            hi += 1
    return lo, hi


def render_timeline(records: Any, *, around_ms: int | None = None, window: int = 20,
                    kinds: Iterable[str] | None = None) -> str:
    """One line per notable record (``NOTABLE``, or the given ``kinds``):
    ``   120 ms  exit  worker  failed: trap ...``; a world or rpc call on its lane's line
    (``world: store``, ``rpc``), its caller named first in the detail. With ``around_ms``, only the ``window``
    records nearest that time, with a count of the lines left out on each side."""
    if window < 1:
        raise ValueError(f"window must be at least 1, got {window}")
    wanted = NOTABLE if kinds is None else frozenset((kinds,) if isinstance(kinds, str) else kinds)
    all_records = records_of(records)
    names = {a.id: a.name for a in actors_of(all_records).values()}
    shown = [r for r in all_records if r["kind"] in wanted]
    before = after = 0
    if around_ms is not None:
        lo, hi = _nearest([r["t"] for r in shown], around_ms, window)
        before, after, shown = lo, len(shown) - hi, shown[lo:hi]
    if not shown:
        return "(no records to show)"
    rows = [(str(r["t"]), r["kind"], lane_name(names, lane_of(r)), describe(r, names)) for r in shown]
    tw = max(6, max(len(row[0]) for row in rows))  # "   120 ms" lines up to 999999 ms
    kw = max(len(row[1]) for row in rows)
    nw = max(len(row[2]) for row in rows)
    lines = [f"{t:>{tw}} ms  {kind:<{kw}}  {who:<{nw}}  {detail}".rstrip() for t, kind, who, detail in rows]
    if before:
        lines.insert(0, f"{'...':>{tw}}     {before} earlier line{'s' * (before != 1)} not shown")
    if after:
        lines.append(f"{'...':>{tw}}     {after} later line{'s' * (after != 1)} not shown")
    return "\n".join(lines)
