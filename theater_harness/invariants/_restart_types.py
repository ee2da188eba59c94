"""Restart types (OTP): a ``temporary`` child is never restarted by its supervisor, also
not when it was stopped because a sibling failed; a ``transient`` child is restarted only
after an abnormal exit (``normal`` and ``shutdown`` are not abnormal: a transient child
stopped from outside, or a transient supervisor that gave up, stays stopped). A
``permanent`` child may always be restarted. When the supervisor is itself restarted, its
new incarnation starts every child again, temporary ones included (OTP's ``init``)."""

from __future__ import annotations

from typing import Any, Mapping

from ._records import CAUSE_PARENT_ENDED, CAUSE_SUPERVISOR, actors_of, abnormal, cause, records_of
from ._responses import SUPERVISOR_RESTARTED
from ._violation import Violation

NAME = "restart_types"


def check_restart_types(records: Any, *, policies: Mapping[str, Mapping] | None = None) -> list[Violation]:
    """Every restart record against the child's restart type (from its spawn record).

    A transient child's restart for its own end (the restart's cause is the child itself)
    is judged by that exit, when it was the child's own doing (not a stop by its
    supervisor, nor its parent's end). A group restart for a sibling's failure starts an
    ended transient child again (OTP ``restart_multiple_children``): that is no breach. A restarted supervisor restarting its children (cause
    ``supervisor-restarted:<id>``) rebuilds its subtree, as an OTP supervisor's init starts
    every child spec: that restarts transient and temporary children alike.
    ``policies`` is accepted for a uniform signature; restart types come from the trace."""
    records = records_of(records)
    actors = actors_of(records)
    last_exit: dict[str, dict] = {}
    found = []
    for r in records:
        if r["kind"] == "exit":
            last_exit[r["actor"]] = r
        if r["kind"] != "restart" or r["actor"] not in actors:
            continue
        child, sup = r["actor"], r.get("supervisor")
        restart_type = actors.info[child].restart
        before = last_exit.get(child)
        evidence = tuple(x for x in (before, r) if x is not None)
        who = f"{actors.label(child)} was restarted by {actors.label(sup)} (incarnation {r.get('incarnation')})"
        rebuilt = (r.get("cause") or "").startswith(SUPERVISOR_RESTARTED)
        if restart_type == "temporary" and not rebuilt:
            found.append(Violation(NAME, r["t"], (child, sup), f"temporary child {who}: a temporary child is never "
                                                                f"restarted", evidence))
        elif (restart_type == "transient" and before is not None and not abnormal(before)
              and cause(before) not in (CAUSE_SUPERVISOR, CAUSE_PARENT_ENDED) and r.get("cause") == child):
            kind = before["reason"]["kind"]
            found.append(Violation(NAME, r["t"], (child, sup),
                                   f"transient child {who} after a {kind} exit, which is not abnormal: a "
                                   f"transient child is restarted only after an abnormal exit", evidence))
    return found
