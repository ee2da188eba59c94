"""World faults: the store, the disk, HTTP and rpc failing, from a schedule; what each kind
does to the call it hits, how it is recorded, drawn by the strategies and covered by an
exploration."""

from __future__ import annotations

import json

import pytest

from conftest import ACTORS, SCENARIOS
from theater_harness import Runtime
from theater_harness.errors import ScenarioError
from theater_harness.fault_space import FaultSpace
from theater_harness.faults import FaultSchedule, fault
from theater_harness.faults.model import KINDS, WORLD_FUNCTIONS, WORLD_KINDS
from theater_harness.host import filesystem, store
from theater_harness.scenario import load_scenario, run_scenario
from theater_harness.scenario.explore import explore
from theater_harness.strategies import DRAW_ORDER, HEALABLE_KINDS, KIND_ORDER, WORLD_KINDS as DRAWN, fault_schedules
from theater_harness.strategies import world_kinds
from theater_harness.trees import NodeSpec, Policy, TreeSpec
from theater_harness.wasm._wit import HOST_NAMES
from theater_harness.world import World

WORLD_USER = str(ACTORS / "world_user.toml")
SERVER = str(ACTORS / "packr_rpc_server.toml")
CLIENT = str(ACTORS / "packr_rpc_client.toml")
SYNC = "https://api.example.com/sync"
TIMED_OUT = f"error sending request for url ({SYNC}): operation timed out"


def world() -> World:
    return World(files={"srv/world_user/config.txt": f"{SYNC}\n"}, env={"API_TOKEN": "t"},
                 http={"POST https://api.example.com/*": {"status": 200, "body": "synced", "latency_ms": 40}})


def visitor(*faults, seed: int = 1) -> Runtime:
    """world_user ("wu", unsupervised), at 10 ms, with ``faults`` scheduled."""
    rt = Runtime(seed=seed, world=world(), faults=FaultSchedule(faults))
    rt.spawn(WORLD_USER, name="wu")
    rt.advance(10)
    return rt


def asked(rt: Runtime, *requests: str) -> list[str]:
    return [rt.ask("wu", r).decode("utf-8", "replace") for r in requests]


def world_records(rt: Runtime, interface: str | None = None) -> list[dict]:
    return [r for r in rt.trace.dicts() if r["kind"] == "world" and interface in (None, r["interface"])]


def fault_records(rt: Runtime) -> list[dict]:
    return [r for r in rt.trace.dicts() if r["kind"] == "fault"]


# --- the vocabulary -------------------------------------------------------------------


def test_every_world_kind_is_an_actor_fault_of_one_interface():
    assert list(WORLD_KINDS) == [k for k in KINDS if k.split("-")[0] in ("store", "fs", "http", "rpc")]
    assert set(WORLD_KINDS.values()) == {"store", "filesystem", "http-client", "rpc"}
    assert all(KINDS[kind][0] == "actor" for kind in WORLD_KINDS)


def test_the_world_functions_are_the_hosts():
    component_era = {name for interface, name in HOST_NAMES if interface == "store"}
    packr_era = set(store.FUNCTIONS) - set(HOST_NAMES.values())
    assert set(WORLD_FUNCTIONS["store"]) == packr_era | component_era
    assert set(WORLD_FUNCTIONS["filesystem"]) == set(filesystem.FUNCTIONS)


@pytest.mark.parametrize("table, field, message", [
    ({"kind": "store-lost-write", "target": "w", "count": 0}, "fault.count", "expected an integer >= 1"),
    ({"kind": "fs-full", "target": "w", "duration_ms": 0}, "fault.duration_ms", "expected an integer >= 1"),
    ({"kind": "http-5xx", "target": "w", "status": 404}, "fault.status", "expected a 5xx HTTP status"),
    ({"kind": "http-refused", "target": "w", "route": ""}, "fault.route", "expected a URL pattern"),
    ({"kind": "store-corrupt-read", "target": "w", "function": "store"}, "fault.function",
     "'store' is not a function of store that a 'store-corrupt-read' fault hits; those: get"),
    ({"kind": "rpc-drop", "target": "w", "on_call": 1}, "fault.on_call", "is not applied to a call; use at_ms"),
    ({"kind": "rpc-delay", "target": "w", "route": "*"}, "fault.route", "not a key of a 'rpc-delay' fault"),
    ({"kind": "store-slow"}, "fault.target", "needs target"),
])
def test_bad_world_faults_are_refused_naming_the_field(table, field, message):
    with pytest.raises(ScenarioError) as caught:
        FaultSchedule.from_dicts([table], source="s.toml")
    assert caught.value.field == field.replace("fault.", "fault[0].") and message in str(caught.value)


def test_world_faults_round_trip_and_read_well():
    schedule = FaultSchedule([fault("store-lost-write", "worker", at_ms=300, count=1),
                              fault("http-5xx", "worker", route="https://api.example.com/*", status=502)])
    assert FaultSchedule.from_toml(schedule.to_toml()) == schedule
    assert FaultSchedule.from_json(schedule.to_json()) == schedule
    assert schedule.describe() == ["#0 store-lost-write worker at 300 ms count=1",
                                   "#1 http-5xx worker from the start status=502 route=https://api.example.com/*"]


# --- what each kind does --------------------------------------------------------------

# kind, params, the replies to: visit then "visits", "sync", "save:x.txt:hello", "config"
EFFECTS = [
    ("store-lost-write", {}, ["0", "200 synced", "ok", f"{SYNC}\n"]),
    ("store-slow", {"delay_ms": 50}, ["1", "200 synced", "ok", f"{SYNC}\n"]),
    ("http-timeout", {"delay_ms": 500}, ["1", f"error: {TIMED_OUT}", "ok", f"{SYNC}\n"]),
    ("http-refused", {}, ["1", f"error: error sending request for url ({SYNC}): connection refused", "ok",
                          f"{SYNC}\n"]),
    ("http-5xx", {}, ["1", "503 ", "ok", f"{SYNC}\n"]),
    ("http-slow", {"delay_ms": 7}, ["1", "200 synced", "ok", f"{SYNC}\n"]),
    ("http-lost-response", {}, ["1", f"error: {TIMED_OUT}", "ok", f"{SYNC}\n"]),
    ("fs-io-error", {}, ["1", "error: Input/output error (os error 5)", "ok", f"{SYNC}\n"]),
    ("fs-full", {}, ["1", "200 synced", "error: No space left on device (os error 28)", f"{SYNC}\n"]),
    ("fs-slow", {"delay_ms": 30}, ["1", "200 synced", "ok", f"{SYNC}\n"]),
]


@pytest.mark.parametrize("kind, params, replies", EFFECTS, ids=[e[0] for e in EFFECTS])
def test_each_world_kind_changes_the_call_it_hits(kind, params, replies):
    rt = visitor(fault(kind, "wu", at_ms=10, **params))
    rt.send("wu", "visit")
    rt.run_until_idle()
    assert asked(rt, "visits", "sync", "save:x.txt:hello", "config") == replies
    hit = [r for r in world_records(rt) if "fault" in r]
    assert len(hit) == 1 and hit[0]["fault"] == 0 and rt.faults.outcome(0) == "fired"
    assert fault_records(rt)[0]["world_call"] == f"{hit[0]['interface']}.{hit[0]['function']}"


def test_a_lost_write_is_acknowledged_but_not_kept():
    rt = visitor(fault("store-lost-write", "wu", at_ms=10))
    rt.send("wu", "visit")
    rt.run_until_idle()
    written = world_records(rt, "store")[-1]
    assert (written["function"], written["outcome"], written["fault"]) == ("store-at-label", "ok", 0)
    assert rt.world.stores["world-user"].labels == {}  # the world kept nothing of it
    assert rt.world.stores["world-user"].content == {}


def test_a_corrupted_read_flips_the_first_byte():
    rt = visitor(fault("store-corrupt-read", "wu", at_ms=10))
    rt.send("wu", "visit")
    rt.run_until_idle()
    assert rt.ask("wu", "visits") == bytes([ord("1") ^ 0xFF])
    read = world_records(rt, "store")[-1]
    assert (read["function"], read["fault"], read["result"]) == ("get", 0, repr(bytes([ord("1") ^ 0xFF])))
    assert rt.ask("wu", "visits") == b"1"  # count = 1: the next read is intact


def test_a_read_with_nothing_to_corrupt_leaves_the_fault_for_the_next():
    rt = visitor(fault("store-corrupt-read", "wu", at_ms=0))  # init's get-by-label finds no label: no get
    assert rt.faults.outcome(0) == "pending"
    rt.send("wu", "visit")
    rt.run_until_idle()
    assert rt.ask("wu", "visits") == bytes([ord("1") ^ 0xFF])


def test_slow_answers_arrive_later_in_virtual_time():
    rt = visitor(fault("http-slow", "wu", at_ms=10, delay_ms=1000))
    assert asked(rt, "sync") == ["200 synced"]
    assert rt.now == 10 + 40 + 1000
    sent = world_records(rt, "http-client")[0]
    assert sent["latency_ms"] == 1040 and sent["fault"] == 0


def test_the_server_acts_when_only_the_response_is_lost():
    rt = visitor(fault("http-lost-response", "wu", at_ms=10), fault("http-refused", "wu", at_ms=20000))
    asked(rt, "sync")
    assert [e.request.uri for e in rt.world.exchanges] == [SYNC]  # the route was called
    rt.advance(20000)
    asked(rt, "sync")
    assert len(rt.world.exchanges) == 1  # refused: it never reached the route


def test_count_and_duration_bound_what_a_world_fault_hits():
    rt = visitor(fault("fs-io-error", "wu", at_ms=10, count=2), fault("store-unavailable", "wu", at_ms=10,
                                                                        duration_ms=5))
    assert asked(rt, "config", "config", "config") == ["error: Input/output error (os error 5)"] * 2 + [f"{SYNC}\n"]
    assert asked(rt, "visits") == ["error: store unavailable"]
    rt.advance(5)
    assert asked(rt, "visits") == ["0"]
    assert [r["fault"] for r in fault_records(rt)] == [0, 0, 1]  # the failed get-by-label ends that request


def test_function_and_route_aim_a_world_fault():
    rt = visitor(fault("store-unavailable", "wu", at_ms=10, function="get-by-label"),
                 fault("http-5xx", "wu", at_ms=10, route="https://other.example.com/*"))
    rt.send("wu", "visit")
    rt.run_until_idle()
    assert asked(rt, "visits", "sync") == ["error: store unavailable", "200 synced"]
    assert rt.faults.outcome(1) == "pending"


def test_a_world_fault_outlives_the_incarnation_alive_at_its_time():
    rt = Runtime(seed=1, world=world(), faults=FaultSchedule([fault("fs-io-error", "wu", at_ms=10)]))
    TreeSpec(NodeSpec("sup", policy=Policy("one_for_one", intensity=3), children=(
        NodeSpec("wu", manifest=WORLD_USER),))).spawn(rt)
    rt.advance(10)
    rt.send("wu", "crash")
    rt.run_until_idle()
    assert rt.actor("wu").incarnation == 2
    assert asked(rt, "config") == ["error: Input/output error (os error 5)"]
    record = fault_records(rt)[0]
    assert (record["phase"], record["restart"], record["strategy"]) == ("running", "permanent", "one_for_one")
    assert not [r for r in rt.trace.dicts() if r["kind"] == "missed"]


def test_a_world_fault_that_meets_no_call_stays_pending():
    rt = visitor(fault("http-timeout", "wu", at_ms=10))
    rt.advance(1000)
    assert rt.faults.outcome(0) == "pending"
    assert not [r for r in rt.trace.dicts() if r["kind"] in ("fault", "missed")]


def test_a_world_fault_in_an_init_is_in_the_init_phase():
    rt = Runtime(seed=1, world=world(), faults=FaultSchedule([fault("store-slow", "wu", at_ms=10, delay_ms=5)]))
    TreeSpec(NodeSpec("sup", policy=Policy("one_for_one", intensity=3), children=(
        NodeSpec("wu", manifest=WORLD_USER),))).spawn(rt)
    rt.advance(10)
    rt.send("wu", "crash")
    rt.run_until_idle()
    record = fault_records(rt)[0]
    assert (record["phase"], record["world_call"]) == ("init", "store.new")


def test_world_faults_are_deterministic():
    def run() -> str:
        rt = visitor(fault("http-slow", "wu", at_ms=10, delay_ms=3), fault("store-lost-write", "wu", at_ms=10))
        rt.send("wu", "visit")
        rt.run_until_idle()
        asked(rt, "sync", "visits")
        return rt.trace.hash()
    assert run() == run()


# --- rpc ---------------------------------------------------------------------------------


def calculator(*faults) -> tuple[Runtime, dict[str, str]]:
    rt = Runtime(seed=11, faults=FaultSchedule(faults))
    ids = TreeSpec(NodeSpec("sup", policy=Policy("one_for_one", intensity=5), children=(
        NodeSpec("calc", manifest=SERVER), NodeSpec("client", manifest=CLIENT)))).spawn(rt)
    rt.advance(10)
    return rt, ids


@pytest.mark.parametrize("kind, params, reply, at, outcome", [
    ("rpc-drop", {}, "error: Call timed out", 1010, "timeout"),
    ("rpc-delay", {"delay_ms": 300}, "5", 310, "ok"),
    ("rpc-target-down", {"duration_ms": 50}, "error: Actor not found: {calc}", 10, "fault"),
])
def test_rpc_faults(kind, params, reply, at, outcome):
    rt, ids = calculator(fault(kind, "client", at_ms=5, **params))
    assert rt.ask("client", f"call {ids['calc']} calc.add 2 3 timeout=1000") == reply.format(**ids).encode()
    assert rt.now == at
    assert [r.to_dict()["outcome"] for r in rt.trace.of_kind("rpc")] == [outcome]
    assert fault_records(rt)[0]["world_call"] == "rpc.call"


# --- strategies, coverage, scenarios -----------------------------------------------------


def world_tree() -> TreeSpec:
    return TreeSpec(NodeSpec("sup", policy=Policy("one_for_one", intensity=5), children=(
        NodeSpec("wu", manifest=WORLD_USER), NodeSpec("counter", manifest=str(ACTORS / "counter.toml")),
        NodeSpec("client", manifest=CLIENT))))


def test_world_kinds_come_after_the_supervision_kinds_and_are_not_healable_by_default():
    assert DRAW_ORDER == KIND_ORDER + DRAWN and DRAWN == tuple(WORLD_KINDS)
    assert not set(DRAWN) & set(HEALABLE_KINDS)


def test_world_kinds_of_a_tree_are_those_its_manifests_declare():
    assert world_kinds(world_tree()) == DRAWN
    assert world_kinds(world_tree(), targets=["client"]) == ("rpc-drop", "rpc-delay", "rpc-target-down")
    assert world_kinds(world_tree(), targets=["counter"]) == ()


def test_fault_schedules_aim_world_faults_at_actors_with_the_handler():
    from hypothesis import given, settings

    @settings(max_examples=60, database=None, derandomize=True)
    @given(fault_schedules(world_tree(), kinds=HEALABLE_KINDS + world_kinds(world_tree())))
    def check(schedule):
        for f in schedule:
            if f.kind in WORLD_KINDS:
                assert f.target == ("client" if f.kind.startswith("rpc-") else "wu")
                assert f.at_ms is not None
    check()


def test_a_world_kind_no_target_can_take_is_refused():
    from theater_harness.errors import HarnessError

    with pytest.raises(HarnessError, match="a world kind a target whose manifest declares its handler"):
        fault_schedules(world_tree(), kinds=["store-slow"], targets=["counter"])


def test_world_kinds_join_the_coverage_table_when_they_fire():
    space = FaultSpace()
    assert "store-slow" not in space.kinds
    rt = visitor(fault("store-slow", "wu", at_ms=10), fault("fs-io-error", "wu", at_ms=10))
    rt.send("wu", "visit")
    rt.run_until_idle()
    space.record(rt.trace)  # the disk is not called: fs-io-error stays pending, and out of the table
    assert space.kinds == KIND_ORDER + ("store-slow",)
    assert "store-slow" in space.table()


def test_the_world_scenario_heals():
    result = run_scenario(load_scenario(SCENARIOS / "world-faults.scenario.toml"))
    assert result.ok, (result.problems, result.violations)
    assert [r["fault_kind"] for r in fault_records(result.runtime)] == [
        "store-lost-write", "store-corrupt-read", "http-5xx", "http-timeout", "fs-io-error"]


def test_the_rpc_world_scenario_passes():
    result = run_scenario(load_scenario(SCENARIOS / "world-rpc-faults.scenario.toml"))
    assert result.ok, (result.problems, result.violations)


def test_a_broken_tree_does_not_survive_a_store_outage():
    scenario = load_scenario(SCENARIOS / "world-broken-supervisor.scenario.toml")
    result = run_scenario(scenario)
    assert scenario.xfail and not result.ok
    assert [v.invariant for v in result.violations] == ["strategy_conformance"]
    assert fault_records(result.runtime)[0]["fault_kind"] == "store-unavailable"


def test_an_exploration_fires_every_world_kind():
    scenario = load_scenario(SCENARIOS / "world-explore.scenario.toml")
    assert scenario.explore.kinds == DRAWN
    outcome = explore(scenario, scenario.seed)
    assert outcome.failure is None and outcome.runs == 200
    fired = {cell.kind for cell in outcome.coverage.cells()}
    assert [kind for kind in DRAWN if kind not in fired] == []
    assert outcome.coverage.kinds == KIND_ORDER + DRAWN
    assert json.loads(json.dumps(outcome.coverage.to_dict()))["runs"] == 200
