"""Invariants checked in step with a run: a checker fed a trace in pieces finds exactly
what one walk over the whole trace finds, on correct runs and on runs of supervisors that
break the rules; a run checked before a checkpoint is checked in each fork from there."""

from __future__ import annotations

import random

import pytest
from hypothesis import HealthCheck, Phase, given, seed, settings

import supervision_mutants
from test_properties import OLD_BEHAVIOURS
from theater_harness import Runtime
from theater_harness.faults import FaultSchedule, fault
from theater_harness.fork import Checkpoint, fork_problem
from theater_harness.invariants import INVARIANTS, check_all
from theater_harness.invariants._check import Checker
from theater_harness.invariants import _PASSES
from theater_harness.strategies import COUNTER, CRASHER, KIND_ORDER, fault_schedules
from theater_harness.trees import NodeSpec, Policy, TreeSpec

EVERY_PASS = [_PASSES[name] for name in INVARIANTS]
# every strategy, restart type and recovery mode; a workload over 4 virtual seconds
TREE = TreeSpec(NodeSpec("root", policy=Policy("one_for_one", intensity=4), children=(
    NodeSpec("s1", policy=Policy("one_for_all", intensity=2), children=(
        NodeSpec("w1", manifest=COUNTER, recovery="last"), NodeSpec("w2", manifest=CRASHER, restart="transient"),
        NodeSpec("w3", manifest=COUNTER, restart="temporary"))),
    NodeSpec("s2", policy=Policy("rest_for_one", intensity=2), restart="transient", children=(
        NodeSpec("w4", manifest=COUNTER, recovery="replay"), NodeSpec("w5", manifest=CRASHER))),
)), workload=tuple((i * 200, f"w{i % 5 + 1}", ("inc", "add:2", "hello")[i % 3]) for i in range(20)))
# every kind a schedule may have, corrupt-state (which breaks state recovery) among them
SCHEDULES = fault_schedules(TREE, max_faults=6, kinds=KIND_ORDER, horizon_ms=4000)
SEARCH = settings(max_examples=40, database=None, deadline=None, phases=[Phase.generate],
                  suppress_health_check=list(HealthCheck))


def as_tuples(violations) -> list[tuple]:
    return [(v.invariant, v.time_ms, v.actors, v.message, v.evidence) for v in violations]


def in_pieces(records: list[dict], cuts: list[int]) -> list[tuple]:
    """The violations of a checker fed ``records`` cut at ``cuts``, asked after each piece."""
    checker = Checker(EVERY_PASS)
    start = 0
    for cut in [*cuts, len(records)]:
        checker.feed(records[start:cut])
        found = checker.violations()
        start = cut
    return as_tuples(found)


def assert_same_in_pieces(records: list[dict], rng: random.Random) -> list[tuple]:
    whole = as_tuples(check_all(records))
    for _ in range(3):
        cuts = sorted(rng.sample(range(len(records) + 1), 3))
        assert in_pieces(records, cuts) == whole
    assert in_pieces(records, list(range(len(records)))) == whole  # a record at a time
    return whole


@seed(7)
@SEARCH
@given(SCHEDULES)
def test_a_trace_checked_in_pieces_gives_what_one_walk_gives(schedule):
    records = TREE.run(seed=3, faults=schedule).trace.dicts()
    assert_same_in_pieces(records, random.Random(len(records)))


@seed(8)
@SEARCH
@given(SCHEDULES)
def test_a_run_checked_as_it_goes_gives_what_its_whole_trace_gives(schedule):
    """``check_all(runtime)`` at several instants of a run reads only the new records."""
    rt = Runtime(3, faults=schedule)
    ids = TREE.spawn(rt)
    TREE.send_workload(rt, ids)
    for until in (150, 900, 2500, 7000):
        rt.run(until=until)
        assert as_tuples(check_all(rt)) == as_tuples(check_all(list(rt.trace.dicts())))
        (checker,) = rt.trace.derived.values()  # one checker, kept with the trace, has read it all
        assert checker.fed == len(rt.trace)
    rt.close()


@pytest.mark.parametrize("mutant", supervision_mutants.MUTANTS, ids=lambda m: m.__name__)
def test_the_violations_of_wrong_supervision_come_out_the_same_in_pieces(mutant):
    tree, smallest, caught_by = OLD_BEHAVIOURS[mutant.__name__]
    with mutant():
        records = tree.run(faults=FaultSchedule(smallest)).trace.dicts()
    whole = assert_same_in_pieces(records, random.Random(1))
    assert [v[0] for v in whole] == caught_by


@seed(9)
@SEARCH
@given(SCHEDULES)
def test_with_each_wrong_supervisor_pieces_give_what_one_walk_gives(schedule):
    for mutant in supervision_mutants.MUTANTS:
        with mutant():
            records = TREE.run(seed=5, faults=schedule).trace.dicts()
        assert_same_in_pieces(records, random.Random(len(records)))


def test_a_label_is_the_one_the_whole_trace_gives():
    """An actor's label carries its id only when another actor has its name, perhaps one
    spawned after the violation: the label is made when the violations are read."""
    rt = Runtime(1)
    sup = rt.spawn(TREE.root.children[0].manifest_text(), name="sup")
    w = rt.spawn(CRASHER, name="w", parent=sup)
    records = rt.trace.dicts()
    n = len(records)
    sup_killed = {"seq": n, "t": 0, "kind": "exit", "actor": sup, "reason": {"kind": "killed", "cause": "outside"}}
    w_spawn = next(r for r in records if r["kind"] == "spawn" and r["actor"] == w)
    another_w = {**w_spawn, "seq": n + 1, "actor": "f" * 36}
    checker = Checker([_PASSES["reverse_order_shutdown"], _PASSES["no_orphans"]])
    checker.feed(records + [sup_killed])  # sup ends while w runs: both rules break
    assert [("[w]" in v.message, f"w#{w[:8]}" in v.message) for v in checker.violations()] == [(True, False)] * 2
    checker.feed([another_w])
    assert [("[w]" in v.message, f"w#{w[:8]}" in v.message) for v in checker.violations()] == [(False, True)] * 2
    rt.close()


def test_record_kinds_the_invariants_do_not_know_pass_by():
    records = TREE.run(seed=2).trace.dicts()
    unknown = [{"seq": r["seq"], "t": r["t"], "kind": kind, "actor": r.get("actor"), "call": "x"}
               for r in records[::7] for kind in ("telemetry", "a-kind-of-tomorrow")]
    merged = sorted(records + unknown, key=lambda r: r["seq"])
    assert check_all(merged) == check_all(records) == []


@pytest.mark.skipif(fork_problem() is not None, reason=f"cannot fork here: {fork_problem()}")
def test_a_fork_checks_only_the_records_it_adds():
    rt = Runtime(3, faults=FaultSchedule([]))
    ids = TREE.spawn(rt)
    TREE.send_workload(rt, ids)
    rt.run(until=1000)
    assert check_all(rt) == []  # the prefix, checked once, here
    prefix = len(rt.trace)
    checkpoint = Checkpoint(rt)

    def continued(rt: Runtime, at_ms: int) -> tuple[int, int, int, list[tuple], list[tuple]]:
        (checker,) = rt.trace.derived.values()
        before = checker.fed
        rt.inject(FaultSchedule([fault("corrupt-state", "w1", at_ms=at_ms), fault("trap", "w1", at_ms=at_ms + 50)]))
        rt.run(until=6000)
        stepwise = as_tuples(check_all(rt))
        return before, checker.fed, len(rt.trace), stepwise, as_tuples(check_all(list(rt.trace.dicts())))

    for at_ms in (1100, 2000):
        before, after, length, stepwise, whole = checkpoint.run(lambda rt, t=at_ms: continued(rt, t))
        assert (before, after) == (prefix, length) and length > prefix
        assert stepwise == whole
        assert [v[0] for v in stepwise] == ["state_recovery"]  # the corrupted state, caught in the fork
    assert len(rt.trace) == prefix  # the original run is where it was
    rt.close()
