"""Failure isolation: the failure of a child touches nothing outside its supervisor's
affected set. The set is what the supervisor's policy plans for that child (the child,
the siblings its strategy stops and restarts), the supervisor itself and its whole
subtree when the policy escalates or shuts it down, and the subtrees of all those."""

from __future__ import annotations

from typing import Any, Mapping

from ._records import Actors, actors_of, records_of
from ._responses import Response, policies_of, responses
from ._violation import Violation

NAME = "failure_isolation"


def check_failure_isolation(records: Any, *, policies: Mapping[str, Mapping] | None = None) -> list[Violation]:
    """Every actor a supervisor stops (cause ``supervisor``) or restarts in its response to
    a child's end lies in that end's affected set. (What the response window is, and why
    deliberate actions in later calls are not part of it: see ``_responses``.)"""
    records = records_of(records)
    actors = actors_of(records)
    found = []
    for resp in responses(records, actors, policies_of(actors, policies)):
        affected = affected_set(resp, actors)
        outside = [r for r in sorted(resp.stops + resp.restarts, key=lambda r: r["seq"]) if r["actor"] not in affected]
        if not outside:
            continue
        stopped = [r["actor"] for r in outside if r["kind"] == "exit"]
        restarted = [r["actor"] for r in outside if r["kind"] == "restart"]
        did = " and ".join(part for part in (
            f"stopped {actors.labels(stopped)}" if stopped else "",
            f"restarted {actors.labels(restarted)}" if restarted else "") if part)
        planned = sorted(affected, key=lambda a: actors.info[a].spawn["seq"] if a in actors else 0)
        message = (f"the end of {actors.label(resp.child)} under {actors.label(resp.supervisor)} "
                   f"({resp.policy.describe()}) {did}, outside its affected set {actors.labels(planned)} "
                   f"({resp.expected.why})")
        offenders = tuple(dict.fromkeys(r["actor"] for r in outside))
        found.append(Violation(NAME, outside[0]["t"], (resp.supervisor, resp.child) + offenders, message,
                               (resp.failure,) + tuple(outside)))
    return found


def affected_set(resp: Response, actors: Actors) -> set[str]:
    """The failed child, the plan's siblings, the supervisor when it escalates, and their subtrees."""
    expected = resp.expected
    roots = {resp.child, *expected.stop, *expected.restart}
    if expected.escalate or expected.shutdown:
        roots.add(resp.supervisor)
    return roots | {d for a in roots for d in actors.descendants(a)}
