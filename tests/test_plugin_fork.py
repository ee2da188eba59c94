"""Hypothesis tests through forks (``TreeSpec.check(fork_at_ms=...)``) under the pytest
plugin: the same verdicts, shrunk failure and failure report as the same test run
straight; the session's seed, shards, xdist workers and the determinism check respected."""

from __future__ import annotations

import json
import re

import pytest

from theater_harness.fork import fork_problem
from theater_harness.scenario.explore import _seed_only

from conftest import ACTORS

pytest_plugins = ["pytester"]
pytestmark = pytest.mark.skipif(fork_problem() is not None, reason=f"cannot fork here: {fork_problem()}")

INNER = ("-p", "no:faulthandler", "-p", "no:cacheprovider")  # as tests/test_plugin.py's
STRAIGHT = "THEATER_TEST_STRAIGHT"  # set: the inner session runs with forks off

# A guest supervisor that never restarts a child (sup_never), judged as one_for_one: a
# fault after the warm-up breaks strategy_conformance. The verdicts go to a JSON-lines file.
BROKEN = f'''
import json, os
from hypothesis import HealthCheck, given, settings
from theater_harness.strategies import fault_schedules
from theater_harness.trees import NodeSpec, TreeSpec

TREE = TreeSpec(NodeSpec("sup", manifest={str(ACTORS / "sup_never.toml")!r}, children=(
    NodeSpec("w0", manifest={str(ACTORS / "counter.toml")!r}),
    NodeSpec("w1", manifest={str(ACTORS / "crasher.toml")!r}))),
    workload=tuple((t, w, "inc") for t in range(0, 3000, 20) for w in ("w0", "w1")))
POLICIES = {{"sup": {{"strategy": "one_for_one", "intensity": 10}}}}


@settings(max_examples=30, derandomize=True, database=None, deadline=None, suppress_health_check=list(HealthCheck))
@given(fault_schedules(TREE, max_faults=2, from_ms=1500, horizon_ms=3000))
def test_tree(schedule):
    verdict = TREE.check(faults=schedule, fork_at_ms=1500, policies=POLICIES)
    with open(os.environ["VERDICTS"], "a") as out:
        out.write(json.dumps([schedule.to_dicts(), verdict.seed, [str(v) for v in verdict.violations],
                              verdict.ended, verdict.time_ms, verdict.records, verdict.forked]) + "\\n")
    verdict.assert_holds()
'''

# A correct tree (declarative one_for_one), two tests of it.
HEALTHY = BROKEN.replace(
    f'NodeSpec("sup", manifest={str(ACTORS / "sup_never.toml")!r}, children=(',
    'NodeSpec("sup", policy=Policy("one_for_one", intensity=10), children=(').replace(
    "import NodeSpec, TreeSpec", "import NodeSpec, Policy, TreeSpec").replace(
    "def test_tree(schedule):", "def test_tree(schedule):\n    _check(schedule)\n\n\n"
    "@settings(max_examples=10, derandomize=True, database=None, deadline=None)\n"
    "@given(fault_schedules(TREE, max_faults=2, from_ms=1500, horizon_ms=3000))\n"
    "def test_again(schedule):\n    _check(schedule)\n\n\ndef _check(schedule):")

CONFTEST = f'''
import os
import pytest
from theater_harness.fork import straight


@pytest.fixture(autouse=True)
def _forks():
    if os.environ.get({STRAIGHT!r}):
        with straight("turned off for this session"):
            yield
    else:
        yield
'''


def session(pytester: pytest.Pytester, monkeypatch, tmp_path, source: str, *args: str, forks: bool = True):
    """Run ``source`` as test_x.py in an inner session; its outcome and the verdicts it logged."""
    log = tmp_path / f"verdicts-{'forked' if forks else 'straight'}-{len(list(tmp_path.iterdir()))}.jsonl"
    monkeypatch.setenv("VERDICTS", str(log))
    if forks:
        monkeypatch.delenv(STRAIGHT, raising=False)
    else:
        monkeypatch.setenv(STRAIGHT, "1")
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_x=source)
    with _seed_only():  # Hypothesis draws nothing from the modules imported so far (a forked
        result = pytester.runpytest(*INNER, *args)  # search imports some only in its forks)
    verdicts = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
    return result, verdicts


def forkable(verdict: list) -> bool:
    """Whether a logged verdict's schedule could fork: every fault timed (none counts calls)."""
    return all("at_ms" in f and "on_call" not in f and "on_message" not in f for f in verdict[0])


def report_of(result) -> str:
    """The theater-harness section of a failure (the trace's folder left out: the runs'
    folders differ)."""
    out = result.stdout.str()
    section = out[out.index("theater-harness ---"):]
    section = section[:section.index("short test summary")]
    return re.sub(r"trace: \S+/", "trace: ", section)


def failing_case(result) -> str:
    """Hypothesis's shrunk example, as it prints it."""
    out = result.stdout.str()
    return out[out.index("Failing test case"):out.index("\nE           )")]


@pytest.mark.parametrize("options", [(), ("--theater-shard", "2/3")], ids=["whole", "shard 2/3"])
def test_forked_and_straight_give_the_same_verdicts_shrunk_failure_and_report(pytester, monkeypatch, tmp_path,
                                                                              options, fork_times):
    forks = fork_times
    args = ("--theater-seed", "11", *options)
    forked, forked_verdicts = session(pytester, monkeypatch, tmp_path, BROKEN, *args)
    straight, straight_verdicts = session(pytester, monkeypatch, tmp_path, BROKEN, *args, forks=False)
    forked.assert_outcomes(failed=1)
    straight.assert_outcomes(failed=1)
    assert [v[:-1] for v in forked_verdicts] == [v[:-1] for v in straight_verdicts]
    assert set(forks) == {1499}  # every fork from the one checkpoint, the run before 1500 ms
    # every forkable example but the last forked; the last, Hypothesis's final replay of the
    # shrunk example, forked, failed, and was run again straight for the report
    assert len(forks) - 1 == sum(v[-1] for v in forked_verdicts) > 10
    assert not any(v[-1] for v in straight_verdicts)
    assert failing_case(forked) == failing_case(straight)
    assert report_of(forked) == report_of(straight)
    report = report_of(forked)
    shard = " --theater-shard 2/3" if options else ""
    for expected in ("tree:", "sup ", "fault schedule:", "[[fault]]  # #0 fired at", "invariants violated",
                     "strategy_conformance", "timeline around", "trace: test_x.py_test_tree.seed",
                     f"replay: pytest test_x.py::test_tree --theater-seed 11{shard}"):
        assert expected in report, expected
    assert forked_verdicts[-1][-1] is False and forked_verdicts[-1][2]


def test_the_seed_is_the_tests_and_follows_the_session_seed(pytester, monkeypatch, tmp_path):
    seeds = []
    for session_seed in ("1", "2"):
        result, verdicts = session(pytester, monkeypatch, tmp_path, HEALTHY, "--theater-seed", session_seed)
        result.assert_outcomes(passed=2)
        assert all(v[-1] == forkable(v) for v in verdicts)
        seeds.append({seed for _, seed, *_ in verdicts})
    # one seed per test (each example's first runtime), not the same in two sessions
    assert len(seeds[0]) == len(seeds[1]) == 2 and not seeds[0] & seeds[1]
    again, verdicts = session(pytester, monkeypatch, tmp_path, HEALTHY, "--theater-seed", "2", forks=False)
    assert {seed for _, seed, *_ in verdicts} == seeds[1]


def test_the_determinism_check_compares_straight_runs(pytester, monkeypatch, tmp_path):
    result, verdicts = session(pytester, monkeypatch, tmp_path, HEALTHY, "--theater-seed", "3",
                               "--theater-check-determinism")
    result.assert_outcomes(passed=2)
    assert verdicts and not any(forked for *_, forked in verdicts)  # both runs, straight
    assert len(verdicts) == 2 * 40


def test_each_xdist_worker_forks_from_its_own_checkpoint(pytester, monkeypatch, tmp_path):
    result, verdicts = session(pytester, monkeypatch, tmp_path, HEALTHY, "--theater-seed", "4", "-n", "2",
                               "-p", "no:randomly")
    result.assert_outcomes(passed=2)
    assert len(verdicts) == 40 and all(v[-1] == forkable(v) for v in verdicts) and any(forkable(v) for v in verdicts)


MACHINE = f'''
from hypothesis import HealthCheck, settings
from theater_harness.stateful import SupervisionMachine
from theater_harness.trees import NodeSpec, TreeSpec

TREE = TreeSpec(NodeSpec("sup", manifest={str(ACTORS / "sup_never.toml")!r}, children=(
    NodeSpec("w0", manifest={str(ACTORS / "counter.toml")!r}),
    NodeSpec("w1", manifest={str(ACTORS / "crasher.toml")!r}))),
    workload=tuple((t, "w0", "inc") for t in range(0, 1000, 10)))
Machine = SupervisionMachine.for_tree(TREE, policies={{"sup": {{"strategy": "one_for_one", "intensity": 10}}}},
                                      kinds=["stop", "trap"], warmup_ms=1000, fork=True)
Machine.TestCase.settings = settings(max_examples=100, stateful_step_count=6, deadline=None, database=None,
                                     derandomize=True, suppress_health_check=list(HealthCheck))
TestMachine = Machine.TestCase
'''


def test_a_forked_state_machine_reports_its_failure_as_a_straight_one(pytester, monkeypatch, tmp_path):
    forked, _ = session(pytester, monkeypatch, tmp_path, MACHINE, "--theater-seed", "5")
    straight, _ = session(pytester, monkeypatch, tmp_path, MACHINE, "--theater-seed", "5", forks=False)
    forked.assert_outcomes(failed=1)
    straight.assert_outcomes(failed=1)
    assert report_of(forked) == report_of(straight)
    for expected in ("tree:", "fault schedule:", 'kind = "stop"', "timeline around",
                     "replay: pytest test_x.py::TestMachine::runTest --theater-seed 5"):
        assert expected in report_of(forked), expected
