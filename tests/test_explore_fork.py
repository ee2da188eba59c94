"""Exploring through forks (``[explore] fork_at_ms``): the same schedules, verdicts,
coverage and shrunk failure as the same exploration run straight."""

from __future__ import annotations

import pytest

from theater_harness.errors import ScenarioError
from theater_harness.scenario import explore as explore_module
from theater_harness.scenario import load_scenario
from theater_harness.scenario.explore import explore

from conftest import ACTORS, SCENARIOS

SCENARIO = f"""
name = "forked exploration"
end_ms = 3000

[[actor]]
name = "root"
supervision = {{ strategy = "one_for_all", intensity = 10, period_ms = 5000 }}

[[actor]]
name = "store"
manifest = "{ACTORS / 'packr_counter.toml'}"
parent = "root"
recovery = "last"

[[actor]]
name = "worker"
manifest = "{ACTORS / 'crasher.toml'}"
parent = "root"

[[workload]]
to = "worker"
every_ms = 50
until_ms = 2500
send = "work"

[explore]
examples = 25
max_faults = 3
fork_at_ms = 1500
"""


def scenario(tmp_path, text=SCENARIO):
    path = tmp_path / "s.scenario.toml"
    path.write_text(text)
    return load_scenario(path)


def outcome_of(result):
    failure = result.failure
    return (result.runs, sorted(map(str, result.coverage.cells())),
            None if failure is None else (failure.schedule.to_dicts(), failure.problems))


def test_forked_and_straight_explorations_agree(tmp_path, monkeypatch):
    forked = outcome_of(explore(scenario(tmp_path), 5))
    monkeypatch.setattr("theater_harness.fork.fork_problem", lambda: "forks turned off for this test")
    straight = outcome_of(explore(scenario(tmp_path), 5))
    assert forked == straight
    assert forked[0] >= 25


def test_forks_are_used_for_schedules_after_the_fork_point(tmp_path, fork_times):
    forks = fork_times
    result = explore(scenario(tmp_path), 5)
    assert forks and set(forks) == {1499}  # every fork from the one checkpoint, just before fork_at_ms
    assert len(forks) <= result.runs


def test_fork_at_after_the_horizon_is_refused(tmp_path):
    with pytest.raises(ScenarioError, match=r"explore\.fork_at_ms.*4000 is after the faults' horizon \(3000 ms\)"):
        scenario(tmp_path, SCENARIO.replace("fork_at_ms = 1500", "fork_at_ms = 4000"))


def test_the_runner_forks_only_timed_schedules_after_the_point():
    from theater_harness.faults import Fault, FaultSchedule

    runner = explore_module.Runner(None, 0, 1500)
    assert runner.forkable(FaultSchedule([Fault("trap", target="root/worker", at_ms=1600)]))
    assert not runner.forkable(FaultSchedule([Fault("trap", target="root/worker", at_ms=1400)]))
    assert not runner.forkable(FaultSchedule([Fault("trap", target="root/worker", on_call=2)]))
    assert not explore_module.Runner(None, 0, None).forkable(FaultSchedule([]))


@pytest.mark.parametrize("at_ms", [1500, 1501, 1550, 2000])
def test_a_schedule_added_at_the_fork_point_is_the_schedule_run_from_the_start(tmp_path, at_ms):
    """What a forked run judges is what a replay runs: the schedule given from time 0,
    faults exactly at fork_at_ms included (they act before anything else of that instant)."""
    from theater_harness.faults import Fault, FaultSchedule
    from theater_harness.scenario.run import run_scenario

    loaded = scenario(tmp_path)
    schedule = FaultSchedule([Fault("trap", target="root/worker", at_ms=at_ms),
                              Fault("kill", target="root/store", at_ms=at_ms)])
    added = explore_module.Runner(loaded, 5, 1500).result(schedule)
    from_start = run_scenario(loaded, 5, faults=schedule)
    assert added.runtime.trace.hash() == from_start.runtime.trace.hash()


BUNDLED_EXPLORATIONS = sorted(p.name for p in SCENARIOS.glob("*.scenario.toml")
                              if "\n[explore]" in p.read_text(encoding="utf-8"))


@pytest.mark.parametrize("name", BUNDLED_EXPLORATIONS)
def test_every_bundled_exploration_agrees_forked_and_straight(name, monkeypatch):
    """Each bundled [explore] scenario, forked halfway through its faults' window, and the
    same exploration with every schedule run from the start: the same schedules, verdicts,
    coverage and shrunk failure."""
    import dataclasses

    loaded = load_scenario(SCENARIOS / name)
    horizon = loaded.explore.horizon_ms or loaded.end_ms or 10_000
    forked_scenario = dataclasses.replace(
        loaded, explore=dataclasses.replace(loaded.explore, examples=30, fork_at_ms=horizon // 2))
    forked = explore(forked_scenario, 3)
    # straight: every schedule given to run_scenario from time 0, as a replay runs it
    monkeypatch.setattr(explore_module.Runner, "forkable", lambda self, schedule: False)
    straight = explore(forked_scenario, 3)
    assert outcome_of(forked) == outcome_of(straight)
    assert forked.runs >= 30
