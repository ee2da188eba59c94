"""Every runtime a test makes derives its seed from the test's: TreeSpec.run, Runtime(),
the state machine's runtime; so --theater-seed varies them and the replay command printed
with a failure reproduces them."""

from __future__ import annotations

import contextvars
import re

import pytest

from conftest import ACTORS
from pytest_theater._shared import runtime_seed, seed_for
from pytest_theater.plugin import test_seed as derive_seed
from theater_harness import Runtime
from theater_harness.stateful import SupervisionMachine
from theater_harness.trees import NodeSpec, Policy, TreeSpec

pytest_plugins = ["pytester"]

INNER = ("-p", "no:faulthandler", "-p", "no:cacheprovider")
COUNTER = ACTORS / "counter.toml"
TREE = f'''
from theater_harness.trees import tree_from

TREE = tree_from({{"name": "root", "supervision": {{}}, "children": [{{"name": "w", "manifest": {str(COUNTER)!r}}}]}})
'''


def _hashes(result: pytest.RunResult) -> list[str]:
    return re.findall(r"trace sha256 ([0-9a-f]{16})", result.stdout.str())


def test_runtimes_made_without_a_seed_take_seeds_derived_from_the_test_seed_in_order(pytester: pytest.Pytester):
    test = derive_seed(11, "test_x.py::test_seeds")
    pytester.makepyfile(test_x=TREE + f'''
from theater_harness import Runtime

def test_seeds():
    assert [TREE.run(until_ms=10).seed, Runtime().seed, TREE.run(seed=5).seed, TREE.run().seed] == \\
        [{runtime_seed(test, 1)}, {runtime_seed(test, 2)}, 5, {runtime_seed(test, 3)}]
''')
    pytester.runpytest(*INNER, "--theater-seed", "11").assert_outcomes(passed=1)


def test_the_theater_fixture_has_the_test_seed_whatever_other_fixtures_made_first(pytester: pytest.Pytester):
    test = derive_seed(11, "test_x.py::test_both")
    pytester.makepyfile(test_x=TREE + f'''
import pytest

@pytest.fixture
def tree_run():
    return TREE.run(until_ms=10)

def test_both(tree_run, theater):
    assert (theater.seed, tree_run.seed) == ({test}, {runtime_seed(test, 1)})

@pytest.mark.theater(seed=7)
def test_marked(tree_run, theater):
    assert (theater.seed, tree_run.seed) == (7, {runtime_seed(7, 1)})
''')
    pytester.runpytest(*INNER, "--theater-seed", "11").assert_outcomes(passed=2)


def test_the_same_session_seed_gives_the_same_tree_run_and_another_another(pytester: pytest.Pytester):
    pytester.makepyfile(test_x=TREE + '''
def test_run():
    runtime = TREE.run()
    assert runtime.trace.hash() == "shown in the report"
''')
    runs = [_hashes(pytester.runpytest(*INNER, "--theater-seed", seed)) for seed in ("11", "11", "12")]
    assert runs[0] == runs[1] != runs[2] and len(runs[0]) == 1


def test_the_report_of_a_failing_tree_run_names_its_seed_and_its_replay_command_reproduces_it(
        pytester: pytest.Pytester):
    pytester.makepyfile(test_x=TREE + '''
def test_run():
    TREE.run()
    assert False
''')
    failed = pytester.runpytest(*INNER, "--theater-seed", "11")
    failed.stdout.fnmatch_lines([f"run seed {runtime_seed(derive_seed(11, 'test_x.py::test_run'), 1)}, *",
                                 "replay: pytest test_x.py::test_run --theater-seed 11"])
    replay = pytester.runpytest(*INNER, "test_x.py::test_run", "--theater-seed", "11")
    assert _hashes(replay) == _hashes(failed) and len(_hashes(failed)) == 1


def test_a_shrunk_hypothesis_example_replays_with_the_seed_it_failed_with(pytester: pytest.Pytester):
    pytester.makepyfile(test_x=TREE + '''
from hypothesis import given, strategies as st
from theater_harness.trees import TreeSpec

@given(st.integers(0, 100))
def test_given(n):
    TreeSpec(TREE.root, workload=((n, "w", "inc"),)).run()
    assert n < 3
''')
    seed = runtime_seed(derive_seed(11, "test_x.py::test_given"), 1)
    failed = pytester.runpytest(*INNER, "--theater-seed", "11")
    # "Falsifying example:" before Hypothesis 6.16x, "Failing test case:" after
    failed.stdout.fnmatch_lines(["E       F* test_given(", "E           n=3,", f"run seed {seed}, *"])
    replay = pytester.runpytest(*INNER, "test_x.py::test_given", "--theater-seed", "11")
    replay.stdout.fnmatch_lines(["E           n=3,", f"run seed {seed}, *"])
    assert _hashes(replay) == _hashes(failed) and len(_hashes(failed)) == 1


def test_every_hypothesis_example_gives_its_runtimes_the_same_seeds(pytester: pytest.Pytester):
    test = derive_seed(11, "test_x.py::test_given")
    pytester.makepyfile(test_x=TREE + f'''
from hypothesis import given, settings, strategies as st
from theater_harness import Runtime

@settings(max_examples=5)
@given(st.integers())
def test_given(n):
    assert [Runtime().seed, Runtime().seed] == [{runtime_seed(test, 1)}, {runtime_seed(test, 2)}]
''')
    pytester.runpytest(*INNER, "--theater-seed", "11").assert_outcomes(passed=1)


def test_a_runtime_of_a_shared_fixture_has_the_same_seed_whichever_test_sets_it_up(pytester: pytest.Pytester):
    expected = runtime_seed(derive_seed(11, "test_x.py::shared"), 0)
    pytester.makepyfile(test_x=f'''
import pytest
from theater_harness import Runtime

@pytest.fixture(scope="module")
def shared():
    return Runtime()

def test_first(shared):
    assert shared.seed == {expected}

def test_second(shared):
    assert shared.seed == {expected}
''')
    pytester.runpytest(*INNER, "--theater-seed", "11").assert_outcomes(passed=2)
    pytester.runpytest(*INNER, "--theater-seed", "11", "test_x.py::test_second").assert_outcomes(passed=1)


def test_outside_a_test_a_runtime_made_without_a_seed_has_seed_0():
    outside = contextvars.Context()  # no test's seeds in it
    tree = TreeSpec(NodeSpec("root", policy=Policy(), children=(NodeSpec("w", manifest=str(COUNTER)),)))
    assert outside.run(lambda: (Runtime().seed, tree.run(until_ms=10).seed)) == (0, 0)


def test_the_state_machine_runtime_seed_is_the_drawn_part_over_the_test_seed(request: pytest.FixtureRequest):
    machine = SupervisionMachine()
    machine.start(seed=5)
    assert machine.runtime.seed == runtime_seed(seed_for(request.node), 1) ^ 5
    machine.start(seed=5)
    assert machine.runtime.seed == runtime_seed(seed_for(request.node), 2) ^ 5
