"""The ``kill`` fault, OTP's ``exit(Pid, kill)``: at its time the target's incarnation ends
at once as failed (exit kind ``killed``), without a call, and its parent learns of a
failure."""

from __future__ import annotations

import pytest

from conftest import manifest
from test_supervision import supervisor
from theater_harness import Runtime, ScenarioError
from theater_harness.fault_space import Cell, FaultSpace
from theater_harness.faults import FaultSchedule, fault
from theater_harness.host import HOST_FUNCTIONS
from theater_harness.strategies import ACTOR_KINDS, HEALABLE_KINDS, KIND_ORDER, WORKER_KINDS


def names(rt: Runtime) -> dict[str, str]:
    return {a.id: a.name for a in rt.actors}


def exits(rt: Runtime) -> list[tuple[int, str, str, str]]:
    """(time, actor name, status, exit kind) of every exit, in order."""
    named = names(rt)
    return [(r.time_ms, named[r.actor], r.fields["status"], r.fields["reason"]["kind"])
            for r in rt.trace.of_kind("exit")]


def killed_child(tmp_path, policy: str) -> tuple[Runtime, str]:
    """An idle worker under a declarative one_for_one supervisor, killed at 50 ms."""
    rt = Runtime(seed=1, faults=FaultSchedule([fault("kill", "worker", at_ms=50)]))
    sup = rt.spawn(supervisor(tmp_path, policy))
    worker = rt.spawn(manifest("counter"), name="worker", parent=sup)
    rt.run_until_idle()
    return rt, worker


def test_a_kill_ends_an_idle_actor_at_once_as_a_failure(tmp_path):
    rt, worker = killed_child(tmp_path, "intensity = 5\n")
    (record,) = rt.trace.of_kind("exit")
    assert (record.time_ms, record.fields["status"]) == (50, "failed")
    assert record.fields["reason"] == {"kind": "killed", "message": "killed (fault #0)", "actor": worker,
                                       "incarnation": 1, "time_ms": 50, "cause": "outside"}


def test_a_kill_is_recorded_as_a_fault_in_the_running_phase(tmp_path):
    rt, worker = killed_child(tmp_path, "intensity = 5\n")
    (record,) = rt.trace.of_kind("fault")
    assert record.fields == {"fault": 0, "fault_kind": "kill", "describe": "kill worker at 50 ms", "target": worker,
                             "phase": "running", "restart": "permanent", "strategy": "one_for_one"}


def test_a_killed_permanent_child_is_restarted(tmp_path):
    rt, worker = killed_child(tmp_path, "intensity = 5\n")
    assert (rt.actor(worker).incarnation, rt.actor(worker).status) == (2, "running")


def test_a_killed_transient_child_is_restarted_as_after_an_abnormal_exit(tmp_path):
    rt, worker = killed_child(tmp_path, 'intensity = 5\n[supervision.default]\nrestart = "transient"\n')
    assert (rt.actor(worker).incarnation, rt.actor(worker).status) == (2, "running")


def test_a_killed_temporary_child_is_not_restarted(tmp_path):
    rt, worker = killed_child(tmp_path, 'intensity = 5\n[supervision.default]\nrestart = "temporary"\n')
    assert (rt.actor(worker).incarnation, rt.actor(worker).status) == (1, "failed")
    assert rt.trace.of_kind("restart") == []


def test_a_guest_supervisor_hears_of_a_kill_as_a_child_error():
    rt = Runtime(seed=1)
    sup = rt.spawn(manifest("sup_one"))
    rt.send(sup, "spawn:counter.toml")
    rt.run_until_idle()
    (child,) = rt.actor(sup).children
    rt.inject(fault("kill", child, at_ms=50))
    rt.run_until_idle()
    assert rt.actor(sup).logs[-1] == f"sup_one: restarting {child}"  # its handle-child-error ran
    assert rt.actor(child).incarnation == 2 and rt.ask(sup, "restarts") == b"1"


def test_a_killed_supervisor_takes_its_subtree_down_first(tmp_path):
    rt = Runtime(seed=1, faults=FaultSchedule([fault("kill", "team", at_ms=50)]))
    root = rt.spawn(supervisor(tmp_path, "intensity = 5\n", name="root"))
    team = rt.spawn(supervisor(tmp_path, "intensity = 5\n", name="team"), parent=root)
    for name in ("a", "b"):
        rt.spawn(manifest("counter"), name=name, parent=team)
    rt.run_until_idle()
    assert [(t, who, status) for t, who, status, _ in exits(rt)] == [
        (50, "b", "stopped"), (50, "a", "stopped"), (50, "team", "failed")]
    assert [r.fields["reason"]["cause"] for r in rt.trace.of_kind("exit")] == ["parent-ended", "parent-ended",
                                                                               "outside"]
    assert [a.incarnation for a in rt.actors] == [1, 2, 2, 2]  # root restarted team, team its children


def test_a_kill_abandons_a_call_parked_in_a_blocking_host_call():
    rt = Runtime(seed=1, faults=FaultSchedule([fault("kill", "sleeper", at_ms=100)]))
    sleeper = rt.spawn(manifest("sleeper"))
    rt.send(sleeper, "sleep:1000")
    rt.run_until_idle()
    assert exits(rt) == [(100, "sleeper", "failed", "killed")]
    assert rt.now == 100 and rt.actor(sleeper).logs == []  # its timer went with it: it never woke
    assert b"interrupted: the actor ended (killed)" in rt.actor(sleeper).chain[-2].data


def test_a_kill_from_inside_a_running_call_lets_the_call_finish_first(rt, monkeypatch):
    log = HOST_FUNCTIONS["runtime"]["log"]

    def log_then_kill(runtime, actor, msg):
        log(runtime, actor, msg)
        runtime.kill_from_fault(actor, 7)  # the actor is inside its handle-send right now

    monkeypatch.setitem(HOST_FUNCTIONS["runtime"], "log", log_then_kill)
    echo = rt.spawn(manifest("echo"))
    rt.send(echo, "hi")
    rt.send(echo, "late")
    rt.run_until_idle()
    kinds = [r.kind if r.kind != "event" else r.fields["event_type"] for r in rt.trace if r.actor == echo]
    # handle-send: its call, its log, its result; then the kill, before the next message
    assert kinds[-8:] == ["deliver", "wasm", "log", "theater:simple/runtime/log", "wasm", "shutdown", "exit", "drop"]
    assert b"WasmResult" in rt.actor(echo).chain[-2].data
    assert exits(rt) == [(0, "echo", "failed", "killed")] and rt.actor(echo).logs == ["echo: hi"]


def test_a_kill_with_no_trigger_acts_when_it_is_injected(rt):
    counter = rt.spawn(manifest("counter"))
    rt.run(until=70)
    rt.inject(fault("kill", counter))
    rt.run_until_idle()
    assert exits(rt) == [(70, "counter", "failed", "killed")]


def test_a_kill_is_never_on_a_call():
    with pytest.raises(ScenarioError) as info:
        FaultSchedule.from_dicts([{"kind": "kill", "target": "w", "on_call": 1}], source="faults.toml")
    assert str(info.value) == ("faults.toml: field 'fault[0].on_call': a 'kill' fault is not applied to a call; "
                               "use at_ms")


def test_a_kill_takes_no_parameters():
    with pytest.raises(ScenarioError, match=r"field 'fault\[0\].message': not a key of a 'kill' fault"):
        FaultSchedule.from_dicts([{"kind": "kill", "target": "w", "message": "x"}], source="faults.toml")


def test_schedules_with_a_kill_round_trip_through_toml_and_json():
    schedule = FaultSchedule([fault("kill", "root/w", at_ms=3), fault("kill", "w")])
    assert FaultSchedule.from_toml(schedule.to_toml()) == schedule
    assert FaultSchedule.from_json(schedule.to_json()) == schedule
    assert schedule.to_dicts() == [{"kind": "kill", "target": "root/w", "at_ms": 3}, {"kind": "kill", "target": "w"}]


def test_the_strategies_draw_kills_for_any_actor_right_after_stops():
    assert KIND_ORDER[:2] == ("stop", "kill")
    assert "kill" in ACTOR_KINDS and "kill" in HEALABLE_KINDS and "kill" not in WORKER_KINDS


def test_a_kill_is_a_cell_of_the_fault_space(tmp_path):
    space = FaultSpace()
    assert space.record(killed_child(tmp_path, "intensity = 5\n")[0]) == [
        Cell("one_for_one", "permanent", "kill", "running")]
