"""Faults at an instant act on what is there at that instant: a fault triggered by time is
bound to the incarnation of its target alive at that time, and is *missed* (a ``missed``
trace record, never re-armed) when there is none, or when that incarnation ends before
the fault could act. Missed faults show in the reports and in fault-space coverage."""

from __future__ import annotations

from unittest import mock

import hypothesis
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import manifest
from pytest_theater.report import fault_outcomes, marked_schedule_toml
from test_supervision import supervisor
from theater_harness import Runtime, report
from theater_harness.fault_space import Cell, FaultSpace
from theater_harness.faults import Fault, FaultSchedule, fault

SUPERVISED = "intensity = 5\n"


def missed(rt: Runtime) -> list[tuple[int, str | None, dict]]:
    return [(r.time_ms, r.actor, r.fields) for r in rt.trace.of_kind("missed")]


def fired(rt: Runtime) -> list[int]:
    return [r.fields["fault"] for r in rt.trace.of_kind("fault")]


def supervised_worker(tmp_path, *faults: Fault, worker: str = "counter", policy: str = SUPERVISED
                      ) -> tuple[Runtime, str]:
    """A worker named "worker" under a declarative one_for_one supervisor."""
    rt = Runtime(seed=1, faults=FaultSchedule(faults))
    sup = rt.spawn(supervisor(tmp_path, policy))
    return rt, rt.spawn(manifest(worker), name="worker", parent=sup)


def restarted_before_its_next_call(tmp_path, kind: str = "trap", **params) -> tuple[Runtime, str]:
    """A call fault bound at 100 ms to the worker's incarnation 1, which is stopped from
    outside at 150 ms (and restarted by its supervisor); the next call comes at 200 ms."""
    rt, worker = supervised_worker(tmp_path, fault(kind, "worker", at_ms=100, **params))
    rt.run(until=150)
    rt.stop(worker)
    rt.send(worker, "inc", delay_ms=50)
    rt.run_until_idle()
    return rt, worker


# --- bound to an incarnation -------------------------------------------------------------

def test_a_trap_whose_incarnation_ends_before_its_next_call_is_missed(tmp_path):
    rt, worker = restarted_before_its_next_call(tmp_path)
    assert missed(rt) == [(150, worker, {
        "fault": 0, "fault_kind": "trap", "describe": "trap worker at 100 ms", "target": "worker",
        "why": "worker's incarnation 1 ended (stopped: shutdown) before its next call",
        "incarnation": 1})]


def test_a_missed_trap_does_not_fire_on_the_restarted_incarnation(tmp_path):
    rt, worker = restarted_before_its_next_call(tmp_path)
    assert fired(rt) == []
    view = rt.actor(worker)
    assert (view.incarnation, view.status, view.state) == (2, "running", b'{"count":1}')


@pytest.mark.parametrize("kind, params", [
    ("err", {"message": "boom"}), ("hang", {"duration_ms": 5}), ("slow", {"delay_ms": 5})])
def test_every_call_fault_at_a_time_is_bound_to_the_incarnation_alive_then(tmp_path, kind, params):
    rt, worker = restarted_before_its_next_call(tmp_path, kind, **params)
    assert [(t, f["fault_kind"]) for t, _, f in missed(rt)] == [(150, kind)]
    assert fired(rt) == [] and rt.actor(worker).state == b'{"count":1}'


def test_a_bound_trap_fires_on_the_next_call_of_its_incarnation(tmp_path):
    rt, worker = supervised_worker(tmp_path, fault("trap", "worker", at_ms=100))
    rt.send(worker, "inc", delay_ms=300)
    rt.run_until_idle()
    (record,) = rt.trace.of_kind("fault")
    assert (record.time_ms, record.fields["call"]) == (300, 1)
    assert missed(rt) == [] and rt.actor(worker).incarnation == 2


def test_a_host_error_whose_incarnation_ends_before_the_import_is_missed(tmp_path):
    rt, worker = supervised_worker(tmp_path, fault("host-error", "worker", at_ms=10, interface="runtime",
                                                   function="log"), worker="echo")
    rt.run(until=20)
    rt.stop(worker)
    rt.send(worker, "hi", delay_ms=10)
    rt.run_until_idle()
    assert [f["why"] for _, _, f in missed(rt)] == [
        "worker's incarnation 1 ended (stopped: shutdown) before calling runtime.log"]
    assert rt.actor(worker).logs == ["echo: hi"]


def test_a_host_error_that_fired_is_not_missed_and_ends_with_its_incarnation(tmp_path):
    rt, worker = supervised_worker(tmp_path, fault("host-error", "worker", interface="runtime", function="log",
                                                   count=2), worker="echo")
    rt.send(worker, "a")  # its log import fails: a host error ends incarnation 1
    rt.send(worker, "b", delay_ms=10)  # incarnation 2 is not bound: its log works
    rt.run_until_idle()
    assert fired(rt) == [0] and missed(rt) == []
    assert rt.actor(worker).exit_reason is None and rt.actor(worker).logs == ["echo: b"]


# --- nothing alive at the fault's time -----------------------------------------------------

def test_a_trap_on_a_target_that_has_ended_is_missed_at_once():
    rt = Runtime(seed=1, faults=FaultSchedule([fault("trap", "worker", at_ms=100)]))
    worker = rt.spawn(manifest("counter"), name="worker")
    rt.stop(worker)
    rt.run_until_idle()
    assert missed(rt) == [(100, worker, {
        "fault": 0, "fault_kind": "trap", "describe": "trap worker at 100 ms", "target": "worker",
        "why": "worker is not running (it is stopped: shutdown)"})]


def test_a_fault_on_a_target_not_spawned_yet_is_missed_on_no_actor():
    rt = Runtime(seed=1, faults=FaultSchedule([fault("trap", "late", at_ms=10)]))
    rt.run(until=50)
    late = rt.spawn(manifest("counter"), name="late")
    rt.send(late, "inc")
    rt.run_until_idle()
    assert missed(rt) == [(10, None, {
        "fault": 0, "fault_kind": "trap", "describe": "trap late at 10 ms", "target": "late",
        "why": "late is not running (no actor with that id, name or path has been spawned)"})]
    assert fired(rt) == [] and rt.actor(late).state == b'{"count":1}'


def test_a_fault_between_two_incarnations_is_missed(tmp_path):
    policy = SUPERVISED + "[supervision.default]\nbackoff = { min_ms = 100, max_ms = 100, random_factor = 0.0 }\n"
    rt, worker = supervised_worker(tmp_path, fault("trap", "worker", at_ms=50), worker="crasher", policy=policy)
    rt.send(worker, "trap", delay_ms=10)  # it fails at 10 ms; its restart waits until 110 ms
    rt.run_until_idle()
    assert [(t, f["why"]) for t, _, f in missed(rt)] == [(50, "worker is not running (it is failed: trap)")]
    assert rt.actor(worker).incarnation == 2 and fired(rt) == []


@pytest.mark.parametrize("kind", ["stop", "memory", "kill"])
def test_an_at_once_fault_on_a_target_that_has_ended_is_missed(kind):
    rt = Runtime(seed=1, faults=FaultSchedule([fault(kind, "worker", at_ms=100)]))
    worker = rt.spawn(manifest("counter"), name="worker")
    rt.stop(worker)
    rt.run_until_idle()
    assert [(t, f["describe"], f["why"]) for t, _, f in missed(rt)] == [
        (100, f"{kind} worker at 100 ms", "worker is not running (it is stopped: shutdown)")]
    assert fired(rt) == [] and len(rt.trace.of_kind("exit")) == 1


def test_a_fault_on_a_name_several_ended_actors_share_says_how_each_ended():
    rt = Runtime(seed=1, faults=FaultSchedule([fault("stop", "twin", at_ms=100)]))
    first, second = (rt.spawn(manifest("crasher"), name="twin") for _ in range(2))
    rt.stop(first)
    rt.send(second, "trap")
    rt.run_until_idle()
    assert missed(rt) == [(100, None, {
        "fault": 0, "fault_kind": "stop", "describe": "stop twin at 100 ms", "target": "twin",
        "why": "none of the 2 actors twin names is running (stopped: shutdown, failed: trap)"})]


# --- unchanged: on_call triggers and the exceptions ----------------------------------------

def test_on_call_counts_calls_over_all_incarnations(tmp_path):
    rt, worker = supervised_worker(tmp_path, fault("trap", "worker", on_call=2))
    rt.send(worker, "inc")
    rt.run(until=10)
    rt.stop(worker)  # restarted: its next call is its 2nd, in incarnation 2
    rt.send(worker, "inc", delay_ms=10)
    rt.run_until_idle()
    (record,) = rt.trace.of_kind("fault")
    assert (record.time_ms, record.fields["call"]) == (20, 2)
    assert rt.actor(worker).incarnation == 3 and missed(rt) == []


def test_an_init_fault_at_a_time_applies_to_the_next_init_whichever_incarnation(tmp_path):
    rt, worker = supervised_worker(tmp_path, fault("init-err", "worker", at_ms=10, message="no"))
    rt.run(until=50)
    rt.stop(worker)  # incarnation 2's init fails; incarnation 3 starts
    rt.run_until_idle()
    (record,) = rt.trace.of_kind("fault")
    assert (record.time_ms, record.fields["phase"]) == (50, "init")
    assert rt.actor(worker).incarnation == 3 and missed(rt) == []


def test_corrupt_state_at_a_time_applies_to_the_next_recovered_state(tmp_path):
    policy = SUPERVISED + '[supervision.default]\nrecovery = "last"\n'
    rt, worker = supervised_worker(tmp_path, fault("corrupt-state", "worker", at_ms=10, state='{"count":9}'),
                                   policy=policy)
    rt.run(until=50)
    rt.stop(worker)
    rt.run_until_idle()
    assert rt.ask(worker, "get") == b"9" and missed(rt) == []


# --- shown everywhere a fault is -----------------------------------------------------------

def dead_target_run() -> Runtime:
    """#0 fires at 5 ms, #1 misses at 100 ms, #2 (the next init after 200 ms) never comes."""
    rt = Runtime(seed=1, faults=FaultSchedule([fault("trap", "worker", at_ms=5), fault("kill", "worker", at_ms=100),
                                               fault("init-trap", "worker", at_ms=200)]))
    worker = rt.spawn(manifest("counter"), name="worker")
    rt.send(worker, "inc", delay_ms=10)
    rt.run_until_idle()
    rt.run(until=300)
    return rt


def test_the_timeline_shows_a_missed_fault_in_one_line():
    lines = report.render_timeline(dead_target_run()).splitlines()
    assert lines[-1] == ("   100 ms  missed  worker  #1 kill worker at 100 ms missed: "
                         "worker is not running (it is failed: trap)")


def test_the_page_marks_a_missed_fault_apart_from_a_fired_one():
    page = report.render_html(dead_target_run(), title="t")
    assert page.count('<g class="m missed"') == 2  # the lane's mark, and the legend's
    assert "100 ms  missed  worker\n#1 kill worker at 100 ms missed: worker is not running" in page


def test_the_failure_report_marks_each_fault_fired_missed_or_pending():
    rt = dead_target_run()
    assert fault_outcomes(rt) == ["fired at 10 ms", "missed at 100 ms: worker is not running (it is failed: trap)",
                                  "pending: neither fired nor missed by 300 ms"]
    marked = marked_schedule_toml(rt)
    assert marked.splitlines()[0] == "[[fault]]  # #0 fired at 10 ms"
    assert FaultSchedule.from_toml(marked) == FaultSchedule(rt.faults.faults)  # still the schedule


def test_a_miss_is_recorded_right_after_the_incarnation_ends():
    rt = Runtime(seed=1, faults=FaultSchedule([fault("trap", "worker", at_ms=10)]))
    worker = rt.spawn(manifest("counter"), name="worker")
    rt.run(until=20)
    rt.stop(worker)  # no supervisor, nothing after: the exit itself tells the injector
    why = "worker's incarnation 1 ended (stopped: shutdown) before its next call"
    assert [(t, fields["why"]) for t, _, fields in missed(rt)] == [(20, why)]
    assert [r.kind for r in rt.trace.records[-2:]] == ["exit", "missed"]
    assert fault_outcomes(rt) == [f"missed at 20 ms: {why}"]


def test_fault_space_counts_missed_faults_by_kind_apart_from_the_cells():
    space = FaultSpace()
    assert space.record(dead_target_run()) == [Cell("root", "permanent", "trap", "running")]
    assert dict(space.missed) == {"kill": 1}
    assert space.table().splitlines()[-1] == ("1 fault missed its target (not running at the fault's time, "
                                              "or ended first), exercising nothing: kill 1")


def test_fault_space_merges_missed_faults():
    one, total = FaultSpace(), FaultSpace()
    one.record(dead_target_run())
    total.add(one)
    total.add(one)
    assert dict(total.missed) == {"kill": 2} and total.runs == 2
    assert total.table().splitlines()[-1].startswith("2 faults missed their target ")


def test_fault_space_reports_a_missed_fault_to_hypothesis_as_an_event():
    seen = []

    @settings(max_examples=1, deadline=None, database=None)
    @given(st.just(None))
    def run(_):
        with mock.patch.object(hypothesis, "event", seen.append):
            FaultSpace().record(dead_target_run())

    run()
    assert seen == ["fault space: trap in running of a permanent child under root",
                    "fault space: kill missed its target"]


def test_a_fault_space_with_no_miss_says_so():
    assert FaultSpace().table().splitlines()[-1] == "0 faults missed their target"
