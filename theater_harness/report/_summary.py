"""The CLI's text summary of a run: a timeline of what mattered, the actors, the totals."""

from __future__ import annotations

from collections import Counter
from typing import Any

from ._actors import label
from ._describe import describe

# Trace kinds worth a summary line; the rest are counted.
_TIMELINE = ("spawn", "start", "exit", "log", "external-stop", "request-failed", "drop", "skip",
             "channel-rejected", "restart", "escalate", "auto-shutdown", "not-restarted", "backoff", "replay",
             "run-ended", "fault", "missed")


def timeline(runtime: Any, *, limit: int = 60) -> list[str]:
    """The notable records of the run, one line each (at most ``limit``, then a count)."""
    names = {a.id: a.name for a in runtime.actors}
    lines = []
    for record in runtime.trace.of_kind(*_TIMELINE):
        r = record.to_dict()
        lines.append(f"  {r['t']:>8} ms  {r['kind']:<15} {label(names, r.get('actor')):<14} "
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
    """Message and request totals."""
    kinds = Counter(runtime.trace.kinds())
    return (f"messages: {kinds['send']} sent, {kinds['deliver']} delivered, {kinds['drop']} dropped; "
            f"requests: {kinds['request']} made, {kinds['reply']} answered, {kinds['request-failed']} failed")


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
