"""Failure isolation: the failure of a child touches nothing outside its supervisor's
affected set. The set is what the supervisor's policy plans for that child (the child,
the siblings its strategy stops and restarts), the supervisor itself and its whole
subtree when the policy escalates or shuts it down, and the subtrees of all those."""

from __future__ import annotations

from typing import Any, Mapping

from ._check import Pass, check
from ._records import Actors
from ._responses import Response
from ._violation import Violation

NAME = "failure_isolation"


def check_failure_isolation(records: Any, *, policies: Mapping[str, Mapping] | None = None) -> list[Violation]:
    """Every actor a supervisor stops (cause ``supervisor``) or restarts in its response to
    a child's end lies in that end's affected set. (What the response window is, and why
    deliberate actions in later calls are not part of it: see ``_responses``.)"""
    return check([FailureIsolation], records, policies)


class FailureIsolation(Pass):
    uses_responses = True

    def violations(self) -> list[Violation]:
        found = (_isolated(resp, self.actors) for resp in self.checker.responses.final())
        return [v for v in found if v is not None]


def _isolated(resp: Response, actors: Actors) -> Violation | None:
    affected = affected_set(resp, actors)
    outside = [r for r in sorted(resp.stops + resp.restarts, key=lambda r: r["seq"]) if r["actor"] not in affected]
    if not outside:
        return None
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
    return Violation(NAME, outside[0]["t"], (resp.supervisor, resp.child) + offenders, message,
                     (resp.failure,) + tuple(outside))


def affected_set(resp: Response, actors: Actors) -> set[str]:
    """The failed child, the plan's siblings, the supervisor when it escalates, and their subtrees."""
    expected = resp.expected
    roots = {resp.child, *expected.stop, *expected.restart}
    if expected.escalate or expected.shutdown:
        roots.add(resp.supervisor)
    return roots | {d for a in roots for d in actors.descendants(a)}
