"""A fault's target (or a link's end) that names more than one running actor is an error
that lists every candidate by id and path: raised when the fault is injected if it is
ambiguous then, else a ``missed`` record when it is armed or first matched, raised out of
the run as the next event of that instant. The fault acts on none of them; the runtime
runs on. A name shared with actors that have ended names the running one, as
``Runtime.actor`` resolves it."""

from __future__ import annotations

import pytest
from conftest import manifest
from test_supervision import supervisor

from theater_harness import Runtime, UnknownActorError
from theater_harness.faults import AmbiguousTargetError, FaultSchedule, fault

SUPERVISED = "intensity = 5\n"


def twins(rt: Runtime) -> tuple[str, str]:
    """Two counters, both named "counter" (a spawn's default name is its manifest's)."""
    return rt.spawn(manifest("counter")), rt.spawn(manifest("counter"))


def fired(rt: Runtime) -> list[int]:
    return [r.fields["fault"] for r in rt.trace.of_kind("fault")]


def test_injecting_a_fault_on_a_name_two_running_actors_share_raises_listing_both(rt):
    first, second = twins(rt)
    with pytest.raises(AmbiguousTargetError) as error:
        rt.inject(fault("trap", "counter", at_ms=10))
    assert str(error.value) == (f"fault #0 (trap counter at 10 ms): its target 'counter' is ambiguous: 2 running "
                                f"actors have that name: {first} (counter), {second} (counter); name one by its id")
    assert (error.value.fault, error.value.ref, error.value.candidates) == (
        0, "counter", [(first, "counter"), (second, "counter")])


def test_the_error_is_an_unknown_actor_error_as_runtime_actor_raises(rt):
    twins(rt)
    with pytest.raises(UnknownActorError):
        rt.actor("counter")
    with pytest.raises(UnknownActorError):
        rt.inject(fault("stop", "counter"))


def test_the_error_suggests_a_path_where_the_candidates_paths_differ(tmp_path, rt):
    workers = [rt.spawn(manifest("counter"), name="worker", parent=rt.spawn(supervisor(tmp_path, SUPERVISED, name)))
               for name in ("a", "b")]
    with pytest.raises(AmbiguousTargetError) as error:
        rt.inject(fault("stop", "worker", at_ms=0))
    assert str(error.value).endswith(f"2 running actors have that name: {workers[0]} (a/worker), "
                                     f"{workers[1]} (b/worker); name one by its id or its path")


def test_a_schedule_with_an_ambiguous_fault_adds_none_of_its_faults(rt):
    twins(rt)
    alone = rt.spawn(manifest("echo"))
    with pytest.raises(AmbiguousTargetError, match="^fault #1 "):
        rt.inject(FaultSchedule([fault("stop", alone), fault("kill", "counter")]))
    rt.run_until_idle()
    assert rt.faults is None and rt.actor(alone).alive


def test_an_ambiguity_found_at_the_faults_time_is_raised_from_the_run_at_that_instant():
    rt = Runtime(seed=1, faults=FaultSchedule([fault("stop", "counter", at_ms=100)]))
    first, second = twins(rt)  # injected before they were spawned: found only at 100 ms
    with pytest.raises(AmbiguousTargetError, match="^fault #0 \\(stop counter at 100 ms\\): its target 'counter' "
                                                   "is ambiguous"):
        rt.run(until=500)
    assert rt.now == 100 and rt.actor(first).alive and rt.actor(second).alive


def test_the_ambiguity_is_a_missed_record_listing_the_candidates():
    rt = Runtime(seed=1, faults=FaultSchedule([fault("stop", "counter", at_ms=100)]))
    first, second = twins(rt)
    with pytest.raises(AmbiguousTargetError) as error:
        rt.run(until=500)
    (record,) = rt.trace.of_kind("missed")
    assert (record.time_ms, record.actor, record.fields) == (100, None, {
        "fault": 0, "fault_kind": "stop", "describe": "stop counter at 100 ms", "target": "counter",
        "why": error.value.why, "candidates": [[first, "counter"], [second, "counter"]]})
    assert rt.faults.outcome(0) == "missed"


def test_after_the_error_the_run_goes_on_and_the_fault_is_never_re_armed():
    rt = Runtime(seed=1, faults=FaultSchedule([fault("trap", "counter", at_ms=100), fault("stop", "echo", at_ms=300)]))
    first, _ = twins(rt)
    echo = rt.spawn(manifest("echo"))
    rt.send(first, "inc", delay_ms=200)
    with pytest.raises(AmbiguousTargetError):
        rt.run(until=1000)
    rt.run(until=1000)
    assert fired(rt) == [1] and not rt.actor(echo).alive
    assert rt.actor(first).state == b'{"count":1}' and rt.actor(first).alive


def test_an_on_call_fault_on_a_shared_name_is_ambiguous_when_it_first_matches():
    rt = Runtime(seed=1, faults=FaultSchedule([fault("trap", "counter", on_call=1)]))
    first, second = twins(rt)
    rt.send(first, "inc", delay_ms=10)
    with pytest.raises(AmbiguousTargetError, match="^fault #0 \\(trap counter on call 1\\)"):
        rt.run_until_idle()
    assert rt.now == 10 and rt.actor(first).state == b'{"count":1}'  # the call went on, untouched
    rt.send(second, "inc")
    rt.run_until_idle()
    assert fired(rt) == [] and rt.actor(second).alive


def test_a_link_fault_whose_end_is_ambiguous_drops_nothing():
    rt = Runtime(seed=1, faults=FaultSchedule([fault("drop", link=("outside", "echo"), on_message=1)]))
    first = rt.spawn(manifest("echo"))
    rt.spawn(manifest("echo"))
    rt.send(first, "kept")
    with pytest.raises(AmbiguousTargetError, match="its link's end 'echo' is ambiguous: 2 running actors"):
        rt.run_until_idle()
    rt.run_until_idle()
    assert rt.actor(first).logs == ["echo: kept"]


def test_a_restart_fault_on_a_shared_name_is_ambiguous_when_the_restart_comes(tmp_path):
    rt = Runtime(seed=1, faults=FaultSchedule([fault("corrupt-state", "worker", state="{}")]))
    sup = rt.spawn(supervisor(tmp_path, SUPERVISED))
    worker = rt.spawn(manifest("counter"), name="worker", parent=sup)
    rt.spawn(manifest("counter"), name="worker")
    rt.stop(worker)  # restarted by sup: the corrupt-state fault matches it, and the other worker runs
    with pytest.raises(AmbiguousTargetError, match="its target 'worker' is ambiguous"):
        rt.run_until_idle()
    assert fired(rt) == [] and rt.actor(worker).incarnation == 2


def test_a_name_shared_with_an_ended_actor_names_the_running_one(rt):
    gone, running = twins(rt)
    rt.stop(gone)
    assert rt.actor("counter").id == running  # as Runtime.actor resolves it
    rt.inject(fault("stop", "counter", at_ms=10))
    rt.run_until_idle()
    assert [r.fields["target"] for r in rt.trace.of_kind("fault")] == [running]
    assert not rt.actor(running).alive


def test_an_id_or_a_path_names_one_actor(tmp_path, rt):
    workers = [rt.spawn(manifest("counter"), name="worker", parent=rt.spawn(supervisor(tmp_path, SUPERVISED, name)))
               for name in ("a", "b")]
    rt.inject(FaultSchedule([fault("stop", "b/worker", at_ms=10), fault("trap", workers[0], at_ms=10)]))
    rt.send(workers[0], "inc", delay_ms=20)
    rt.run_until_idle()
    assert [r.fields["target"] for r in rt.trace.of_kind("fault")] == [workers[1], workers[0]]
