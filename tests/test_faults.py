"""Fault injection: every kind is applied by the host and shows in the trace, as the
fault and as its consequence; schedules round-trip through TOML and JSON."""

from __future__ import annotations

import json

import pytest

from conftest import manifest
from test_supervision import supervisor
from theater_harness import Runtime, ScenarioError
from theater_harness.faults import Fault, FaultSchedule, fault
from theater_harness.invariants import check_all
from theater_harness.trace import state_digest


def faults_fired(rt: Runtime) -> list[tuple[int, str]]:
    return [(r.fields["fault"], r.fields["fault_kind"]) for r in rt.trace.of_kind("fault")]


def exit_of(rt: Runtime, actor: str):
    return rt.actor(actor).exit_reason


@pytest.mark.parametrize("kind, exit_kind, message", [
    ("trap", "trap", "wasm trap: injected by fault #0"),
    ("err", "err", "error injected by fault #0"),
    ("hang", "out-of-fuel", "wasm trap: all fuel consumed by WebAssembly (injected by fault #0: a hang)"),
])
def test_a_call_fault_ends_the_incarnation_on_the_nth_call(kind, exit_kind, message):
    rt = Runtime(seed=1, faults=FaultSchedule([fault(kind, "counter", on_call=2)]))
    counter = rt.spawn(manifest("counter"))  # init is not counted: on_call counts handler calls
    for _ in range(3):
        rt.send(counter, "inc")  # calls 1, 2 (faulted), and a third that is dropped
    rt.run_until_idle()
    reason = exit_of(rt, counter)
    assert (reason.kind, reason.message) == (exit_kind, message)
    assert rt.actor(counter).state == b'{"count":1}'
    assert faults_fired(rt) == [(0, kind)]
    record = rt.trace.of_kind("fault")[0]
    assert record.fields["call"] == 2 and record.fields["phase"] == "running"


def test_a_hang_costs_the_virtual_time_it_is_given():
    rt = Runtime(seed=1, faults=FaultSchedule([fault("hang", "counter", on_call=1, duration_ms=750)]))
    counter = rt.spawn(manifest("counter"))
    rt.send(counter, "inc", delay_ms=100)
    rt.run_until_idle()
    assert exit_of(rt, counter).time_ms == 100
    assert rt.trace.of_kind("exit")[0].time_ms == 850


def test_a_time_triggered_fault_applies_to_the_next_call_after_its_time():
    rt = Runtime(seed=1, faults=FaultSchedule([fault("err", "counter", at_ms=50, message="boom")]))
    counter = rt.spawn(manifest("counter"))
    for t in (10, 40, 60, 70):
        rt.send(counter, "inc", delay_ms=t)
    rt.run_until_idle()
    assert (exit_of(rt, counter).message, exit_of(rt, counter).time_ms) == ("boom", 60)
    assert rt.actor(counter).state == b'{"count":2}'


def test_a_slow_call_takes_virtual_time_and_holds_the_actor(rt):
    rt.inject(fault("slow", "echo", on_call=1, delay_ms=500))
    echo = rt.spawn(manifest("echo"))
    first = rt.request(echo, "a")
    second = rt.request(echo, "b", delay_ms=10)
    rt.run_until_idle()
    replies = {r.fields["request"]: r.time_ms for r in rt.trace.of_kind("reply")}
    assert replies == {first.id: 500, second.id: 500}  # b waited for a's slow call


@pytest.mark.parametrize("kind, exit_kind", [("init-trap", "trap"), ("init-err", "err")])
def test_an_init_fault_makes_a_restart_fail(tmp_path, kind, exit_kind):
    rt = Runtime(seed=1, faults=FaultSchedule([fault(kind, "worker", on_call=2)]))  # its 2nd init
    sup = rt.spawn(supervisor(tmp_path, "intensity = 5\n"))
    worker = rt.spawn(manifest("counter"), name="worker", parent=sup)
    rt.stop(worker)  # permanent: restarted, and that restart's init fails, then the next one works
    rt.run_until_idle()
    exits = [r.fields["reason"] for r in rt.trace.of_kind("exit") if r.actor == worker]
    assert [e["kind"] for e in exits] == ["shutdown", exit_kind]
    assert exits[1]["export"] == "theater:simple/actor.init"
    assert rt.actor(worker).incarnation == 3 and rt.actor(worker).alive
    assert rt.trace.of_kind("fault")[0].fields["phase"] == "init"


def test_a_memory_fault_refuses_the_next_growth():
    rt = Runtime(seed=1, faults=FaultSchedule([fault("memory", "hog", at_ms=5)]))
    hog = rt.spawn(manifest("hog"))
    rt.send(hog, "grow", delay_ms=10)
    rt.run_until_idle()
    reason = exit_of(rt, hog)
    assert reason.kind == "memory"
    assert reason.message == ("memory cap of 131072 bytes reached: the actor asked for 1179648 bytes of linear "
                              "memory (peak 131072 bytes); then: wasm trap: wasm `unreachable` instruction executed")


def test_a_host_error_fault_makes_a_chosen_import_return_err(rt):
    rt.inject(fault("host-error", "pinger", interface="message-server-host", function="request"))
    echo = rt.spawn(manifest("echo"))
    pinger = rt.spawn(manifest("pinger"), init_state={"target": echo})
    rt.send(pinger, "request:x")
    rt.send(pinger, "request:y", delay_ms=1)
    rt.run_until_idle()
    assert rt.actor(pinger).logs == ["pinger: request failed: host error injected by fault #0", "pinger: reply y"]


def test_a_host_error_on_an_import_without_a_result_fails_the_caller(rt):
    rt.inject(fault("host-error", "echo", interface="runtime", function="log"))
    echo = rt.spawn(manifest("echo"))
    rt.send(echo, "hi")
    rt.run_until_idle()
    reason = exit_of(rt, echo)
    assert (reason.kind, reason.host_import) == ("host-error", "theater:simple/runtime.log")


def test_an_external_stop_fault(tmp_path):
    rt = Runtime(seed=1, faults=FaultSchedule([fault("stop", "sup/worker", at_ms=30)]))
    sup = rt.spawn(supervisor(tmp_path, "intensity = 5\n"))
    worker = rt.spawn(manifest("counter"), name="worker", parent=sup)
    rt.run_until_idle()
    assert [r.fields["reason"]["message"] for r in rt.trace.of_kind("exit")] == ["stopped from outside (fault #0)"]
    assert rt.actor(worker).incarnation == 2  # permanent: its supervisor restarted it


def test_a_corrupted_recovered_state_is_used_and_caught(tmp_path):
    rt = Runtime(seed=1, faults=FaultSchedule([fault("corrupt-state", "worker", state='{"count":-1}')]))
    sup = rt.spawn(supervisor(tmp_path, 'intensity = 5\n[supervision.default]\nrecovery = "last"\n'))
    worker = rt.spawn(manifest("counter"), name="worker", parent=sup)
    rt.send(worker, "add:7")
    rt.run_until_idle()
    rt.stop(worker)
    rt.run_until_idle()
    assert rt.trace.of_kind("fault")[0].fields["phase"] == "restarting"
    (violation,) = check_all(rt)  # the state_recovery invariant catches it
    assert (violation.invariant, violation.time_ms, violation.actors) == ("state_recovery", 0, (worker,))
    assert violation.message.endswith("; fault #0 (corrupt-state) fired on this restart")
    assert state_digest(b'{"count":-1}') in violation.message
    assert rt.ask(worker, "get") == b"-1"


def _link_run(*faults: Fault, sends: int = 4) -> tuple[Runtime, str]:
    rt = Runtime(seed=1, faults=FaultSchedule(faults))
    echo = rt.spawn(manifest("echo"))
    pinger = rt.spawn(manifest("pinger"), init_state={"target": echo})
    for i in range(sends):
        rt.send(pinger, f"send:m{i}", delay_ms=i * 10)
    rt.run_until_idle()
    return rt, echo


def test_a_dropped_message_never_arrives():
    rt, echo = _link_run(fault("drop", link=("pinger", "echo"), on_message=2))
    assert rt.actor(echo).logs == ["echo: m0", "echo: m2", "echo: m3"]
    (drop,) = rt.trace.of_kind("drop")
    assert drop.fields == {"fault": 0, "reason": "dropped", "item": "send", "msg": 6}


def test_a_delayed_message_arrives_late_and_out_of_order():
    rt, echo = _link_run(fault("delay", link=("pinger", "echo"), on_message=1, delay_ms=25))
    assert rt.actor(echo).logs == ["echo: m1", "echo: m2", "echo: m0", "echo: m3"]


def test_a_duplicated_message_arrives_twice():
    rt, echo = _link_run(fault("duplicate", link=("pinger", "echo"), on_message=3))
    assert rt.actor(echo).logs == ["echo: m0", "echo: m1", "echo: m2", "echo: m2", "echo: m3"]


def test_a_reordered_message_is_overtaken_by_the_next_one():
    rt, echo = _link_run(fault("reorder", link=("pinger", "echo"), on_message=2))
    assert rt.actor(echo).logs == ["echo: m0", "echo: m2", "echo: m1", "echo: m3"]


def test_a_reordered_last_message_is_released_after_its_hold_time():
    rt, echo = _link_run(fault("reorder", link=("pinger", "echo"), on_message=4, hold_ms=300))
    assert rt.actor(echo).logs == ["echo: m0", "echo: m1", "echo: m2", "echo: m3"]
    assert [r.time_ms for r in rt.trace.of_kind("deliver") if r.actor == echo][-1] == 330


def test_link_faults_apply_to_messages_from_outside():
    rt = Runtime(seed=1, faults=FaultSchedule([fault("drop", link=("outside", "echo"), on_message=1)]))
    echo = rt.spawn(manifest("echo"))
    rt.send(echo, "lost")
    rt.send(echo, "kept")
    rt.run_until_idle()
    assert rt.actor(echo).logs == ["echo: kept"]


def test_a_partition_drops_what_crosses_it_until_it_heals():
    rt = Runtime(seed=1, faults=FaultSchedule([
        fault("partition", groups=[["pinger"], ["echo"]], at_ms=15, duration_ms=20)]))
    echo = rt.spawn(manifest("echo"))
    pinger = rt.spawn(manifest("pinger"), init_state={"target": echo})
    for t in (10, 20, 30, 40):
        rt.send(pinger, f"send:at{t}", delay_ms=t)
    rt.run_until_idle()
    assert rt.actor(echo).logs == ["echo: at10", "echo: at40"]
    assert [r.fields["reason"] for r in rt.trace.of_kind("drop")] == ["partition", "partition"]
    assert [r.time_ms for r in rt.trace.of_kind("heal")] == [35]


def test_a_request_across_a_partition_times_out():
    rt = Runtime(seed=1, request_timeout_ms=100, faults=FaultSchedule([
        fault("partition", groups=[["pinger"], ["echo"]]), fault("heal", at_ms=500)]))
    echo = rt.spawn(manifest("echo"))
    pinger = rt.spawn(manifest("pinger"), init_state={"target": echo})
    rt.send(pinger, "request:x")
    rt.send(pinger, "request:y", delay_ms=600)
    rt.run_until_idle()
    logs = rt.actor(pinger).logs
    assert logs[0].startswith("pinger: request failed: request ") and logs[0].endswith("timed out after 100 ms")
    assert logs[1] == "pinger: reply y"


def test_the_same_seed_and_schedule_give_the_same_trace():
    schedule = FaultSchedule([fault("drop", link=("pinger", "echo"), on_message=2),
                              fault("trap", "echo", at_ms=25)])
    hashes = {(_link_run(*schedule)[0]).trace.hash() for _ in range(2)}
    assert len(hashes) == 1


SCHEDULE = FaultSchedule([
    fault("trap", "root/worker", on_call=3),
    fault("err", "worker", at_ms=10, message="nope"),
    fault("init-trap", "w", on_call=2),
    fault("hang", "w", duration_ms=5),
    fault("slow", "w", at_ms=1, delay_ms=9),
    fault("memory", "w", at_ms=2),
    fault("host-error", "w", interface="timing", function="sleep", count=2),
    fault("stop", "w", at_ms=3),
    fault("kill", "w", at_ms=3),
    fault("corrupt-state", "w", state="x"),
    fault("drop", link=("a", "b"), on_message=1),
    fault("delay", link=("outside", "b"), at_ms=4, delay_ms=6),
    fault("duplicate", link=("a", "b")),
    fault("reorder", link=("a", "b"), on_message=2, hold_ms=7),
    fault("partition", groups=[["a", "b"], ["c"]], at_ms=5, duration_ms=50),
    fault("heal", at_ms=60),
])


def test_schedules_round_trip_through_toml_and_json():
    assert FaultSchedule.from_toml(SCHEDULE.to_toml()) == SCHEDULE
    assert FaultSchedule.from_json(SCHEDULE.to_json()) == SCHEDULE
    assert json.loads(SCHEDULE.to_json())["fault"][0] == {"kind": "trap", "target": "root/worker", "on_call": 3}


@pytest.mark.parametrize("table, field, message", [
    ({"kind": "explode", "target": "a"}, "fault[0].kind", "'explode' is not a fault kind"),
    ({"kind": "trap"}, "fault[0].target", "a 'trap' fault needs target"),
    ({"kind": "drop", "link": ["a"]}, "fault[0].link", "needs link = [from, to]"),
    ({"kind": "trap", "target": "a", "at_ms": 1, "on_call": 2}, "fault[0].on_call", "give one trigger"),
    ({"kind": "stop", "target": "a", "on_call": 2}, "fault[0].on_call", "not applied to a call; use at_ms"),
    ({"kind": "kill", "target": "a", "on_call": 1}, "fault[0].on_call", "a 'kill' fault is not applied to a call"),
    ({"kind": "trap", "target": "a", "on_call": 0}, "fault[0].on_call", "expected an integer >= 1, got 0"),
    ({"kind": "slow", "target": "a", "delay_ms": "5"}, "fault[0].delay_ms", "expected an integer, got '5'"),
    ({"kind": "trap", "target": "a", "delay_ms": 5}, "fault[0].delay_ms", "not a key of a 'trap' fault"),
    ({"kind": "partition", "groups": [["a"]]}, "fault[0].groups", "at least two for a partition"),
])
def test_invalid_faults_name_the_table_and_the_key(table, field, message):
    with pytest.raises(ScenarioError) as info:
        FaultSchedule.from_dicts([table], source="faults.toml")
    assert str(info.value).startswith(f"faults.toml: field '{field}': ") and message in str(info.value)
