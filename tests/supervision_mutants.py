"""Supervisors with each of the old, wrong behaviours that the differential test against
real OTP found (issue: "Supervision that agrees with real Erlang/OTP"), as context
managers that patch one rule of ``theater_harness.supervision.supervisor``. The goldens
(tests/test_otp.py), the invariants and a Hypothesis search from scratch
(tests/test_properties.py) must each catch every one of them."""

from __future__ import annotations

from contextlib import contextmanager
from unittest import mock

from theater_harness.exit import ERR, ExitReason
from theater_harness.supervision import supervisor as supervisor_module


@contextmanager
def temporaries_never_started_again():
    """A restarted supervisor started its children but its temporary ones."""
    honest = supervisor_module.respawned
    with mock.patch.object(supervisor_module, "respawned", lambda rt, sup: tuple(
            c for c in honest(rt, sup) if rt._actors[c].child_spec.restart != "temporary")):
        yield


@contextmanager
def group_restarts_skip_ended_siblings():
    """one_for_all and rest_for_one planned over the running children only."""
    with mock.patch.object(supervisor_module, "has_spec", lambda sup, child: child.alive):
        yield


@contextmanager
def giving_up_is_a_failure():
    """A supervisor that gave up exited abnormally, so a transient one was restarted."""
    def abnormal(sup, message, now):
        return ExitReason(ERR, message, sup.id, sup.incarnation, time_ms=now, cause="escalated")

    with mock.patch.object(supervisor_module, "gave_up", abnormal):
        yield


MUTANTS = (temporaries_never_started_again, group_restarts_skip_ended_siblings, giving_up_is_a_failure)
