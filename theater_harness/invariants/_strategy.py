"""Strategy conformance: a supervisor responds to the end of a child exactly as its
policy says (OTP ``supervisor``): ``one_for_one`` restarts the failed child only;
``one_for_all`` stops every other child (last started first) and restarts them all (in
start order); ``rest_for_one`` does that for the children started after the failed one;
temporary children are never restarted, transient ones only after an abnormal exit, no
child after a failure matching ``permanent_errors``; a group restart starts every child
spec of the group, ended non-temporary siblings too; a significant child that is not
restarted shuts the supervisor down as its ``auto_shutdown`` says; and a restart past
the intensity is an escalation instead. The response window is described in
``_responses``."""

from __future__ import annotations

from typing import Any, Mapping

from ._check import Pass, check
from ._records import Actors
from ._responses import Expected, Response
from ._violation import Violation

NAME = "strategy_conformance"


def check_strategy_conformance(records: Any, *, policies: Mapping[str, Mapping] | None = None) -> list[Violation]:
    """Each response equals its policy's plan: the same siblings stopped and children
    restarted, in the same order, or the escalation. A response the supervisor could not
    finish (it ended during its handler, or a backoff delay outlasted it or the trace)
    must be a beginning of the plan, and so must a group restart in which a child failed
    to start (OTP's ``restart_multiple_children`` stops at it, and its failure comes back
    as a new end)."""
    return check([StrategyConformance], records, policies)


class StrategyConformance(Pass):
    uses_responses = True

    def violations(self) -> list[Violation]:
        found = (_check(resp, self.actors) for resp in self.checker.responses.final())
        return [v for v in found if v is not None]


def _check(resp: Response, actors: Actors) -> Violation | None:
    expected = resp.expected
    stops, restarts, escalated, shut_down = resp.did()
    if resp.aborted:  # a restarted child failed to start: the rest of the plan is not started
        ok = (stops, restarts, escalated, shut_down) == (expected.stop, expected.restart[:len(restarts)], False, False)
    elif resp.cut_short:
        ok = (stops == expected.stop[:len(stops)] and restarts == expected.restart[:len(restarts)]
              and (expected.escalate or not escalated) and (expected.shutdown or not shut_down))
    else:
        ok = ((stops, restarts, escalated, shut_down)
              == (expected.stop, expected.restart, expected.escalate, expected.shutdown))
    if ok:
        return None
    failure = resp.failure
    reason = failure["reason"]
    how = reason["kind"] + (", from outside" if reason.get("cause") == "outside" else "")
    message = (f"after {actors.label(resp.child)} ended ({how}), {actors.label(resp.supervisor)} "
               f"({resp.policy.describe()}) should {_should(expected, actors)}; it {_did(resp, actors)}")
    return Violation(NAME, failure["t"], (resp.supervisor, resp.child), message, resp.evidence())


def _should(expected: Expected, actors: Actors) -> str:
    if expected.escalate:
        return f"escalate ({expected.why})"
    if expected.shutdown:
        return f"shut itself down ({expected.why})"
    if not expected.stop and not expected.restart:
        return f"restart nothing ({expected.why})"
    stop = f"stop {actors.labels(expected.stop)}, then " if expected.stop else ""
    return f"{stop}restart {actors.labels(expected.restart)} ({expected.why})"


def _did(resp: Response, actors: Actors) -> str:
    stops, restarts, escalated, shut_down = resp.did()
    parts = []
    if stops:
        parts.append(f"stopped {actors.labels(stops)}")
    if restarts:
        parts.append(f"restarted {actors.labels(restarts)}")
    if escalated:
        parts.append("escalated")
    if shut_down:
        parts.append("shut itself down")
    done = " and ".join(parts) if parts else "stopped and restarted nothing"
    return done + (" (its response was cut short)" if resp.cut_short else "")
