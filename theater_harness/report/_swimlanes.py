"""The swimlane timeline, as inline SVG: one lane per actor in tree order, virtual time
across, a band per incarnation, a mark per record, an arrow per message."""

from __future__ import annotations

import json
import math
from bisect import bisect_left
from collections import Counter, defaultdict
from dataclasses import dataclass
from html import escape

from ._actors import OUTSIDE, ActorInfo, label
from ._describe import describe, fields_of

LANE_H = 26
LABEL_W = 190  # the lane names, left of time 0
TOP = 30  # the time axis
TIME_W = 900  # px for the whole run's virtual time, besides the room shared milliseconds take
STEP = 12  # px between records of the same millisecond
MAX_BURST_W = 8000  # at most this many px for those, however many there are
TICK_GAP = 70  # px between labelled ticks
MESSAGE_CAP = 400  # more messages than this: counted per lane and time bin, not drawn one by one
MARK_CAP = 3000  # more other records than this: the minor ones are binned too, the rest capped
BINS = 80

MESSAGES = frozenset({"send", "request", "deliver", "reply"})
MAJOR = frozenset({"spawn", "start", "exit", "restart", "fault", "missed", "escalate", "auto-shutdown", "drop",
                   "request-failed", "run-ended"})

# glyph -> (SVG shape centred on 0,0, legend text)
GLYPHS = {
    "spawn": ('<circle r="4"/>', "spawned"),
    "restart": ('<path d="M0-5L5 0L0 5L-5 0Z"/>', "restarted by its supervisor"),
    "failed": ('<path d="M-4-4L4 4M4-4L-4 4"/>', "exit: failed"),
    "stopped": ('<rect x="-4" y="-4" width="8" height="8"/>', "exit: stopped"),
    "fault": ('<path d="M-5-5H5L0 5Z"/>', "injected fault"),
    "missed": ('<path d="M-5-5H5L0 5Z"/>', "missed fault: its target was not running"),
    "escalate": ('<path d="M-5 5H5L0-5Z"/>', "a supervisor gives up (escalation) or shuts itself down "
                                             "(auto_shutdown)"),
    "lost": ('<circle r="4"/>', "message dropped, request failed"),
    "log": ('<path d="M0-6V6"/>', "log line"),
    "end": ('<rect x="-2" y="-9" width="4" height="18"/>', "the run ended"),
    "msg": ('<circle r="2.5"/>', "send, request, delivery, reply"),
    "other": ('<circle r="2.5"/>', "other record (hover for details)"),
}
_KIND_GLYPH = {"spawn": "spawn", "restart": "restart", "fault": "fault", "missed": "missed",
               "escalate": "escalate", "auto-shutdown": "escalate", "drop": "lost", "request-failed": "lost", "log": "log", "run-ended": "end",
               "start": None, "send": "msg", "request": "msg", "deliver": "msg", "reply": "msg"}


def glyph_of(record: dict) -> str | None:
    """The mark a record gets (None: a start, shown as the beginning of a band)."""
    if record["kind"] == "exit":
        return "failed" if record.get("status") == "failed" else "stopped"
    return _KIND_GLYPH.get(record["kind"], "other")


def _n(x: float) -> str:
    return f"{x:.1f}".removesuffix(".0")


class _Axis:
    """Virtual time to x: linear in time, plus a slot for each record that shares its
    millisecond with others (a cascade of exits and restarts happens within one ms)."""

    def __init__(self, times: list[int], end_ms: int):
        counts = Counter(times)
        counts[0] += 0
        counts[end_ms] += 0
        self.times = sorted(counts)
        room = sum(n for n in counts.values() if n > 1)
        self.step = STEP if room * STEP <= MAX_BURST_W else MAX_BURST_W / room
        self.scale = TIME_W / max(1, end_ms)
        self.base: list[float] = []
        self.burst: list[float] = []
        x = 0.0
        for i, t in enumerate(self.times):
            if i:
                x += (t - self.times[i - 1]) * self.scale
            self.base.append(x)
            self.burst.append(counts[t] * self.step if counts[t] > 1 else 0.0)
            x += self.burst[-1]
        self.width = x

    def x(self, t: int, rank: int = 0) -> float:
        """Where the ``rank``-th record of millisecond ``t`` goes."""
        i = bisect_left(self.times, t)
        if i < len(self.times) and self.times[i] == t:
            return self.base[i] + rank * self.step
        return self.base[i - 1] + self.burst[i - 1] + (t - self.times[i - 1]) * self.scale

    def after(self, t: int) -> float:
        """Just past every record of millisecond ``t``."""
        i = bisect_left(self.times, t)
        if i < len(self.times) and self.times[i] == t:
            return self.base[i] + self.burst[i]
        return self.x(t)

    def ticks(self) -> list[tuple[float, int]]:
        out: list[tuple[float, int]] = []
        for x, t in zip(self.base, self.times):
            if not out or x - out[-1][0] >= TICK_GAP:
                out.append((x, t))
        return out


def tooltip(record: dict, names: dict[str, str]) -> str:
    """A record's details, for a mark's title."""
    lines = [f"{record['t']} ms  {record['kind']}  {label(names, record.get('actor'))}",
             describe(record, names)]
    for key, value in sorted(fields_of(record).items()):  # the same, from a Runtime or from JSON
        text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
        lines.append(f"{key}: {text[:200]}")
    lines.append(f"seq {record['seq']}" if "seq" in record else "")
    return "\n".join(lines).rstrip()


@dataclass(frozen=True, slots=True)
class _Lane:
    key: str | None  # actor id; None for the outside lane
    name: str
    depth: int


def _split(records: list[dict]) -> tuple[list[dict], list[dict], list[str]]:
    """The records drawn one by one, those counted in bins, and notes on what was condensed."""
    drawn = [r for r in records if r["kind"] != "event"]
    messages = [r for r in drawn if r["kind"] in MESSAGES]
    others = [r for r in drawn if r["kind"] not in MESSAGES]
    binned, notes = [], []
    sent = sum(1 for r in messages if r["kind"] in ("send", "request"))
    if sent > MESSAGE_CAP:
        binned += messages
        messages = []
        notes.append(f"{sent} messages and requests (more than {MESSAGE_CAP}): their records are counted "
                     "per lane and time bin (grey bars), without arrows.")
    if len(others) > MARK_CAP:
        minor = [r for r in others if r["kind"] not in MAJOR]
        others = [r for r in others if r["kind"] in MAJOR]
        binned += minor
        notes.append(f"{len(minor)} minor records (logs, skips, ...) are counted per lane and time bin.")
        if len(others) > MARK_CAP:
            notes.append(f"Only the first {MARK_CAP} of {len(others)} lifecycle records are drawn "
                         f"(up to {others[MARK_CAP - 1]['t']} ms); the text timeline has them all.")
            others = others[:MARK_CAP]
    single = sorted(messages + others, key=lambda r: r.get("seq", 0))
    return single, binned, notes


def render_swimlanes(records: list[dict], rows: list[tuple[int, ActorInfo]]) -> tuple[str, list[str]]:
    """The SVG of the lanes, and notes on what was condensed to keep it readable."""
    names = {a.id: a.name for _, a in rows}
    single, binned, notes = _split(records)
    lanes = [_Lane(a.id, a.name, depth) for depth, a in rows]
    if any(r.get("actor") is None for r in single + binned):
        lanes.insert(0, _Lane(None, OUTSIDE, 0))
    row_of = {lane.key: i for i, lane in enumerate(lanes)}
    single = [r for r in single if r.get("actor") in row_of]
    end_ms = max((r["t"] for r in records), default=0)
    axis = _Axis([r["t"] for r in single], end_ms)
    x0 = LABEL_W + 10

    def cy(actor: str | None) -> float:
        return TOP + row_of[actor] * LANE_H + LANE_H / 2

    at: dict[int, tuple[float, float]] = {}  # index in single -> mark centre
    rank: Counter = Counter()
    for i, r in enumerate(single):
        at[i] = (x0 + axis.x(r["t"], rank[r["t"]]), cy(r.get("actor")))
        rank[r["t"]] += 1

    per_lane: dict[str | None, list[str]] = defaultdict(list)
    _bands(single, at, x0 + axis.width, per_lane, names)
    for i, r in enumerate(single):
        glyph = glyph_of(r)
        if glyph is not None:
            x, y = at[i]
            per_lane[r.get("actor")].append(
                f'<g class="m {glyph}" transform="translate({_n(x)},{_n(y)})">'
                f'<title>{escape(tooltip(r, names))}</title>{GLYPHS[glyph][0]}</g>')
    _bins(binned, axis, x0, row_of, per_lane)

    width = x0 + axis.width + 30
    height = TOP + len(lanes) * LANE_H + 8
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" class="lanes" width="{_n(width)}" height="{height}" '
           f'viewBox="0 0 {_n(width)} {height}">',
           '<defs><marker id="arrow" viewBox="0 0 8 8" refX="7" refY="4" markerWidth="7" markerHeight="7" '
           'orient="auto-start-reverse"><path d="M0 0L8 4L0 8Z"/></marker></defs>',
           '<g class="axis">']
    for x, t in axis.ticks():
        out.append(f'<line x1="{_n(x0 + x)}" y1="{TOP - 6}" x2="{_n(x0 + x)}" y2="{height - 8}"/>'
                   f'<text x="{_n(x0 + x)}" y="{TOP - 10}">{t} ms</text>')
    out.append("</g>")
    for i, lane in enumerate(lanes):
        y = TOP + i * LANE_H
        attrs = ('data-lane="outside"' if lane.key is None else
                 f'data-actor-id="{escape(lane.key)}" data-actor-name="{escape(lane.name)}"')
        shown = lane.name if len(lane.name) <= 22 else lane.name[:21] + "\u2026"
        out.append(f'<g class="lane" {attrs}><rect class="bg" x="0" y="{y}" width="{_n(width)}" '
                   f'height="{LANE_H}"/><text class="name" x="{6 + 12 * lane.depth}" y="{y + LANE_H / 2 + 4:g}">'
                   f'<title>{escape(lane.name)}{"" if lane.key is None else " " + escape(lane.key)}</title>'
                   f'{escape(shown)}</text>')
        out += per_lane.get(lane.key, [])
        out.append("</g>")
    out.append('<g class="links">')
    out += _links(single, at, names)
    out.append("</g></svg>")
    return "\n".join(out), notes


def _bands(single: list[dict], at: dict, right: float, per_lane: dict, names: dict[str, str]) -> None:
    """A band from each start to the exit that ends that incarnation (or to the end)."""
    open_at: dict[str, tuple[float, float, dict]] = {}  # actor -> x, y, start record

    def close(actor: str, x_end: float, end: dict | None) -> None:
        x, y, start = open_at.pop(actor)
        until = f"{end['t']} ms ({end.get('status')}: {(end.get('reason') or {}).get('kind')})" if end else "the end"
        per_lane[actor].append(
            f'<rect class="band" x="{_n(x)}" y="{_n(y - LANE_H / 2 + 7)}" width="{_n(max(1.0, x_end - x))}" '
            f'height="{LANE_H - 14}"><title>{escape(label(names, actor))} incarnation '
            f'{start.get("incarnation")}: from {start["t"]} ms to {until}</title></rect>')

    for i, r in enumerate(single):
        actor = r.get("actor")
        if r["kind"] == "start":
            if actor in open_at:
                close(actor, at[i][0], None)
            open_at[actor] = (*at[i], r)
        elif r["kind"] == "exit" and actor in open_at:
            close(actor, at[i][0], r)
    for actor in list(open_at):
        close(actor, right, None)


def _bins(binned: list[dict], axis: _Axis, x0: float, row_of: dict, per_lane: dict) -> None:
    """Grey bars: how many condensed records each lane has in each time bin."""
    if not binned:
        return
    end_ms = axis.times[-1]
    size = max(1, -(-(end_ms + 1) // BINS))
    counts: dict[tuple, Counter] = defaultdict(Counter)
    for r in binned:
        if r.get("actor") in row_of:
            counts[(r.get("actor"), r["t"] // size)][r["kind"]] += 1
    top = max(sum(c.values()) for c in counts.values()) if counts else 1
    for (actor, b), kinds in counts.items():
        total = sum(kinds.values())
        lo, hi = b * size, min(end_ms, (b + 1) * size - 1)
        x, x_end = x0 + axis.x(lo), x0 + axis.after(hi)
        h = max(2.0, (LANE_H - 8) * math.log1p(total) / math.log1p(top))  # a few stay visible beside many
        y = TOP + row_of[actor] * LANE_H + LANE_H - 4 - h
        detail = ", ".join(f"{n} {kind}" for kind, n in sorted(kinds.items()))
        per_lane[actor].append(
            f'<rect class="agg" x="{_n(x)}" y="{_n(y)}" width="{_n(max(2.0, x_end - x))}" height="{_n(h)}">'
            f'<title>{total} records from {lo} to {hi} ms: {escape(detail)}</title></rect>')


def _links(single: list[dict], at: dict, names: dict[str, str]) -> list[str]:
    """An arrow from each send or request to its delivery (or to where it was lost), and a
    dashed line from each reply back to the lane of whoever asked."""
    sources: dict[tuple, int] = {}
    out = []
    for i, r in enumerate(single):
        kind = r["kind"]
        key = ("msg", r["msg"]) if "msg" in r else ("request", r["request"]) if "request" in r else None
        if kind in ("send", "request") and key:
            sources[key] = i
            continue
        if key not in sources or kind not in ("deliver", "drop", "request-failed", "reply"):
            continue
        src = single[sources[key]]
        (x1, y1), (x2, y2) = at[sources[key]], at[i]
        what = f"msg #{key[1]}" if key[0] == "msg" else f"request {str(key[1])[:8]}"
        if kind == "reply":  # back to the asker's lane, at the time of the answer
            out.append(f'<line class="link reply" x1="{_n(x2)}" y1="{_n(y2)}" x2="{_n(x2)}" '
                       f'y2="{_n(y1)}"><title>{escape(what)} answered by '
                       f'{escape(label(names, r.get("actor")))} at {r["t"]} ms</title></line>')
            continue
        css = "link" if kind == "deliver" else "link lost"
        out.append(f'<line class="{css}" x1="{_n(x1)}" y1="{_n(y1)}" x2="{_n(x2)}" y2="{_n(y2)}" '
                   f'marker-end="url(#arrow)"><title>{escape(what)}: {escape(label(names, src.get("actor")))}'
                   f' \u2192 {escape(label(names, r.get("actor")))}, {src["t"]} \u2192 {r["t"]} ms'
                   f'{"" if kind == "deliver" else " (" + kind + ")"}</title></line>')
    return out
