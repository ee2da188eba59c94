"""The invariant library: silent on correct runs, and each rule catches its mutant."""

from __future__ import annotations

import copy
import json

import pytest

from conftest import manifest
from test_faults import _link_run
from test_supervision import TEMPORARY_B, TRANSIENT, fail, supervisor, tree
from theater_harness import Runtime, invariants
from theater_harness.faults import FaultSchedule, fault
from theater_harness.invariants import (INVARIANTS, Violation, check_all, check_chain_integrity,
                                        check_determinism, check_failure_isolation, check_intensity,
                                        check_messages, check_no_orphans, check_restart_types,
                                        check_reverse_order_shutdown, check_state_recovery,
                                        check_strategy_conformance, records_of)
from theater_harness.exit import ExitReason
from theater_harness.supervision import supervisor as supervisor_module
from theater_harness.trace import state_digest

ONE_FOR_ONE = {"strategy": "one_for_one", "intensity": 3, "period_ms": 5000, "resolution_ms": 1000,
               "permanent_errors": []}


def found(violations: list[Violation]) -> list[tuple[str, int, tuple[str, ...]]]:
    return [(v.invariant, v.time_ms, v.actors) for v in violations]


def ids_by_name(rt: Runtime) -> dict[str, str]:
    return {a.name: a.id for a in rt.actors}


# --- correct runs -------------------------------------------------------------------------


def strategy_run(tmp_path, strategy):
    rt = Runtime(seed=1)
    sup, ids = tree(rt, supervisor(tmp_path, f'strategy = "{strategy}"\n'))
    fail(rt, ids["b"])
    rt.run_until_idle()
    return rt


def transient_normal_exit(tmp_path):
    rt = Runtime(seed=1)
    sup, ids = tree(rt, supervisor(tmp_path, TRANSIENT), children="k", worker="keeper")
    rt.send(ids["k"], "shutdown:done")
    rt.run_until_idle()
    return rt


def transient_stopped_from_outside(tmp_path):
    rt = Runtime(seed=1)
    sup, ids = tree(rt, supervisor(tmp_path, TRANSIENT), children="k", worker="keeper")
    rt.stop(ids["k"])
    rt.run_until_idle()
    return rt


def transient_failure(tmp_path):
    rt = Runtime(seed=1)
    sup, ids = tree(rt, supervisor(tmp_path, TRANSIENT), children="k")
    fail(rt, ids["k"])
    rt.run_until_idle()
    return rt


def temporary_failure(tmp_path, failing):
    rt = Runtime(seed=1)
    sup, ids = tree(rt, supervisor(tmp_path, TEMPORARY_B))
    fail(rt, ids[failing])
    rt.run_until_idle()
    return rt


def permanent_error(tmp_path):
    rt = Runtime(seed=1)
    sup = rt.spawn(supervisor(tmp_path, 'permanent_errors = ["error on request"]\nintensity = 5\n'))
    fail(rt, rt.spawn(manifest("crasher"), name="a", parent=sup), "err")
    fail(rt, rt.spawn(manifest("crasher"), name="b", parent=sup), "trap")
    rt.run_until_idle()
    return rt


def intensity_run(tmp_path, times):
    rt = Runtime(seed=1)
    sup, ids = tree(rt, supervisor(tmp_path, "intensity = 2\nperiod_ms = 5000\n"), children="a")
    for t in times:
        fail(rt, ids["a"], at=t)
    rt.run_until_idle()
    return rt


def intensity_zero(tmp_path):
    rt = Runtime(seed=1)
    tree(rt, supervisor(tmp_path, "intensity = 0\n"))
    fail(rt, ids_by_name(rt)["b"])
    rt.run_until_idle()
    return rt


def escalation_through_two_levels(tmp_path):
    rt = Runtime(seed=1)
    root = rt.spawn(supervisor(tmp_path, "intensity = 0\n", name="root"))
    mid = rt.spawn(supervisor(tmp_path, "intensity = 0\n", name="mid"), parent=root)
    worker = rt.spawn(manifest("crasher"), name="worker", parent=mid)
    rt.spawn(manifest("counter"), name="bystander", parent=root)
    fail(rt, worker, at=100)
    rt.run(until=1000)
    assert rt.ended is not None
    return rt


def restarted_supervisor(tmp_path):
    rt = Runtime(seed=1)
    root = rt.spawn(supervisor(tmp_path, "intensity = 5\n", name="root"))
    mid = rt.spawn(supervisor(tmp_path, 'strategy = "one_for_all"\nintensity = 0\n', name="mid"), parent=root)
    for i in range(2):
        rt.spawn(manifest("counter"), name=f"w{i}", parent=mid)
    fail(rt, rt.spawn(manifest("crasher"), name="broken", parent=mid))
    rt.run_until_idle()
    return rt


def failing_restarts(tmp_path):
    rt = Runtime(seed=1, faults=FaultSchedule([fault("init-err", "doomed", on_call=n) for n in (2, 3, 4)]))
    sup = rt.spawn(supervisor(tmp_path, "intensity = 3\n"))
    doomed = rt.spawn(manifest("crasher"), name="doomed", parent=sup)
    fail(rt, doomed)  # then every restart's init fails, until the fourth failure escalates
    rt.run_until_idle()
    assert [r.actor for r in rt.trace.of_kind("escalate")] == [sup]
    return rt


def recovery_run(tmp_path, recovery):
    rt = Runtime(seed=1)
    sup = rt.spawn(supervisor(tmp_path, f'intensity = 10\n[supervision.default]\nrecovery = "{recovery}"\n'))
    crasher = rt.spawn(manifest("crasher"), parent=sup)
    for payload in ("one", "two", "three", "trap"):
        rt.send(crasher, payload)
    rt.run_until_idle()
    counter = rt.spawn(manifest("counter"), parent=sup, init_state={"count": 7})
    rt.send(counter, "add:5")
    rt.run_until_idle()
    rt.stop(counter)
    rt.run_until_idle()
    return rt


BACKOFF = '''
intensity = 10
period_ms = 100000
[supervision.default]
backoff = { min_ms = 100, max_ms = 1000, random_factor = 0.5 }
'''


def backoff_run(tmp_path, until=None):
    rt = Runtime(seed=3)
    sup, ids = tree(rt, supervisor(tmp_path, BACKOFF), children="ab")
    for i in range(4):
        fail(rt, ids["a"], at=i * 10_000)  # the last restart waits 1156 ms
    fail(rt, ids["b"], at=30_500)  # meanwhile
    if until is None:
        rt.run_until_idle()
    else:
        rt.run(until=until)
    return rt


def guest_sup_one(tmp_path):
    rt = Runtime(seed=1)
    sup = rt.spawn(manifest("sup_one"))
    kids = [rt.spawn(manifest("crasher"), name=f"k{i}", parent=sup) for i in range(3)]
    rt.send(kids[1], "trap")
    rt.send(kids[2], "err", delay_ms=100)
    rt.run_until_idle()
    rt.send(sup, f"stop:{kids[0]}")  # a deliberate stop later: not a response to a failure
    rt.run_until_idle()
    return rt


def link_faults(tmp_path):
    rt, _ = _link_run(fault("drop", link=("pinger", "echo"), on_message=1),
                      fault("delay", link=("pinger", "echo"), on_message=2, delay_ms=25),
                      fault("duplicate", link=("pinger", "echo"), on_message=3),
                      fault("reorder", link=("pinger", "echo"), on_message=5), sends=6)
    return rt


def duplicated_requests(tmp_path):
    rt = Runtime(seed=1, faults=FaultSchedule([fault("duplicate", link=("outside", "echo"), on_message=1)]))
    echo = rt.spawn(manifest("echo"))
    rt.request(echo, "twice")
    rt.request(echo, "once")
    rt.run_until_idle()
    return rt


def partition(tmp_path):
    rt = Runtime(seed=1, request_timeout_ms=100, faults=FaultSchedule([
        fault("partition", groups=[["pinger"], ["echo"]], at_ms=15, duration_ms=200)]))
    echo = rt.spawn(manifest("echo"))
    pinger = rt.spawn(manifest("pinger"), init_state={"target": echo})
    for t in (10, 20, 300):
        rt.send(pinger, f"send:at{t}", delay_ms=t)
    rt.send(pinger, "request:lost", delay_ms=30)
    rt.run_until_idle()
    return rt


def deferred_replies(tmp_path):
    rt = Runtime(seed=1)
    keeper = rt.spawn(manifest("keeper"))
    rt.request(keeper, "a")
    rt.request(keeper, "b")
    rt.send(keeper, "answer:x", delay_ms=50)
    rt.run_until_idle()
    return rt


def supervisor_stopped(tmp_path):
    rt = Runtime(seed=1)
    sup, ids = tree(rt, supervisor(tmp_path, ""))
    rt.spawn(manifest("counter"), name="grandchild", parent=ids["b"])
    rt.stop(sup)
    return rt


CORRECT_RUNS = {
    "one_for_one": lambda p: strategy_run(p, "one_for_one"),
    "one_for_all": lambda p: strategy_run(p, "one_for_all"),
    "rest_for_one": lambda p: strategy_run(p, "rest_for_one"),
    "transient, normal exit": transient_normal_exit,
    "transient, stopped from outside": transient_stopped_from_outside,
    "transient, failure": transient_failure,
    "temporary, its own failure": lambda p: temporary_failure(p, "b"),
    "temporary, a sibling's failure": lambda p: temporary_failure(p, "a"),
    "permanent error": permanent_error,
    "escalation at the inclusive window's edge": lambda p: intensity_run(p, (0, 1000, 5999)),
    "a restart out of the window": lambda p: intensity_run(p, (0, 1000, 6000)),
    "intensity zero": intensity_zero,
    "escalation through two levels": escalation_through_two_levels,
    "a restarted supervisor restarts its children": restarted_supervisor,
    "failing restarts are retried, then escalate": failing_restarts,
    "recovery init": lambda p: recovery_run(p, "init"),
    "recovery last": lambda p: recovery_run(p, "last"),
    "recovery replay": lambda p: recovery_run(p, "replay"),
    "backoff": backoff_run,
    "backoff outlasting the trace": lambda p: backoff_run(p, until=30_600),
    "guest supervisor sup_one": guest_sup_one,
    "link faults": link_faults,
    "duplicated requests": duplicated_requests,
    "partition": partition,
    "deferred replies": deferred_replies,
    "a supervisor stopped from outside": supervisor_stopped,
}


@pytest.mark.parametrize("name", CORRECT_RUNS)
def test_a_correct_run_breaks_no_invariant(tmp_path, name):
    rt = CORRECT_RUNS[name](tmp_path)
    assert check_all(rt, policies={"sup_one": ONE_FOR_ONE} if name.startswith("guest") else None) == []


def test_the_checks_read_the_runtime_its_trace_its_json_and_its_records_alike(tmp_path):
    rt = strategy_run(tmp_path, "one_for_all")
    records = [r.to_dict() for r in rt.trace]
    assert records_of(rt) == records_of(rt.trace) == records_of(rt.trace.to_json()) == records
    assert records_of(records) is records
    broken = [r for r in records if r["kind"] != "restart"]
    assert found(check_strategy_conformance(broken)) == found(check_strategy_conformance(json.dumps(broken)))


# --- mutant guest supervisors -----------------------------------------------------------------


def guest_run(name: str) -> tuple[Runtime, dict[str, str]]:
    """A guest supervisor with three children it spawned itself (so they are in its own
    list); the first one traps."""
    rt = Runtime(seed=1)
    sup = rt.spawn(manifest(name))
    for child in ("crasher", "counter", "echo"):
        rt.send(sup, f"spawn:{child}.toml")
    rt.run_until_idle()
    ids = ids_by_name(rt)
    rt.send(ids["crasher"], "trap", delay_ms=100)
    rt.run_until_idle()
    return rt, ids


def test_sup_wrong_restarts_the_wrong_sibling():
    rt, ids = guest_run("sup_wrong")
    violations = check_all(rt, policies={"sup_wrong": ONE_FOR_ONE})
    sup, crasher, counter = ids["sup_wrong"], ids["crasher"], ids["counter"]
    assert found(violations) == [("strategy_conformance", 100, (sup, crasher)),
                                 ("failure_isolation", 100, (sup, crasher, counter))]
    conformance, isolation = violations
    assert conformance.message == (
        "after crasher ended (trap), sup_wrong (one_for_one, intensity 3 per 5000 ms) should restart [crasher] "
        "(one_for_one plan); it stopped [counter] and restarted [counter]")
    assert isolation.message == (
        "the end of crasher under sup_wrong (one_for_one, intensity 3 per 5000 ms) stopped [counter] and "
        "restarted [counter], outside its affected set [crasher] (one_for_one plan)")
    assert [(r["kind"], r["actor"]) for r in isolation.evidence] == [
        ("exit", crasher), ("exit", counter), ("restart", counter)]


def test_sup_never_never_restarts():
    rt, ids = guest_run("sup_never")
    violations = check_all(rt, policies={ids["sup_never"]: ONE_FOR_ONE})  # by id works too
    assert found(violations) == [("strategy_conformance", 100, (ids["sup_never"], ids["crasher"]))]
    assert violations[0].message == (
        "after crasher ended (trap), sup_never (one_for_one, intensity 3 per 5000 ms) should restart [crasher] "
        "(one_for_one plan); it stopped and restarted nothing")


def test_a_guest_supervisor_without_a_policy_is_not_checked():
    rt, _ = guest_run("sup_never")
    assert check_all(rt) == []


def test_the_policy_given_decides_what_is_expected():
    rt, ids = guest_run("sup_one")
    assert check_all(rt, policies={"sup_one": ONE_FOR_ONE}) == []
    (violation,) = check_strategy_conformance(rt, policies={"sup_one": {"strategy": "rest_for_one"}})
    assert "should stop [echo, counter], then restart [crasher, counter, echo] (rest_for_one plan)" in violation.message


# --- mutant runtimes ----------------------------------------------------------------------


def test_an_intensity_the_runtime_does_not_honour(tmp_path, monkeypatch):
    monkeypatch.setattr(supervisor_module, "add_restart",
                        lambda restarts, now, *limits: ((now,) + restarts, False))  # never exceeded
    rt = Runtime(seed=1)
    sup, ids = tree(rt, supervisor(tmp_path, "intensity = 1\n"), children="a")
    for t in (0, 1000, 2000):
        fail(rt, ids["a"], at=t)
    rt.run_until_idle()
    violations = check_intensity(rt)
    assert found(violations) == [("intensity", 1000, (sup,)), ("intensity", 2000, (sup,))]
    assert violations[0].message == (
        "sup (one_for_one, intensity 1 per 5000 ms) should have escalated when a ended: restart intensity "
        "exceeded: 2 restarts within 5000 ms (intensity 1); it restarted [a] instead")
    assert {v.invariant for v in check_all(rt)} == {"intensity", "strategy_conformance"}


def test_an_escalation_that_was_not_due(tmp_path):
    rt = intensity_run(tmp_path, (0, 1000, 5999))
    records = records_of(rt)
    for r in records:  # the policy as recorded allows three restarts: the escalation came early
        if r["kind"] == "spawn" and r.get("supervision"):
            r["supervision"]["intensity"] = 3
    (violation,) = check_intensity(records)
    assert (violation.time_ms, violation.message) == (5999, (
        "sup (one_for_one, intensity 3 per 5000 ms) escalated when a ended, but that was not due: 2 restarts "
        "within 5000 ms before it (expected: one_for_one plan)"))


def test_a_recovery_that_loses_the_last_state(tmp_path, monkeypatch):
    original = Runtime.restart_actor

    def forgetful(self, actor, then=None):
        if actor.child_spec.recovery == "last":
            actor.state = actor.init_state  # the mutant: "last" recovery starts from the init state
        original(self, actor, then)

    monkeypatch.setattr(Runtime, "restart_actor", forgetful)
    rt = Runtime(seed=1)
    sup = rt.spawn(supervisor(tmp_path, 'intensity = 5\n[supervision.default]\nrecovery = "last"\n'))
    counter = rt.spawn(manifest("counter"), parent=sup)
    rt.send(counter, "add:7")
    rt.run(until=10)
    rt.stop(counter)
    rt.run_until_idle()
    (violation,) = check_state_recovery(rt)
    assert found([violation]) == [("state_recovery", 10, (counter,))]
    assert violation.message.startswith("counter restarted (incarnation 2, recovery last)")
    fresh, kept = state_digest(b'{"count":0}'), state_digest(b'{"count":7}')
    assert f"state {fresh}, but last recovery promises its last committed state (previous exit): {kept}" \
        in violation.message
    assert check_all(rt) == [violation]


def test_a_replay_that_diverges_is_caught(tmp_path):
    rt = Runtime(seed=1)
    sup = rt.spawn(supervisor(tmp_path, 'intensity = 5\n[supervision.default]\nrecovery = "replay"\n'))
    counter = rt.spawn(manifest("counter"), parent=sup)
    for _ in range(5):
        rt.send(counter, "inc")
    rt.run_until_idle()
    entry = rt._resolve(counter).journal.entries[3]
    entry.args = (entry.args[0], (b"add:100",))  # replay drives a call the chain does not have
    rt.stop(counter)
    rt.run_until_idle()
    divergence, lost = check_state_recovery(rt)
    assert divergence.message == ("replaying the history of counter diverged from its chain after 3 of 6 calls: "
                                  "1 divergence(s), the first at call 3, chain index 6 (replayed wasm event "
                                  "differs from the recorded one)")
    assert lost.message.startswith("counter restarted (incarnation 2, recovery replay) from state ")


@pytest.mark.parametrize("restart_type, ending, why", [
    ("temporary", "trap", "temporary child t was restarted by sup (incarnation 2): a temporary child is never "
                          "restarted"),
    ("transient", "shutdown:done", "transient child t was restarted by sup (incarnation 2) after a normal exit, "
                                   "which is not abnormal: a transient child is restarted only after an abnormal "
                                   "exit"),
])
def test_a_restart_its_type_forbids(tmp_path, monkeypatch, restart_type, ending, why):
    monkeypatch.setattr(supervisor_module, "should_restart", lambda restart, abnormal: True)
    rt = Runtime(seed=1)
    sup = rt.spawn(supervisor(tmp_path, f'intensity = 5\n[supervision.children.t]\nrestart = "{restart_type}"\n'))
    child = rt.spawn(manifest("keeper" if ending.startswith("shutdown") else "crasher"), name="t", parent=sup)
    rt.send(child, ending, delay_ms=20)
    rt.run_until_idle()
    (violation,) = check_restart_types(rt)
    assert (violation.invariant, violation.time_ms, violation.actors, violation.message) == (
        "restart_types", 20, (child, sup), why)
    assert [r["kind"] for r in violation.evidence] == ["exit", "restart"]
    assert {v.invariant for v in check_all(rt)} == {"restart_types", "strategy_conformance"}


# --- edited traces ---------------------------------------------------------------------------


def test_a_tampered_event_breaks_the_chain_at_its_index(tmp_path):
    rt = strategy_run(tmp_path, "one_for_one")
    records = records_of(rt)
    b = ids_by_name(rt)["b"]
    event = next(r for r in records if r["kind"] == "event" and r["actor"] == b and r["index"] == 2)
    event["data"] = event["data"].replace("handle-send", "handle-sand")
    (violation,) = check_chain_integrity(records)
    assert found([violation]) == [("chain_integrity", 0, (b,))]
    assert violation.message.startswith(f"event 2 (wasm) of b's chain has hash {event['hash']}, but its parent "
                                        f"hash, type and data hash to ")
    assert check_all(records) == [violation]


def test_a_missing_event_breaks_the_index_sequence(tmp_path):
    rt = strategy_run(tmp_path, "one_for_one")
    b = ids_by_name(rt)["b"]
    records = [r for r in records_of(rt) if not (r["kind"] == "event" and r["actor"] == b and r["index"] == 3)]
    messages = [v.message for v in check_chain_integrity(records)]
    assert messages[0] == "event 4 of b's chain where event 3 was next: indexes run 0, 1, 2, ... with no gap or repeat"
    assert len(messages) == 2  # and event 4's parent is not event 3's hash


def renumbered(records: list[dict]) -> list[dict]:
    for seq, r in enumerate(records):
        r["seq"] = seq
    return records


def test_a_duplicated_acknowledged_request(tmp_path):
    rt = deferred_replies(tmp_path)
    records = records_of(rt)
    keeper = ids_by_name(rt)["keeper"]
    i, deliver = next((i, r) for i, r in enumerate(records) if r["kind"] == "deliver" and "request" in r)
    records = renumbered(records[:i + 1] + [copy.deepcopy(deliver)] + records[i + 1:])
    (violation,) = check_messages(records)
    assert found([violation]) == [("messages", 0, (keeper,))]
    assert violation.message == (f"request {deliver['request']} was delivered 2 times to keeper; it was sent once, "
                                 f"so it may arrive once")
    assert check_all(records) == [violation]


def test_a_reply_without_a_delivery_and_a_dropped_send_delivered(tmp_path):
    rt = link_faults(tmp_path)
    records = records_of(rt)  # sends only: add a delivery of the dropped one, and a reply to no request
    drop = next(r for r in records if r["kind"] == "drop")
    echo = drop["actor"]
    extra = [{"seq": 0, "t": 99, "kind": "deliver", "actor": echo, "msg": drop["msg"]},
             {"seq": 0, "t": 99, "kind": "reply", "actor": echo, "request": "r-1", "size": 1}]
    records = renumbered(records + extra)
    assert [v.message for v in check_messages(records)] == [
        f"message {drop['msg']} was dropped (dropped) and still delivered to echo; it was sent once, so it may "
        f"arrive once",
        "request r-1 got a reply from echo but was never delivered"]


def test_a_child_that_outlives_its_parent(tmp_path):
    rt = supervisor_stopped(tmp_path)
    records = records_of(rt)
    ids = ids_by_name(rt)
    assert [r["actor"] for r in records if r["kind"] == "exit"] == [ids[n] for n in ("c", "grandchild", "b", "a",
                                                                                   "sup")]
    i = next(i for i, r in enumerate(records) if r["kind"] == "exit" and r["actor"] == ids["c"])
    moved = records.pop(i)
    records = renumbered(records + [moved])  # c's exit after its parent's
    (orphan,) = check_no_orphans(records)
    assert found([orphan]) == [("no_orphans", 0, (ids["sup"], ids["c"]))]
    assert orphan.message == ("sup ended (shutdown) while its descendants [c] were alive: stopping an actor stops "
                              "its whole subtree first")
    (order,) = check_reverse_order_shutdown(records)
    assert found([order]) == [("reverse_order_shutdown", 0, (ids["sup"], ids["c"], ids["b"], ids["a"]))]
    assert order.message == ("sup ended (shutdown): its children alive when its ending began should have ended "
                             "before it, last started first, [c, b, a]; they ended in the order [b, a]; [c] had "
                             "not ended")
    assert {v.invariant for v in check_all(records)} == {"no_orphans", "reverse_order_shutdown"}


def test_children_stopped_in_start_order(tmp_path):
    rt = supervisor_stopped(tmp_path)
    records = records_of(rt)
    ids = ids_by_name(rt)
    exits = [i for i, r in enumerate(records) if r["kind"] == "exit" and r["actor"] in (ids["a"], ids["c"])]
    records[exits[0]], records[exits[1]] = records[exits[1]], records[exits[0]]  # a ends first, c last
    (violation,) = check_all(renumbered(records))
    assert violation.invariant == "reverse_order_shutdown"
    assert violation.message.endswith("should have ended before it, last started first, [c, b, a]; they ended "
                                      "in the order [a, b, c]")


def test_a_restart_under_an_ended_parent(tmp_path):
    rt = strategy_run(tmp_path, "one_for_one")
    ids = ids_by_name(rt)
    records = records_of(rt)
    restart = next(r for r in records if r["kind"] == "restart")
    end = {"seq": 0, "t": 0, "kind": "exit", "actor": ids["sup"], "status": "stopped", "state": None,
           "reason": {"kind": "shutdown", "message": "edited", "actor": ids["sup"], "incarnation": 1, "time_ms": 0}}
    records = renumbered(records[:records.index(restart)] + [end] + records[records.index(restart):])
    messages = [v.message for v in check_no_orphans(records)]
    assert "b was restarted (incarnation 2) while its parent sup had ended: an actor never outlives its parent" \
        in messages


# --- determinism -----------------------------------------------------------------------------


def seeded_run(tmp_path, seed: int) -> Runtime:
    rt = Runtime(seed=seed, faults=FaultSchedule([fault("drop", link=("outside", "a"), on_message=2)]))
    sup, ids = tree(rt, supervisor(tmp_path, 'strategy = "one_for_all"\n'))
    fail(rt, ids["b"], at=10)
    rt.run_until_idle()
    return rt


def test_a_seeded_run_is_deterministic(tmp_path):
    assert check_determinism(lambda: seeded_run(tmp_path, 7), repeats=3) == []
    assert check_determinism(lambda: seeded_run(tmp_path, 7).trace) == []


def test_a_run_whose_trace_changes_between_calls(tmp_path):
    seeds = iter([1, 2])
    runs = []

    def run():
        runs.append(seeded_run(tmp_path, next(seeds)))
        return runs[-1]

    (violation,) = check_determinism(run)
    one, two = (rt.trace.hash() for rt in runs)
    assert violation.invariant == "determinism"
    assert violation.message.startswith(f"run 1 gave trace hash {one}, run 2 gave {two}: they part at record 0: ")
    assert [r["actor"] for r in violation.evidence] == [runs[0].actors[0].id, runs[1].actors[0].id]


def test_determinism_needs_a_runtime_or_a_trace():
    with pytest.raises(TypeError, match="run 1 returned a int; return the Runtime or its Trace"):
        check_determinism(lambda: 5)


# --- the API ---------------------------------------------------------------------------------


def test_a_violation_is_a_readable_value():
    rt, ids = guest_run("sup_never")
    (violation,) = check_all(rt, policies={"sup_never": ONE_FOR_ONE})
    data = violation.to_dict()
    assert data["invariant"] == "strategy_conformance" and data["actors"] == [ids["sup_never"], ids["crasher"]]
    assert json.loads(json.dumps(data)) == data
    seqs = ", ".join(str(r["seq"]) for r in violation.evidence)
    assert str(violation) == f"strategy_conformance at 100 ms: {violation.message} (records {seqs})"


@pytest.mark.parametrize("policies, error", [
    ({"sup_never": {"strategy": "one_for_most"}},
     "policies['sup_never']: strategy 'one_for_most' is not one of one_for_one, one_for_all, rest_for_one"),
    ({"sup_never": {"intensty": 2}},
     "policies['sup_never']: unknown key 'intensty'; known keys: strategy, intensity, period_ms, resolution_ms, "
     "permanent_errors, auto_shutdown"),
    ({"sup_never": {"period_ms": 0}}, "policies['sup_never']: period_ms must be an integer >= 1, not 0"),
    ({"sup_nevr": {}}, "policies['sup_nevr']: no actor of this trace has that id or name; names: counter, crasher, "
                       "echo, sup_never"),
])
def test_a_bad_policy_names_the_supervisor_and_the_key(policies, error):
    rt, _ = guest_run("sup_never")
    with pytest.raises(ValueError) as info:
        check_all(rt, policies=policies)
    assert str(info.value) == error


def test_records_of_says_what_it_accepts():
    with pytest.raises(TypeError, match="cannot read trace records from a int: give a Runtime, a Trace, the trace "
                                        "JSON text or a list of record dicts"):
        records_of(3)


def test_assert_holds_raises_with_every_violation():
    rt, _ = guest_run("sup_never")
    with pytest.raises(invariants.InvariantViolation) as info:
        invariants.assert_holds(rt, policies={"sup_never": {"strategy": "one_for_one"}})
    assert [v.invariant for v in info.value.violations] == ["strategy_conformance"]
    assert str(info.value).startswith("1 supervision invariant violation(s):")
    invariants.assert_holds(rt, policies={"sup_never": {"strategy": "one_for_one"}}, only=["chain_integrity"])
    with pytest.raises(ValueError, match="unknown invariant 'nope'"):
        invariants.assert_holds(rt, only=["nope"])


def test_the_public_surface():
    assert list(INVARIANTS) == ["strategy_conformance", "restart_types", "intensity", "supervisor_restart",
                                "failure_isolation", "state_recovery", "no_orphans", "reverse_order_shutdown", "chain_integrity",
                                "messages", "store_durability", "http_outcomes"]
    assert all(INVARIANTS[name].__name__ == f"check_{name}" for name in INVARIANTS)
    assert sorted(invariants.__all__) == sorted(["INVARIANTS", "InvariantViolation", "Violation", "assert_holds",
                                                 "check_all", "check_determinism", "records_of",
                                                 *(f"check_{n}" for n in INVARIANTS)])
    assert check_failure_isolation is INVARIANTS["failure_isolation"]


# --- two runtime bugs these invariants found (fixed) -------------------------------------------


def test_a_restarted_supervisor_starts_with_a_fresh_restart_history(tmp_path):
    rt = Runtime(seed=1)
    root = rt.spawn(supervisor(tmp_path, "intensity = 5\n", name="root"))
    mid = rt.spawn(supervisor(tmp_path, "intensity = 1\n", name="mid"), parent=root)
    worker = rt.spawn(manifest("crasher"), name="worker", parent=mid)
    for t in (0, 100, 200):  # mid escalates at 100; restarted, it may restart worker at 200
        fail(rt, worker, at=t)
    rt.run_until_idle()
    assert check_intensity(rt) == []


def test_a_child_held_in_a_slow_call_ends_before_its_parent(tmp_path):
    rt = Runtime(seed=1, faults=FaultSchedule([fault("slow", "w", at_ms=0, delay_ms=500)]))
    sup = rt.spawn(supervisor(tmp_path, ""))
    w = rt.spawn(manifest("counter"), name="w", parent=sup)
    rt.send(w, "inc")
    rt.run(until=100)
    rt.stop(sup)
    rt.run_until_idle()
    assert check_all(rt) == []


# --- the OTP rules the differential test against real OTP found --------------------------------


def old_behaviour_violations(name: str) -> list[tuple[str, int, str]]:
    from test_properties import OLD_BEHAVIOURS

    import supervision_mutants

    tree, smallest, _ = OLD_BEHAVIOURS[name]
    with getattr(supervision_mutants, name)():
        return [(v.invariant, v.time_ms, v.message) for v in check_all(tree.run(faults=FaultSchedule(smallest)))]


def test_a_restarted_supervisor_that_skips_its_temporary_child_is_caught():
    assert old_behaviour_violations("temporaries_never_started_again") == [(
        "supervisor_restart", 0, "team, restarted at 0 ms, started its children [w]; it should start every child "
        "it was given, in start order, temporary ones included: [t, w]")]


def test_a_group_restart_that_skips_an_ended_transient_sibling_is_caught():
    assert old_behaviour_violations("group_restarts_skip_ended_siblings") == [(
        "strategy_conformance", 0, "after b ended (shutdown, from outside), root (one_for_all, intensity 5 per "
        "5000 ms) should restart [a, b] (one_for_all plan); it restarted [b]")]


def test_a_supervisor_that_gives_up_with_an_abnormal_exit_is_caught():
    assert old_behaviour_violations("giving_up_is_a_failure") == [(
        "intensity", 0, "team (one_for_one, intensity 0 per 5000 ms) escalated, then ended with kind 'err' (cause "
        "'escalated'): a supervisor that gives up exits with reason shutdown (cause 'escalated'), as OTP's does")]


SIGNIFICANT = '''
auto_shutdown = "{mode}"
[supervision.children.s1]
restart = "transient"
significant = true
[supervision.children.s2]
restart = "transient"
significant = true
'''


def significant_run(tmp_path, mode: str) -> Runtime:
    rt = Runtime(seed=1)
    sup = rt.spawn(supervisor(tmp_path, SIGNIFICANT.format(mode=mode)))
    kids = [rt.spawn(manifest("keeper"), name=n, parent=sup) for n in ("s1", "s2")]
    rt.send(kids[0], "shutdown:done")
    rt.run_until_idle()
    return rt


def test_a_supervisor_that_does_not_shut_down_for_its_significant_child_is_caught(tmp_path, monkeypatch):
    monkeypatch.setattr(supervisor_module, "auto_shutdown", lambda rt, sup, child: None)
    assert [(v.invariant, v.message) for v in check_all(significant_run(tmp_path, "any_significant"))] == [(
        "strategy_conformance", "after s1 ended (normal), sup (one_for_one, intensity 1 per 5000 ms, auto_shutdown "
        "any_significant) should shut itself down (a transient child after a normal exit (normal) is not "
        "restarted, and it is significant (auto_shutdown any_significant)); it stopped and restarted nothing")]


def test_an_auto_shutdown_that_was_not_due_is_caught(tmp_path, monkeypatch):
    def eager(rt, sup, child):  # shuts down at the first significant end, all_significant or not
        rt.trace.add(rt.now, "auto-shutdown", sup.id, ("mode", sup.spec.auto_shutdown, "child", child.id))
        rt.stop_actor(sup, ExitReason("shutdown", "eager", sup.id, sup.incarnation, time_ms=rt.now,
                                      cause="auto-shutdown"))

    monkeypatch.setattr(supervisor_module, "auto_shutdown", eager)
    assert [(v.invariant, v.message) for v in check_all(significant_run(tmp_path, "all_significant"))] == [(
        "strategy_conformance", "after s1 ended (normal), sup (one_for_one, intensity 1 per 5000 ms, auto_shutdown "
        "all_significant) should restart nothing (a transient child after a normal exit (normal) is not restarted; "
        "significant [s2] still run (auto_shutdown all_significant)); it shut itself down")]


def test_a_restarted_guest_supervisor_that_loses_its_declared_children_is_caught(monkeypatch):
    from theater_harness.faults import fault
    from theater_harness.trees import EXAMPLES, NodeSpec, Policy, TreeSpec

    honest = supervisor_module.respawned
    monkeypatch.setattr(supervisor_module, "respawned",  # the old rule: only declarative ones
                        lambda rt, sup: honest(rt, sup) if sup.spec is not None else ())
    tree = TreeSpec(NodeSpec("root", policy=Policy("one_for_one", intensity=5), children=(
        NodeSpec("guest", manifest=str(EXAMPLES / "sup_one.toml"), children=(
            NodeSpec("w", manifest=str(EXAMPLES / "counter.toml")),)),)))
    rt = tree.run(faults=FaultSchedule([fault("kill", "guest", at_ms=100)]), until_ms=1000)
    assert [(v.invariant, v.message) for v in check_all(rt)] == [(
        "supervisor_restart", "guest, restarted at 100 ms, started [] but never [w]: a restarted supervisor "
                              "starts every child it was given, temporary ones included")]
