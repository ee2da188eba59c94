"""Readable text summaries of a run: a timeline of what mattered, and the actors."""

from __future__ import annotations

from collections import Counter
from typing import Any

# Trace kinds worth a timeline line; the rest are counted.
_TIMELINE = ("spawn", "start", "exit", "log", "external-stop", "request-failed", "drop", "skip",
             "channel-rejected", "restart", "escalate", "not-restarted", "backoff", "replay", "run-ended")


def _label(names: dict[str, str], actor_id: str | None) -> str:
    if actor_id is None:
        return "(outside)"
    return names.get(actor_id, actor_id[:8])


def _line(record: Any, names: dict[str, str]) -> str:
    f = record.fields
    who = _label(names, record.actor)
    if record.kind == "spawn":
        parent = f" under {_label(names, f['parent'])}" if f.get("parent") else ""
        detail = f"{record.actor[:8]} from manifest {f['manifest']!r}{parent}"
    elif record.kind == "start":
        detail = f"incarnation {f['incarnation']}"
    elif record.kind == "exit":
        reason = f["reason"]
        where = f" in {reason['export']}" if reason.get("export") else ""
        detail = f"{f['status']}: {reason['kind']}{where}: {reason['message']}"
    elif record.kind == "log":
        detail = f["msg"]
    elif record.kind == "request-failed":
        detail = f"request {f['request'][:8]}: {f['error']}"
    elif record.kind == "drop":
        detail = f.get("reason", "")
    elif record.kind == "skip":
        detail = f"no {f['export']} export: call skipped"
    elif record.kind == "restart":
        detail = f"incarnation {f['incarnation']} ({f['recovery']}) by {_label(names, f['supervisor'])}"
    elif record.kind == "escalate":
        detail = f"{f['restarts']} restarts > intensity {f['intensity']} in {f['period_ms']} ms: gives up"
    elif record.kind == "not-restarted":
        detail = f["why"]
    elif record.kind == "replay":
        detail = f"{f['calls']} of {f['of']} calls replayed" + (
            f", {len(f['divergences'])} divergence(s)" if f["divergences"] else "")
    elif record.kind == "run-ended":
        detail = f"the root supervisor gave up: {f['reason']['kind']}: {f['reason']['message']}"
    else:
        detail = ", ".join(f"{k}={v}" for k, v in f.items())
    return f"  {record.time_ms:>8} ms  {record.kind:<15} {who:<14} {detail}"


def timeline(runtime: Any, *, limit: int = 60) -> list[str]:
    """The notable records of the run, one line each (at most ``limit``, then a count)."""
    names = {a.id: a.name for a in runtime.actors}
    lines = [_line(r, names) for r in runtime.trace if r.kind in _TIMELINE]
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
