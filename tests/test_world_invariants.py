"""The outside world's invariants: nothing the store acknowledged is lost or changed unless
a fault of the schedule explains it (``store_durability``); every HTTP request has one
outcome (``http_outcomes``); recovery with state partly in the store."""

from __future__ import annotations

import hashlib
import json

import pytest

from conftest import ACTORS
from theater_harness import Runtime
from theater_harness.faults import FaultSchedule, fault
from theater_harness.host import store as store_host
from theater_harness.invariants import INVARIANTS, check_all, check_http_outcomes, check_store_durability
from theater_harness.invariants._world import store_durability_notes
from theater_harness.trees import NodeSpec, Policy, TreeSpec
from theater_harness.world import World

WORLD_USER = str(ACTORS / "world_user.toml")
ONE, TWO = "356a192b7913b04c54574d18c28d46e6395428ab", "da4b9237bacccdf19c0760cab7aec4a8359010b0"


def visits(*faults, recovery: str = "init", rounds: int = 6) -> Runtime:
    """world_user under one_for_one: a visit, then its count read back, every 100 ms."""
    rt = Runtime(seed=3, faults=FaultSchedule(faults),
                 world=World(files={"srv/world_user/config.txt": "https://api.example.com/sync\n"},
                             http={"POST https://api.example.com/*": "synced"}))
    TreeSpec(NodeSpec("sup", policy=Policy("one_for_one", intensity=5), children=(
        NodeSpec("w", manifest=WORLD_USER, recovery=recovery),))).spawn(rt)
    for _ in range(rounds):
        rt.advance(100)
        rt.send("w", "visit")
        rt.run_until_idle()
        rt.ask("w", "visits")
    return rt


@pytest.fixture
def lossy_store(monkeypatch):
    """A mutant store that acknowledges every 3rd label it is asked to point and keeps none of them."""
    point, calls = store_host._point, []

    def lossy(rt, store, label, ref):
        calls.append(label)
        return None if len(calls) % 3 == 0 else point(rt, store, label, ref)
    monkeypatch.setattr(store_host, "_point", lossy)


def test_the_world_invariants_are_registered():
    assert list(INVARIANTS)[-2:] == ["store_durability", "http_outcomes"]


def test_a_correct_store_keeps_what_it_acknowledged():
    assert check_all(visits()) == []


def test_the_mutant_that_loses_acknowledged_writes_is_caught(lossy_store):
    found = check_store_durability(visits())
    assert [v.time_ms for v in found] == [300, 600]
    first = found[0]
    assert first.message == (
        f"store 'world-user', label 'visits': get-by-label at 300 ms by w returned {TWO}, but the acknowledged "
        f"store-at-label at 300 ms by w left it at 77de68daecd823babbb58edb1c8e14d7106e83bb; no fault in the "
        f"schedule explains it")
    assert [r["function"] for r in first.evidence] == ["store-at-label", "get-by-label"]


def test_the_same_loss_from_a_store_lost_write_fault_is_explained():
    rt = visits(fault("store-lost-write", "w", at_ms=250))
    assert rt.faults.outcome(0) == "fired"
    assert check_all(rt) == []


def test_a_corrupted_read_is_caught_unless_a_fault_explains_it():
    assert check_store_durability(visits(fault("store-corrupt-read", "w", at_ms=250))) == []
    rt = Runtime(seed=3)
    rt.spawn(WORLD_USER, name="w")
    rt.send("w", "visit")
    rt.run_until_idle()
    rt.world.stores["world-user"].content[ONE] = b"?"  # a mutant: the store changes what it acknowledged
    rt.ask("w", "visits")
    assert [v.message for v in check_store_durability(rt)] == [
        f"store 'world-user': get of {ONE} at 0 ms by w returned content whose SHA-1 is "
        f"{hashlib.sha1(b'?').hexdigest()}; no fault in the schedule explains it"]


def world(t: int, function: str, args: list, result, outcome: str = "ok", **extra) -> dict:
    return {"t": t, "kind": "world", "actor": "a", "interface": "store", "function": function, "args": args,
            "outcome": outcome, "result": result, "latency_ms": 0, **extra}


def numbered(*records: dict) -> list[dict]:
    start = [{"t": 0, "kind": "spawn", "actor": "a", "name": "a", "parent": None},
             {"t": 0, "kind": "start", "actor": "a", "incarnation": 1}]
    return [{**r, "seq": i} for i, r in enumerate(start + list(records))]


def test_reads_of_every_kind_are_held_to_the_model():
    records = numbered(
        world(1, "store", ["s", "b'1'"], ONE),
        world(2, "store-at-label", ["s", "x", "b'2'"], {"hash": TWO}),
        world(3, "remove-label", ["s", "gone"], None),
        world(4, "get", ["s", ONE], "Content does not exist", outcome="err"),
        world(5, "exists", ["s", {"hash": TWO}], False),
        world(6, "list-labels", ["s"], ["gone"]),
        world(7, "list-all-content", ["s"], [{"hash": ONE}]),
        world(8, "get-by-label", ["s", "x"], None),
    )
    found = check_store_durability(records)
    assert [(v.time_ms, v.message.split(":")[1].split(" at ")[0].strip()) for v in found] == [
        (4, f"get of {ONE}"), (5, f"exists of {TWO}"), (6, "list-labels"), (6, "list-labels"),
        (7, "list-all-content"), (8, "get-by-label")]


def test_content_the_test_put_in_the_world_is_not_judged():
    assert check_store_durability(numbered(world(1, "get-by-label", ["s", "seeded"], ONE),
                                           world(2, "get", ["s", ONE], "b'1'", sha1=ONE))) == []


def test_what_the_trace_cut_short_is_skipped_and_said():
    label = "l" * 70
    records = numbered(world(1, "store-at-label", ["s", f"{label[:64]}... (70 chars)", "b'1'"], ONE),
                       world(2, "list-labels", ["s"], [str(i) for i in range(8)] + ["... (3 more)"]))
    assert check_store_durability(records) == []
    assert store_durability_notes(records) == [
        f"record 2 (store-at-label at 1 ms): label '{label[:64]}... (70 chars)' of store 's' is cut short in the "
        f"trace, so store_durability skipped it",
        "record 3 (list-labels at 2 ms): the labels of store 's' (a listing of more than 8) is cut short in the "
        "trace, so store_durability skipped it"]


# --- http_outcomes -------------------------------------------------------------------------


def test_every_request_has_its_outcome_and_a_lost_response_says_so():
    rt = Runtime(seed=1, faults=FaultSchedule([fault("http-lost-response", "w", at_ms=0)]),
                 world=World(files={"srv/world_user/config.txt": "https://api.example.com/sync\n"},
                             http={"POST https://api.example.com/*": "synced"}))
    rt.spawn(WORLD_USER, name="w")
    rt.advance(1)
    assert rt.ask("w", "sync").startswith(b"error: ")
    assert rt.ask("w", "sync") == b"200 synced"
    assert check_all(rt) == []
    sent = [r for r in rt.trace.dicts() if r["kind"] == "world" and r["interface"] == "http-client"]
    assert [(r["outcome"], r.get("fault")) for r in sent] == [("err", 0), ("ok", None)]


def http(t: int, outcome: str, result, **extra) -> dict:
    return {"t": t, "kind": "world", "actor": "a", "interface": "http-client", "function": "send-http",
            "args": [], "outcome": outcome, "result": result, "latency_ms": 0, **extra}


def test_http_outcomes_violations():
    records = numbered(
        {"t": 1, "kind": "fault", "actor": "a", "fault": 0, "fault_kind": "http-lost-response"},
        http(1, "ok", {"status": 200}),
        http(2, "ok", "no status"),
        {"t": 3, "kind": "event", "actor": "a", "index": 5, "event_type": "theater:simple/http-client/send-http"},
        {"t": 3, "kind": "event", "actor": "a", "index": 6, "event_type": "theater:simple/http-client/send-http"},
        {"t": 3, "kind": "event", "actor": "a", "index": 7, "event_type": "theater:simple/http-client/send-http"},
        {"t": 4, "kind": "exit", "actor": "a", "status": "failed", "reason": {"kind": "trap"}},
        http(5, "err", "refused"),
    )
    assert [v.message for v in check_http_outcomes(records)] == [
        "a's HTTP request at 1 ms lost its response to fault #0, but its record does not say so (fault None, "
        "outcome 'ok')",
        "a's HTTP request at 2 ms has no outcome: neither a response with a status nor an error (outcome 'ok', "
        "result 'no status')",
        "a's chain records HTTP request number 3 (event 7) at 3 ms, but the trace has 2 world record(s) of its "
        "requests",
        "a sent an HTTP request at 5 ms while it was not running",
    ]


# --- recovery with state partly in the store -------------------------------------------------


@pytest.mark.parametrize("recovery", ["init", "last", "replay"])
def test_each_recovery_mode_ends_consistent_with_the_store(recovery):
    rt = visits(recovery=recovery, rounds=3)
    for _ in range(2):
        rt.send("w", "crash")
        rt.run_until_idle()
        rt.send("w", "visit")
        rt.run_until_idle()
    stored = rt.world.stores["world-user"]
    in_store = int(stored.content[stored.labels["visits"]])
    state = json.loads(rt.actor("w").state)
    assert (rt.actor("w").incarnation, in_store, state["visits"]) == (3, 5, 5)
    assert rt.ask("w", "visits") == b"5"
    assert check_all(rt) == []
