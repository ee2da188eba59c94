"""The harness against real Erlang/OTP supervisors (``tests/otp/``).

The goldens (``tests/otp/golden.jsonl``) are what real OTP 25 did with 600 generated
schedules; the harness must do the same with each, here without Erlang. With Erlang
installed (``escript``; .ci/run installs Debian's erlang-nox), a sample of the goldens is
re-run through live OTP, to show they still are what OTP does, together with fresh
schedules drawn from this session's seed, compared with the harness at once.
``python tests/otp/differential.py check --live N`` runs thousands.
"""

from __future__ import annotations

import random
from collections import Counter

import pytest

from otp.schedules import (NO_ESCRIPT, OtpNode, OtpSchedule, disagreement, draw_schedules, escript, harness_events,
                           load_goldens, normalize, run_otp)
from supervision_mutants import MUTANTS

GOLDENS = load_goldens()
LIVE_GOLDENS = 60  # goldens re-run through live OTP in a normal test run
LIVE_FRESH = 120  # fresh schedules through both, in the same OTP run (OTP runs them all at once)


@pytest.mark.parametrize("schedule, otp_events", GOLDENS, ids=[s.id for s, _ in GOLDENS])
def test_the_harness_does_what_real_otp_did(schedule, otp_events):
    assert disagreement(schedule, otp_events) is None, disagreement(schedule, otp_events)


def test_the_goldens_cover_what_the_issue_asks_for():
    nodes = [n for s, _ in GOLDENS for n in s.root.walk()]
    supervisors = [n for n in nodes if n.is_supervisor and n.name != "top"]
    assert len(GOLDENS) >= 500
    assert {n.strategy for n in supervisors} == {"one_for_one", "one_for_all", "rest_for_one"}
    assert {n.restart for n in nodes if n.name != "top"} == {"permanent", "transient", "temporary"}
    assert {n.auto_shutdown for n in supervisors} == {"never", "any_significant", "all_significant"}
    assert sum(n.significant for n in nodes) >= 100
    kinds = Counter(kind for s, _ in GOLDENS for _, kind, _ in s.faults)
    assert min(kinds[k] for k in ("crash", "normal", "kill")) >= 300
    two_level = sum(any(c.is_supervisor for c in s.root.children[0].children) for s, _ in GOLDENS)
    assert 100 <= two_level < len(GOLDENS)
    at_one_instant = sum(any(a == b for (a, _, _), (b, _, _) in zip(s.faults, s.faults[1:])) for s, _ in GOLDENS)
    assert at_one_instant >= 100  # two sibling workers killed at once: ends a group restart flushes
    events = Counter(e.split()[0] + (" " + e.split()[2] if e.startswith("down") else "")
                     for _, otp in GOLDENS for e in otp)
    for what in ("down normal", "down shutdown", "down killed", "down abnormal", "missed", "start"):
        assert events[what] >= 100, what


# --- the goldens catch each of the old, wrong behaviours ---------------------------------------


@pytest.mark.parametrize("mutant", MUTANTS)
def test_the_goldens_catch_each_old_behaviour(mutant):
    with mutant():
        caught = [s.id for s, otp in GOLDENS if disagreement(s, otp) is not None]
    assert len(caught) >= 5, f"{mutant.__name__} disagrees with OTP on {caught} only"


# --- how the two sides are compared ----------------------------------------------------------


def test_a_killed_supervisors_subtree_goes_down_as_one_block():
    """OTP kills X, then X's children get its exit signal at once (a race); the harness
    stops X's subtree first. Both normalize to one sorted block where the first was."""
    tree = OtpNode("top", strategy="one_for_one", children=(
        OtpNode("s", strategy="one_for_all", children=(OtpNode("w0"), OtpNode("s1", strategy="one_for_one", children=(
            OtpNode("w1"),)))), OtpNode("w2")))
    schedule = OtpSchedule("k", tree, ((125, "crash", "w2"), (375, "kill", "s")))
    harness = ["start top", "fault 0", "down w2 abnormal", "start w2", "fault 1", "down w1 shutdown",
               "down s1 killed", "down w0 killed", "down s killed", "start s", "start w0"]
    otp = ["start top", "fault 0", "down w2 abnormal", "start w2", "fault 1", "down s killed", "down w0 killed",
           "down s1 killed", "start s", "down w1 shutdown", "start w0"]
    assert normalize(schedule, harness) == normalize(schedule, otp) == [
        "start top", "fault 0", "down w2 abnormal", "start w2", "fault 1",
        "down s killed", "down s1 killed", "down w0 killed", "down w1 shutdown", "start s", "start w0"]
    assert normalize(schedule, otp[:5]) == otp[:5]


def test_the_harness_side_is_deterministic():
    schedule, _ = GOLDENS[7]
    assert harness_events(schedule, seed=1) == harness_events(schedule, seed=2)


# --- live OTP ---------------------------------------------------------------------------------


@pytest.mark.skipif(escript() is None, reason=NO_ESCRIPT)
def test_live_otp_still_does_what_the_goldens_say_and_agrees_on_fresh_schedules(theater):
    """One live OTP run of a sample of the goldens and of fresh schedules drawn from this
    test's seed (``--theater-seed`` reproduces them): about twelve seconds of real time."""
    sample = random.Random(theater.seed).sample(GOLDENS, LIVE_GOLDENS)
    fresh = draw_schedules(LIVE_FRESH, theater.seed, prefix="x")
    live = run_otp([s for s, _ in sample] + fresh)
    drifted = [s.id for s, golden in sample if normalize(s, live[s.id]) != normalize(s, golden)]
    assert drifted == [], f"live OTP no longer does what goldens {drifted} recorded"
    failures = [text for s in fresh if (text := disagreement(s, live[s.id])) is not None]
    assert failures == [], f"{len(failures)} of {len(fresh)} fresh schedules (seed {theater.seed}) " \
                           f"disagree with real OTP:\n\n" + "\n\n".join(failures[:3])
