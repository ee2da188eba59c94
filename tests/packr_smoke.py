"""A tiny test-only host for the packr example actors (scenarios/actors/packr_*.wasm).

Plain wasmtime-py core API plus the CGRF codec, no harness runtime: it pins down what
the committed modules do independently of the packr host that runs them for real.

- ``PackrActor(name, host)`` instantiates ``scenarios/actors/<name>.wasm``. ``host`` maps
  ``(interface, function)`` to a Python callable taking the decoded argument value and
  returning a value (encoded and handed back through the guest's ``__pack_alloc``: status
  1, as Theater's async host functions do) or an ``int`` (returned as the status with no
  buffer, e.g. -1 to make the guest panic). Unstubbed imports answer ``ok(tuple())``
  (``runtime.log`` records its text in ``logs``). Every import call is recorded in
  ``calls`` as ``(function, argument value)``.
- ``call(export, state, *params)`` sends ``tuple[state, *params]`` the way Theater does
  (PACKR.md 1.2: input and an 8-byte result slot from ``__pack_alloc``, the input freed
  after the call, the output freed after reading) and returns ``(status, value)``:
  the decoded output for status 0, the UTF-8 message for -1.
- ``fuel``: the fuel budget of each call (``wasmtime.Trap`` with ``OUT_OF_FUEL`` when it
  runs out). Every actor runs with one, so a guest that spins (as a panicking packr guest
  does) ends the test instead of hanging it; the default, ``DEFAULT_FUEL``, is ample for
  any real call.
"""
from __future__ import annotations

import struct
from collections.abc import Callable
from pathlib import Path
from typing import Any

import wasmtime

from theater_harness.wasm.packr import cgrf
from theater_harness.wasm.packr.value import Result, String, Tuple, Value

ACTORS = Path(__file__).resolve().parent.parent / "scenarios" / "actors"

_FUEL_CONFIG = wasmtime.Config()
_FUEL_CONFIG.consume_fuel = True
_ENGINE = wasmtime.Engine(_FUEL_CONFIG)
_MODULES: dict[tuple[str, int], wasmtime.Module] = {}

UNIT_OK = Result(True, Tuple(()))
DEFAULT_FUEL = 2_000_000_000


def module(name: str, engine: wasmtime.Engine = _ENGINE) -> wasmtime.Module:
    key = (name, id(engine))
    if key not in _MODULES:
        _MODULES[key] = wasmtime.Module.from_file(engine, str(ACTORS / f"{name}.wasm"))
    return _MODULES[key]


# Every PackrActor's Store, closed after each test (tests/conftest.py): a Store holding
# wasmtime-py's Python host functions that lived on to the interpreter's exit would be
# freed after wasmtime-py's own module state, and its host functions' finalizer would
# crash the process.
_LIVE: list[wasmtime.Store] = []


def close_all() -> None:
    while _LIVE:
        _LIVE.pop().close()


def _i32_4() -> wasmtime.FuncType:
    i32 = wasmtime.ValType.i32()
    return wasmtime.FuncType([i32] * 4, [i32])


class PackrActor:
    def __init__(self, name: str, host: dict[tuple[str, str], Callable[[Value], Any]] | None = None,
                 *, fuel: int = DEFAULT_FUEL):
        self.name = name
        self.fuel = fuel
        self.logs: list[str] = []
        self.calls: list[tuple[str, Value]] = []
        self.host = dict(host or {})
        engine = _ENGINE
        self.store = wasmtime.Store(engine)
        _LIVE.append(self.store)
        self.store.set_fuel(fuel)
        linker = wasmtime.Linker(engine)
        mod = module(name, engine)
        for imp in mod.imports:
            linker.define_func(imp.module, imp.name, _i32_4(),
                               self._import(imp.module, imp.name), access_caller=True)
        self.instance = linker.instantiate(self.store, mod)
        self.exports = self.instance.exports(self.store)
        self.memory: wasmtime.Memory = self.exports["memory"]

    # -- imports --------------------------------------------------------------

    def _answer(self, interface: str, function: str, arg: Value) -> Any:
        fn = self.host.get((interface, function))
        if fn is not None:
            return fn(arg)
        if (interface, function) == ("theater:simple/runtime", "log"):
            self.logs.append(str(arg))
            return Tuple(())
        return UNIT_OK

    def _import(self, interface: str, function: str):
        def call(caller, in_ptr, in_len, out_ptr_ptr, out_len_ptr):
            mem = caller["memory"]
            arg = cgrf.decode(bytes(mem.read(caller, in_ptr, in_ptr + in_len)))
            self.calls.append((function, arg))
            answer = self._answer(interface, function, arg)
            if isinstance(answer, int) and not isinstance(answer, Value):
                return answer
            data = cgrf.encode(answer)
            ptr = caller["__pack_alloc"](caller, len(data))
            assert ptr, "guest __pack_alloc failed"
            mem.write(caller, data, ptr)
            mem.write(caller, struct.pack("<i", ptr), out_ptr_ptr)
            mem.write(caller, struct.pack("<i", len(data)), out_len_ptr)
            return 1
        return call

    # -- calls ----------------------------------------------------------------

    def _refuel(self) -> None:
        self.store.set_fuel(self.fuel)

    def alloc(self, size: int) -> int:
        return self.exports["__pack_alloc"](self.store, size)

    def free(self, ptr: int, size: int) -> None:
        self.exports["__pack_free"](self.store, ptr, size)

    def read(self, ptr: int, size: int) -> bytes:
        return bytes(self.memory.read(self.store, ptr, ptr + size))

    def call_raw(self, export: str, data: bytes) -> tuple[int, bytes]:
        """Call `export` with the input bytes as they are: (status, output bytes)."""
        self._refuel()
        in_ptr = self.alloc(max(len(data), 1))
        self.memory.write(self.store, data, in_ptr)
        slot = self.alloc(8)
        status = self.exports[export](self.store, in_ptr, len(data), slot, slot + 4)
        self.free(in_ptr, max(len(data), 1))
        ptr, size = struct.unpack("<ii", self.read(slot, 8))
        self.free(slot, 8)
        out = self.read(ptr, size)
        self.free(ptr, size)
        return status, out

    def call(self, export: str, state: Any, *params: Any) -> tuple[int, Any]:
        status, out = self.call_raw(export, cgrf.encode(Tuple((state, *params))))
        if status == 0:
            return status, cgrf.decode(out)
        return status, out.decode("utf-8")

    def pack_types(self) -> bytes:
        """The blob __pack_types points at (static: nothing to free)."""
        slot = self.alloc(8)
        assert self.exports["__pack_types"](self.store, slot, slot + 4) == 0
        ptr, size = struct.unpack("<ii", self.read(slot, 8))
        self.free(slot, 8)
        return self.read(ptr, size)

    def pages(self) -> int:
        return self.memory.size(self.store)


def ok_payload(outcome: tuple[int, Any]) -> Tuple:
    """The ok payload of a status-0 result::ok(...) answer."""
    status, value = outcome
    assert status == 0, f"status {status}: {value}"
    assert isinstance(value, Result) and value.is_ok, f"expected ok, got {value!r}"
    return value.value


def err_message(outcome: tuple[int, Any]) -> str:
    status, value = outcome
    assert status == 0, f"status {status}: {value}"
    assert isinstance(value, Result) and not value.is_ok, f"expected err, got {value!r}"
    assert isinstance(value.value, String)
    return str(value.value)
