"""`theater:simple/timer` on the virtual clock: set-interval, clear-interval, now, and the
ticks (mailbox items "tick" calling timer.handle-tick), with exact virtual times."""

from __future__ import annotations

import pytest

from conftest import manifest
from theater_harness import Runtime
from theater_harness.host import HOST_FUNCTIONS, ITEMS, cancel_timers_of, undeliverable
from theater_harness.host import timer as timer_host
from theater_harness.runtime import SKIPPED

set_interval = timer_host.FUNCTIONS["set-interval"]
clear_interval = timer_host.FUNCTIONS["clear-interval"]
now = timer_host.FUNCTIONS["now"]


def probe_actor(rt: Runtime, name: str = "p"):
    probe = rt.probe(name)
    return probe, rt._resolve(probe.id)


def ticks_of(probe) -> list[tuple[bytes, int]]:
    return [(m.payload, m.time_ms) for m in probe.history if m.kind == "tick"]


def records(rt: Runtime, *kinds: str) -> list[dict]:
    return [{k: v for k, v in r.items() if k != "seq"} for r in rt.trace.dicts() if r["kind"] in kinds]


def test_registered_with_the_host():
    assert HOST_FUNCTIONS["timer"] is timer_host.FUNCTIONS
    assert set(timer_host.FUNCTIONS) == {"set-interval", "clear-interval", "now"}
    assert ITEMS["tick"] is timer_host.ITEMS["tick"]


def test_now_is_epoch_ms_plus_virtual_time():
    rt = Runtime(seed=1, epoch_ms=1_000_000)
    _, actor = probe_actor(rt)
    assert now(rt, actor) == 1_000_000
    rt.run(until=7)
    assert now(rt, actor) == 1_000_007


def test_ticks_at_once_then_every_interval_of_virtual_time(rt):
    probe, actor = probe_actor(rt)
    rt.run(until=10)
    assert set_interval(rt, actor, "beat", 25) == (True, "beat")
    rt.run(until=85)
    assert ticks_of(probe) == [(b"beat", 10), (b"beat", 35), (b"beat", 60), (b"beat", 85)]
    assert records(rt, "tick") == [{"t": t, "kind": "tick", "actor": probe.id, "timer": "beat"}
                                   for t in (10, 35, 60, 85)]


def test_two_timers_tick_independently(rt):
    probe, actor = probe_actor(rt)
    assert set_interval(rt, actor, "a", 30) == (True, "a")
    assert set_interval(rt, actor, "b", 45) == (True, "b")
    rt.run(until=90)
    assert ticks_of(probe) == [(b"a", 0), (b"b", 0), (b"a", 30), (b"b", 45), (b"a", 60), (b"b", 90), (b"a", 90)]
    # (at 90, b's tick was scheduled first: at 45, a's at 60)


def test_clear_interval_stops_the_ticks(rt):
    probe, actor = probe_actor(rt)
    set_interval(rt, actor, "t", 10)
    rt.run(until=25)
    assert clear_interval(rt, actor, "t") == (True, None)
    rt.run(until=100)
    assert ticks_of(probe) == [(b"t", 0), (b"t", 10), (b"t", 20)]
    assert clear_interval(rt, actor, "t") == (False, "Timer 't' not found")
    assert clear_interval(rt, actor, "never") == (False, "Timer 'never' not found")
    assert rt.scheduler.peek() is None  # nothing left scheduled


def test_setting_a_name_again_is_theaters_error(rt):
    probe, actor = probe_actor(rt)
    set_interval(rt, actor, "t", 100)
    rt.run(until=50)
    assert set_interval(rt, actor, "t", 30) == (False, "Timer 't' already exists")
    assert clear_interval(rt, actor, "t") == (True, None)
    assert set_interval(rt, actor, "t", 30) == (True, "t")
    rt.run(until=120)
    assert ticks_of(probe) == [(b"t", 0), (b"t", 50), (b"t", 80), (b"t", 110)]  # no tick at 100
    assert list(rt.timers[actor.id]) == ["t"]


@pytest.mark.parametrize("interval, error", [
    (0, "set-interval: interval-ms must be at least 1, got 0"),
    (2**63, f"set-interval: interval-ms {2**63} is too large (at most {2**63 - 1})"),
])
def test_bad_intervals_are_errors(rt, interval, error):
    _, actor = probe_actor(rt)
    assert set_interval(rt, actor, "t", interval) == (False, error)
    assert timer_host.timers_of(rt, actor) == {} and rt.scheduler.peek() is None


def test_a_long_name_is_an_error(rt):
    _, actor = probe_actor(rt)
    assert set_interval(rt, actor, "é" * 2049, 5) == (False, "set-interval: a timer name is at most 4096 bytes, "
                                                               "got 4098")
    assert set_interval(rt, actor, "x" * 4096, 5) == (True, "x" * 4096)


def test_the_number_of_timers_is_bounded(rt, monkeypatch):
    monkeypatch.setattr(timer_host, "MAX_TIMERS", 3)
    _, actor = probe_actor(rt)
    for name in "abc":
        assert set_interval(rt, actor, name, 10) == (True, name)
    assert set_interval(rt, actor, "d", 10) == (False, f"set-interval: actor {actor.id} (p) already has 3 timers, "
                                                       "the most one actor may have; clear one first")
    assert clear_interval(rt, actor, "a") == (True, None)
    assert set_interval(rt, actor, "d", 10) == (True, "d")
    assert list(rt.timers[actor.id]) == ["b", "c", "d"]


def test_an_actor_without_the_export_is_skipped_once_and_its_timer_ends(rt):
    actor_id = rt.spawn(manifest("counter"))
    actor = rt._resolve(actor_id)
    rt.run(until=5)
    assert set_interval(rt, actor, "t", 100) == (True, "t")
    rt.run(until=1000)
    assert records(rt, "tick", "skip") == [
        {"t": 5, "kind": "tick", "actor": actor_id, "timer": "t"},
        {"t": 5, "kind": "skip", "actor": actor_id, "export": "theater:simple/timer.handle-tick"},
    ]
    assert rt.timers[actor_id] == {} and rt.scheduler.peek() is None
    assert actor.status == "running"


class StubCalls:
    """Stands in for Runtime._call for handle-tick (other calls go to the runtime): records
    each tick call and answers it, at once (``busy_ms`` None) or after ``busy_ms`` of
    virtual time during which the actor is busy."""

    def __init__(self, rt: Runtime, answer=lambda actor: (actor.state,), busy_ms: int | None = None):
        self.rt, self.answer, self.busy_ms, self.calls = rt, answer, busy_ms, []
        self.real = rt._call
        rt._call = self  # the instance attribute shadows the method

    def __call__(self, actor, key, state_and_params, then=None):
        if key != timer_host.HANDLE_TICK:
            self.real(actor, key, state_and_params, then)
            return
        self.calls.append((self.rt.now, key, state_and_params))
        if self.busy_ms is None:
            then(self.answer(actor))
            return
        actor.busy = True

        def done():
            actor.busy = False
            then(self.answer(actor))
            self.rt._after_call(actor)  # the next mail, as the runtime does after a call

        self.rt.scheduler.after(self.busy_ms, done)


def test_each_tick_calls_handle_tick_with_the_state_and_the_name(rt):
    actor_id = rt.spawn(manifest("counter"))
    actor = rt._resolve(actor_id)
    stub = StubCalls(rt)
    set_interval(rt, actor, "t", 40)
    rt.run(until=100)
    assert stub.calls == [(t, ("timer", "handle-tick"), (b'{"count":0}', ("t",))) for t in (0, 40, 80)]
    assert [r["t"] for r in records(rt, "tick")] == [0, 40, 80]


def test_a_failed_tick_call_ends_the_timer(rt):
    actor_id = rt.spawn(manifest("counter"))
    actor = rt._resolve(actor_id)
    stub = StubCalls(rt, answer=lambda actor: None)  # None: the call failed (it ended the incarnation)
    set_interval(rt, actor, "t", 40)
    rt.run(until=200)
    assert [c[0] for c in stub.calls] == [0]
    assert rt.timers[actor_id] == {}


def test_a_skipped_tick_call_ends_the_timer(rt):
    actor_id = rt.spawn(manifest("counter"))
    actor = rt._resolve(actor_id)
    stub = StubCalls(rt, answer=lambda actor: SKIPPED)
    set_interval(rt, actor, "t", 40)
    rt.run(until=200)
    assert [c[0] for c in stub.calls] == [0]
    assert rt.timers[actor_id] == {}


def test_ticks_due_while_one_waits_in_the_mailbox_merge_into_it(rt):
    actor_id = rt.spawn(manifest("counter"))
    actor = rt._resolve(actor_id)
    stub = StubCalls(rt, busy_ms=250)  # every tick call keeps the actor busy for 250 ms
    set_interval(rt, actor, "t", 100)
    rt.run(until=1000)
    assert [c[0] for c in stub.calls] == [0, 250, 500, 750, 1000]
    assert len(actor.mailbox) <= 1


def test_a_tick_queued_for_a_cleared_timer_is_dropped(rt):
    actor_id = rt.spawn(manifest("counter"))
    actor = rt._resolve(actor_id)
    stub = StubCalls(rt, busy_ms=150)
    set_interval(rt, actor, "t", 100)
    rt.run(until=120)  # the tick of 100 waits in the mailbox (busy until 150)
    assert clear_interval(rt, actor, "t") == (True, None)
    rt.run(until=400)
    assert [c[0] for c in stub.calls] == [0]
    assert records(rt, "drop") == [{"t": 150, "kind": "drop", "actor": actor_id, "item": "tick", "timer": "t",
                                    "reason": "the timer was cleared or replaced meanwhile"}]


def test_cancel_timers_of_ends_them_all(rt):
    probe, actor = probe_actor(rt)
    set_interval(rt, actor, "a", 10)
    set_interval(rt, actor, "b", 15)
    rt.run(until=20)
    cancel_timers_of(rt, actor)
    rt.run(until=100)
    assert ticks_of(probe) == [(b"a", 0), (b"b", 0), (b"a", 10), (b"b", 15), (b"a", 20)]
    assert actor.id not in rt.timers and rt.scheduler.peek() is None
    cancel_timers_of(rt, actor)  # again: nothing to do
    cancel_timers_of(Runtime(seed=1), actor)  # a runtime without timers


def test_timers_belong_to_their_incarnation(rt):
    actor_id = rt.spawn(manifest("counter"))
    actor = rt._resolve(actor_id)
    stub = StubCalls(rt)
    set_interval(rt, actor, "t", 40)
    rt.run(until=50)
    rt.stop(actor_id)  # the runtime calls cancel_timers_of (were it not to, the next tick would find the end)
    rt.run(until=200)
    assert [c[0] for c in stub.calls] == [0, 40]
    assert rt.timers.get(actor_id, {}) == {} and rt.scheduler.peek() is None
    rt.restart_actor(actor)
    rt.run(until=210)
    assert actor.incarnation == 2 and timer_host.timers_of(rt, actor) == {}
    set_interval(rt, actor, "t", 40)
    rt.run(until=260)
    assert [c[0] for c in stub.calls] == [0, 40, 210, 250]


def test_a_new_incarnation_does_not_inherit_timers_left_behind(rt):
    actor_id = rt.spawn(manifest("counter"))
    actor = rt._resolve(actor_id)
    StubCalls(rt)
    set_interval(rt, actor, "old", 1000)
    rt.stop(actor_id)
    rt.restart_actor(actor)
    assert timer_host.timers_of(rt, actor) == {}  # the old incarnation's timer was cancelled
    rt.run(until=5000)
    assert records(rt, "tick") == [] and rt.scheduler.peek() is None


def test_a_timer_left_behind_by_an_ended_incarnation_ends_at_its_next_tick(rt):
    actor_id = rt.spawn(manifest("counter"))
    counter = rt._resolve(actor_id)
    set_interval(rt, counter, "t", 40)
    timer = rt.timers[actor_id]["t"]
    rt.timers.pop(actor_id)  # as if the runtime had not cancelled it when the incarnation ended
    counter.status = "stopped"
    rt.run(until=100)
    assert not timer.live and timer.entry is None and rt.scheduler.peek() is None
    assert records(rt, "tick") == []


def test_a_tick_for_an_ended_actor_is_dropped_and_recorded(rt):
    actor_id = rt.spawn(manifest("counter"))
    actor = rt._resolve(actor_id)
    set_interval(rt, actor, "t", 10)
    timer = rt.timers[actor_id]["t"]
    rt.stop(actor_id)
    undeliverable(rt, actor, ("tick", timer))
    assert records(rt, "drop") == [{"t": 0, "kind": "drop", "actor": actor_id, "item": "tick", "timer": "t",
                                    "reason": f"actor {actor_id} (counter) is not running: it is stopped"}]


def test_same_seed_same_trace():
    def run() -> list[dict]:
        rt = Runtime(seed=7)
        probe, actor = probe_actor(rt)
        set_interval(rt, actor, "a", 7)
        set_interval(rt, actor, "b", 11)
        rt.run(until=60)
        clear_interval(rt, actor, "a")
        rt.run(until=100)
        return rt.trace.dicts()

    assert run() == run()


def test_packr_values_are_taken_as_plain_ones(rt):
    values = pytest.importorskip("theater_harness.values")
    U64, String = values.U64, values.String
    probe, actor = probe_actor(rt)
    ok, name = set_interval(rt, actor, String("v"), U64(5))
    assert (ok, name, type(name)) == (True, "v", str)
    rt.run(until=5)
    assert ticks_of(probe) == [(b"v", 0), (b"v", 5)]
    assert clear_interval(rt, actor, String("v")) == (True, None)
