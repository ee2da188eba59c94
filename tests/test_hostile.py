"""Hostile actors (issue 11): each exhausts a host-side resource that fuel and the memory
cap do not bound. Each runs beside a bystander counter under a one_for_one supervisor;
each ends as a named, supervised failure (exit kind ``limit``: its message names the bound
and its value), recorded in the trace that is written, while the bystander keeps counting.
Run-wide bounds (live actors, events per instant) end the run instead, trace kept.
"""

from __future__ import annotations

import json

import pytest

from conftest import manifest
from theater_harness import Runtime
from theater_harness.invariants import assert_holds
from theater_harness.trace import state_digest
from theater_harness.trees import tree_from

SEND = "theater:simple/message-server-client.handle-send"
REQUEST = "theater:simple/message-server-client.handle-request"
INIT = "theater:simple/actor.init"


def beside_a_bystander(rt: Runtime, hostile: str, trigger: str, *, at_ms: int = 250, until_ms: int = 1000,
                       **child) -> dict[str, str]:
    """``hostile`` and a counter under one supervisor; the counter gets "inc" every 100 ms
    from 0 to 900 ms, the hostile actor ``trigger`` at ``at_ms`` (``{id}``: its own id);
    run until ``until_ms``. Returns the ids."""
    tree = tree_from({"name": "sup", "supervision": {"strategy": "one_for_one", "intensity": 5},
                      "children": [{"name": "hostile", "manifest": str(manifest(hostile)), **child},
                                   {"name": "bystander", "manifest": str(manifest("counter"))}]})
    ids = tree.spawn(rt)
    for t in range(0, 1000, 100):
        rt.send(ids["bystander"], "inc", delay_ms=t)
    rt.send(ids["hostile"], trigger.format(id=ids["hostile"]), delay_ms=at_ms)
    rt.run(until=until_ms)
    return ids


def first_exit(rt: Runtime, actor: str) -> dict:
    """The first exit of ``actor`` in the trace as written (JSON), its reason."""
    records = json.loads(rt.trace.to_json())["records"]
    return next(r for r in records if r["kind"] == "exit" and r["actor"] == actor)["reason"]


def assert_supervised_and_bystander_counted(rt: Runtime, ids: dict[str, str]) -> None:
    hostile, bystander = rt.actor(ids["hostile"]), rt.actor(ids["bystander"])
    assert hostile.alive and hostile.incarnation == 2  # restarted by sup
    assert [r.fields["supervisor"] for r in rt.trace.of_kind("restart")] == [ids["sup"]]
    assert bystander.state == b'{"count":10}' and bystander.incarnation == 1
    assert rt.ended is None
    assert_holds(rt)


def test_log_bomb_ends_at_max_log_bytes(tmp_path):
    rt = Runtime(seed=1)
    ids = beside_a_bystander(rt, "log_bomb", "log:600:8388608")  # 8 MiB, 600 times, in one call (D2)
    assert first_exit(rt, ids["hostile"]) == {
        "kind": "limit", "message": "runtime.log: 8388608 bytes in one call, more than max_log_bytes 1048576",
        "actor": ids["hostile"], "incarnation": 1, "time_ms": 250, "export": SEND,
        "host_import": "theater:simple/runtime.log"}
    assert rt.actor(ids["hostile"]).logs == []  # the line was refused, not kept
    assert rt.trace.of_kind("log") == []
    assert_supervised_and_bystander_counted(rt, ids)


def test_log_bomb_ends_at_max_log_lines():
    rt = Runtime(seed=1, max_log_lines=100)
    ids = beside_a_bystander(rt, "log_bomb", "log:1000:1")
    assert first_exit(rt, ids["hostile"])["message"] == ("runtime.log: 101 lines in one call, more than "
                                                         "max_log_lines 100")
    assert len(rt.actor(ids["hostile"]).logs) == 100
    assert_supervised_and_bystander_counted(rt, ids)


def test_self_loop_ends_at_max_calls_per_instant():
    rt = Runtime(seed=1, max_calls_per_instant=1000)
    ids = beside_a_bystander(rt, "self_loop", "loop:{id}")  # D4: it messages itself at 250 ms
    assert first_exit(rt, ids["hostile"]) == {
        "kind": "limit", "message": "1001 calls at 250 ms, more than max_calls_per_instant 1000: the actor "
                                    "keeps itself busy without letting virtual time pass",
        "actor": ids["hostile"], "incarnation": 1, "time_ms": 250, "export": SEND}
    first = next(r for r in rt.trace.of_kind("exit") if r.actor == ids["hostile"])
    assert first.fields["state"] == state_digest(b'{"count":1000}')  # what its last call that ran returned
    assert_supervised_and_bystander_counted(rt, ids)


def test_chain_bomb_chain_grows_by_one_small_event_per_get_chain():
    rt = Runtime(seed=1)
    ids = beside_a_bystander(rt, "chain_bomb", "chain:6")  # D3: six calls used to exceed 4.8 GB
    chain = rt.actor(ids["hostile"]).chain
    recorded = [json.loads(e.data) for e in chain if e.event_type == "theater:simple/runtime/get-chain"]
    # Theater records get-chain's output as the number of events it returned
    assert [bytes(r["output"]) for r in recorded] == [b"3", b"4", b"5", b"6", b"7", b"8"]
    assert {bytes(r["input"]) for r in recorded} == {b"null"}
    assert sum(len(e.data) for e in chain) < 2000
    assert rt.actor(ids["hostile"]).state == b'{"calls":6,"events":8}'
    assert rt.actor(ids["hostile"]).incarnation == 1 and rt.actor(ids["bystander"]).state == b'{"count":10}'


def test_chain_bomb_ends_at_the_memory_cap():
    rt = Runtime(seed=1, memory=1 << 20)
    ids = beside_a_bystander(rt, "chain_bomb", "chain:100000")  # each chain returned stays in its heap
    reason = first_exit(rt, ids["hostile"])
    assert (reason["kind"], reason["export"]) == ("memory", SEND)
    assert reason["message"].startswith("memory cap of 1048576 bytes reached")
    assert_supervised_and_bystander_counted(rt, ids)


def test_chain_bomb_replays_to_the_same_hashes():
    rt = Runtime(seed=1)
    ids = beside_a_bystander(rt, "chain_bomb", "chain:4", recovery="replay")
    rt.kill_from_fault(rt._resolve(ids["hostile"]), 0)
    rt.run(until=2000)
    (replay,) = rt.trace.of_kind("replay")
    assert replay.fields == {"calls": 2, "of": 2, "divergences": []}
    assert rt.actor(ids["hostile"]).state == b'{"calls":4,"events":6}'


def test_state_hog_ends_at_max_state_bytes():
    rt = Runtime(seed=1)
    ids = beside_a_bystander(rt, "state_hog", "grow:2500000")
    assert first_exit(rt, ids["hostile"]) == {
        "kind": "limit", "message": f"{SEND}: 2500000 bytes of state returned, more than max_state_bytes 2097152",
        "actor": ids["hostile"], "incarnation": 1, "time_ms": 250, "export": SEND}
    assert_supervised_and_bystander_counted(rt, ids)


def test_state_hog_ends_at_max_chain_bytes():
    rt = Runtime(seed=1, max_chain_bytes=500_000)
    ids = beside_a_bystander(rt, "state_hog", "grow:100000")
    for t in range(1, 10):
        rt.send(ids["hostile"], "grow:100000", delay_ms=t)  # at 1001.. ms: each state stays in the chain
    rt.run(until=2000)
    assert first_exit(rt, ids["hostile"]) == {
        "kind": "limit", "message": f"{SEND}: 600000 bytes added to the chain by this incarnation, more than "
                                    f"max_chain_bytes 500000",
        "actor": ids["hostile"], "incarnation": 1, "time_ms": 1005, "export": SEND}
    assert rt.actor(ids["hostile"]).incarnation == 2 and rt.actor(ids["bystander"]).state == b'{"count":10}'


def test_state_hog_reply_ends_at_max_message_bytes():
    rt = Runtime(seed=1, max_message_bytes=1000)
    ids = beside_a_bystander(rt, "state_hog", "grow:1")
    pending = rt.request(ids["hostile"], "reply:1001")
    rt.run(until=2000)
    assert first_exit(rt, ids["hostile"])["message"] == (
        f"{REQUEST}: 1001 bytes in one reply, more than max_message_bytes 1000")
    assert pending.done and not pending.ok and "ended before answering" in pending.error


def test_spawn_bomb_ends_at_max_spawn_depth():
    rt = Runtime(seed=1)  # D1: a chain of nested inits used to run into the OS's map count
    ids = beside_a_bystander(rt, "spawn_bomb", "bomb")
    limited = [r.fields["reason"] for r in rt.trace.of_kind("exit") if r.fields["reason"]["kind"] == "limit"]
    assert len(limited) == 1 and limited[0]["message"] == (
        "supervisor.spawn: 101 levels deep, more than max_spawn_depth 100")
    assert (limited[0]["export"], limited[0]["host_import"]) == (INIT, "theater:simple/supervisor.spawn")
    reason = first_exit(rt, ids["hostile"])  # the bomb the supervisor watches: its spawn failed
    assert (reason["kind"], reason["export"]) == ("err", SEND)
    assert reason["message"].startswith("spawn_bomb: spawn failed at depth 0: ...")
    assert reason["message"].endswith("supervisor.spawn: 101 levels deep, more than max_spawn_depth 100")
    assert len(rt.actors) == 3 + 99 and sum(a.alive for a in rt.actors) == 3  # depths 2 to 100, all ended
    assert_supervised_and_bystander_counted(rt, ids)


def test_spawn_bomb_depth_is_configurable():
    rt = Runtime(seed=1, max_spawn_depth=5)
    ids = beside_a_bystander(rt, "spawn_bomb", "bomb")
    assert first_exit(rt, ids["hostile"])["message"].endswith("6 levels deep, more than max_spawn_depth 5")
    assert len(rt.actors) == 3 + 4  # depths 2..5 under the bomb at depth 1


def test_a_wide_spawn_bomb_ends_the_run_at_max_live_actors():
    rt = Runtime(seed=1, max_live_actors=20)
    ids = beside_a_bystander(rt, "spawn_bomb", "wide:1000")
    reason = rt.ended
    assert reason.kind == "limit" and reason.export == "instantiate"
    assert reason.message.startswith("spawn_bomb (") and reason.message.endswith(
        "): 21 live actors, more than max_live_actors 20")
    (ended,) = json.loads(rt.trace.to_json())["records"][-1:]
    assert ended["kind"] == "run-ended" and ended["reason"]["message"] == reason.message and ended["t"] == 250
    assert rt.now == 250  # the run stopped there: nothing ran after
    assert rt.actor(ids["bystander"]).state == b'{"count":3}'  # at 0, 100 and 200 ms
    assert sum(a.alive for a in rt.actors) == 20


def test_a_loop_over_many_actors_ends_the_run_at_max_events_per_instant():
    rt = Runtime(seed=1, max_calls_per_instant=1000, max_events_per_instant=5000)
    beside_a_bystander(rt, "counter", "inc")
    loops = [rt.spawn(manifest("self_loop")) for _ in range(20)]
    for loop in loops:
        rt.send(loop, f"loop:{loop}", delay_ms=250)  # at 1250 ms; fewer than 1000 calls each
    rt.run(until=2000)
    assert rt.ended.kind == "limit" and rt.ended.actor == ""
    assert rt.ended.message == ("the run: 5001 events at 1250 ms, more than max_events_per_instant 5000: "
                                "something keeps itself busy without letting virtual time pass")
    assert rt.trace.of_kind("run-ended")[0].actor is None


def test_outstanding_requests_end_the_keeper_at_max_outstanding_requests():
    rt = Runtime(seed=1, max_outstanding_requests=3)
    ids = beside_a_bystander(rt, "keeper", "nothing")
    pending = [rt.request(ids["hostile"], f"hold {i}", delay_ms=300) for i in range(4)]  # at 1300 ms
    rt.run(until=2000)
    assert first_exit(rt, ids["hostile"]) == {
        "kind": "limit", "message": f"{REQUEST}: 4 requests held unanswered, more than max_outstanding_requests 3",
        "actor": ids["hostile"], "incarnation": 1, "time_ms": 1300, "export": REQUEST}
    assert [p.ok for p in pending] == [False] * 4
    assert_supervised_and_bystander_counted(rt, ids)


def test_a_message_over_max_message_bytes_ends_its_sender():
    rt = Runtime(seed=1, max_message_bytes=1000)
    ids = beside_a_bystander(rt, "pinger", "send:" + "x" * 1001)
    assert first_exit(rt, ids["hostile"]) == {
        "kind": "limit", "message": "message-server-host.send: 1001 bytes in one message, more than "
                                    "max_message_bytes 1000",
        "actor": ids["hostile"], "incarnation": 1, "time_ms": 250, "export": SEND,
        "host_import": "theater:simple/message-server-host.send"}
    assert_supervised_and_bystander_counted(rt, ids)


def test_messages_over_max_sent_bytes_in_one_call_end_their_sender():
    rt = Runtime(seed=1, max_sent_bytes=10)
    ids = beside_a_bystander(rt, "keeper", "nothing")
    for i in range(3):
        rt.request(ids["hostile"], f"hold {i}", delay_ms=300)
    rt.send(ids["hostile"], "answer:abcd", delay_ms=301)  # three replies of 4 bytes in one call
    rt.run(until=2000)
    assert first_exit(rt, ids["hostile"])["message"] == (
        "message-server-host.respond-to-request: 12 bytes sent in one call, more than max_sent_bytes 10")
    assert_supervised_and_bystander_counted(rt, ids)


@pytest.mark.parametrize("hostile, trigger, kind", [
    ("log_bomb", "log:600:8388608", "limit"),  # max_log_bytes
    ("self_loop", "loop:{id}", "limit"),  # max_calls_per_instant (10,000 calls: 0.4 s)
    ("state_hog", "grow:2500000", "limit"),  # max_state_bytes
    ("spawn_bomb", "bomb", "err"),  # its own err, after max_spawn_depth stopped its 99th copy
])
def test_every_hostile_actor_is_stopped_by_the_default_bounds(hostile, trigger, kind):
    # (chain_bomb's "chain:100000" ends out-of-fuel after about 460 get-chain calls, 2 s of
    # copying its chain into its heap: test_chain_bomb_ends_at_the_memory_cap is the fast one)
    rt = Runtime(seed=1)
    ids = beside_a_bystander(rt, hostile, trigger)
    (failure,) = [r.fields for r in rt.trace.of_kind("exit") if r.actor == ids["hostile"]]
    assert (failure["status"], failure["reason"]["kind"], failure["reason"]["time_ms"]) == ("failed", kind, 250)
    hostile_view, bystander = rt.actor(ids["hostile"]), rt.actor(ids["bystander"])
    assert hostile_view.alive and hostile_view.incarnation == 2
    assert bystander.state == b'{"count":10}' and bystander.incarnation == 1
