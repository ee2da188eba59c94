"""fault_schedules' targets, kind weights and distribution, and the SupervisionMachine's
payloads and targets: which faults get drawn, and where shrinking takes them."""

from __future__ import annotations

import json
import random
from collections import Counter

import pytest
from hypothesis import HealthCheck, Phase, find, given, settings
from hypothesis.stateful import run_state_machine_as_test

from theater_harness import HarnessError
from theater_harness.faults import FaultSchedule, fault
from theater_harness.stateful import DEFAULT_TREE, SupervisionMachine
from theater_harness.strategies import (JSON_PAYLOADS, LINK_KINDS, WORKER_KINDS, _RoundRobin, fault_schedules,
                                        fault_targets, trees_with_schedules)
from theater_harness.trees import NodeSpec, Policy, TreeSpec

SEARCH = settings(max_examples=300, deadline=None, database=None, phases=[Phase.generate, Phase.shrink],
                  suppress_health_check=list(HealthCheck))
# DEFAULT_TREE: root (one_for_all) -> w0, team (one_for_one) -> (w1, w2), w3


def drawn(strategy, examples: int = 300) -> list:
    """What ``strategy`` generates over ``examples`` examples, the same every run."""
    out = []

    @settings(max_examples=examples, deadline=None, database=None, derandomize=True, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(strategy)
    def collect(value):
        out.append(value)

    collect()
    return out


def actors_hit(schedules: list[FaultSchedule]) -> set[str]:
    hit = set()
    for schedule in schedules:
        for f in schedule:
            hit.update([f.target] if f.target else [f.link[1]] if f.link else [n for g in f.groups for n in g])
    return hit


# --- targets -----------------------------------------------------------------------------

def test_targets_come_leaves_first_and_the_root_last_weighted_inversely_to_their_subtree():
    assert [(node.name, weight) for node, weight in fault_targets(DEFAULT_TREE)] == [
        ("w0", 36), ("w1", 36), ("w2", 36), ("w3", 36), ("team", 12), ("root", 1)]


def test_targets_by_name_restrict_every_fault_to_them():
    schedules = drawn(fault_schedules(DEFAULT_TREE, targets=["team", "w1"], kinds=("stop", "drop", "partition")))
    assert actors_hit(schedules) == {"team", "w1"}
    assert {f.link for s in schedules for f in s if f.link} == {("outside", "w1")}


def test_targets_as_a_predicate_over_nodes():
    schedules = drawn(fault_schedules(DEFAULT_TREE, targets=lambda node: not node.is_supervisor))
    assert actors_hit(schedules) == {"w0", "w1", "w2", "w3"}


def test_kinds_the_targets_cannot_take_are_left_out():
    schedules = drawn(fault_schedules(DEFAULT_TREE, targets=["root", "team"], kinds=WORKER_KINDS + LINK_KINDS
                                      + ("trap", "partition")))
    assert {f.kind for s in schedules for f in s} == {"trap", "partition"}


@pytest.mark.parametrize("options, message", [
    ({"targets": ["nope"]}, "targets: 'nope' is not a node of the tree; its nodes: root, w0, team, w1, w2, w3"),
    ({"targets": "w1"}, "targets: expected node names or a predicate over NodeSpec, got the string 'w1'; "
                        "write targets=['w1']"),
    ({"targets": lambda node: False}, "targets: selects none of the tree's nodes (root, w0, team, w1, w2, w3)"),
    ({"targets": ["team"], "kinds": ("hang", "drop")},
     "kinds: none of hang, drop can hit the targets (team): slow, hang, host-error, memory, drop, delay, duplicate, "
     "reorder need a worker among them, partition two targets"),
    ({"kinds": ("trap", "heal")}, "kinds: 'heal' is not a kind fault_schedules draws; its kinds: stop, kill, trap"),
    ({"kinds": ("trap",), "weights": {"kill": 2}}, "weights: 'kill' is not among kinds (trap); add it to kinds"),
    ({"weights": {"trap": 0}}, "weights: the weight of 'trap' must be an integer >= 1, not 0 (to never draw a kind, "
                               "leave it out of kinds)"),
])
def test_bad_options_fail_at_once_and_say_what_would_do(options, message):
    with pytest.raises(HarnessError) as error:
        fault_schedules(DEFAULT_TREE, **options)
    assert str(error.value).startswith(message)


def test_shrinking_heads_for_a_leaf_not_the_root():
    failing = find(fault_schedules(DEFAULT_TREE), lambda s: any(f.kind == "kill" for f in s),
                   random=random.Random(0), settings=SEARCH)
    assert failing == FaultSchedule([fault("kill", "w0", at_ms=0)])


def test_shrinking_reaches_the_root_only_when_nothing_smaller_fails():
    failing = find(fault_schedules(DEFAULT_TREE), lambda s: any(f.target == "root" for f in s),
                   random=random.Random(0), settings=SEARCH)
    assert failing == FaultSchedule([fault("stop", "root", at_ms=0)])


def test_the_root_is_hit_less_often_than_any_leaf_and_by_under_one_fault_in_ten():
    hits = Counter(f.target for s in drawn(fault_schedules(DEFAULT_TREE)) for f in s)
    assert hits["root"] < min(hits[leaf] for leaf in ("w0", "w1", "w2", "w3"))
    assert hits["root"] < sum(hits.values()) / 10


def test_a_trees_with_schedules_predicate_applies_to_every_generated_tree():
    cases = drawn(trees_with_schedules(targets=lambda node: not node.is_supervisor), examples=50)
    assert all(name.startswith("w") for name in actors_hit([schedule for _, schedule in cases]))


# --- how many faults ----------------------------------------------------------------------

def test_the_empty_schedule_is_rare_and_still_where_shrinking_ends():
    schedules = drawn(fault_schedules(DEFAULT_TREE))
    assert sum(len(s) == 0 for s in schedules) <= len(schedules) // 20
    assert find(fault_schedules(DEFAULT_TREE), lambda s: True, random=random.Random(0), settings=SEARCH) == \
        FaultSchedule()


def test_max_faults_zero_draws_only_the_empty_schedule():
    assert set(drawn(fault_schedules(DEFAULT_TREE, max_faults=0), examples=10)) == {FaultSchedule()}


# --- kind weights -------------------------------------------------------------------------

def test_a_value_picks_an_index_in_rounds_so_each_comes_as_often_as_its_weight():
    pick = _RoundRobin([3, 3, 1])
    assert [pick(v) for v in range(pick.total)] == [0, 1, 2, 0, 1, 0, 1]


def test_weights_bias_the_kinds_drawn():
    def trap_share(weights):
        kinds = Counter(f.kind for s in drawn(fault_schedules(DEFAULT_TREE, kinds=("trap", "kill"), weights=weights))
                        for f in s)
        return kinds["trap"] / (kinds["trap"] + kinds["kill"])

    # a generated share depends on more than the weights (Hypothesis favours small values,
    # the first kind's, and how much depends even on which modules are loaded): compare
    # both ways, with room to spare
    unweighted, toward_trap, toward_kill = trap_share(None), trap_share({"trap": 9}), trap_share({"kill": 9})
    assert toward_trap > unweighted + 0.15
    assert toward_kill < unweighted - 0.15
    assert toward_trap - toward_kill > 0.5


def test_with_weights_shrinking_still_heads_for_the_simplest_kind():
    failing = find(fault_schedules(DEFAULT_TREE, kinds=("stop", "trap"), weights={"trap": 9}),
                   lambda s: len(s) >= 1, random=random.Random(0), settings=SEARCH)
    assert failing == FaultSchedule([fault("stop", "w0", at_ms=0)])


# --- the state machine --------------------------------------------------------------------

TEAM = TreeSpec(NodeSpec("root", policy=Policy("one_for_one", intensity=3), children=(
    NodeSpec("w0", manifest=DEFAULT_TREE.root.children[0].manifest),
    NodeSpec("w1", manifest=DEFAULT_TREE.root.children[0].manifest))))


def steps_of(machine: type[SupervisionMachine]) -> list[str]:
    """Every step the machine took over a few derandomized examples."""
    steps: list[str] = []

    class Recording(machine):
        def teardown(self):
            steps.extend(self.steps)
            super().teardown()

    run_state_machine_as_test(Recording, settings=settings(
        max_examples=10, stateful_step_count=8, deadline=None, database=None, derandomize=True,
        suppress_health_check=list(HealthCheck)))
    return steps


def test_the_machine_sends_json_objects_by_default():
    assert all(isinstance(json.loads(p), dict) for p in JSON_PAYLOADS)
    assert SupervisionMachine.payloads == JSON_PAYLOADS


def test_the_machine_sends_the_payloads_it_is_given():
    sends = {s.split("send ")[1].split(" to ")[0] for s in steps_of(SupervisionMachine.for_tree(
        TEAM, payloads=['{"deposit":5}'])) if " send " in s}
    assert sends == {"'{\"deposit\":5}'"}


def test_the_machine_injects_faults_on_its_targets_only():
    injected = {s.rsplit(" ", 1)[1] for s in steps_of(SupervisionMachine.for_tree(TEAM, targets=["w1"]))
                if " ms: " in s and " send " not in s}
    assert injected == {"w1"}


@pytest.mark.parametrize("options, message", [
    ({"payloads": "inc"}, "SupervisionMachine_root: payloads must be a non-empty list of messages (str or bytes)"),
    ({"kinds": ["drop"]}, "SupervisionMachine_root: kinds: 'drop' is not an actor fault; the machine injects actor "
                          "faults only"),
    ({"targets": ["w9"]}, "targets: 'w9' is not a node of the tree; its nodes: root, w0, w1"),
])
def test_for_tree_checks_its_options_at_once(options, message):
    with pytest.raises(HarnessError) as error:
        SupervisionMachine.for_tree(TEAM, **options)
    assert str(error.value).startswith(message)


def test_swarm_coins_enable_every_kind_about_half_the_time_even_the_last():
    """Each kind an example may use is a fair coin, whatever its place in the draw order:
    drawn as one wide integer, the kinds last in the order (the world's) came up a few
    times in a hundred examples instead of one in two."""
    from theater_harness.strategies import DRAW_ORDER, _coins

    n = len(DRAW_ORDER)
    masks = []

    @settings(max_examples=600, derandomize=True, database=None, deadline=None,
              suppress_health_check=list(HealthCheck))
    @given(_coins(n))
    def collect(mask):
        masks.append(mask)

    collect()
    shares = [sum(mask >> bit & 1 for mask in masks) / len(masks) for bit in range(n)]
    assert all(0.4 <= share <= 0.6 for share in shares), dict(zip(DRAW_ORDER, shares))
    assert all(mask < 1 << n for mask in masks)
