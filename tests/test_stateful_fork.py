"""The state machine through forks (``SupervisionMachine.for_tree(..., fork=True)``): each
example continues one checkpoint of the spawned, warmed-up tree in a session of its own,
and gives what the same machine gives straight, step for step, failure for failure."""

from __future__ import annotations

import os
import re

import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis.stateful import run_state_machine_as_test

from theater_harness import fork, runtime as runtime_module
from theater_harness.errors import HarnessError
from theater_harness.fork import fork_problem, straight
from theater_harness.scenario.explore import _seed_only
from theater_harness.stateful import DEFAULT_TREE, SupervisionMachine
from theater_harness.strategies import COUNTER, CRASHER
from theater_harness.trees import EXAMPLES, NodeSpec, TreeSpec

pytestmark = pytest.mark.skipif(fork_problem() is not None, reason=f"cannot fork here: {fork_problem()}")

BUSY = TreeSpec(DEFAULT_TREE.root, workload=tuple((t, w, '{"n":1}') for t in range(0, 2000, 10) for w in ("w0", "w3")))
BROKEN = TreeSpec(NodeSpec("sup", manifest=str(EXAMPLES / "sup_never.toml"), children=(
    NodeSpec("w0", manifest=COUNTER), NodeSpec("w1", manifest=CRASHER))),
    workload=tuple((t, "w0", "inc") for t in range(0, 1000, 10)))
SEARCH = settings(max_examples=12, stateful_step_count=10, deadline=None, database=None, derandomize=True,
                  suppress_health_check=list(HealthCheck))


def recorded(machine: type[SupervisionMachine]) -> tuple[type[SupervisionMachine], list]:
    """``machine`` with every step's result (what the fork sent back, or the straight call's) logged."""
    log: list = []

    class Recorded(machine):
        def _step(self, fn, *args):
            out = super()._step(fn, *args)
            log.append((fn.__name__, args, out))
            return out

        def _start(self, seed):
            super()._start(seed)
            log.append(("start", self.seed, self.session is not None))

    return Recorded, log


def search(machine: type[SupervisionMachine], options: settings = SEARCH) -> None:
    """Hypothesis's search over ``machine``, drawing nothing from the modules imported so
    far (``_seed_only``): a straight search imports, as it goes, modules a forked one
    imports only in its forks."""
    with _seed_only():
        run_state_machine_as_test(machine, settings=options)


def test_forked_examples_take_the_same_steps_to_the_same_observations_as_straight_ones():
    machine, log = recorded(SupervisionMachine.for_tree(BUSY, warmup_ms=2000, fork=True))
    search(machine)
    forked = list(log)
    log.clear()
    with straight("compared with the forked search"):  # a process that cannot fork: the same, straight
        search(machine)
    assert [step for step in forked if step[0] != "start"] == [step for step in log if step[0] != "start"]
    starts = [step for step in forked if step[0] == "start"]
    assert len(starts) >= 12 and all(forked_ for _, _, forked_ in starts)
    assert len({seed for _, seed, _ in starts}) == 1  # one seed, the checkpoint's
    assert not any(forked_ for name, _, forked_ in log if name == "start")
    assert sum(name == "_inject" for name, *_ in forked) > 5


def failure(machine: type[SupervisionMachine]) -> str:
    with pytest.raises(AssertionError) as caught:
        search(machine, settings(SEARCH, max_examples=100, stateful_step_count=6, phases=[Phase.generate, Phase.shrink]))
    return str(caught.value).split("\nFailing test case")[0]


def test_a_broken_supervisor_fails_forked_as_straight_and_the_failure_is_replayed_here():
    machine = SupervisionMachine.for_tree(BROKEN, policies={"sup": {"strategy": "one_for_one", "intensity": 10}},
                                          kinds=["stop", "trap"], warmup_ms=1000, fork=True)
    fork.clear_cache()
    made: list = []
    runtime_module.CREATED_HOOKS.append(made.append)
    try:
        forked = failure(machine)
    finally:
        runtime_module.CREATED_HOOKS.remove(made.append)
    with straight("compared with the forked search"):
        assert failure(machine) == forked
    assert "strategy_conformance" in forked and "should restart" in forked
    # the checkpoint, and the straight replay of the shrunk failure (what a report reads)
    assert len(made) == 2 and made[1].seed == made[0].seed and len(made[1].trace) > 100
    assert re.search(rf"steps:\n +seed {made[0].seed}\n +at 1000 ms: stop w0\n", forked)
    with pytest.raises(ChildProcessError):
        os.waitpid(-1, os.WNOHANG)  # every example's fork reaped


def test_without_fork_the_seed_is_drawn_and_the_warm_up_runs_straight():
    machine, log = recorded(SupervisionMachine.for_tree(BUSY, warmup_ms=500))
    search(machine, settings(SEARCH, max_examples=5))
    starts = [step for step in log if step[0] == "start"]
    assert len({seed for _, seed, _ in starts}) > 1 and not any(forked for *_, forked in starts)


def test_a_bad_warm_up_is_refused_at_once():
    with pytest.raises(HarnessError, match=r"warmup_ms must be a whole number of ms >= 0, not -5"):
        SupervisionMachine.for_tree(BUSY, warmup_ms=-5)
