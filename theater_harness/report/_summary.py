"""The CLI's text summary of a run: a timeline of what mattered, the actors, the totals."""

from __future__ import annotations

from collections import Counter
from typing import Any

from ._actors import lane_name, lane_of
from ._describe import describe

# Trace kinds worth a summary line; the rest are counted.
_TIMELINE = ("spawn", "start", "exit", "log", "external-stop", "request-failed", "drop", "skip",
             "channel-rejected", "restart", "escalate", "auto-shutdown", "not-restarted", "backoff", "replay",
             "run-ended", "fault", "missed", "world", "rpc")


def timeline(runtime: Any, *, limit: int = 60) -> list[str]:
    """The notable records of the run, one line each (at most ``limit``, then a count)."""
    names = {a.id: a.name for a in runtime.actors}
    lines = []
    for record in runtime.trace.of_kind(*_TIMELINE):
        r = record.to_dict()
        lines.append(f"  {r['t']:>8} ms  {r['kind']:<15} {lane_name(names, lane_of(r)):<14} "
                     f"{describe(r, names)}")
    if len(lines) > limit:
        hidden = len(lines) - limit
        lines = lines[:limit] + [f"  ... {hidden} more lines (see the trace)"]
    return lines


def actor_table(runtime: Any) -> list[str]:
    """One row per actor: name, id, status, incarnation, exit reason."""
    rows = [("name", "id", "status", "inc", "exit")]
    for view in runtime.actors:
        reason = view.exit_reason
        rows.append((view.name, view.id[:8], view.status, str(view.incarnation),
                     f"{reason.kind}: {reason.message}" if reason else "-"))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    return ["  " + "  ".join(cell.ljust(w) for cell, w in zip(row[:4], widths)) + "  " + row[4] for row in rows]


def counts(runtime: Any) -> str:
    """What became of the run's messages, requests and channel messages, each counted once.

    messages (``send``): ``sent`` = ``delivered`` (at least once; "N of them twice" when a
    ``duplicate`` fault gave the recipient a second copy) + ``dropped`` (never delivered: a
    ``drop`` or ``partition`` fault, or the recipient had ended) + ``in flight`` (still on
    their way when the run ended; shown when there are any).
    requests: ``made`` = ``answered`` + ``failed`` (timed out, refused, cancelled, or their
    recipient ended; "N of them dropped" when a link fault lost them or they arrived after
    failing) + ``pending`` (no answer yet when the run ended; shown when there are any). A
    request is never counted among the messages.
    channels (only when one was opened): opened, messages sent with ``send-on-channel`` (a
    handshake's accept message apart), messages dropped (the channel had closed, a link
    fault, or the recipient had ended).
    """
    sent: list = []
    deliveries: Counter = Counter()
    dropped: set = set()
    requests = answered = opened = channel_sent = channel_dropped = 0
    failed: set = set()
    requests_dropped: set = set()
    for r in runtime.trace.dicts():
        kind = r["kind"]
        if kind == "send":
            sent.append(r["msg"])
        elif kind == "deliver":
            if "msg" in r:
                deliveries[r["msg"]] += 1
        elif kind == "drop":
            if "msg" in r:
                dropped.add(r["msg"])
            elif "request" in r:
                requests_dropped.add(r["request"])
            elif "channel" in r or r.get("item") == "channel-message":
                channel_dropped += 1
        elif kind == "request":
            requests += 1
        elif kind == "reply":
            answered += 1
        elif kind == "request-failed":
            failed.add(r["request"])
        elif kind == "channel-open":
            opened += 1
        elif kind == "channel-send":
            channel_sent += 1
    delivered = sum(1 for n in sent if deliveries[n])
    twice = sum(1 for n in sent if deliveries[n] > 1)
    lost = sum(1 for n in sent if not deliveries[n] and n in dropped)
    in_flight = len(sent) - delivered - lost
    pending = requests - answered - len(failed)
    failed_dropped = len(failed & requests_dropped)
    text = (f"messages: {len(sent)} sent, {delivered} delivered" + (f" ({twice} of them twice)" if twice else "")
            + f", {lost} dropped" + (f", {in_flight} in flight" if in_flight else "")
            + f"; requests: {requests} made, {answered} answered, {len(failed)} failed"
            + (f" ({failed_dropped} of them dropped)" if failed_dropped else "")
            + (f", {pending} pending" if pending else ""))
    if opened:
        text += f"; channels: {opened} opened, {channel_sent} messages sent, {channel_dropped} dropped"
    return text


def summary(runtime: Any, title: str) -> str:
    """Everything above, for one run."""
    out = [title]
    out += timeline(runtime)
    out.append("  actors:")
    out += ["  " + line for line in actor_table(runtime)]
    out.append(f"  {counts(runtime)}")
    out.append(f"  virtual time {runtime.now} ms, {len(runtime.trace)} trace records, "
               f"trace sha256 {runtime.trace.hash()[:16]}")
    return "\n".join(out)
