"""Restart intensity (OTP ``supervisor``): at most ``intensity`` restarts within
``period``. Each restart is recorded first; when more than ``intensity`` restarts then
lie in the window ``[now - period, now]`` (inclusive, compared in whole ``resolution_ms``
units, OTP's whole seconds) the supervisor does not restart: it stops its children and
exits with reason ``shutdown`` (cause ``escalated``), and its own parent's policy applies:
a permanent supervisor is restarted, a transient or temporary one is not."""

from __future__ import annotations

from typing import Any, Mapping

from ..supervision.intensity import add_restart, in_period
from ._check import Pass, check
from ._records import Actors
from ._responses import Response
from ._violation import Violation

NAME = "intensity"


def check_intensity(records: Any, *, policies: Mapping[str, Mapping] | None = None) -> list[Violation]:
    """For each response of a supervisor with a policy: a restart past the intensity must
    be an escalation (an ``escalate`` record, then the supervisor's exit with kind
    ``shutdown``, cause ``escalated``); an escalation must be due; and the restarts it actually made (one per
    response, at its decision time) never number more than ``intensity`` in any window.
    A supervisor's restart history starts empty with each of its incarnations."""
    return check([Intensity], records, policies)


class Intensity(Pass):
    uses_responses = True

    def violations(self) -> list[Violation]:
        exits = self.checker.responses.exits  # every exit of a supervisor with a policy
        histories: dict[tuple[str, int], tuple[int, ...]] = {}  # (supervisor, generation) -> restart times
        found = []
        for resp in self.checker.responses.final():
            key = (resp.supervisor, resp.generation)
            violation = _escalation(resp, self.actors, exits.get(resp.supervisor, []), histories.get(key, ()))
            if resp.restarts:
                history, exceeded = add_restart(histories.get(key, ()), resp.time_ms, resp.policy.intensity,
                                                resp.policy.period_ms, resp.policy.resolution_ms)
                histories[key] = history
                if exceeded and violation is None:
                    violation = _too_many(resp, self.actors, history)
            if violation is not None:
                found.append(violation)
        return found


def _escalation(resp: Response, actors: Actors, sup_exits: list[dict], history: tuple[int, ...]) -> Violation | None:
    sup, policy, expected = resp.supervisor, resp.policy, resp.expected
    who = f"{actors.label(sup)} ({policy.describe()})"
    restarted = f"restarted {actors.labels(r['actor'] for r in resp.restarts)}" if resp.restarts else "did nothing"
    if expected.escalate and resp.escalation is None and not resp.cut_short:
        return Violation(NAME, resp.time_ms, (sup,), f"{who} should have escalated when "
                         f"{actors.label(resp.child)} ended: {expected.why}; it {restarted} instead",
                         resp.evidence())
    if resp.escalation is None:
        return None
    if not expected.escalate:
        count = sum(1 for t in history if in_period(t, resp.time_ms, policy.period_ms, policy.resolution_ms))
        return Violation(NAME, resp.escalation["t"], (sup,), f"{who} escalated when {actors.label(resp.child)} "
                         f"ended, but that was not due: {count} restarts within {policy.period_ms} ms before it "
                         f"(expected: {expected.why})", resp.evidence())
    end = next((e for e in sup_exits if e["seq"] > resp.escalation["seq"]), None)
    if end is None or (end["reason"]["kind"], end["reason"].get("cause")) != ("shutdown", "escalated"):
        what = ("did not end" if end is None else
                f"ended with kind {end['reason']['kind']!r} (cause {end['reason'].get('cause')!r})")
        return Violation(NAME, resp.escalation["t"], (sup,), f"{who} escalated, then {what}: a supervisor "
                         f"that gives up exits with reason shutdown (cause 'escalated'), as OTP's does",
                         resp.evidence() + ((end,) if end is not None else ()))
    return None


def _too_many(resp: Response, actors: Actors, history: tuple[int, ...]) -> Violation:
    policy = resp.policy
    return Violation(NAME, resp.time_ms, (resp.supervisor,),
                     f"{actors.label(resp.supervisor)} ({policy.describe()}) restarted "
                     f"{actors.labels(r['actor'] for r in resp.restarts)} when {actors.label(resp.child)} ended: "
                     f"its restart {len(history)} within {policy.period_ms} ms (at "
                     f"{', '.join(str(t) for t in sorted(history))} ms), more than intensity {policy.intensity}",
                     resp.evidence())
