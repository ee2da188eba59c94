"""Issue 11, D5: a runtime, dropped or closed, frees every Store (instance, linear
memories, the fiber of a call parked in a blocking host call), whatever its actors were
doing: parked in sleep, in a request, in a channel handshake, never run, failed.

Before the fix a runtime dropped while an actor slept was never freed: the table of
parked host calls held what the call waited for, and through it the runtime. Each cost
about 5 memory mappings (its linear memory and its fiber's stack) and 54 KiB, and after
about 13,000 of them the process had no mapping left (``vm.max_map_count``): spawns
failed with ``Cannot allocate memory (os error 12)``.

The long test below drops 20,000 such runtimes in one process (7-12 s on the shared
2-core machine: more than the ~13,000 that used to exhaust the mappings, and it fails
within the first 6,000 if they leak again); it measures the process's memory mappings
(``/proc/self/maps``) and resident memory at intervals and checks that they stay flat.
The same test with 100,000 runtimes (about 27 s of CPU: 38-48 s alone under pytest, 73 s
beside the rest of the suite under ``-n 2``) is opt-in: ``THEATER_LONG_TESTS=1 pytest
tests/test_leaks.py`` (``benchmarks/bench_leaks.py --runtimes 100000`` measures it too).
No test here reads the wall clock or sleeps.
"""

from __future__ import annotations

import gc
import os
import weakref

import pytest

from conftest import manifest
from pytest_theater.runs import CURRENT
from theater_harness import Runtime
from theater_harness.wasm import _instance, live_memories, live_stores

SLEEPER = manifest("sleeper")
PINGER = manifest("pinger")
COUNTER = manifest("counter")
CRASHER = manifest("crasher")
BALLAST = manifest("ballast")
FOREVER = "sleep:1000000000"  # far beyond any run here


def maps() -> int:
    """The process's memory mappings (what ``vm.max_map_count`` bounds)."""
    with open("/proc/self/maps", "rb") as f:
        return sum(1 for _ in f)


def rss_kib() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024


def parked(rt: Runtime, ref: str) -> bool:
    """Whether the actor's call is parked in a blocking host call (its fiber suspended)."""
    actor = rt._resolve(ref)
    return actor.suspended is not None and actor.instance is not None and actor.instance.suspended


# --- what an actor can be doing when its runtime goes -------------------------------------


def sleeping(rt: Runtime) -> None:
    a = rt.spawn(SLEEPER)
    rt.send(a, FOREVER)
    rt.advance(1)
    assert parked(rt, a)


def in_a_deadline(rt: Runtime) -> None:
    a = rt.spawn(SLEEPER)
    rt.send(a, "deadline:1000000000")
    rt.advance(1)
    assert parked(rt, a)


def requesting_a_silent_probe(rt: Runtime) -> None:
    probe = rt.probe()
    a = rt.spawn(PINGER, init_state={"target": probe.id})
    rt.send(a, "request:hello")
    rt.advance(1)
    assert parked(rt, a)  # the probe never replies; the request's timeout is 30 s away


def requesting_a_sleeping_actor(rt: Runtime) -> None:
    s = rt.spawn(SLEEPER)
    rt.send(s, FOREVER)
    a = rt.spawn(PINGER, init_state={"target": s})
    rt.send(a, "request:state")
    rt.advance(1)
    assert parked(rt, a) and parked(rt, s)  # both fibers suspended, the request queued


def opening_a_channel_to_a_silent_probe(rt: Runtime) -> None:
    probe = rt.probe()
    a = rt.spawn(PINGER, init_state={"target": probe.id})
    rt.send(a, "open:hello")
    rt.advance(1)
    assert parked(rt, a)  # the probe neither accepts nor rejects


def opening_a_channel_to_a_sleeping_actor(rt: Runtime) -> None:
    s = rt.spawn(SLEEPER)
    rt.send(s, FOREVER)
    a = rt.spawn(PINGER, init_state={"target": s})
    rt.send(a, "open:hello")
    rt.advance(1)
    assert parked(rt, a) and parked(rt, s)


def channel_from_outside_to_a_sleeping_actor(rt: Runtime) -> None:
    s = rt.spawn(SLEEPER)
    rt.send(s, FOREVER)
    end = rt.open_channel(s, "hello")
    rt.advance(1)
    assert end.accepted is None and parked(rt, s)  # the handshake waits for the sleeper


def failed(rt: Runtime) -> None:
    a = rt.spawn(CRASHER)
    rt.send(a, "trap")
    rt.run_until_idle()
    assert rt.actor(a).status == "failed"


def failed_in_init(rt: Runtime) -> None:
    a = rt.spawn(CRASHER, init_state={"fail_init": "trap"})
    assert rt.actor(a).status == "failed"


def failed_to_instantiate(rt: Runtime) -> None:
    a = rt.spawn(BALLAST, memory=65536)  # 1 MiB of data segments over a 64 KiB cap
    assert rt.actor(a).status == "failed" and rt.actor(a).exit_reason.kind == "memory"


def never_run(rt: Runtime) -> None:
    a = rt.spawn(SLEEPER)
    rt.send(a, "sleep:5")  # queued; the clock never moves
    rt.spawn(COUNTER)


def stopped_while_parked(rt: Runtime) -> None:
    a = rt.spawn(SLEEPER)
    rt.send(a, FOREVER)
    rt.advance(1)
    rt.stop(a)
    rt.run_until_idle()


def idle_and_parked_side_by_side(rt: Runtime) -> None:
    rt.spawn(COUNTER)
    sleeping(rt)
    requesting_a_silent_probe(rt)


CASES = [sleeping, in_a_deadline, requesting_a_silent_probe, requesting_a_sleeping_actor,
         opening_a_channel_to_a_silent_probe, opening_a_channel_to_a_sleeping_actor,
         channel_from_outside_to_a_sleeping_actor, failed, failed_in_init, failed_to_instantiate, never_run,
         stopped_while_parked, idle_and_parked_side_by_side]


def _baseline() -> tuple[int, int]:
    forget_runtimes()
    gc.collect()
    return live_stores(), live_memories()


def forget_runtimes() -> None:
    """The pytest plugin keeps the test's last runtime (for its failure report): let go of it."""
    runs = CURRENT.get()
    if runs is not None:
        runs.release()


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.__name__)
def test_a_dropped_runtime_is_freed_whatever_its_actors_were_doing(case):
    stores, memories = _baseline()
    refs = []
    for seed in range(20):
        rt = Runtime(seed=seed)
        case(rt)
        refs.append(weakref.ref(rt))
        del rt
    forget_runtimes()
    gc.collect()
    assert [r for r in refs if r() is not None] == []
    assert (live_stores(), live_memories()) == (stores, memories)


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.__name__)
def test_close_frees_at_once_records_nothing_and_ends_the_run(case):
    stores, memories = _baseline()
    rt = Runtime(seed=3)
    case(rt)
    trace, statuses = rt.trace.hash(), [(a.name, a.status, a.incarnation) for a in rt.actors]
    gc.disable()  # what close() frees, it frees itself
    try:
        rt.close()
        assert (live_stores(), live_memories()) == (stores, memories)
    finally:
        gc.enable()
    assert rt.closed
    assert rt.trace.hash() == trace  # the run as it was: nothing recorded
    assert [(a.name, a.status, a.incarnation) for a in rt.actors] == statuses
    assert rt.run_until_idle() == 0 and rt.advance(10_000_000_000) == 0  # nothing runs any more
    rt.close()  # idempotent


def test_a_runtime_is_a_context_manager_that_closes():
    stores, _ = _baseline()
    with Runtime(seed=1) as rt:
        sleeping(rt)
        assert live_stores() == stores + 1
    assert rt.closed and live_stores() == stores


# --- 100,000 dropped runtimes in one process ------------------------------------------------


LONG = pytest.mark.skipif(not os.environ.get("THEATER_LONG_TESTS"),
                          reason="100,000 runtimes take 38-75 s; set THEATER_LONG_TESTS=1 (the suite runs 20,000)")


@pytest.mark.parametrize("total", [20_000, pytest.param(100_000, marks=LONG)])
def test_dropped_runtimes_with_sleeping_actors_keep_memory_flat(total):
    """Each runtime spawns a sleeper, sends it a sleep far in the future, runs 1 ms (its
    call is parked on its fiber) and is dropped. Before the fix the process ran out of
    memory mappings after ~13,000 of them (5 mappings and 54 KiB each); now the number of
    mappings and the resident memory stay flat, and the live Stores stay few."""
    every = 2_000
    warm_up = min(4_000, total // 2)
    samples: list[tuple[int, int, int, int]] = []  # (runtimes so far, mappings, RSS KiB, live Stores)
    worst_stores = 0
    for i in range(1, total + 1):
        rt = Runtime(seed=i)
        a = rt.spawn(SLEEPER)
        rt.send(a, FOREVER)
        rt.advance(1)
        if i == 1:
            assert parked(rt, a)
        del rt, a  # dropped: no close(), no gc.collect()
        if i % every == 0 or i == warm_up:
            samples.append((i, maps(), rss_kib(), live_stores()))
            worst_stores = max(worst_stores, samples[-1][3])
            if i >= warm_up:
                # fail early rather than at the mapping limit: a leak adds ~5 mappings a runtime
                base = next(s for s in samples if s[0] == warm_up)
                assert samples[-1][1] <= base[1] + 1_500, samples
    base = next(s for s in samples if s[0] == warm_up)
    last = samples[-1]
    table = "\n".join(f"{n:>7} runtimes: {m:>6} mappings, {r:>7} KiB resident, {s:>5} live Stores"
                      for n, m, r, s in samples)
    # Flat: at most the garbage between two collections (a few hundred mappings) above the
    # level after warm-up, and a few MiB of resident memory (the leak cost 54 MiB and 5,000
    # mappings per 1,000 runtimes).
    assert last[1] <= base[1] + 1_500, table
    assert last[2] <= base[2] + 16 * 1024, table
    assert worst_stores <= _instance.COLLECT_STEP_MAX + 256, table


# --- the collector, when it frees them --------------------------------------------------------


def test_stores_are_collected_even_when_the_collector_would_not_run(monkeypatch):
    """Runtimes are cycles, freed by the cyclic collector, whose schedule counts Python
    objects, not Stores (in a process with millions of long-lived objects, runtimes in its
    oldest generation wait long for a full collection). With automatic collection off, the
    Stores still stay bounded: making a Store collects once many were made since the last."""
    stores, _ = _baseline()
    monkeypatch.setattr(_instance._Store, "step", _instance.COLLECT_STEP)  # as in a fresh process
    monkeypatch.setattr(_instance._Store, "low", stores)
    gc.disable()
    try:
        worst = 0
        for seed in range(3 * _instance.COLLECT_STEP):
            rt = Runtime(seed=seed)
            sleeping(rt)
            del rt
            worst = max(worst, live_stores() - stores)
    finally:
        gc.enable()
    assert _instance.COLLECT_STEP // 2 < worst <= _instance.COLLECT_STEP + 1
    assert _baseline()[0] == stores


def test_parked_fibers_of_garbage_runtimes_can_be_freed_from_inside_wasmtime_callbacks(monkeypatch):
    """The collector may run at any allocation: inside a host call that runs on an actor's
    fiber, or inside wasmtime's creation of a linear memory (instantiating). Freeing other
    runtimes' Stores and parked fibers there must be safe."""
    from theater_harness.host import HOST_FUNCTIONS
    from theater_harness.wasm import _memory

    freed = {"log": 0, "new-memory": 0}

    def collecting(where):
        before = live_stores()
        gc.collect()
        freed[where] += before - live_stores()

    log = HOST_FUNCTIONS["runtime"]["log"]

    def logging(rt, actor, msg):
        collecting("log")
        return log(rt, actor, msg)

    collect_in_new_memory = False

    class Region(_memory._Region):
        __slots__ = ()

        def __init__(self, *args):
            super().__init__(*args)
            if collect_in_new_memory:
                collecting("new-memory")

    monkeypatch.setitem(HOST_FUNCTIONS["runtime"], "log", logging)
    monkeypatch.setattr(_memory, "_Region", Region)
    stores, _ = _baseline()
    for seed in range(6):
        for g in range(3):  # garbage: runtimes with parked fibers
            rt = Runtime(seed=seed * 10 + g)
            requesting_a_sleeping_actor(rt)
            del rt
        forget_runtimes()
        rt = Runtime(seed=seed)
        collect_in_new_memory = seed % 2 == 1  # a collection while its linear memory is made
        a = rt.spawn(SLEEPER)
        collect_in_new_memory = False
        rt.send(a, "sleep:5")
        rt.run_until_idle()  # it wakes on its fiber and logs: a collection in there
        assert rt.actor(a).logs == ["sleeper: woke at 1767225600005"]
        del rt
    assert freed["log"] > 0 and freed["new-memory"] > 0
    assert _baseline()[0] == stores


def test_a_store_finalized_before_its_incarnation_deletes_the_parked_call_first():
    """A collection finalizes the objects of a cycle in no set order: whichever of the Store
    and its incarnation goes first, the parked call's future goes before the Store."""
    stores, memories = _baseline()
    for store_first in (True, False):
        rt = Runtime(seed=1)
        sleeping(rt)
        instance = next(a for a in rt._actors.values()).instance
        assert instance.store.future
        if store_first:
            instance.store.close()  # what the Store's own finalizer does
            assert not instance.store.future
            instance.__del__()  # then the incarnation's: nothing left to do
        else:
            instance.__del__()
            assert not instance.store.future
        del instance
        rt.close()
        del rt
    assert _baseline() == (stores, memories)


# --- the pytest plugin lets go of a test's runtimes ------------------------------------------

pytest_plugins = ["pytester"]

INNER = ("-p", "no:faulthandler", "-p", "no:cacheprovider")  # as in test_plugin.py


def test_the_plugin_closes_the_theater_fixture_and_keeps_no_runtime_past_its_test(pytester: pytest.Pytester):
    pytester.makepyfile(test_inner=f'''
import gc
import weakref
from hypothesis import given, settings, strategies as st
from theater_harness import Runtime

SLEEPER = {str(SLEEPER)!r}
FIXTURE, REFS, ALIVE = [], [], []


def sleeping(rt):
    a = rt.spawn(SLEEPER)
    rt.send(a, "sleep:1000000000")
    rt.advance(1)


def test_fixture(theater):
    sleeping(theater)
    FIXTURE.append(theater)  # kept on purpose: closed all the same


def test_fixture_was_closed():
    assert FIXTURE[0].closed and FIXTURE[0].actors[0].status == "running"


def test_many_runtimes():
    for seed in range(20):
        rt = Runtime(seed=seed)
        sleeping(rt)
        REFS.append(weakref.ref(rt))
    del rt
    gc.collect()
    assert sum(r() is not None for r in REFS) == 1  # the last, for a failure report


@settings(max_examples=10, database=None)
@given(st.integers())
def test_hypothesis(x):
    rt = Runtime()
    sleeping(rt)
    REFS.append(weakref.ref(rt))
    del rt
    gc.collect()
    ALIVE.append(sum(r() is not None for r in REFS))


def test_all_freed():
    gc.collect()
    assert max(ALIVE) == 1
    assert [r for r in REFS if r() is not None] == []
''')
    stores = _baseline()[0]
    result = pytester.runpytest(*INNER, "-p", "no:randomly")
    result.assert_outcomes(passed=5)
    assert _baseline()[0] == stores


def test_bench_leaks_measures_what_it_says():
    import importlib
    import sys

    from conftest import ROOT

    if str(ROOT / "benchmarks") not in sys.path:
        sys.path.insert(0, str(ROOT / "benchmarks"))
    bench = importlib.import_module("bench_leaks")
    result = bench.child("requesting", 600, 200, close=False)
    assert result["runtimes"] == 600 and result["failure"] is None and len(result["samples"]) == 3
    (_, first, _, _), (_, last, _, _) = result["samples"][0], result["samples"][-1]
    assert last - first < 1_000  # a leak would add ~2,000 (5 a runtime)
    row = bench.summarize(result, warm_up=200)
    assert row["runtimes"] == 600 and row["stores_peak"] < 600
    assert "requesting" in "\n".join(bench.render([row], markdown=True))
