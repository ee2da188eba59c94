"""The swimlane timeline, as inline SVG: one lane per actor in tree order, virtual time
across (linear, see ``_axis``), a band per incarnation, a mark per record, an arrow per
message from where and when it was sent to where and when it was delivered. Below the
actors, a lane per interface of the outside world the run used (``world: store``, ...)
and one for rpc calls: a mark per call, a bar for the time it took to answer, and a line
up to the lane of the actor that made it."""

from __future__ import annotations

import json
import math
from collections import Counter, defaultdict
from dataclasses import dataclass
from html import escape

from ._actors import OUTSIDE, RPC, WORLD, ActorInfo, Lane, label, lane_name, lane_of
from ._axis import TICK_GAP, X0, Axis, num
from ._describe import describe, fields_of
from ._states import STATE_KEYS, States

LANE_H = 26
TOP = 30  # the time axis
NAMES_W = 180  # the column of lane names, left of the lanes
STEP = 12  # px between the records one lane has in the same millisecond ...
MAX_BURST = 120  # ... at most this many px for all of them
TAIL = 30  # px right of the last record
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
    "world": ('<rect x="-3.5" y="-3.5" width="7" height="7" rx="1.5"/>', "a call into the outside world (files, "
                                                                         "environment, HTTP, store)"),
    "world-err": ('<rect x="-3.5" y="-3.5" width="7" height="7" rx="1.5"/>', "a world call answered with an error"),
    "rpc": ('<path d="M-4-4L4 0L-4 4Z"/>', "an rpc call's outcome (ok)"),
    "rpc-err": ('<path d="M-4-4L4 0L-4 4Z"/>', "an rpc call that failed, timed out or was abandoned"),
}
_KIND_GLYPH = {"spawn": "spawn", "restart": "restart", "fault": "fault", "missed": "missed",
               "escalate": "escalate", "auto-shutdown": "escalate", "drop": "lost", "request-failed": "lost",
               "log": "log", "run-ended": "end", "start": None,
               "send": "msg", "request": "msg", "deliver": "msg", "reply": "msg"}


def glyph_of(record: dict) -> str | None:
    """The mark a record gets (None: a start, shown as the beginning of a band)."""
    kind = record["kind"]
    if kind == "exit":
        return "failed" if record.get("status") == "failed" else "stopped"
    if kind in (WORLD, RPC):
        return kind if record.get("outcome") == "ok" else f"{kind}-err"
    return _KIND_GLYPH.get(kind, "other")


def when(record: dict) -> int:
    """The time a record is drawn at: its own; for a send or request from outside made with
    a delay (its ``delay_ms``), the time it was meant to leave."""
    delay = record.get("delay_ms") if record["kind"] in ("send", "request") else None
    return record["t"] + delay if delay.__class__ is int else record["t"]


def span(record: dict) -> tuple[int, int] | None:
    """The time a world or rpc call took (from, to), drawn as a bar on its lane; else None."""
    if record["kind"] == WORLD and record.get("latency_ms").__class__ is int and record["latency_ms"] > 0:
        return record["t"], record["t"] + record["latency_ms"]
    if record["kind"] == RPC and record.get("issued_ms").__class__ is int and record["issued_ms"] < record["t"]:
        return record["issued_ms"], record["t"]
    return None


def tooltip(record: dict, names: dict[str, str], states: States) -> str:
    """A record's details, for a mark's title; a state digest with a preview of the state."""
    lines = [f"{record['t']} ms  {record['kind']}  {label(names, record.get('actor'))}",
             describe(record, names)]
    for key, value in sorted(fields_of(record).items()):  # the same, from a Runtime or from JSON
        if key in STATE_KEYS and (value is None or isinstance(value, str)):
            text = states.text(value)
        else:
            text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
        lines.append(f"{key}: {text[:200]}")
    lines.append(f"seq {record['seq']}" if "seq" in record else "")
    return "\n".join(lines).rstrip()


@dataclass(frozen=True, slots=True)
class _Lane:
    key: Lane  # actor id; None for the outside lane; (WORLD, interface) or (RPC, "")
    name: str
    depth: int


def _lanes(rows: list[tuple[int, ActorInfo]], records: list[dict]) -> list[_Lane]:
    """The outside lane (if a record has no actor), the actors' in tree order, then the
    world's interfaces the records use (by name) and rpc."""
    lanes = [_Lane(a.id, a.name, depth) for depth, a in rows]
    used = {lane_of(r) for r in records}
    if None in used:
        lanes.insert(0, _Lane(None, OUTSIDE, 0))
    calls = sorted((key for key in used if isinstance(key, tuple)), key=lambda key: (key[0] != WORLD, key[1]))
    return lanes + [_Lane(key, lane_name({}, key), 0) for key in calls]


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


def _place(single: list[dict]) -> list[tuple[int, float]]:
    """Where each record goes: its time (``when``), and px right of it that set apart the
    records one lane has in one millisecond (in the order they happened)."""
    times = [when(r) for r in single]
    sizes = Counter(zip((lane_of(r) for r in single), times))
    seen: Counter = Counter()
    out = []
    for r, t in zip(single, times):
        key = (lane_of(r), t)
        n = sizes[key]
        step = STEP if (n - 1) * STEP <= MAX_BURST else MAX_BURST / (n - 1)
        out.append((t, seen[key] * step))
        seen[key] += 1
    return out


def _at(t: int, dx: float, t2: int | None = None, dx2: float = 0.0) -> str:
    """The attributes the page's script zooms by: the time (and px offset) of an element's
    start, and of its end for a band, a bar or a line."""
    end = "" if t2 is None else f' data-t2="{t2}" data-dx2="{num(dx2)}"'
    return f'data-t="{t}" data-dx="{num(dx)}"{end}'


def render_swimlanes(records: list[dict], rows: list[tuple[int, ActorInfo]], states: States
                     ) -> tuple[str, list[str]]:
    """The lane names and the lanes (two SVGs side by side, the lanes scrolling), and notes
    on what was condensed to keep them readable."""
    names = {a.id: a.name for _, a in rows}
    single, binned, notes = _split(records)
    lanes = _lanes(rows, single + binned)
    row_of = {lane.key: i for i, lane in enumerate(lanes)}
    single = [r for r in single if lane_of(r) in row_of]
    spans = [span(r) for r in single]
    end_ms = max([r["t"] for r in records] + [when(r) for r in single + binned]
                 + [until for _, until in filter(None, spans)], default=0)
    axis = Axis(end_ms)
    placed = _place(single)
    tail = max((dx for _, dx in placed), default=0.0) + TAIL

    def cy(lane: Lane) -> float:
        return TOP + row_of[lane] * LANE_H + LANE_H / 2

    at = [(axis.x(t, dx), cy(lane_of(r))) for r, (t, dx) in zip(single, placed)]
    per_lane: dict[Lane, list[str]] = defaultdict(list)
    _bands(single, placed, at, axis, (end_ms, tail), per_lane, names, states)
    _spans(single, spans, placed, at, axis, per_lane)
    for r, (t, dx), (x, y) in zip(single, placed, at):
        glyph = glyph_of(r)
        if glyph is not None:
            per_lane[lane_of(r)].append(
                f'<g class="m {glyph}" {_at(t, dx)} transform="translate({num(x)},{num(y)})">'
                f'<title>{escape(tooltip(r, names, states))}</title>{GLYPHS[glyph][0]}</g>')
    _bins(binned, axis, row_of, per_lane)

    width = num(axis.x(end_ms, tail))
    height = TOP + len(lanes) * LANE_H + 8
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" class="lanes" width="{width}" height="{height}" '
           f'data-x0="{X0}" data-scale="{axis.scale!r}" data-end="{end_ms}" data-tail="{num(tail)}" '
           f'data-max-zoom="{axis.max_zoom!r}" data-tick-gap="{TICK_GAP}">',
           '<defs><marker id="arrow" viewBox="0 0 8 8" refX="7" refY="4" markerWidth="7" markerHeight="7" '
           'orient="auto-start-reverse"><path d="M0 0L8 4L0 8Z"/></marker></defs>']
    out.append(f'<g class="axis" data-top="{TOP}" data-bottom="{height - 8}">')
    for x, t, text in axis.ticks():
        out.append(f'<line x1="{num(x)}" y1="{TOP - 6}" x2="{num(x)}" y2="{height - 8}"/>'
                   f'<text x="{num(x)}" y="{TOP - 10}" data-tick="{t}">{text}</text>')
    out.append("</g>")
    for i, lane in enumerate(lanes):
        attrs = _lane_attrs(lane, f'data-actor-id="{escape(str(lane.key))}" data-actor-name="{escape(lane.name)}"')
        out.append(f'<g class="lane{" alt" * (i % 2)}" {attrs}><rect class="bg" x="0" y="{TOP + i * LANE_H}" '
                   f'width="100%" height="{LANE_H}"/>')
        out += per_lane.get(lane.key, [])
        out.append("</g>")
    out.append('<g class="links">')
    out += _links(single, placed, at, names)
    out += _callers(single, placed, at, {lane: cy(lane) for lane in row_of})
    out.append("</g></svg>")
    return ('<div class="timeline">' + _names(lanes, height) + '\n<div class="scroll" id="scroll">'
            + "\n".join(out) + "</div></div>"), notes


def _names(lanes: list[_Lane], height: int) -> str:
    """The column of lane names, beside the lanes (it stays when they scroll)."""
    out = [f'<svg class="names" width="{NAMES_W}" height="{height}">']
    for i, lane in enumerate(lanes):
        y = TOP + i * LANE_H
        attrs = _lane_attrs(lane, f'data-name-of="{escape(str(lane.key))}"')
        if lane.key is None or isinstance(lane.key, tuple):
            title = _LANE_TITLES[lane.key[0] if lane.key else None]
        else:
            title = f"{lane.name} {lane.key}"
        room = 24 - 2 * lane.depth  # characters
        shown = lane.name if len(lane.name) <= room else lane.name[:room - 1] + "\u2026"
        out.append(f'<g class="lname{" alt" * (i % 2)}" {attrs}><rect class="bg" x="0" y="{y}" width="100%" '
                   f'height="{LANE_H}"/><text class="name" x="{6 + 12 * lane.depth}" y="{y + LANE_H / 2 + 4:g}">'
                   f'<title>{escape(title)}</title>{escape(shown)}</text></g>')
    out.append("</svg>")
    return "\n".join(out)


_LANE_TITLES = {
    None: "records of no actor: messages from outside (the test), drawn when they were meant to leave; faults on "
          "links or groups",
    WORLD: "calls into this interface of the outside world: a mark per call (hover for it), a bar for the time its "
           "answer took, a line up to the actor that made it",
    RPC: "rpc calls between actors: a mark at each call's outcome, a bar from when it was made, a line up to the "
         "actor that made it",
}


def _lane_attrs(lane: _Lane, actor_attrs: str) -> str:
    """What tells a lane apart in the page: ``actor_attrs`` for an actor's lane."""
    if lane.key is None:
        return 'data-lane="outside"'
    if isinstance(lane.key, tuple):
        kind, interface = lane.key
        return f'data-lane="{kind}"' + (f' data-interface="{escape(interface)}"' if kind == WORLD else "")
    return actor_attrs


def _spans(single: list[dict], spans: list, placed: list, at: list, axis: Axis, per_lane: dict) -> None:
    """A bar on a world or rpc lane for the time each call took (``span``); its end at the
    call's mark keeps the mark's offset."""
    for r, (t, dx), (_, y), between in zip(single, placed, at, spans):
        if between is None:
            continue
        (start, until) = between
        ends = (start, dx if start == t else 0.0, until, dx if until == t else 0.0)
        x, x_end = axis.x(*ends[:2]), axis.x(*ends[2:])
        per_lane[lane_of(r)].append(
            f'<rect class="span" {_at(*ends)} x="{num(x)}" y="{num(y - LANE_H / 2 + 8)}" '
            f'width="{num(max(1.0, x_end - x))}" height="{LANE_H - 16}"><title>{escape(lane_name({}, lane_of(r)))}: '
            f'from {start} ms to {until} ms</title></rect>')


def _bands(single: list[dict], placed: list, at: list, axis: Axis, end: tuple[int, float], per_lane: dict,
           names: dict[str, str], states: States) -> None:
    """A band from each start to the exit that ends that incarnation (or to ``end``: the
    run's last millisecond, and px past it)."""
    open_at: dict[str, int] = {}  # actor -> index of its start record

    def close(actor: str, until: tuple[int, float], x_end: float, exit_record: dict | None) -> None:
        i = open_at.pop(actor)
        start, (x, y) = single[i], at[i]
        ended = (f"{exit_record['t']} ms ({exit_record.get('status')}: "
                 f"{(exit_record.get('reason') or {}).get('kind')})" if exit_record else "the end")
        state = f"; its state at start {states.text(start['state'])}" if "state" in start else ""
        per_lane[actor].append(
            f'<rect class="band" {_at(*placed[i], *until)} x="{num(x)}" y="{num(y - LANE_H / 2 + 7)}" '
            f'width="{num(max(1.0, x_end - x))}" height="{LANE_H - 14}"><title>{escape(label(names, actor))} '
            f'incarnation {start.get("incarnation")}: from {start["t"]} ms to {ended}{escape(state)}</title></rect>')

    for i, r in enumerate(single):
        actor = r.get("actor")
        if r["kind"] == "start":
            if actor in open_at:
                close(actor, placed[i], at[i][0], None)
            open_at[actor] = i
        elif r["kind"] == "exit" and actor in open_at:
            close(actor, placed[i], at[i][0], r)
    for actor in list(open_at):
        close(actor, end, axis.x(*end), None)


def _callers(single: list[dict], placed: list, at: list, lane_y: dict) -> list[str]:
    """A dotted line from each world or rpc call's mark up to its caller's lane."""
    out = []
    for r, (t, dx), (x, y) in zip(single, placed, at):
        caller = r.get("actor")
        if r["kind"] in (WORLD, RPC) and caller is not None and caller in lane_y:
            out.append(f'<line class="link call" {_at(t, dx, t, dx)} x1="{num(x)}" y1="{num(lane_y[caller])}" '
                       f'x2="{num(x)}" y2="{num(y)}"/>')
    return out


def _bins(binned: list[dict], axis: Axis, row_of: dict, per_lane: dict) -> None:
    """Grey bars: how many condensed records each lane has in each time bin."""
    if not binned:
        return
    end_ms = axis.end_ms
    size = max(1, -(-(end_ms + 1) // BINS))
    counts: dict[tuple, Counter] = defaultdict(Counter)
    for r in binned:
        if lane_of(r) in row_of:
            counts[(lane_of(r), when(r) // size)][r["kind"]] += 1
    top = max(sum(c.values()) for c in counts.values()) if counts else 1
    for (actor, b), kinds in counts.items():
        total = sum(kinds.values())
        lo, hi = b * size, min(end_ms + 1, (b + 1) * size)  # [lo, hi) ms
        x, x_end = axis.x(lo), axis.x(hi)
        h = max(2.0, (LANE_H - 8) * math.log1p(total) / math.log1p(top))  # a few stay visible beside many
        y = TOP + row_of[actor] * LANE_H + LANE_H - 4 - h
        detail = ", ".join(f"{n} {kind}" for kind, n in sorted(kinds.items()))
        per_lane[actor].append(
            f'<rect class="agg" {_at(lo, 0, hi, 0)} x="{num(x)}" y="{num(y)}" width="{num(max(1.0, x_end - x))}" '
            f'height="{num(h)}"><title>{total} records from {lo} to {hi - 1} ms: {escape(detail)}</title></rect>')


def _links(single: list[dict], placed: list, at: list, names: dict[str, str]) -> list[str]:
    """An arrow from each send or request (where and when it left) to its delivery (or to
    where it was lost), and a dashed line from each reply back to the lane of whoever asked."""
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
        j = sources[key]
        src = single[j]
        (x1, y1), (x2, y2) = at[j], at[i]
        what = f"msg #{key[1]}" if key[0] == "msg" else f"request {str(key[1])[:8]}"
        if kind == "reply":  # back to the asker's lane, at the time of the answer
            out.append(f'<line class="link reply" {_at(*placed[i], *placed[i])} x1="{num(x2)}" y1="{num(y2)}" '
                       f'x2="{num(x2)}" y2="{num(y1)}"><title>{escape(what)} answered by '
                       f'{escape(label(names, r.get("actor")))} at {r["t"]} ms</title></line>')
            continue
        css = "link" if kind == "deliver" else "link lost"
        out.append(f'<line class="{css}" {_at(*placed[j], *placed[i])} x1="{num(x1)}" y1="{num(y1)}" '
                   f'x2="{num(x2)}" y2="{num(y2)}" marker-end="url(#arrow)"><title>{escape(what)}: '
                   f'{escape(label(names, src.get("actor")))} \u2192 {escape(label(names, r.get("actor")))}, '
                   f'{placed[j][0]} \u2192 {r["t"]} ms{"" if kind == "deliver" else " (" + kind + ")"}</title></line>')
    return out
