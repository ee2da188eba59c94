"""The bundled scenarios with packr actors (``scenarios/packr-*.scenario.toml``): each mixes
packr and component actors in one tree; together they cover every strategy, every recovery
mode, a packr guest supervisor, a panic ended by fuel and an exploration. They pass, and
their expectations bite: a copy with the behaviour changed fails, saying why."""

from __future__ import annotations

import pytest

from conftest import ACTORS, SCENARIOS
from theater_harness.scenario import load_scenario, run_scenario
from theater_harness.scenario.explore import explore

PACKR_SCENARIOS = sorted(SCENARIOS.glob("packr-*.scenario.toml"))
NAMES = ["packr-explore", "packr-guest-supervisor", "packr-one-for-all", "packr-recovery", "packr-rest-for-one",
         "packr-rpc"]


def is_packr(actor) -> bool:
    return actor.manifest is not None and actor.manifest.name.startswith("packr_")


def test_the_packr_scenarios_are_these():
    assert [p.name.removesuffix(".scenario.toml") for p in PACKR_SCENARIOS] == NAMES


@pytest.mark.parametrize("path", PACKR_SCENARIOS, ids=lambda p: p.name)
def test_each_mixes_packr_and_component_actors_in_one_tree_and_says_what_it_shows(path):
    scenario = load_scenario(path)
    assert path.read_text().startswith("# ")  # the header comment
    assert sum(1 for a in scenario.actors if a.parent is None) == 1
    assert any(is_packr(a) for a in scenario.actors)
    assert any(a.manifest is not None and not is_packr(a) for a in scenario.actors)


def test_together_they_cover_every_strategy_recovery_mode_and_packr_actor():
    scenarios = [load_scenario(p) for p in PACKR_SCENARIOS]
    strategies = {a.policy.strategy for s in scenarios for a in s.actors if a.policy is not None}
    strategies |= {policy["strategy"] for s in scenarios for policy in s.policies.values()}
    assert strategies == {"one_for_one", "one_for_all", "rest_for_one"}
    assert {a.recovery for s in scenarios for a in s.actors if is_packr(a)} >= {"init", "last", "replay"}
    assert {a.manifest.name for s in scenarios for a in s.actors if is_packr(a)} == {
        f"packr_{name}.toml" for name in ("counter", "crasher", "messenger", "panic", "rpc_client", "rpc_server",
                                          "supervisor")}
    assert sum(s.explore is not None for s in scenarios) == 1
    calls = [step for s in scenarios for step in s.steps if step.action == "call"]
    assert {step.export for step in calls} == {"counter.add", "counter.get", "calc.total", "rpc-client.relay"}
    assert any(step.expect_error for step in calls)
    assert any(w.call for s in scenarios for w in s.workloads)


@pytest.mark.parametrize("path", [p for p in PACKR_SCENARIOS if "explore" not in p.name], ids=lambda p: p.name)
@pytest.mark.parametrize("seed", [0, 7])
def test_each_passes(path, seed):
    result = run_scenario(load_scenario(path), seed)
    assert result.ok, (result.problems, result.violations)


@pytest.mark.parametrize("seed", [0, 3])
def test_the_exploration_finds_no_schedule_that_breaks_the_mixed_tree(seed):
    outcome = explore(load_scenario(SCENARIOS / "packr-explore.scenario.toml"), seed)
    assert outcome.failure is None, (outcome.failure.problems, outcome.failure.violations)
    assert outcome.runs == 30


# --- the expectations bite: a changed copy fails, and says why ------------------------------

def changed(tmp_path, name: str, old: str, new: str):
    text = (SCENARIOS / f"{name}.scenario.toml").read_text()
    assert text.count(old) == 1, old
    (tmp_path / "actors").symlink_to(ACTORS)
    path = tmp_path / f"{name}.scenario.toml"
    path.write_text(text.replace(old, new))
    return run_scenario(load_scenario(path))


def test_recovery_init_instead_of_last_loses_the_typed_state(tmp_path):
    result = changed(tmp_path, "packr-recovery", 'name = "resumed"\nmanifest = "actors/packr_counter.toml"\n'
                     'parent = "sup"\nrecovery = "last"', 'name = "resumed"\nmanifest = "actors/packr_counter.toml"\n'
                     'parent = "sup"\nrecovery = "init"')
    assert result.problems == ["message[4] (call counter.get() to resumed at 1500 ms): expected result 15, got 0"]


def test_recovery_last_instead_of_replay_gives_the_same_state_but_no_replay(tmp_path):
    result = changed(tmp_path, "packr-recovery", 'recovery = "replay"', 'recovery = "last"')
    assert result.ok  # the same typed record either way: replay rebuilt what last kept
    assert not [r for r in result.runtime.trace.records if r.kind == "replay"]


def test_a_panic_given_more_than_the_fuel_it_needs_still_ends_out_of_fuel(tmp_path):
    result = changed(tmp_path, "packr-recovery", 'expect_exit = "out-of-fuel"', 'expect_exit = "trap"')
    assert result.problems == ["actor doomed: expected exit trap, got out-of-fuel"]


def test_one_for_one_instead_of_one_for_all_leaves_the_siblings_alone(tmp_path):
    result = changed(tmp_path, "packr-one-for-all", 'strategy = "one_for_all"', 'strategy = "one_for_one"')
    assert result.problems == [
        "actor tally: expected incarnation 2, it is at 1",
        "actor legacy: expected incarnation 2, it is at 1",
        "actor relay: expected incarnation 2, it is at 1",
        "message[5] (request 'get' to legacy at 200 ms): expected reply b'10', got b'15'",
        "message[7] (request 'ask:${legacy}:inc' to relay at 300 ms): expected reply b'11', got b'16'",
    ]


def test_one_for_all_instead_of_rest_for_one_restarts_the_older_sibling_too(tmp_path):
    result = changed(tmp_path, "packr-rest-for-one", 'strategy = "rest_for_one"', 'strategy = "one_for_all"')
    assert result.problems == ["actor first: expected incarnation 1, it is at 2",
                               "message[6] (request 'get' to first at 200 ms): expected reply b'7', got b'0'"]


def test_the_guest_supervisor_is_held_to_its_policy(tmp_path):
    result = changed(tmp_path, "packr-guest-supervisor", "intensity = 5", "intensity = 1")
    assert [v.invariant for v in result.violations] == ["strategy_conformance", "intensity"]
