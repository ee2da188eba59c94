#!/usr/bin/env python
"""Benchmarks of packr actors (core wasm modules, CGRF values) beside component actors.

Prints one table in the style of ``bench_core.py`` (wall-clock medians over ``--repeat``
repetitions after one untimed warm-up round, min-max spread, ratios paired within a
repetition). Every repetition measures the packr figures and, with bench_core's own
functions, the same figures of the component counter, so both ABIs are compared under
the same machine load:

- per message ("inc" and 4 KiB): ``packr_counter``'s ``handle-send`` called by a minimal
  host through plain wasmtime-py (``Func.__call__``, ``Memory.read``/``write``), the same
  steps through wasmtime-py's raw C bindings (the floor of any Python host), the
  harness's wasm layer (``PackrIncarnation.call``) and the whole harness (``rt.send`` +
  ``rt.run_until_idle``);
- restarts/s (new incarnation + init + one send) and supervised crash + restart cycles/s
  (``packr_crasher`` under a declarative one_for_one supervisor).

    PYTHONPATH=. python benchmarks/bench_packr.py                 # full run, ~10 s on a 2-core machine
    PYTHONPATH=. python benchmarks/bench_packr.py --quick         # smoke run, 1-3 s
    PYTHONPATH=. python benchmarks/bench_packr.py --markdown --json packr.json
"""

from __future__ import annotations

import ctypes
import gc
import sys
from dataclasses import dataclass
from pathlib import Path
from struct import Struct
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
for _path in (str(ROOT), str(HERE)):  # runnable without PYTHONPATH; bench_core is a sibling
    if _path not in sys.path:
        sys.path.insert(0, _path)

import wasmtime  # noqa: E402  (bare wasmtime-py is one of the things measured)
from wasmtime import _ffi as ffi  # noqa: E402  (wasmtime-py's raw C bindings: the floor)

import bench_core as core  # noqa: E402
from bench_core import BIG, SMALL, Figure, _check, _clock, options, render, summarize, with_repeat, write_json  # noqa: E402
from theater_harness import Runtime  # noqa: E402
from theater_harness.runtime import DEFAULT_FUEL, DEFAULT_MEMORY  # noqa: E402
from theater_harness.wasm import engine, load_component  # noqa: E402
from theater_harness.wasm.packr import cgrf  # noqa: E402
from theater_harness.wasm.packr.value import Record, S64, String  # noqa: E402

ACTORS = ROOT / "scenarios" / "actors"
PACKR_COUNTER = ACTORS / "packr_counter.toml"
PACKR_CRASHER = ACTORS / "packr_crasher.toml"
PACKR_COUNTER_WASM = ACTORS / "packr_counter.wasm"
HANDLE_SEND = ("message-server-client", "handle-send")
INIT = ("actor", "init")
SEND_EXPORT = "theater:simple/message-server-client.handle-send"


@dataclass(frozen=True)
class Sizes:
    """How much work one repetition of each benchmark does."""

    api_calls: int  # packr, bare wasmtime-py API, "inc" (~100 us each)
    api_calls_4k: int
    raw_calls: int  # packr, bare raw C bindings
    raw_calls_4k: int
    inc_calls: int  # packr, PackrIncarnation.call
    inc_calls_4k: int
    harness_msgs: int  # packr and component, through the runtime
    harness_msgs_4k: int
    c_default_calls: int  # component, bare wasmtime-py Func.__call__ (bench_core.BareDefault)
    c_default_calls_4k: int  # ... 5-12 ms each
    c_fast_calls: int  # component, Incarnation.call (bench_core.BareFast)
    c_fast_calls_4k: int
    restarts: int  # each ABI
    supervised_crashes: int  # each ABI
    repeat: int


FULL = Sizes(api_calls=600, api_calls_4k=200, raw_calls=3000, raw_calls_4k=600, inc_calls=3000, inc_calls_4k=600,
             harness_msgs=3000, harness_msgs_4k=600, c_default_calls=300, c_default_calls_4k=12, c_fast_calls=3000,
             c_fast_calls_4k=300, restarts=600, supervised_crashes=1000, repeat=5)
QUICK = Sizes(api_calls=40, api_calls_4k=10, raw_calls=200, raw_calls_4k=40, inc_calls=200, inc_calls_4k=40,
              harness_msgs=200, harness_msgs_4k=40, c_default_calls=20, c_default_calls_4k=2, c_fast_calls=200,
              c_fast_calls_4k=20, restarts=40, supervised_crashes=60, repeat=3)
WARMUP = Sizes(api_calls=10, api_calls_4k=2, raw_calls=50, raw_calls_4k=5, inc_calls=50, inc_calls_4k=5,
               harness_msgs=50, harness_msgs_4k=5, c_default_calls=5, c_default_calls_4k=1, c_fast_calls=50,
               c_fast_calls_4k=5, restarts=10, supervised_crashes=10, repeat=1)


def _packr_count(state: Any) -> int:
    """The count of a packr_counter state (a ``TypedState`` or raw CGRF bytes)."""
    value = state.value if hasattr(state, "value") else cgrf.decode(bytes(state))
    return int(value["count"])


# --- 1. per-message cost: the bare hosts --------------------------------------------------
#
# Both bare hosts do what PACKR.md 1.2 asks of a host per call, and nothing more: reset
# the fuel (the harness gives every call a fresh budget), __pack_alloc(len) the input,
# write it, call handle-send(in_ptr, in_len, slot, slot + 4), read the two slots and the
# output, __pack_free the input and the output, check status 0. The state is threaded
# without decoding anything: the output ``result::ok(tuple[state])`` is post-order, so
# its first node_count - 2 nodes are the state's; their bytes (found by walking the node
# headers, payloads skipped) are spliced into the next input ``tuple[state, list<u8>]``
# with the pre-encoded payload node. Nothing is validated (a trusting host).

_HEADER = Struct("<4sHHII")
_COUNT = Struct("<I")
_PAIR = Struct("<II")
_ARRAY_U8 = Struct("<BBHIBI")  # Array node header: kind 0x15, flags, reserved, payload_len, elem u8, count
_TUPLE2 = Struct("<BBHIIII")  # Tuple node of two children


def _initial_state() -> bytes:
    """The CGRF of ``counter-state{count: 0, last: ""}``, what ``packr_counter``'s init returns."""
    return cgrf.encode(Record("counter-state", [("count", S64(0)), ("last", String(""))]))


def _payload_node(payload: bytes) -> bytes:
    return _ARRAY_U8.pack(0x15, 0, 0, len(payload) + 5, 0x0C, len(payload)) + payload


def _next_input(state_nodes: bytes, nodes: int, payload_node: bytes) -> bytes:
    """``tuple[state, payload]`` from the state's ``nodes`` node bytes (indices 0..nodes-1)."""
    return (_HEADER.pack(b"CGRF", 2, 0, nodes + 2, nodes + 1) + state_nodes + payload_node
            + _TUPLE2.pack(0x0B, 0, 0, 12, 2, nodes - 1, nodes))


def _state_of(out: bytes | bytearray) -> tuple[bytes, int]:
    """The state's node bytes and node count inside an output ``result::ok(tuple[state])``."""
    count = _COUNT.unpack_from(out, 8)[0] - 2
    pos = 16
    for _ in range(count):
        pos += 8 + _COUNT.unpack_from(out, pos + 4)[0]
    return bytes(out[16:pos]), count


class _BareInstance:
    """``packr_counter.wasm`` instantiated with plain wasmtime-py (its imports trap: the
    handle-send path makes no host call), its exports, and the result slots."""

    def __init__(self, module: wasmtime.Module) -> None:
        self.store = store = wasmtime.Store(engine())
        store.set_fuel(DEFAULT_FUEL)
        linker = wasmtime.Linker(engine())
        for imp in module.imports:
            linker.define_func(imp.module, imp.name, imp.type, _refuse)
        exports = linker.instantiate(store, module).exports(store)
        if "__wasm_call_ctors" in exports:
            exports["__wasm_call_ctors"](store)
        self.memory, self.alloc, self.free = exports["memory"], exports["__pack_alloc"], exports["__pack_free"]
        self.send = exports[SEND_EXPORT]
        self.slot = self.alloc(store, 8)


def _refuse(*_: Any) -> None:
    raise wasmtime.Trap("packr_counter made a host call on the measured path")


class BareApi:
    """A minimal host on wasmtime-py's public API: ``Func.__call__`` for the four guest
    calls, ``Memory.write`` / ``Memory.read`` for the buffers."""

    def __init__(self, module: wasmtime.Module) -> None:
        self.module = module

    def per_call_ns(self, payload: bytes, calls: int) -> float:
        bare = _BareInstance(self.module)
        store, memory, alloc, free, send, slot = bare.store, bare.memory, bare.alloc, bare.free, bare.send, bare.slot
        node = _payload_node(payload)
        init = _initial_state()
        state, nodes = init[16:], _PAIR.unpack_from(init, 8)[0]
        unpack = _PAIR.unpack
        gc.collect()
        start = _clock()
        for _ in range(calls):
            store.set_fuel(DEFAULT_FUEL)
            data = _next_input(state, nodes, node)
            n = len(data)
            in_ptr = alloc(store, n)
            memory.write(store, data, in_ptr)
            status = send(store, in_ptr, n, slot, slot + 4)
            out_ptr, out_len = unpack(memory.read(store, slot, slot + 8))
            out = memory.read(store, out_ptr, out_ptr + out_len)
            free(store, in_ptr, n)
            free(store, out_ptr, out_len)
            if status != 0:
                raise core.BenchError(f"bare wasmtime-py: handle-send returned status {status}")
            state, nodes = _state_of(out)
        elapsed = _clock() - start
        count = _packr_count(_HEADER.pack(b"CGRF", 2, 0, nodes, nodes - 1) + state)
        _check(count == calls, f"bare wasmtime-py: count {count} after {calls} calls")
        return elapsed / calls


class BareRaw:
    """The same host on wasmtime-py's raw C bindings (``wasmtime._ffi``, ctypes):
    ``wasmtime_func_call`` with argument blocks made once, ``memmove`` / ``string_at`` on
    the memory's base. No Python host can call a core export with much less."""

    def __init__(self, module: wasmtime.Module) -> None:
        self.module = module

    def per_call_ns(self, payload: bytes, calls: int) -> float:
        bare = _BareInstance(self.module)
        store, slot = bare.store, bare.slot
        ctx = store._context()
        memory = ctypes.byref(bare.memory._memory)
        f_alloc, f_free, f_send = (ctypes.byref(f._func) for f in (bare.alloc, bare.free, bare.send))
        vals = ffi.wasmtime_val_t * 4
        a_alloc, a_send, a_free, res = vals(), vals(), vals(), vals()
        for block in (a_alloc, a_send, a_free, res):
            for v in block:
                v.kind = ffi.WASMTIME_I32
        a_send[2].of.i32, a_send[3].of.i32 = slot, slot + 4
        a_alloc_of, a_send_of, a_free_of = a_alloc[0].of, (a_send[0].of, a_send[1].of), (a_free[0].of, a_free[1].of)
        res_of = res[0].of
        trap = ctypes.POINTER(ffi.wasm_trap_t)()
        trap_ref = ctypes.byref(trap)
        call, data_at, fuel = ffi.wasmtime_func_call, ffi.wasmtime_memory_data, ffi.wasmtime_context_set_fuel
        address = ctypes.addressof
        string_at, memmove, u32 = ctypes.string_at, ctypes.memmove, ctypes.c_uint32.from_address
        node = _payload_node(payload)
        init = _initial_state()
        state, nodes = init[16:], _PAIR.unpack_from(init, 8)[0]

        def guest(func: Any, args: Any, nargs: int, nresults: int) -> None:
            error = call(ctx, func, args, nargs, res, nresults, trap_ref)
            if error or trap:
                raise core.BenchError("bare raw: a guest call failed")

        gc.collect()
        start = _clock()
        for _ in range(calls):
            fuel(ctx, DEFAULT_FUEL)
            data = _next_input(state, nodes, node)
            n = len(data)
            a_alloc_of.i32 = n
            guest(f_alloc, a_alloc, 1, 1)
            in_ptr = res_of.i32
            base = address(data_at(ctx, memory).contents)
            memmove(base + in_ptr, data, n)
            a_send_of[0].i32, a_send_of[1].i32 = in_ptr, n
            guest(f_send, a_send, 4, 1)
            status = res_of.i32
            base = address(data_at(ctx, memory).contents)  # the call may have grown the memory
            out_ptr, out_len = u32(base + slot).value, u32(base + slot + 4).value
            out = string_at(base + out_ptr, out_len)
            a_free_of[0].i32, a_free_of[1].i32 = in_ptr, n
            guest(f_free, a_free, 2, 0)
            a_free_of[0].i32, a_free_of[1].i32 = out_ptr, out_len
            guest(f_free, a_free, 2, 0)
            if status != 0:
                raise core.BenchError(f"bare raw: handle-send returned status {status}")
            state, nodes = _state_of(out)
        elapsed = _clock() - start
        count = _packr_count(_HEADER.pack(b"CGRF", 2, 0, nodes, nodes - 1) + state)
        _check(count == calls, f"bare raw: count {count} after {calls} calls")
        return elapsed / calls


# --- 1. per-message cost: the harness -----------------------------------------------------


def _host_calls(inc: Any, imp: Any, args: list) -> Any:
    """packr_counter's init registers and logs: what the runtime answers, nothing else."""
    if imp.function == "register":
        return (True, None)
    if imp.function == "log":
        return None
    raise core.BenchError(f"packr_counter called {imp.full_interface}.{imp.function} on the measured path")


class PackrFast:
    """theater-harness's packr wasm layer (``PackrIncarnation.call``), without the runtime:
    encode the input (the state's CGRF spliced in), the four guest calls, decode the
    output, unwrap it and hold the new state as a ``TypedState``."""

    def __init__(self) -> None:
        self.module = load_component(PACKR_COUNTER_WASM)
        _check(getattr(self.module, "abi", None) == "packr", f"{PACKR_COUNTER_WASM.name} is not a packr module")
        self.init = self.module.exports[INIT]
        self.send = self.module.exports[HANDLE_SEND]

    def incarnation(self, memory_cap: int | None = None) -> Any:
        return self.module.incarnate(None, _host_calls, fuel=DEFAULT_FUEL, memory_cap=memory_cap)

    def per_call_ns(self, payload: bytes, calls: int) -> float:
        inc = self.incarnation()
        ok, (is_ok, (state,)) = inc.call(self.init, (None,))
        _check(ok and is_ok, "packr Incarnation.call: init failed")
        send, call = self.send, inc.call
        params = (payload,)
        gc.collect()
        start = _clock()
        for _ in range(calls):
            ok, value = call(send, (state, params))
            state = value[1][0]
        elapsed = _clock() - start
        _check(ok and value[0] and _packr_count(state) == calls,
               f"packr Incarnation.call: {value!r} after {calls} calls")
        inc.close()
        return elapsed / calls

    def restart_ns(self, restarts: int) -> float:
        """New incarnation (a new Store, 32 MiB cap) + init (which registers and logs:
        two host calls) + one handle-send, like a supervisor restart."""
        init, send = self.init, self.send
        params = (SMALL,)
        gc.collect()
        start = _clock()
        for _ in range(restarts):
            inc = self.incarnation(DEFAULT_MEMORY)
            _, (_, (state,)) = inc.call(init, (None,))
            ok, value = inc.call(send, (state, params))
        elapsed = _clock() - start
        _check(ok and value[0] and _packr_count(value[1][0]) == 1, f"packr restart: handle-send gave {value!r}")
        return elapsed / restarts


def harness_per_msg_ns(payload: bytes, msgs: int) -> float:
    """``rt.send`` ``msgs`` times to a spawned ``packr_counter``, then ``rt.run_until_idle()``:
    wall time per message (as ``bench_core.harness_per_msg_ns`` for the component counter)."""
    rt = Runtime(seed=1)
    counter = rt.spawn(PACKR_COUNTER)
    gc.collect()
    start = _clock()
    for _ in range(msgs):
        rt.send(counter, payload)
    rt.run_until_idle()
    elapsed = _clock() - start
    state = rt.actor(counter).state
    _check(_packr_count(state) == msgs, f"packr harness: state {state!r} after {msgs} messages")
    return elapsed / msgs


# --- 2. supervised crash cycles -----------------------------------------------------------


def supervised_cycles_per_s(crashes: int) -> float:
    """``packr_crasher`` under a declarative one_for_one supervisor (intensity 10,000, one
    long window) sent "trap" ``crashes`` times, one at a time: the trapping call, the exit,
    the supervisor's handling and plan, the new incarnation and its init (as
    ``bench_core.supervised_cycles_per_s`` for the component crasher)."""
    from theater_harness.trees import NodeSpec, Policy

    rt = Runtime(seed=1)
    sup = rt.spawn(NodeSpec("sup", policy=Policy("one_for_one", 10_000, 10_000_000)).manifest_text())
    child = rt.spawn(PACKR_CRASHER, parent=sup)
    gc.collect()
    start = _clock()
    for _ in range(crashes):
        rt.send(child, "trap")
        rt.run_until_idle()
    elapsed = _clock() - start
    view = rt.actor(child)
    _check(view.incarnation == crashes + 1 and view.alive,
           f"packr supervised cycles: the crasher has incarnation {view.incarnation}, expected {crashes + 1}")
    return crashes / elapsed * 1e9


# --- the run ---------------------------------------------------------------------------


def _le(limit: float) -> Any:
    return lambda v: v <= limit


FIGURES = [
    Figure("packr_inc_api_us", "packr 'inc': bare wasmtime-py API (Func.__call__ x4)", "us"),
    Figure("packr_inc_raw_us", "packr 'inc': bare raw C bindings (floor)", "us"),
    Figure("packr_inc_fast_us", "packr 'inc': PackrIncarnation.call", "us"),
    Figure("packr_inc_harness_us", "packr 'inc': harness send + run_until_idle", "us"),
    Figure("packr_inc_harness_over_api", "packr 'inc': ratio harness / bare wasmtime-py", "x", "<= 1.5x", _le(1.5)),
    Figure("packr_inc_harness_over_raw", "packr 'inc': ratio harness / bare raw", "x"),
    Figure("packr_inc_harness_over_fast", "packr 'inc': ratio harness / Incarnation.call", "x"),
    Figure("comp_inc_default_us", "component 'inc': bare wasmtime-py Func.__call__", "us"),
    Figure("comp_inc_fast_us", "component 'inc': bare fast (Incarnation.call)", "us"),
    Figure("comp_inc_harness_us", "component 'inc': harness send + run_until_idle", "us"),
    Figure("comp_inc_harness_over_fast", "component 'inc': ratio harness / bare fast", "x", "<= 1.5x", _le(1.5)),
    Figure("inc_packr_over_comp", "'inc': ratio packr harness / component harness", "x"),
    Figure("packr_4k_api_us", "packr 4 KiB: bare wasmtime-py API (Func.__call__ x4)", "us"),
    Figure("packr_4k_raw_us", "packr 4 KiB: bare raw C bindings (floor)", "us"),
    Figure("packr_4k_fast_us", "packr 4 KiB: PackrIncarnation.call", "us"),
    Figure("packr_4k_harness_us", "packr 4 KiB: harness send + run_until_idle", "us"),
    Figure("packr_4k_harness_over_api", "packr 4 KiB: ratio harness / bare wasmtime-py", "x", "<= 1.5x", _le(1.5)),
    Figure("packr_4k_harness_over_raw", "packr 4 KiB: ratio harness / bare raw", "x"),
    Figure("packr_4k_harness_over_fast", "packr 4 KiB: ratio harness / Incarnation.call", "x"),
    Figure("comp_4k_default_us", "component 4 KiB: bare wasmtime-py Func.__call__", "us"),
    Figure("comp_4k_fast_us", "component 4 KiB: bare fast (Incarnation.call)", "us"),
    Figure("comp_4k_harness_us", "component 4 KiB: harness send + run_until_idle", "us"),
    Figure("comp_4k_harness_over_fast", "component 4 KiB: ratio harness / bare fast", "x", "<= 1.5x", _le(1.5)),
    Figure("4k_packr_over_comp", "4 KiB: ratio packr harness / component harness", "x"),
    Figure("packr_restarts_per_s", "packr restarts/s (new incarnation + init + 1 send)", "/s", ">= 3,000",
           lambda v: v >= 3000),
    Figure("comp_restarts_per_s", "component restarts/s (the same, bench_core)", "/s", ">= 3,000",
           lambda v: v >= 3000),
    Figure("packr_supervised_cycles_per_s", "packr supervised crash + restart cycles/s", "/s"),
    Figure("comp_supervised_cycles_per_s", "component supervised crash + restart cycles/s", "/s"),
]


class Benches:
    """Everything a round measures, set up once (modules loaded, linkers built)."""

    def __init__(self) -> None:
        self.packr = PackrFast()
        self.api = BareApi(self.packr.module.module)
        self.raw = BareRaw(self.packr.module.module)
        self.comp_default = core.BareDefault()
        self.comp_fast = core.BareFast()


def one_round(sizes: Sizes, b: Benches) -> dict[str, float]:
    """Every benchmark once, packr then component; per-message figures in us."""
    gc.unfreeze()  # as bench_core.one_round: collections scan only this round's objects
    gc.collect()
    gc.freeze()
    s: dict[str, float] = {}
    for tag, payload, n_api, n_raw, n_fast, n_harness, n_c_default, n_c_fast in (
        ("inc", SMALL, sizes.api_calls, sizes.raw_calls, sizes.inc_calls, sizes.harness_msgs,
         sizes.c_default_calls, sizes.c_fast_calls),
        ("4k", BIG, sizes.api_calls_4k, sizes.raw_calls_4k, sizes.inc_calls_4k, sizes.harness_msgs_4k,
         sizes.c_default_calls_4k, sizes.c_fast_calls_4k),
    ):
        api = s[f"packr_{tag}_api_us"] = b.api.per_call_ns(payload, n_api) / 1e3
        raw = s[f"packr_{tag}_raw_us"] = b.raw.per_call_ns(payload, n_raw) / 1e3
        fast = s[f"packr_{tag}_fast_us"] = b.packr.per_call_ns(payload, n_fast) / 1e3
        harness = s[f"packr_{tag}_harness_us"] = harness_per_msg_ns(payload, n_harness) / 1e3
        s[f"packr_{tag}_harness_over_api"] = harness / api
        s[f"packr_{tag}_harness_over_raw"] = harness / raw
        s[f"packr_{tag}_harness_over_fast"] = harness / fast
        s[f"comp_{tag}_default_us"] = b.comp_default.per_call_ns(payload, n_c_default) / 1e3
        c_fast = s[f"comp_{tag}_fast_us"] = b.comp_fast.per_call_ns(payload, n_c_fast) / 1e3
        c_harness = s[f"comp_{tag}_harness_us"] = core.harness_per_msg_ns(payload, n_harness) / 1e3
        s[f"comp_{tag}_harness_over_fast"] = c_harness / c_fast
        s[f"{tag}_packr_over_comp"] = harness / c_harness
    s["packr_restarts_per_s"] = 1e9 / b.packr.restart_ns(sizes.restarts)
    s["comp_restarts_per_s"] = 1e9 / b.comp_fast.restart_ns(sizes.restarts)
    s["packr_supervised_cycles_per_s"] = supervised_cycles_per_s(sizes.supervised_crashes)
    s["comp_supervised_cycles_per_s"] = core.supervised_cycles_per_s(sizes.supervised_crashes)
    return s


def main(argv: list[str] | None = None) -> int:
    args = options(__doc__, repeat_help="repetitions per figure (default 5; 3 with --quick)").parse_args(argv)
    sizes = with_repeat(QUICK if args.quick else FULL, args.repeat)

    began = _clock()
    lines = [line.replace("core benchmarks", "packr benchmarks (packr and component actors)", 1)
             for line in core.header(sizes, args.quick)]
    print("\n".join(lines), flush=True)
    benches = Benches()
    rounds = core.repeat_rounds(sizes, WARMUP, lambda size: one_round(size, benches))
    rows = [(fig, summarize([r[fig.key] for r in rounds])) for fig in FIGURES]
    wall_s = (_clock() - began) / 1e9

    notes = [
        f"workloads per repetition: packr 'inc' x{sizes.harness_msgs} (harness), x{sizes.inc_calls} "
        f"(Incarnation.call), x{sizes.raw_calls} (raw), x{sizes.api_calls} (wasmtime-py API); 4 KiB "
        f"x{sizes.harness_msgs_4k} / {sizes.inc_calls_4k} / {sizes.raw_calls_4k} / {sizes.api_calls_4k}; "
        f"component 'inc' x{sizes.harness_msgs} (harness), x{sizes.c_fast_calls} (fast), x{sizes.c_default_calls} "
        f"(default), 4 KiB x{sizes.harness_msgs_4k} / {sizes.c_fast_calls_4k} / {sizes.c_default_calls_4k}; "
        f"{sizes.restarts} restarts and {sizes.supervised_crashes} supervised crashes per ABI",
        "bare hosts: fuel reset, __pack_alloc + write the input, handle-send, read slots + output, "
        "__pack_free x2, state spliced from output to next input by walking node headers (no decoding)",
        f"ratios are medians of per-repetition ratios; load average at end {core._loadavg()}; "
        f"whole run {wall_s:.1f} s",
    ]
    print()
    print("\n".join(render(rows, args.markdown)))
    print()
    print("\n".join(notes))
    if args.json:
        write_json(args.json, lines, args.quick, wall_s, repeat=sizes.repeat, sizes=sizes.__dict__,
                   load_average_end=core._loadavg(),
                   figures=core.figures_json(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
