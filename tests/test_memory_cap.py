"""Memory caps: a refused memory growth is known to the harness, not guessed from a trap.

The harness allocates every linear memory itself (theater_harness/wasm/_memory.py), so
a call that fails after its incarnation was refused memory is a "memory" failure, and
an instantiation whose initial memory exceeds the cap raises MemoryCapExceeded.
"""
from __future__ import annotations

import gc
import json
from pathlib import Path

import pytest
import wasmtime

from theater_harness.wasm import Incarnation, WasmtimeError, load_component
from theater_harness.wasm import _memory
from theater_harness.wasm._engine import ENGINE, ENGINE_CONFIG

ACTORS = Path(__file__).resolve().parent.parent / "scenarios" / "actors"
MiB = 1 << 20
INIT = ("actor", "init")
SEND = ("message-server-client", "handle-send")


def _noop(*_args):
    return None


@pytest.fixture(scope="module")
def counter():
    return load_component(ACTORS / "counter.wasm")


@pytest.fixture(scope="module")
def hog():
    return load_component(ACTORS / "hog.wasm")


@pytest.fixture(scope="module")
def crasher():
    return load_component(ACTORS / "crasher.wasm")


def spawn(component, cap, *, fuel=10_000_000):
    inc = Incarnation(component, owner=None, dispatch=_noop, fuel=fuel, memory_cap=cap)
    ok, value = inc.call(component.exports[INIT], (None,))
    assert ok and value[0] is True, value
    return inc, value[1][0]


def send(inc, state, payload):
    return inc.call(inc.component.exports[SEND], (state, (payload,)))


def rss_kib() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


# --- actors -------------------------------------------------------------------------------

def test_hog_under_4_mib_fails_with_memory(hog):
    inc, state = spawn(hog, 4 * MiB, fuel=10**9)
    ok, failure = send(inc, state, b"grow")
    assert not ok
    assert failure.kind == "memory"
    assert "memory cap of 4194304 bytes" in failure.message
    assert "unreachable" in failure.message  # wasmtime's own message is kept
    account = inc.memory
    assert account.denials == 1 and account.cap == 4 * MiB
    assert 3 * MiB <= account.peak <= 4 * MiB < account.denied_size
    # The trap poisoned the instance; later calls say so, as before.
    ok, failure = send(inc, state, b"grow")
    assert not ok and failure.kind == "trap"


def test_hog_under_64_mib_fails_with_memory_once_it_reaches_it(hog):
    inc, state = spawn(hog, 64 * MiB, fuel=10**9)
    ok, failure = send(inc, state, b"grow")
    assert not ok and failure.kind == "memory"
    assert 63 * MiB <= inc.memory.peak <= 64 * MiB


def test_classification_is_deterministic(hog):
    results = []
    for _ in range(3):
        inc, state = spawn(hog, 4 * MiB, fuel=10**9)
        ok, failure = send(inc, state, b"grow")
        results.append((ok, failure.kind, failure.message, inc.memory.peak, inc.memory.denied_size,
                        inc.fuel_left()))
    assert results[0] == results[1] == results[2]


def test_counter_under_4_mib_works_for_1000_calls(counter):
    inc, state = spawn(counter, 4 * MiB)
    for _ in range(1000):
        ok, value = send(inc, state, b"inc")
        assert ok and value[0] is True, value
        state = value[1][0]
    assert json.loads(state) == {"count": 1000}
    assert inc.memory.denials == 0
    assert 0 < inc.memory.used <= 4 * MiB


def test_crasher_trap_is_still_a_trap(crasher):
    inc, state = spawn(crasher, 4 * MiB)
    ok, failure = send(inc, state, b"trap")
    assert not ok
    assert failure.kind == "trap"
    assert "unreachable" in failure.message
    assert inc.memory.denials == 0


def test_initial_memory_over_the_cap_fails_to_instantiate(counter):
    with pytest.raises(_memory.MemoryCapExceeded) as info:
        Incarnation(counter, owner=None, dispatch=_noop, fuel=10_000_000, memory_cap=64 * 1024)
    exc = info.value
    assert isinstance(exc, WasmtimeError)  # callers catching WasmtimeError still catch it
    assert exc.kind == "memory"
    assert exc.account.denials == 1 and exc.account.cap == 64 * 1024
    message = str(exc)
    assert "memory limit exceeded" in message and "65536" in message
    gc.collect()
    assert exc.account.memories == 0  # nothing was left allocated


def test_no_cap_means_unlimited(hog, counter):
    # The runtime's default cap is 32 MiB; without a cap the hog passes 64 MiB and only
    # stops when its fuel runs out.
    inc, state = spawn(hog, None, fuel=40_000)
    ok, failure = send(inc, state, b"grow")
    assert not ok and failure.kind == "out-of-fuel"
    assert inc.memory.cap is None and inc.memory.denials == 0
    assert inc.memory.peak > 64 * MiB
    inc, state = spawn(counter, None)
    ok, value = send(inc, state, b"inc")
    assert ok and value[0] is True


def test_a_denial_in_one_incarnation_does_not_touch_another(hog, counter):
    live, live_state = spawn(counter, 4 * MiB)
    victim, hog_state = spawn(hog, 2 * MiB, fuel=10**9)
    ok, failure = send(victim, hog_state, b"grow")
    assert not ok and failure.kind == "memory"
    ok, value = send(live, live_state, b"inc")
    assert ok and value[0] is True
    assert live.memory.denials == 0
    # A fresh hog gets a fresh account.
    again, hog_state = spawn(hog, 2 * MiB, fuel=10**9)
    assert again.memory.denials == 0 and again.memory.peak < 2 * MiB


def test_many_incarnations_do_not_leak(counter, hog):
    def churn(n: int) -> None:
        for i in range(n):
            inc, state = spawn(counter, 4 * MiB)
            ok, _ = send(inc, state, b"inc")
            assert ok
            if i % 20 == 0:
                big, state = spawn(hog, 2 * MiB, fuel=10**9)
                ok, failure = send(big, state, b"grow")
                assert failure.kind == "memory"
                with pytest.raises(_memory.MemoryCapExceeded):
                    Incarnation(counter, owner=None, dispatch=_noop, fuel=10_000_000, memory_cap=64 * 1024)
    churn(200)  # warm up caches and allocator pools
    gc.collect()
    memories, rss = _memory.live_memories(), rss_kib()
    churn(2000)
    gc.collect()
    assert _memory.live_memories() == memories
    # 2,000 counters and 100 hogs at 2 MiB each: a leak would show as >= 200 MiB.
    assert rss_kib() - rss < 32 * 1024


# --- the memory creator itself --------------------------------------------------------------

CORE = """
(module
  (memory (export "mem") 1)
  (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))
  (func (export "size") (result i32) (memory.size))
  (func (export "load") (param i32) (result i32) (i32.load (local.get 0)))
  (func (export "load_far") (param i32) (result i32) (i32.load offset=0x100000 (local.get 0)))
  (func (export "store") (param i32 i32) (i32.store (local.get 0) (local.get 1))))
"""


def core_instance(engine: wasmtime.Engine, cap: int | None):
    """A core module instance whose memory is charged to a fresh account."""
    store = wasmtime.Store(engine)
    store.set_fuel(10**9)
    account = _memory.MemoryAccount(cap)
    previous = _memory.enter(account)
    try:
        instance = wasmtime.Instance(store, wasmtime.Module(engine, CORE), [])
    finally:
        _memory.leave(previous)
    exports = instance.exports(store)
    return store, account, {name: exports[name] for name in ("grow", "size", "load", "load_far", "store")}


def test_engine_config_names_the_memory_settings():
    assert "host_memory=1" in ENGINE_CONFIG and "memory_init_cow=0" in ENGINE_CONFIG


def test_out_of_bounds_accesses_trap_cleanly():
    # Compiled code relies on the reservation and guard pages the creator maps.
    store, account, f = core_instance(ENGINE, 4 * MiB)
    f["store"](store, 65532, 7)
    assert f["load"](store, 65532) == 7
    for call in (lambda: f["load"](store, 65536), lambda: f["load_far"](store, 0xfffffff0),
                 lambda: f["store"](store, 0xfffffffc, 1)):
        with pytest.raises(wasmtime.Trap, match="out of bounds"):
            call()


def test_growth_is_refused_at_the_cap_and_counted():
    store, account, f = core_instance(ENGINE, 4 * MiB)
    assert f["grow"](store, 63) == 1  # 64 pages: exactly the cap
    assert f["grow"](store, 1) == -1  # refused: memory.grow returns -1, nothing traps
    assert account.denials == 1 and account.denied_size == 4 * MiB + 65536
    assert f["size"](store) == 64 and account.used == account.peak == 4 * MiB
    f["store"](store, 4 * MiB - 4, 9)
    assert f["load"](store, 4 * MiB - 4) == 9
    with pytest.raises(wasmtime.Trap, match="out of bounds"):
        f["load"](store, 4 * MiB)
    assert f["grow"](store, 0) == 64  # growing by nothing is not a denial
    assert account.denials == 1


def test_memories_that_may_move_keep_their_contents():
    # An engine with a small reservation and no guard: growth past the reservation
    # moves the memory (mremap), which the default engine never needs for 32-bit memories.
    config = wasmtime.Config()
    config.consume_fuel = True
    wasmtime._ffi.wasmtime_config_memory_reservation_set(config.ptr(), 2 * 65536)
    wasmtime._ffi.wasmtime_config_memory_guard_size_set(config.ptr(), 0)
    wasmtime._ffi.wasmtime_config_memory_reservation_for_growth_set(config.ptr(), 0)
    _memory.install(config)
    engine = wasmtime.Engine(config)
    store, account, f = core_instance(engine, 64 * MiB)
    for page in range(40):
        if page:
            assert f["grow"](store, 1) == page
        f["store"](store, page * 65536 + 100, page + 1000)
    assert all(f["load"](store, page * 65536 + 100) == page + 1000 for page in range(40))
    with pytest.raises(wasmtime.Trap, match="out of bounds"):
        f["load"](store, 40 * 65536)
    assert account.used == 40 * 65536 and account.denials == 0
