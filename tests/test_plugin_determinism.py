"""--theater-check-determinism on Python tests (with pytester): a test that made a runtime
runs twice with the same seed; the traces of its runtimes must be identical, or the test
fails at the first record that differs."""

from __future__ import annotations

import pytest

from conftest import ACTORS
from pytest_theater.plugin import test_seed as derive_seed
from theater_harness import Runtime

pytest_plugins = ["pytester"]

INNER = ("-p", "no:faulthandler", "-p", "no:cacheprovider")
CHECK = (*INNER, "--theater-check-determinism", "--theater-seed", "7")
COUNTER = ACTORS / "counter.toml"


def _first_record_a_payload_changes() -> int:
    """The seq of the first record that differs between two runs sending different payloads."""
    def records(payload: str) -> list[dict]:
        rt = Runtime(seed=1)
        rt.send(rt.spawn(COUNTER), payload)
        rt.run_until_idle()
        return rt.trace.dicts()

    return next(a["seq"] for a, b in zip(records("add:100000000"), records("add:100000001")) if a != b)


# nine digits, whichever are drawn: the two runs' payloads differ, not their sizes
@pytest.mark.parametrize("source", ["random.SystemRandom().randint(10**8, 10**9 - 1)",
                                    "10**8 + time.time_ns() % (9 * 10**8)"])
def test_a_test_feeding_an_actor_os_randomness_or_time_fails_at_the_first_differing_record(
        pytester: pytest.Pytester, source):
    pytester.makepyfile(test_x=f'''
import random, time

def test_draws(theater):
    counter = theater.spawn({str(COUNTER)!r})
    theater.send(counter, f"add:{{{source}}}")
    theater.run_until_idle()
''')
    result = pytester.runpytest(*CHECK)
    result.assert_outcomes(failed=1)
    seq, seed = _first_record_a_payload_changes(), derive_seed(7, "test_x.py::test_draws")
    result.stdout.fnmatch_lines([
        f"not deterministic: runtime 0's trace differs at record seq {seq} between two runs with the same seed "
        "(--theater-check-determinism)",
        f"runtime 0 of 1 (creation order, from 0), seed {seed}: trace sha256 * in run 1, * in run 2",
        f"first differing record: seq {seq}",
        f"  run 1: seq {seq} at 0 ms: *handle-send*",
        f"  run 2: seq {seq} at 0 ms: *handle-send*",
        "  fields that differ: data, hash",
        f"run 1's trace: *test_x.py_test_draws.run1.seed{seed}.trace.json",
        "run 2's: in the theater-harness report below",
        "*- theater-harness -*",
        f"run seed {seed}, *",
        "replay: pytest test_x.py::test_draws --theater-seed 7 --theater-check-determinism",
    ])


def test_a_test_whose_runtimes_use_seeded_randomness_only_runs_twice_and_passes(pytester: pytest.Pytester):
    pytester.makepyfile(test_x=f'''
import random
from theater_harness.trees import tree_from

TREE = tree_from({{"name": "root", "supervision": {{}}, "children": [{{"name": "w", "manifest": {str(COUNTER)!r}}}]}})

def test_seeded(theater):
    counter = theater.spawn({str(COUNTER)!r})
    value = random.Random(theater.seed).randint(1, 10**9)
    theater.send(counter, f"add:{{value}}")
    theater.run_until_idle()
    TREE.run(until_ms=100)
    with open("runs.txt", "a") as out:
        out.write(f"{{value}}\\n")
''')
    pytester.runpytest(*CHECK, "-v").assert_outcomes(passed=1)
    first, second = (pytester.path / "runs.txt").read_text().splitlines()
    assert first == second


def test_a_test_that_makes_no_runtime_runs_once(pytester: pytest.Pytester):
    pytester.makepyfile(test_x='''
def test_plain():
    with open("runs.txt", "a") as out:
        out.write("ran\\n")
''')
    pytester.runpytest(*CHECK).assert_outcomes(passed=1)
    assert (pytester.path / "runs.txt").read_text() == "ran\n"


def test_the_ini_twin_checks_python_tests_too(pytester: pytest.Pytester):
    pytester.makeini("[pytest]\ntheater_check_determinism = true\n")
    pytester.makepyfile(test_x=f'''
import random

def test_draws(theater):
    theater.send(theater.spawn({str(COUNTER)!r}), f"add:{{random.SystemRandom().randint(1, 10**9)}}")
    theater.run_until_idle()
''')
    result = pytester.runpytest(*INNER)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["not deterministic: runtime 0's trace differs at record seq *"])


def test_a_runtime_from_a_module_fixture_is_shared_by_both_runs_and_not_compared(pytester: pytest.Pytester):
    pytester.makepyfile(test_x=f'''
import random
import pytest
from theater_harness import Runtime

@pytest.fixture(scope="module")
def shared():
    return Runtime()

def test_uses_both(shared, theater):
    shared.send(shared.spawn({str(COUNTER)!r}), f"add:{{random.SystemRandom().randint(1, 10**9)}}")
    shared.run_until_idle()
    theater.send(theater.spawn({str(COUNTER)!r}), "inc")
    theater.run_until_idle()
''')
    pytester.runpytest(*CHECK).assert_outcomes(passed=1)


GIVEN = f'''
import random
from hypothesis import given, settings, strategies as st
from theater_harness.trees import TreeSpec, tree_from

TREE = tree_from({{"name": "root", "supervision": {{}}, "children": [{{"name": "w", "manifest": {str(COUNTER)!r}}}]}})

@settings(max_examples=8)
@given(st.integers(0, 1000))
def test_given(n):
    payload = PAYLOAD
    TreeSpec(TREE.root, workload=((5, "w", payload),)).run(until_ms=50)
    with open("examples.txt", "a") as out:
        out.write(f"{{n}}\\n")
'''


def test_a_deterministic_hypothesis_test_passes_both_runs_trying_the_same_examples(pytester: pytest.Pytester):
    pytester.makepyfile(test_x=GIVEN.replace("PAYLOAD", 'f"add:{n}"'))
    pytester.runpytest(*CHECK).assert_outcomes(passed=1)
    examples = (pytester.path / "examples.txt").read_text().splitlines()
    assert len(examples) == 16 and examples[:8] == examples[8:]


def test_a_nondeterministic_hypothesis_test_fails_at_the_first_differing_record(pytester: pytest.Pytester):
    pytester.makepyfile(test_x=GIVEN.replace("PAYLOAD", 'f"add:{random.SystemRandom().randint(1, 10**9)}"'))
    result = pytester.runpytest(*CHECK)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([
        "not deterministic: runtime 0's trace differs at record seq * between two runs with the same seed *",
        "runtime 0 of 8 (creation order, from 0), seed *",
    ])


def test_a_state_machine_passes_its_two_runs_taking_the_same_steps(pytester: pytest.Pytester):
    pytester.makepyfile(test_x=f'''
from hypothesis import settings
from theater_harness.stateful import SupervisionMachine
from theater_harness.trees import tree_from

TREE = tree_from({{"name": "root", "supervision": {{"intensity": 5}},
                   "children": [{{"name": "w", "manifest": {str(COUNTER)!r}}}]}})
TestTree = SupervisionMachine.for_tree(TREE).TestCase
TestTree.settings = settings(max_examples=4, stateful_step_count=4)
''')
    pytester.runpytest(*CHECK).assert_outcomes(passed=1)
