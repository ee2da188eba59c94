"""The pure parts of supervision: intensity windows, strategy plans, backoff, specs."""

from __future__ import annotations

import random

import pytest

from theater_harness.supervision import Backoff, ChildSpec, parse_supervision
from theater_harness.supervision.backoff import delay_ms
from theater_harness.supervision.intensity import add_restart, in_period
from theater_harness.supervision.strategy import Child, plan, should_restart


@pytest.mark.parametrize("then, now, inside", [
    (0, 5000, True),      # exactly the period: inclusive
    (0, 5999, True),      # whole seconds: 5 - 0 = 5
    (0, 6000, False),
    (999, 6000, False),   # 6 - 0 = 6
    (1000, 6999, True),   # 6 - 1 = 5
])
def test_in_period_compares_whole_seconds_inclusively(then, now, inside):
    assert in_period(then, now, 5000) is inside


def test_in_period_with_a_millisecond_resolution():
    assert in_period(0, 5000, 5000, resolution_ms=1)
    assert not in_period(0, 5001, 5000, resolution_ms=1)


def test_add_restart_records_first_then_counts():
    restarts, exceeded = add_restart((), 0, intensity=1, period_ms=5000)
    assert restarts == (0,) and not exceeded
    restarts, exceeded = add_restart(restarts, 4000, intensity=1, period_ms=5000)
    assert restarts == (4000, 0) and exceeded
    restarts, exceeded = add_restart((1000,), 7000, intensity=1, period_ms=5000)
    assert restarts == (7000,) and not exceeded  # the old one fell out of the window


def test_intensity_zero_is_exceeded_by_the_first_restart():
    assert add_restart((), 0, intensity=0, period_ms=5000)[1]


CHILDREN = [Child("a", "permanent", True), Child("b", "transient", True), Child("t", "temporary", True),
            Child("c", "permanent", True), Child("d", "permanent", False)]


def test_one_for_one_touches_nobody_else():
    assert plan("one_for_one", CHILDREN, "b").stop == ()
    assert plan("one_for_one", CHILDREN, "b").restart == ("b",)


def test_one_for_all_stops_the_others_last_first_and_restarts_all_but_temporaries():
    p = plan("one_for_all", CHILDREN, "b")
    assert p.stop == ("c", "t", "a")  # d is not running
    assert p.restart == ("a", "b", "c", "d")
    assert p.drop == ("t",)


def test_rest_for_one_affects_only_the_younger_siblings():
    p = plan("rest_for_one", CHILDREN, "b")
    assert p.stop == ("c", "t")
    assert p.restart == ("b", "c", "d")
    assert p.drop == ("t",)
    assert plan("rest_for_one", CHILDREN, "d").stop == ()


@pytest.mark.parametrize("restart, abnormal, expected", [
    ("permanent", True, True), ("permanent", False, True),
    ("transient", True, True), ("transient", False, False),
    ("temporary", True, False), ("temporary", False, False),
])
def test_restart_types(restart, abnormal, expected):
    assert should_restart(restart, abnormal) is expected


def test_backoff_doubles_to_its_maximum_with_bounded_jitter():
    rng = random.Random(1)
    plain = Backoff(min_ms=100, max_ms=1000)
    assert [delay_ms(plain, n, rng) for n in range(6)] == [100, 200, 400, 800, 1000, 1000]
    jittery = Backoff(min_ms=100, max_ms=1000, random_factor=0.5)
    delays = [delay_ms(jittery, 2, random.Random(seed)) for seed in range(50)]
    assert all(400 <= d < 600 for d in delays) and len(set(delays)) > 10
    assert delay_ms(plain, 10_000, rng) == 1000  # no overflow for long runs of failures


def test_specs_have_otp_defaults_and_children_inherit_the_default():
    spec = parse_supervision({"children": {"x": {"restart": "transient"}},
                              "default": {"recovery": "last", "shutdown": "brutal_kill"}}, "m.toml")
    assert (spec.strategy, spec.intensity, spec.period_ms, spec.resolution_ms) == ("one_for_one", 1, 5000, 1000)
    assert spec.child_spec("x", "counter") == ChildSpec(restart="transient", recovery="last", shutdown_ms=0,
                                                        brutal_kill=True)
    assert spec.child_spec("y", "x") == spec.children["x"]  # by manifest name when the name is not listed
    assert spec.child_spec("y", "z") == spec.default
