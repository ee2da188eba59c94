"""Restart types (OTP): a ``temporary`` child is never restarted by its supervisor, also
not when it was stopped because a sibling failed; a ``transient`` child is restarted only
after an abnormal exit (``normal`` and ``shutdown`` are not abnormal: a transient child
stopped from outside, or a transient supervisor that gave up, stays stopped). A
``permanent`` child may always be restarted. When the supervisor is itself restarted, its
new incarnation starts every child again, temporary ones included (OTP's ``init``)."""

from __future__ import annotations

from typing import Any, Mapping

from ._check import Pass, check
from ._records import CAUSE_PARENT_ENDED, CAUSE_SUPERVISOR, abnormal, cause
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
    return check([RestartTypes], records, policies)


class RestartTypes(Pass):
    def __init__(self, checker: Any):
        super().__init__(checker)
        self.last_exit: dict[str, dict] = {}
        self.found: list[Violation] = []

    def on_exit(self, r: dict) -> None:
        self.last_exit[r["actor"]] = r

    def on_restart(self, r: dict) -> None:
        actors = self.actors
        if r["actor"] not in actors:
            return
        child, sup = r["actor"], r.get("supervisor")
        restart_type = actors.info[child].restart
        before = self.last_exit.get(child)
        evidence = tuple(x for x in (before, r) if x is not None)
        who = f"{actors.label(child)} was restarted by {actors.label(sup)} (incarnation {r.get('incarnation')})"
        rebuilt = (r.get("cause") or "").startswith(SUPERVISOR_RESTARTED)
        if restart_type == "temporary" and not rebuilt:
            self.found.append(Violation(NAME, r["t"], (child, sup), f"temporary child {who}: a temporary child is "
                                                                     f"never restarted", evidence))
        elif (restart_type == "transient" and before is not None and not abnormal(before)
              and cause(before) not in (CAUSE_SUPERVISOR, CAUSE_PARENT_ENDED) and r.get("cause") == child):
            kind = before["reason"]["kind"]
            self.found.append(Violation(NAME, r["t"], (child, sup),
                                        f"transient child {who} after a {kind} exit, which is not abnormal: a "
                                        f"transient child is restarted only after an abnormal exit", evidence))

    def violations(self) -> list[Violation]:
        return list(self.found)
