"""Property-based search for supervision bugs: the strategies, the state machine, shrinking
to minimal fault schedules, and fault-space coverage."""

from __future__ import annotations

import random
from unittest import mock

import hypothesis
import pytest
from hypothesis import HealthCheck, Phase, find, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import run_state_machine_as_test

from supervision_mutants import MUTANTS
from theater_harness.fault_space import Cell, FaultSpace
from theater_harness.faults import FaultSchedule, fault
from theater_harness.invariants import check_all
from theater_harness.stateful import SupervisionMachine
from theater_harness.strategies import (ACTOR_KINDS, COUNTER, CRASHER, HEALABLE_KINDS, KIND_ORDER, fault_schedules,
                                        supervision_trees, trees_with_schedules)
from theater_harness.supervision import supervisor as supervisor_module
from theater_harness.trees import EXAMPLES, NodeSpec, Policy, TreeSpec

SEARCH = settings(max_examples=1000, deadline=None, database=None, phases=[Phase.generate, Phase.shrink],
                  suppress_health_check=list(HealthCheck))
WORK = tuple((t, "w1", "inc") for t in range(0, 5000, 500))


def minimal_breaking_schedule(tree: TreeSpec, policies: dict | None = None) -> FaultSchedule:
    """Search from scratch, then shrink: the smallest schedule that breaks an invariant."""
    return find(fault_schedules(tree, max_faults=4), lambda s: bool(check_all(tree.run(faults=s), policies=policies)),
                random=random.Random(0), settings=SEARCH)


def test_search_finds_a_guest_supervisor_that_never_restarts_and_shrinks_to_one_fault():
    tree = TreeSpec(NodeSpec("sup", manifest=str(EXAMPLES / "sup_never.toml"), children=(
        NodeSpec("w0", manifest=COUNTER), NodeSpec("w1", manifest=CRASHER), NodeSpec("w2", manifest=COUNTER))),
        workload=WORK)
    policies = {"sup": {"strategy": "one_for_one", "intensity": 10}}
    assert minimal_breaking_schedule(tree, policies) == FaultSchedule([fault("stop", "w0", at_ms=0)])


def test_search_finds_an_intensity_the_runtime_does_not_honour_and_shrinks_to_two_faults():
    tree = TreeSpec(NodeSpec("root", policy=Policy("one_for_one", intensity=1), children=(
        NodeSpec("w0", manifest=COUNTER), NodeSpec("w1", manifest=CRASHER))), workload=WORK)
    honest = supervisor_module.add_restart

    def never_exceeded(*args, **kwargs):
        kept, _ = honest(*args, **kwargs)
        return kept, False

    assert not check_all(tree.run(faults=FaultSchedule([fault("stop", "w0", at_ms=0),
                                                        fault("stop", "w1", at_ms=0)])))
    with mock.patch.object(supervisor_module, "add_restart", never_exceeded):
        found = minimal_breaking_schedule(tree)
        assert found == FaultSchedule([fault("stop", "w0", at_ms=0), fault("stop", "w1", at_ms=0)])
        assert [v.invariant for v in check_all(tree.run(faults=found))] == ["strategy_conformance", "intensity"]


# Each old behaviour that real OTP showed wrong (supervision_mutants), found from scratch
# and shrunk to its smallest schedule, with the invariant that catches it.
ONE_FOR_ONE_ROOT = Policy("one_for_one", intensity=5)
OLD_BEHAVIOURS = {
    # its worker stopped, the team gives up and the root restarts it: its temporary child
    # must start again
    "temporaries_never_started_again": (
        TreeSpec(NodeSpec("root", policy=ONE_FOR_ONE_ROOT, children=(
            NodeSpec("team", policy=Policy("one_for_one", intensity=0), children=(
                NodeSpec("t", manifest=COUNTER, restart="temporary"), NodeSpec("w", manifest=COUNTER))),))),
        [fault("stop", "w", at_ms=0)], ["supervisor_restart"]),
    # a stopped transient child keeps its spec: the group restart for b starts it again
    "group_restarts_skip_ended_siblings": (
        TreeSpec(NodeSpec("root", policy=Policy("one_for_all", intensity=5), children=(
            NodeSpec("a", manifest=COUNTER, restart="transient"), NodeSpec("b", manifest=COUNTER)))),
        [fault("stop", "a", at_ms=0), fault("stop", "b", at_ms=0)], ["strategy_conformance"]),
    # the transient team gives up: it exits shutdown, and the root leaves it down
    "giving_up_is_a_failure": (
        TreeSpec(NodeSpec("root", policy=ONE_FOR_ONE_ROOT, children=(
            NodeSpec("team", policy=Policy("one_for_one", intensity=0), restart="transient", children=(
                NodeSpec("w", manifest=COUNTER),)),))),
        [fault("stop", "w", at_ms=0)], ["intensity"]),
}


@pytest.mark.parametrize("mutant", MUTANTS, ids=lambda m: m.__name__)
def test_search_finds_each_old_behaviour_otp_disagrees_with_and_shrinks_it(mutant):
    tree, smallest, caught_by = OLD_BEHAVIOURS[mutant.__name__]
    assert check_all(tree.run(faults=FaultSchedule(smallest))) == []  # correct supervision: nothing wrong
    with mutant():
        assert minimal_breaking_schedule(tree) == FaultSchedule(smallest)
        assert [v.invariant for v in check_all(tree.run(faults=FaultSchedule(smallest)))] == caught_by


def test_corrupt_state_is_opt_in_and_the_state_recovery_invariant_catches_it():
    assert set(ACTOR_KINDS) - set(HEALABLE_KINDS) == {"corrupt-state"}
    tree = TreeSpec(NodeSpec("root", policy=Policy("one_for_one", intensity=3), children=(
        NodeSpec("w1", manifest=COUNTER, recovery="last"),)), workload=WORK)
    found = find(fault_schedules(tree, max_faults=4, kinds=("stop", "corrupt-state")),
                 lambda s: bool(check_all(tree.run(faults=s))), random=random.Random(0), settings=SEARCH)
    assert found == FaultSchedule([fault("stop", "w1", at_ms=0), fault("corrupt-state", "w1", at_ms=0)])
    assert [v.invariant for v in check_all(tree.run(faults=found))] == ["state_recovery"]


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(trees_with_schedules(max_faults=3), st.integers(0, 2**32 - 1))
def test_correct_supervision_never_violates_an_invariant(case, seed):
    tree, schedule = case
    runtime = tree.run(seed=seed, faults=schedule)
    assert check_all(runtime) == []


def test_generated_schedules_shrink_to_the_simplest_fault_at_the_smallest_target_a_leaf():
    tree = TreeSpec(NodeSpec("root", policy=Policy(), children=(
        NodeSpec("team", policy=Policy(), children=(NodeSpec("w", manifest=COUNTER),)),)))
    simplest = find(fault_schedules(tree), lambda s: len(s) >= 1, random=random.Random(0), settings=SEARCH)
    assert simplest == FaultSchedule([fault("stop", "w", at_ms=0)])
    timed = find(fault_schedules(tree), lambda s: any(f.at_ms and f.at_ms > 1000 for f in s),
                 random=random.Random(0), settings=SEARCH)
    assert timed == FaultSchedule([fault("stop", "w", at_ms=1001)])


def test_swarm_selection_varies_the_kinds_an_example_may_use():
    tree = TreeSpec(NodeSpec("root", policy=Policy(), children=(NodeSpec("w", manifest=COUNTER),)))
    combos = set()

    @settings(max_examples=150, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(fault_schedules(tree, max_faults=6))
    def collect(schedule):
        combos.add(frozenset(f.kind for f in schedule))

    collect()
    assert len(combos) > 15
    assert any(len(c) == 1 for c in combos) and any(len(c) >= 3 for c in combos)


def test_trees_shrink_to_one_supervisor_with_one_worker():
    smallest = find(supervision_trees(), lambda t: True, random=random.Random(0), settings=SEARCH)
    assert smallest == TreeSpec(NodeSpec("s0", policy=Policy("one_for_one", 0, 5000), children=(
        NodeSpec("w1", manifest=COUNTER),)))
    deep = find(supervision_trees(max_depth=3), lambda t: max(d for _, d in t.nodes()) == 3,
                random=random.Random(0), settings=SEARCH)
    assert [d for _, d in deep.nodes()] == [0, 1, 2, 3]


def test_the_state_machine_finds_nothing_wrong_with_correct_supervision():
    run_state_machine_as_test(SupervisionMachine, settings=settings(
        max_examples=12, stateful_step_count=12, deadline=None, database=None, derandomize=True,
        suppress_health_check=list(HealthCheck)))


def test_the_state_machine_runtime_rng_is_the_one_registered_with_hypothesis():
    import contextvars

    from hypothesis.internal.entropy import RANDOMS_TO_MANAGE

    machine = SupervisionMachine()
    outside = contextvars.Context()  # no test's seed in it: the runtime's seed is the drawn one alone
    outside.run(machine.start, seed=5)
    first = machine.runtime.rng
    assert first in [ref() for ref in RANDOMS_TO_MANAGE.data.values()]
    assert first.root_seed == 5
    outside.run(machine.start, seed=6)
    assert machine.runtime.rng is first and first.root_seed == 6


def test_the_state_machine_catches_a_broken_guest_supervisor():
    tree = TreeSpec(NodeSpec("sup", manifest=str(EXAMPLES / "sup_never.toml"), children=(
        NodeSpec("w0", manifest=COUNTER), NodeSpec("w1", manifest=CRASHER))))
    broken = SupervisionMachine.for_tree(tree, policies={"sup": {"strategy": "one_for_one", "intensity": 10}},
                                         kinds=["stop", "trap"])
    try:
        run_state_machine_as_test(broken, settings=settings(max_examples=200, stateful_step_count=6, deadline=None,
                                                            database=None, derandomize=True,
                                                            phases=[Phase.generate],  # finding it is the point here
                                                            suppress_health_check=list(HealthCheck)))
    except AssertionError as failure:
        assert "strategy_conformance" in str(failure) and "should restart" in str(failure)
    else:
        raise AssertionError("the machine did not find that sup_never never restarts")


def test_fault_space_coverage_counts_the_cells_a_run_exercised():
    tree = TreeSpec(NodeSpec("root", policy=Policy("rest_for_one", intensity=5), children=(
        NodeSpec("w0", manifest=COUNTER, restart="transient"), NodeSpec("w1", manifest=CRASHER))), workload=WORK)
    space = FaultSpace()
    space.record(tree.run(faults=FaultSchedule([fault("trap", "w1", at_ms=100), fault("init-err", "w1", on_call=2),
                                                 fault("stop", "w0", at_ms=3000)])))
    assert dict(space.counts) == {Cell("rest_for_one", "permanent", "trap", "running"): 1,
                                  Cell("rest_for_one", "permanent", "init-err", "init"): 1,
                                  Cell("rest_for_one", "transient", "stop", "running"): 1}
    table = space.table()
    assert table.splitlines()[:2] == [
        "fault kind       one_for_one          rest_for_one         one_for_all          root",
        "                 perm  trans  temp    perm  trans  temp    perm  trans  temp    perm  trans  temp"]
    assert table.splitlines()[-2] == (f"3 of {len(space.all_cells)} cells (strategy x restart type x kind x phase) "
                                      f"exercised over 1 runs")
    assert len(space.untried()) == len(space.all_cells) - 3
    assert len(space.all_cells) == len(KIND_ORDER) * 4 * 3 * 3
    total = FaultSpace()
    total.add(space)
    total.add(space)
    assert total.runs == 2 and total.counts[Cell("rest_for_one", "permanent", "trap", "running")] == 2


def test_fault_space_cells_are_reported_to_hypothesis_as_events():
    tree = TreeSpec(NodeSpec("root", policy=Policy(), children=(NodeSpec("w", manifest=COUNTER),)))
    seen = []

    @settings(max_examples=1, deadline=None, database=None)
    @given(st.just(FaultSchedule([fault("stop", "w", at_ms=0)])))
    def run(schedule):
        with mock.patch.object(hypothesis, "event", seen.append):
            FaultSpace().record(tree.run(faults=schedule))

    run()
    assert seen == ["fault space: stop in running of a permanent child under one_for_one"]
