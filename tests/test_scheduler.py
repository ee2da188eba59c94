"""The virtual clock and the event heap: ordering, jumps, nested runs, guards."""

from __future__ import annotations

import pytest

from theater_harness import SimulationError
from theater_harness._clock import VirtualClock
from theater_harness._rng import RunRandom
from theater_harness._scheduler import NORMAL, TIMER, URGENT, Scheduler


def test_clock_starts_at_zero_and_never_goes_backwards():
    clock = VirtualClock()
    assert clock.now == 0
    clock._advance_to(5)
    clock._advance_to(5)
    assert clock.now == 5
    with pytest.raises(SimulationError, match="time can't go backwards \\(from 5 ms to 4 ms\\)"):
        clock._advance_to(4)


@pytest.mark.parametrize("start", [-1, 1.5, True, "0"])
def test_clock_rejects_a_start_that_is_not_whole_non_negative_ms(start):
    with pytest.raises(SimulationError, match="whole, non-negative number of ms"):
        VirtualClock(start)


def test_events_run_in_time_then_priority_then_scheduling_order():
    s = Scheduler()
    ran = []
    s.at(10, ran.append, "t10-normal-first")
    s.at(5, ran.append, "t5-timer", priority=TIMER)
    s.at(10, ran.append, "t10-urgent", priority=URGENT)
    s.at(5, ran.append, "t5-normal")
    s.at(10, ran.append, "t10-normal-second", priority=NORMAL)
    s.run_until_idle()
    assert ran == ["t5-normal", "t5-timer", "t10-urgent", "t10-normal-first", "t10-normal-second"]


def test_time_jumps_straight_to_the_next_event():
    s = Scheduler()
    seen = []
    s.at(3, lambda: seen.append(s.now))
    s.at(1_000_000, lambda: seen.append(s.now))
    assert s.run_until_idle() == 2
    assert seen == [3, 1_000_000]
    assert s.now == 1_000_000
    assert s.events_run == 2


def test_run_until_stops_at_the_bound_and_sets_the_clock_to_it():
    s = Scheduler()
    seen = []
    for t in (10, 20, 30):
        s.at(t, seen.append, t)
    assert s.run(until=20) == 2
    assert seen == [10, 20]
    assert s.now == 20
    s.run(until=25)
    assert s.now == 25 and seen == [10, 20]
    s.run(until=100)
    assert seen == [10, 20, 30] and s.now == 100


def test_run_until_in_the_past_is_an_error():
    s = Scheduler()
    s.run(until=50)
    with pytest.raises(SimulationError, match="cannot run until 10 ms: it is already 50 ms"):
        s.run(until=10)


def test_scheduling_in_the_past_is_an_error():
    s = Scheduler()
    s.run(until=50)
    with pytest.raises(SimulationError, match="cannot schedule at 49 ms: it is already 50 ms"):
        s.at(49, print)
    with pytest.raises(SimulationError, match="cannot schedule -1 ms in the past"):
        s.after(-1, print)


def test_cancelled_events_never_run_and_do_not_move_the_clock():
    s = Scheduler()
    ran = []
    entry = s.at(500, ran.append, "late")
    s.at(10, ran.append, "early")
    s.cancel(entry)
    s.run_until_idle()
    assert ran == ["early"]
    assert s.now == 10
    assert s.peek() is None


def test_events_scheduled_while_running_at_the_same_instant_run_after_those_already_due():
    s = Scheduler()
    ran = []

    def first():
        ran.append("first")
        s.after(0, ran.append, "scheduled-by-first")

    s.at(0, first)
    s.at(0, ran.append, "second")
    s.run_until_idle()
    assert ran == ["first", "second", "scheduled-by-first"]


def test_run_while_steps_until_the_condition_holds():
    s = Scheduler()
    flag = []
    s.at(7, flag.append, 1)
    s.at(9, flag.append, 2)
    assert s.run_while(lambda: not flag) is True
    assert s.now == 7 and flag == [1]
    assert s.run_while(lambda: len(flag) < 5) is False  # ran out of events first
    assert flag == [1, 2]


def test_a_periodic_event_makes_run_until_idle_stop_with_a_clear_error():
    s = Scheduler()

    def tick():
        s.after(1, tick)

    s.at(0, tick)
    with pytest.raises(SimulationError, match="still busy after 100 events .*use run\\(until=...\\)"):
        s.run_until_idle(max_events=100)


def test_a_zero_delay_loop_makes_run_until_stop_with_a_clear_error():
    s = Scheduler()

    def spin():
        s.after(0, spin)

    s.at(0, spin)
    with pytest.raises(SimulationError, match="more than 50 events before 10 ms .*without letting virtual time pass"):
        s.run(until=10, max_events=50)


def test_halt_stops_every_run_loop():
    s = Scheduler()
    ran = []
    s.at(1, lambda: (ran.append(1), s.halt("done")))
    s.at(2, ran.append, 2)
    s.run_until_idle()
    assert ran == [1] and s.halted == "done"
    s.run(until=10)
    assert ran == [1] and s.now == 1


def test_the_seeded_rng_gives_the_same_ids_for_the_same_seed():
    a, b, c = RunRandom(42), RunRandom(42), RunRandom(43)
    ids_a = [a.uuid() for _ in range(3)]
    assert ids_a == [b.uuid() for _ in range(3)]
    assert ids_a != [c.uuid() for _ in range(3)]
    assert all(len(i) == 36 and i[14] == "4" and i[19] in "89ab" for i in ids_a)


def test_rng_streams_are_independent_of_each_other_and_of_the_root():
    root = RunRandom(7)
    first = root.stream("ids").uuid()
    root.random()
    root.stream("other").random()
    assert root.stream("ids").uuid() == first
    assert RunRandom(7).stream("ids").uuid() == first
    assert RunRandom(8).stream("ids").uuid() != first


def test_the_seed_must_be_an_integer():
    with pytest.raises(TypeError, match="the seed must be an integer"):
        RunRandom("7")  # type: ignore[arg-type]


def test_events_for_the_current_instant_interleave_with_the_heap_in_exact_order():
    # after(0) at NORMAL goes to the same-instant lane; everything else to the heap. The
    # order must be the one a single heap keyed (time, priority, seq) would give.
    s = Scheduler()
    ran = []

    def first():
        ran.append("first")
        s.after(0, ran.append, "lane-1")                    # lane, seq after "earlier"
        s.after(0, ran.append, "urgent", priority=URGENT)   # heap, before every NORMAL of now
        s.after(0, ran.append, "timer", priority=TIMER)     # heap, after every NORMAL of now
        s.at(5, ran.append, "lane-2")                       # at() for now: the lane too
        cancelled = s.after(0, ran.append, "cancelled")
        s.cancel(cancelled)

    s.at(5, first)
    s.at(5, ran.append, "earlier")  # in the heap, scheduled before the lane entries
    s.at(6, ran.append, "later")
    assert s.peek() == 5
    s.run_until_idle()
    assert ran == ["first", "urgent", "earlier", "lane-1", "lane-2", "timer", "later"]
    assert s.now == 6 and s.peek() is None


def test_step_and_run_until_idle_take_the_same_order():
    def schedule(s, ran):
        def at_five():
            ran.append(("five", s.now))
            s.after(0, lambda: ran.append(("lane", s.now)))
            s.after(1, lambda: ran.append(("six", s.now)))
        s.after(5, at_five)
        s.after(5, lambda: ran.append(("five-b", s.now)))

    stepped, looped = [], []
    a, b = Scheduler(), Scheduler()
    schedule(a, stepped)
    schedule(b, looped)
    while a.step():
        pass
    b.run_until_idle()
    assert stepped == looped == [("five", 5), ("five-b", 5), ("lane", 5), ("six", 6)]
