"""packr_ticker (scenarios/actors/src/packr_ticker.c): a packr actor on Theater's packr-era
``timer`` and ``store`` host interfaces, end to end in the runtime (virtual time, typed
state, supervision and recovery, determinism), and its guest side alone with plain
wasmtime-py (tests/packr_smoke.py) for the paths the host does not take by itself."""

from __future__ import annotations

import importlib.util

from packr_blob import pack_types_blob
from packr_smoke import ACTORS, PackrActor, err_message, module, ok_payload

from theater_harness import Runtime
from theater_harness.faults import Fault, FaultSchedule, fault
from theater_harness.host.store import content_ref
from theater_harness.trees import NodeSpec, Policy, TreeSpec
from theater_harness.values import (
    NONE,
    U32,
    U64,
    Bool,
    Bytes,
    List,
    Option,
    Record,
    Result,
    String,
    Tuple,
    TypedState,
    render,
)
from theater_harness.wasm.packr.interfaces import INTERFACES
from theater_harness.wasm.packr.types import decode_metadata, hash_interface

TICKER = str(ACTORS / "packr_ticker.toml")
STRING_TAG = b"\x06"

TIMER, STORE = "theater:simple/timer", "theater:simple/store"
INIT = "theater:simple/actor.init"
TICK = f"{TIMER}.handle-tick"
SEND = "theater:simple/message-server-client.handle-send"
REQUEST = "theater:simple/message-server-client.handle-request"


def some(text: str) -> Option:
    return Option(STRING_TAG, String(text))


def none() -> Option:
    return Option(STRING_TAG, None)


def ticker_state(ticks: int, store: str | None, last_ref: str | None) -> Record:
    return Record("ticker-state", {"ticks": U32(ticks), "store": some(store) if store else none(),
                                   "last-ref": some(last_ref) if last_ref else none()})


def store_of(rt: Runtime, ticker: str) -> str:
    return str(rt.actor(ticker).state.value["store"].value)


def tick_times(rt: Runtime, actor: str) -> list[int]:
    return [r["t"] for r in rt.trace.dicts() if r["kind"] == "tick" and r.get("actor") == actor]


def logs(rt: Runtime, actor: str) -> list[tuple[int, str]]:
    return [(r["t"], r["msg"]) for r in rt.trace.dicts() if r["kind"] == "log" and r.get("actor") == actor]


def timers(rt: Runtime, actor: str) -> list[tuple[str, int, int]]:
    """The actor's live timers (name, interval, incarnation), from the host's table."""
    return [(name, timer.interval_ms, timer.incarnation)
            for name, timer in getattr(rt, "timers", {}).get(actor, {}).items()]


def packr_types():
    """scenarios/actors/packr_types.py (the actors' __pack_types declarations)."""
    spec = importlib.util.spec_from_file_location("example_actors_build", ACTORS / "build.py")
    build = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(build)
    return build.packr_types()


def ticker_manifest(initial_state: str) -> str:
    return (f'name = "packr_ticker"\nversion = "0.1.0"\npackage = "{ACTORS / "packr_ticker.wasm"}"\n'
            f'initial_state = "{initial_state}"\n\n[[handler]]\ntype = "message-server"\n')


# --- the module -------------------------------------------------------------------------------

def test_pack_types_lists_exactly_its_imports_and_exports():
    """What tests/test_packr_actors.py checks for every packr actor (its PACKR_ACTORS list
    does not name packr_ticker yet)."""
    blob = pack_types_blob(ACTORS / "packr_ticker.wasm")
    assert blob == packr_types().metadata_blob("packr_ticker")  # the committed module is up to date
    assert blob == PackrActor("packr_ticker").pack_types()
    md = decode_metadata(blob)
    assert [s.qualified_name for s in md.exports] == [INIT, TICK, SEND, REQUEST]
    imports = {(s.interface, s.name) for s in md.imports}
    assert imports == {
        ("theater:simple/runtime", "log"), ("theater:simple/message-server-host", "register"),
        (TIMER, "set-interval"), (TIMER, "clear-interval"), (TIMER, "now"),
        (STORE, "new"), (STORE, "get"), (STORE, "exists"), (STORE, "get-by-label"), (STORE, "store-at-label"),
        (STORE, "list-labels")}
    assert {(i.module, i.name) for i in module("packr_ticker").imports} == imports
    assert {e.name for e in module("packr_ticker").exports} == {
        "memory", "__pack_alloc", "__pack_free", "__pack_types", INIT, SEND, REQUEST, TICK}
    assert md.import_hashes == {
        iface: hash_interface(iface, [INTERFACES[iface][f] for i, f in sorted(imports) if i == iface])
        for iface in {i for i, _ in imports}}


# --- ticking, the store, the requests -------------------------------------------------------

def test_init_registers_makes_a_store_and_sets_the_interval():
    rt = Runtime(seed=1)
    t = rt.spawn(TICKER)
    view = rt.actor(t)
    sid = store_of(rt, t)
    assert view.state.value == ticker_state(0, sid, None)
    assert sid in rt.stores and timers(rt, t) == [("tick", 100, 1)]
    assert view.logs == ["packr_ticker: init 0 every 100 ms"]
    assert [e.event_type for e in view.chain[:6]] == [
        "wasm", "theater:simple/message-server-host/register", "theater:simple/store/new",
        "theater:simple/timer/set-interval", "theater:simple/runtime/log", "wasm"]
    rt.advance(0)  # set-interval ticks at once (the host's first tick completes immediately, as tokio's)
    assert view.logs[1:] == ["packr_ticker: tick 1"]
    assert rt.stores[sid].labels == {"ticks": content_ref(b"1")}


def test_ticks_every_interval_of_virtual_time():
    rt = Runtime(seed=1)
    t = rt.spawn(TICKER)
    rt.advance(350)
    # At 0 (at once), 100, 200 and 300: four ticks in 350 ms, not three.
    assert rt.ask(t, "ticks") == b"4"
    assert tick_times(rt, t) == [0, 100, 200, 300]
    assert [entry for entry in logs(rt, t) if entry[1].startswith("packr_ticker: tick ")] == [
        (0, "packr_ticker: tick 1"), (100, "packr_ticker: tick 2"), (200, "packr_ticker: tick 3"),
        (300, "packr_ticker: tick 4")]


def test_the_state_is_a_typed_record():
    rt = Runtime(seed=1)
    t = rt.spawn(TICKER)
    rt.advance(350)
    sid = store_of(rt, t)
    state = rt.actor(t).state
    assert isinstance(state, TypedState)
    assert state.value == ticker_state(4, sid, content_ref(b"4"))
    assert render(state.value) == f'{{ticks: 4, store: some("{sid}"), last-ref: some("{content_ref(b"4")}")}}'


def test_every_tick_stores_the_count_at_a_label():
    rt = Runtime(seed=1)
    t = rt.spawn(TICKER)
    rt.advance(350)
    store = rt.stores[store_of(rt, t)]
    assert store.labels == {"ticks": content_ref(b"4")}
    assert sorted(store.content.values()) == [b"1", b"2", b"3", b"4"]
    assert rt.ask(t, "stored") == b"4"
    assert rt.ask(t, "labels") == b"ticks"
    assert rt.ask(t, "exists") == b"true"
    assert rt.ask(t, "what") == b"unknown"
    assert rt.ask(t, "ticks") == b"4"  # requests change nothing


def test_now_is_the_epoch_plus_virtual_time():
    rt = Runtime(seed=1, epoch_ms=1_000_000)
    t = rt.spawn(TICKER)
    rt.advance(350)
    assert rt.ask(t, "now") == b"1000350"
    rt2 = Runtime(seed=1)
    t2 = rt2.spawn(TICKER)
    rt2.advance(7)
    assert rt2.ask(t2, "now") == str(rt2.epoch_ms + 7).encode()


def test_stop_clears_the_interval():
    rt = Runtime(seed=1)
    t = rt.spawn(TICKER)
    rt.advance(150)
    rt.send(t, "stop")
    rt.advance(1000)
    assert rt.ask(t, "ticks") == b"2"
    assert tick_times(rt, t) == [0, 100]
    assert timers(rt, t) == []
    assert rt.scheduler.peek() is None  # nothing left scheduled
    rt.send(t, "stop")  # no timer any more: Theater's error, logged
    rt.advance(1)
    assert rt.actor(t).logs[-1] == "packr_ticker: clear-interval failed: Timer 'tick' not found"
    assert rt.actor(t).status == "running"


def test_a_tick_queued_behind_a_stop_is_dropped():
    rt = Runtime(seed=1)
    t = rt.spawn(TICKER)
    rt.advance(50)
    rt.inject(fault("slow", t, delay_ms=250))  # the tick at 100 takes until 350
    rt.advance(100)
    rt.send(t, "stop")  # queued at 150; the tick due at 200 queues behind it
    rt.advance(1000)
    assert tick_times(rt, t) == [0, 100]
    assert [(r["t"], r["timer"], r["reason"]) for r in rt.trace.dicts() if r["kind"] == "drop"] == [
        (350, "tick", "the timer was cleared or replaced meanwhile")]
    assert rt.ask(t, "ticks") == b"2"


def test_every_sets_the_interval_again():
    rt = Runtime(seed=1)
    t = rt.spawn(TICKER)
    rt.advance(150)
    rt.send(t, "every:30")  # cleared and set again: a tick at once, then every 30 ms
    rt.advance(100)
    assert tick_times(rt, t) == [0, 100, 150, 180, 210, 240]
    assert timers(rt, t) == [("tick", 30, 1)]
    rt.send(t, "stop")
    rt.advance(100)
    rt.send(t, "every:1000")  # after a stop (clear-interval's "not found" is not logged)
    rt.advance(2000)
    assert tick_times(rt, t)[6:] == [350, 1350, 2350]
    assert not any("failed" in line for line in rt.actor(t).logs)


def test_bad_intervals_are_logged_and_keep_the_timer():
    rt = Runtime(seed=1)
    t = rt.spawn(TICKER)
    rt.advance(50)
    rt.send(t, "every:soon")  # the guest's refusals: the timer goes on
    rt.send(t, "every:0")
    rt.send(t, "every:")
    rt.send(t, "hello")  # ignored
    rt.advance(200)
    assert rt.actor(t).logs[2:] == [
        "packr_ticker: not an interval: soon", "packr_ticker: not an interval: 0", "packr_ticker: not an interval: ",
        "packr_ticker: tick 2", "packr_ticker: tick 3"]
    assert tick_times(rt, t) == [0, 100, 200]
    rt.send(t, "every:18446744073709551615")  # the host's refusal: cleared, then not set again
    rt.advance(1000)
    assert rt.actor(t).logs[-1].startswith(
        "packr_ticker: set-interval failed: set-interval: interval-ms 18446744073709551615 is too large")
    assert tick_times(rt, t) == [0, 100, 200] and timers(rt, t) == []


def test_the_initial_state_is_the_interval():
    rt = Runtime(seed=1)
    t = rt.spawn(ticker_manifest(" 250 "))
    rt.advance(600)
    assert tick_times(rt, t) == [0, 250, 500]
    assert rt.actor(t).logs[0] == "packr_ticker: init 0 every 250 ms"


def test_an_initial_state_that_is_no_interval_fails_init():
    rt = Runtime(seed=1)
    t = rt.spawn(ticker_manifest("soon"))
    view = rt.actor(t)
    assert view.status == "failed"
    assert "packr_ticker: initial state is not an interval in ms: soon" in str(view.exit_reason)
    assert timers(rt, t) == []
    assert rt.scheduler.peek() is None
    assert rt.actor(rt.spawn(ticker_manifest("0"))).status == "failed"


def test_a_stopped_actors_timer_ends_with_it():
    rt = Runtime(seed=1)
    t = rt.spawn(TICKER)
    rt.advance(150)
    rt.stop(t)
    rt.advance(1000)
    assert tick_times(rt, t) == [0, 100]
    assert timers(rt, t) == [] and rt.scheduler.peek() is None


def test_a_failing_store_is_logged_and_the_last_ref_kept():
    rt = Runtime(seed=1)
    t = rt.spawn(TICKER)
    rt.advance(50)
    rt.inject(fault("host-error", t, interface="store", function="store-at-label", count=1))
    rt.advance(100)  # the tick at 100 gets the error
    view = rt.actor(t)
    assert view.logs[-2:] == ["packr_ticker: store-at-label failed: host error injected by fault #0",
                              "packr_ticker: tick 2"]
    assert view.state.value == ticker_state(2, store_of(rt, t), content_ref(b"1"))
    assert rt.ask(t, "stored") == b"1"
    rt.advance(100)
    assert rt.ask(t, "stored") == b"3"


# --- restarts -------------------------------------------------------------------------------

def supervised(recovery: str, trap_at_ms: int = 250, seed: int = 1) -> tuple[Runtime, str]:
    """A ticker under a one-for-one supervisor; the trap fault takes its first call after
    ``trap_at_ms`` (with the default, the tick at 300)."""
    rt = Runtime(seed=seed, faults=FaultSchedule([Fault("trap", target="sup/t", at_ms=trap_at_ms)]))
    ids = TreeSpec(NodeSpec("sup", policy=Policy("one_for_one", intensity=3), children=(
        NodeSpec("t", manifest=TICKER, recovery=recovery),))).spawn(rt)
    return rt, ids["t"]


def test_a_restart_cancels_the_old_timer_and_init_sets_it_again():
    rt, t = supervised("last")
    rt.advance(700)
    view = rt.actor(t)
    assert view.incarnation == 2 and view.status == "running"
    # The tick at 300 trapped; the new incarnation's init ticks at once, at 300 too, then
    # every 100 ms: one tick per instant, not two.
    assert tick_times(rt, t) == [0, 100, 200, 300, 300, 400, 500, 600, 700]
    assert [msg for _, msg in logs(rt, t)] == [
        "packr_ticker: init 0 every 100 ms", "packr_ticker: tick 1", "packr_ticker: tick 2", "packr_ticker: tick 3",
        "packr_ticker: init 3 every 100 ms", "packr_ticker: tick 4", "packr_ticker: tick 5", "packr_ticker: tick 6",
        "packr_ticker: tick 7", "packr_ticker: tick 8"]
    assert timers(rt, t) == [("tick", 100, 2)]
    assert rt.ask(t, "ticks") == b"8"


def test_a_restart_after_stop_ticks_again():
    rt, t = supervised("last")
    rt.advance(150)
    rt.send(t, "stop")
    rt.advance(100)
    rt.send(t, "anything")  # the trap fault (bound at 250) takes this call
    rt.advance(200)
    assert rt.actor(t).incarnation == 2
    assert tick_times(rt, t) == [0, 100, 250, 350, 450]  # the new init set the interval again


def test_with_recovery_last_the_store_outlives_the_incarnation():
    rt, t = supervised("last")
    rt.advance(250)
    sid = store_of(rt, t)
    rt.advance(450)
    assert store_of(rt, t) == sid and list(rt.stores) == [sid]  # no new store
    # what the first incarnation stored (1-3) and the second (4-8), in one store
    assert sorted(rt.stores[sid].content.values()) == [str(n).encode() for n in range(1, 9)]
    assert rt.ask(t, "stored") == b"8"
    assert rt.ask(t, "exists") == b"true"
    assert rt.actor(t).state.value == ticker_state(8, sid, content_ref(b"8"))


def test_with_recovery_init_the_old_store_stays_behind():
    rt, t = supervised("init")
    rt.advance(250)
    first = store_of(rt, t)
    rt.advance(450)
    second = store_of(rt, t)
    assert second != first and set(rt.stores) == {first, second}
    assert rt.stores[first].labels == {"ticks": content_ref(b"3")}  # as the first incarnation left it
    assert rt.ask(t, "stored") == b"5" and rt.ask(t, "ticks") == b"5"


def test_with_recovery_replay_the_ticker_ticks_again():  # the replay sets its timer again
    rt, t = supervised("replay")
    rt.advance(700)
    assert rt.actor(t).incarnation == 2
    assert rt.ask(t, "ticks") == b"8"


# --- determinism --------------------------------------------------------------------------------

def run(seed: int) -> str:
    rt, t = supervised("last", seed=seed)
    rt.advance(320)
    rt.send(t, "every:45")
    rt.advance(200)
    rt.ask(t, "now")
    rt.ask(t, "stored")
    rt.send(t, "stop")
    rt.advance(100)
    return rt.trace.to_json()


def test_same_seed_same_trace():
    first = run(3)
    assert first == run(3)
    assert first != run(4)  # the ids (actors, the store) come from the seed


# --- the guest alone (plain wasmtime-py) --------------------------------------------------------

def ok(value):
    return Result(True, value)


def err(message: str):
    return Result(False, String(message))


def reply(outcome) -> bytes:
    """handle-request's reply bytes: tuple[state, tuple[some(bytes)]]."""
    return bytes(ok_payload(outcome)[1][0].value)


def test_a_recovered_state_keeps_its_store_and_sets_the_default_interval():
    a = PackrActor("packr_ticker", {(TIMER, "set-interval"): lambda arg: ok(String("tick"))})
    state = ticker_state(7, "s-1", "r-1")
    assert ok_payload(a.call(INIT, state)) == Tuple((state,))
    assert [(f, arg) for f, arg in a.calls] == [
        ("register", Tuple(())), ("set-interval", Tuple((String("tick"), U64(100)))),
        ("log", String("packr_ticker: init 7 every 100 ms"))]  # no store.new


def test_without_a_store_it_still_ticks_and_answers():
    a = PackrActor("packr_ticker", {(STORE, "new"): lambda arg: err("no disk")})
    assert ok_payload(a.call(INIT, NONE)) == Tuple((ticker_state(0, None, None),))
    assert a.logs == ["packr_ticker: store.new failed: no disk", "packr_ticker: init 0 every 100 ms"]
    assert ok_payload(a.call(TICK, ticker_state(0, None, None), String("tick"))) == Tuple((ticker_state(1, None, None),))
    assert a.logs[-1] == "packr_ticker: tick 1"
    assert "store-at-label" not in [f for f, _ in a.calls]
    replies = {request: reply(a.call(REQUEST, ticker_state(1, None, None), String("r"), Bytes(request.encode())))
               for request in ("stored", "labels", "exists", "ticks")}
    assert replies == {"stored": b"none", "labels": b"", "exists": b"false", "ticks": b"1"}


def test_store_errors_become_replies():
    a = PackrActor("packr_ticker", {(STORE, "get-by-label"): lambda arg: err("gone"),
                                    (STORE, "list-labels"): lambda arg: err("gone too"),
                                    (STORE, "exists"): lambda arg: err("unsure")})
    state = ticker_state(2, "s", "r")
    replies = {request: reply(a.call(REQUEST, state, String("r"), Bytes(request.encode())))
               for request in ("stored", "labels", "exists")}
    assert replies == {"stored": b"error: gone", "labels": b"error: gone too", "exists": b"error: unsure"}


def test_stored_reads_the_label_then_the_content():
    a = PackrActor("packr_ticker", {
        (STORE, "get-by-label"): lambda arg: ok(some("ref-9")),
        (STORE, "get"): lambda arg: ok(Bytes(b"9")),
        (STORE, "list-labels"): lambda arg: ok(List(STRING_TAG, [String("a"), String("ticks")])),
        (STORE, "exists"): lambda arg: ok(Bool(True)),
        (TIMER, "now"): lambda arg: U64(1767225600123),
    })
    state = ticker_state(9, "s", "ref-9")
    replies = {request: reply(a.call(REQUEST, state, String("r"), Bytes(request.encode())))
               for request in ("stored", "labels", "exists", "now")}
    assert replies == {"stored": b"9", "labels": b"a,ticks", "exists": b"true", "now": b"1767225600123"}
    assert [(f, arg) for f, arg in a.calls if f in ("get-by-label", "get", "exists")] == [
        ("get-by-label", Tuple((String("s"), String("ticks")))), ("get", Tuple((String("s"), String("ref-9")))),
        ("exists", Tuple((String("s"), String("ref-9"))))]


def test_sends_call_the_timer():
    a = PackrActor("packr_ticker", {(TIMER, "clear-interval"): lambda arg: err("Timer 'tick' not found")})
    state = ticker_state(1, "s", None)
    for msg in ("stop", "every:25", "every:x"):
        assert ok_payload(a.call(SEND, state, Bytes(msg.encode()))) == Tuple((state,))
    assert [(f, arg) for f, arg in a.calls if f != "log"] == [
        ("clear-interval", String("tick")),
        ("clear-interval", String("tick")), ("set-interval", Tuple((String("tick"), U64(25))))]
    assert a.logs == ["packr_ticker: clear-interval failed: Timer 'tick' not found",
                      "packr_ticker: not an interval: x"]


def test_an_initial_state_is_a_decimal_interval():
    a = PackrActor("packr_ticker")
    assert err_message(a.call(INIT, String("1e3"))) == "packr_ticker: initial state is not an interval in ms: 1e3"
    assert ok_payload(a.call(INIT, String("\t40 "))) == Tuple((ticker_state(0, None, None),))
    assert ("set-interval", Tuple((String("tick"), U64(40)))) in a.calls


def test_a_state_of_the_wrong_shape_is_refused():
    a = PackrActor("packr_ticker")
    assert a.call(TICK, String("not a ticker"), String("tick")) == (-1, "failed to convert state")
    assert a.call(TICK, ticker_state(0, None, None), U32(1)) == (-1, "failed to convert parameter")
    assert a.call(INIT, U32(5)) == (-1, "failed to convert state")
