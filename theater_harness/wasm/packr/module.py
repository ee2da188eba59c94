"""A compiled packr actor: its shape, its metadata, its checked imports and exports.

A packr actor is a core module (PACKR.md 1). Two shapes exist:

- **self-contained** (packr 0.11, Theater today): the module exports its own ``memory``,
  ``__pack_alloc`` and ``__pack_free``, and imports only host functions;
- **fixed-base** (packr 0.8-0.10): it imports ``env.memory`` and an allocator,
  ``pack:alloc.alloc(size, align)`` / ``dealloc(ptr, size, align)``. The host supplies a
  memory of the declared minimum and, like packr's own default provider, a bump
  allocator from the end of the initial memory that grows it on demand and never frees.

Loading reads ``__pack_types`` (the module's typed metadata, a CGRF blob) from a
throw-away instance, then checks every import: a function of one of Theater's
interfaces that theater-harness implements (with the interface hash the module declares
equal to the one computed over exactly the functions it imports, or over the whole
interface, as Theater checks it), or an import the test supplies (``Runtime(
host_functions=...)``), checked at spawn. Anything else is refused by name.
"""

from __future__ import annotations

import ctypes
import functools
from dataclasses import dataclass, field
from typing import Any, Callable

import wasmtime

from ...errors import ComponentError
from .. import _engine
from .._component import ACTIVE, Suspension, _Continuation, _Ready, park
from . import _abi, cgrf
from .interfaces import INTERFACES, STORE
from .theater import THEATER_EXPORTS, theater_params, to_packr, unpack_args
from .types import PackageMetadata, TypeDesc, decode_metadata, hash_interface
from .value import to_value

PACKAGE = "theater:simple"
# Host functions that may make their caller wait (linked as async host functions).
BLOCKING = frozenset({
    ("message-server-host", "request"), ("message-server-host", "open-channel"),
    ("supervisor", "spawn"), ("supervisor", "spawn-and-wait"), ("supervisor", "resume"),
    ("supervisor", "restart-child"), ("rpc", "call"),
    # The store is the outside world: its answers may take virtual time (world faults).
    *(("store", fn) for fn in INTERFACES[STORE]),
})
# Where a packr function's meaning differs from the component-era function of the same
# name, the host implements it under another name.
HOST_NAMES = {
    ("supervisor", "spawn"): "spawn-typed",
    ("supervisor", "resume"): "resume-typed",
}
SELF_CONTAINED, FIXED_BASE = "self-contained", "fixed-base"
_FOUR_I32 = "(i32, i32, i32, i32) -> (i32)"
_ENV_EXPORTS = ("__pack_alloc", "__pack_free", "__pack_types")


@dataclass(eq=False)
class PackrExport:
    """One export the host may call. ``key`` is its Theater (interface, function) for the
    exports Theater calls, else None; ``params`` the types its metadata declares for its
    params (the state first, as Theater's actors declare it), when known."""

    name: str  # the core export name, e.g. "theater:simple/actor.init" or "counter.add"
    key: tuple[str, str] | None
    params: tuple[TypeDesc, ...] | None
    lift_return: Callable[[Any], tuple] | None = None  # Theater exports: the return in the host protocol
    raw: bool = False  # called as packr's own host calls (no state threading)

    @property
    def full_name(self) -> str:
        """As the chain names it: the export's name."""
        return self.name

    def encode_params(self, params: tuple) -> tuple:
        """The params after the state as packr values: a Theater export's by Theater's
        types; another's by the types its metadata declares, else as ``to_value`` makes them."""
        if self.key is not None:
            return theater_params(self.key, params)
        types = self.params
        if types is not None and len(types) == len(params) + 1:  # Theater's way: the state is param 0
            types = types[1:]
        if types is not None and len(types) == len(params):
            return tuple(to_packr(p, t) for p, t in zip(params, types))
        return tuple(to_value(p) for p in params)

    def prepare(self, args: tuple) -> tuple:
        """A test's arguments for this export, converted now so that a bad one is the
        test's error (TypeError or ValueError), not the actor's."""
        return self.encode_params(args)


@dataclass(eq=False)
class PackrImport:
    """One imported host function and how its values convert (by Theater's declared types
    for its own interfaces, else by the module's metadata)."""

    interface: str  # short name for Theater's interfaces ("runtime"), else the module name ("math")
    function: str  # the import's field name
    full_interface: str
    params: tuple[TypeDesc, ...]
    result: TypeDesc | None
    blocking: bool = False
    returns_result: bool = False
    host_function: str = ""  # the name the host implements it under
    theater: bool = True  # one of Theater's interfaces (else a test supplies it)

    def unpack(self, value: Any) -> list:
        return unpack_args(value, self.params)

    def pack(self, result: Any) -> bytes:
        return cgrf.encode(to_packr(result, self.result))


@dataclass(eq=False)
class PackrModule:
    """A compiled packr actor, inspected and checked (the packr side of the actor-module
    protocol: ``incarnate``, ``exports``, ``callable``, ``imports``, ``host_imports``)."""

    source: str
    sha256: str
    module: wasmtime.Module
    shape: str
    metadata: PackageMetadata
    exports: dict[tuple[str, str], PackrExport]
    callables: dict[str, PackrExport]
    imports: dict[str, str]  # short interface name (or module name) -> full name
    host_imports: dict[str, dict[str, PackrImport]]
    memory_import: Any | None  # fixed-base: the imported memory's type
    cache_hit: bool
    has_ctors: bool = False  # it exports __wasm_call_ctors (called once per instance)
    abi: str = "packr"
    era: str = "packr"
    required_handlers: tuple[str, ...] = ()  # Theater links every handler for every packr actor
    _linker: Any = None
    _callbacks: list = field(default_factory=list)

    @functools.cached_property
    def is_async(self) -> bool:
        return any(imp.blocking for funcs in self.host_imports.values() for imp in funcs.values())

    @functools.cached_property
    def supplied_imports(self) -> tuple[PackrImport, ...]:
        """Imports outside Theater's interfaces: the spawn checks that the test supplies them."""
        return tuple(imp for funcs in self.host_imports.values() for imp in funcs.values() if not imp.theater)

    def has_export(self, interface: str, function: str) -> bool:
        return (interface, function) in self.exports

    def callable(self, name: str) -> PackrExport | None:
        """The export named ``name`` ("iface.fn", or a bare name), for calls from tests. One
        of the exports Theater calls is called as Theater calls it (its params and return
        in the host protocol, as a component's are)."""
        found = self.callables.get(name)
        if found is not None and name.startswith(PACKAGE + "/"):
            iface, _, fn = name.rpartition(".")
            return self.exports.get((short_interface(iface), fn), found)
        return found

    def callable_names(self) -> list[str]:
        return sorted(self.callables)

    def incarnate(self, owner: Any, dispatch: Any, *, fuel: int, memory_cap: int | None) -> Any:
        from .instance import PackrIncarnation
        return PackrIncarnation(self, owner, dispatch, fuel=fuel, memory_cap=memory_cap)

    def _trampolines(self) -> list[tuple[bytes, bytes, bool, Any]]:
        """The C trampolines of the imports, made once per module (the linker and
        wasmtime keep pointers to them): (module, name, blocking, callback)."""
        if not self._callbacks:
            for funcs in self.host_imports.values():
                for imp in funcs.values():
                    cb = (_abi.ASYNC_HOST_CALLBACK(_make_async_callback(imp)) if imp.blocking
                          else _abi.HOST_CALLBACK(_make_callback(imp)))
                    self._callbacks.append((imp.full_interface.encode(), imp.function.encode(), imp.blocking, cb))
        return self._callbacks

    def linker(self, memory: tuple[Any, Any] | None = None) -> wasmtime.Linker:
        """The linker providing the imports. A self-contained module's is built once and
        shared; a fixed-base module's holds its incarnation's memory (``(store, Memory)``),
        so each incarnation gets one."""
        if self.shape == SELF_CONTAINED and self._linker is not None:
            return self._linker
        linker = wasmtime.Linker(_engine.engine())
        address = ctypes.cast(linker.ptr(), ctypes.c_void_p).value
        ftype = ctypes.cast(_four_i32().ptr(), ctypes.c_void_p).value
        for module, name, blocking, cb in self._trampolines():
            define = _abi.define_async_func if blocking else _abi.define_func
            _check(define(address, module, len(module), name, len(name), ftype, cb, None, None))
        if self.shape == FIXED_BASE:
            for name, cb in (("alloc", _BUMP_ALLOC), ("dealloc", _BUMP_FREE)):
                ftype = _ALLOC_TYPES[name]
                err = _abi.define_func(address, b"pack:alloc", 10, name.encode(), len(name),
                                       ctypes.cast(ftype.ptr(), ctypes.c_void_p).value, cb, None, None)
                _check(err)
            if memory is not None:
                linker.define(memory[0], "env", "memory", memory[1])  # (store, Memory)
        else:
            self._linker = linker
        return linker


def _check(err: int) -> None:
    if err:
        from wasmtime import _ffi as ffi
        raise wasmtime.WasmtimeError._from_ptr(ctypes.cast(err, ctypes.POINTER(ffi.wasmtime_error_t)))


@functools.cache
def _four_i32() -> wasmtime.FuncType:
    i32 = wasmtime.ValType.i32()
    return wasmtime.FuncType([i32, i32, i32, i32], [i32])


# --- host trampolines -----------------------------------------------------------------

def _host_failed(imp: PackrImport, exc: BaseException) -> int:
    ACTIVE.pending_exception = exc
    return _abi.new_trap(f"host function {imp.full_interface}.{imp.function} failed: {exc}")


def _make_callback(imp: PackrImport) -> Callable[..., int]:
    def callback(env, caller, args, nargs, results, nresults):  # noqa: ANN001 - C trampoline
        try:
            inc = ACTIVE.stack[-1]
            ctx = _abi.caller_context(caller)
            in_ptr, in_len, out_pp, out_lp = _read_args(args)
            value = inc.read_value(ctx, in_ptr, in_len, imp)
            result = inc.dispatch(inc, imp, imp.unpack(value))
            inc.write_output(ctx, imp.pack(result), out_pp, out_lp)
            _set_status(results, 0)
            return 0
        except BaseException as exc:
            return _host_failed(imp, exc)

    return callback


def _make_async_callback(imp: PackrImport) -> Callable[..., None]:
    def callback(env, caller, args, nargs, results, nresults, trap_out, continuation):  # noqa: ANN001
        inc = ACTIVE.stack[-1]
        ctx = _abi.caller_context(caller)
        try:
            in_ptr, in_len, out_pp, out_lp = _read_args(args)
            value = inc.read_value(ctx, in_ptr, in_len, imp)
            outcome = inc.dispatch(inc, imp, imp.unpack(value))
            if not isinstance(outcome, Suspension):
                outcome = _Ready(outcome)
        except BaseException as exc:
            ctypes.c_void_p.from_address(trap_out).value = _host_failed(imp, exc)
            outcome, out_pp, out_lp = _Ready(None), None, None

        def lower(result: Any, results_addr: int) -> None:
            if out_pp is None:
                return
            try:
                inc.write_output(ctx, imp.pack(result), out_pp, out_lp)
                _set_status(results_addr, 0)
            except BaseException as exc:  # the guest gets an error status (it panics: fuel ends it)
                ACTIVE.pending_exception = exc
                _set_status(results_addr, -1)

        park(inc, outcome, lower, results, ctypes.cast(continuation, ctypes.POINTER(_Continuation)).contents)

    return callback


def _read_args(args: int) -> tuple[int, int, int, int]:
    base = args + _abi.VAL_OF
    size = _abi.VAL_SIZE
    get = ctypes.c_uint32.from_address
    return get(base).value, get(base + size).value, get(base + 2 * size).value, get(base + 3 * size).value


def _set_status(results: int, status: int) -> None:
    ctypes.c_uint8.from_address(results).value = _abi.I32
    ctypes.c_int32.from_address(results + _abi.VAL_OF).value = status


# pack:alloc for fixed-base modules: a bump allocator held by the incarnation.
def _bump_alloc(env, caller, args, nargs, results, nresults):  # noqa: ANN001 - C trampoline
    try:
        inc = ACTIVE.stack[-1]
        base = args + _abi.VAL_OF
        size = ctypes.c_int32.from_address(base).value
        align = ctypes.c_int32.from_address(base + _abi.VAL_SIZE).value
        _set_status(results, inc.bump(_abi.caller_context(caller), size, align))
        return 0
    except BaseException as exc:
        ACTIVE.pending_exception = exc
        return _abi.new_trap(f"host function pack:alloc.alloc failed: {exc}")


def _bump_free(env, caller, args, nargs, results, nresults):  # noqa: ANN001 - C trampoline
    return 0  # never frees, as packr's default provider


_BUMP_ALLOC = _abi.HOST_CALLBACK(_bump_alloc)
_BUMP_FREE = _abi.HOST_CALLBACK(_bump_free)
_ALLOC_TYPES = {
    "alloc": wasmtime.FuncType([wasmtime.ValType.i32()] * 2, [wasmtime.ValType.i32()]),
    "dealloc": wasmtime.FuncType([wasmtime.ValType.i32()] * 3, []),
}


# --- inspection ---------------------------------------------------------------------------

def _signature(ty: Any) -> str:
    if not isinstance(ty, wasmtime.FuncType):
        return type(ty).__name__
    params = ", ".join(str(p) for p in ty.params)
    results = ", ".join(str(r) for r in ty.results)
    return f"({params}) -> ({results})"


def short_interface(full: str) -> str:
    return full.split("/", 1)[1] if full.startswith(PACKAGE + "/") else full


def inspect(wasm: bytes, source: str, *, use_cache: bool = True) -> PackrModule:
    """Compile (or load from the cache) and check a packr module."""
    module, digest, hit = _engine.load_component(wasm, source, use_cache=use_cache, core=True)
    exported = {e.name: e.type for e in module.exports}
    if "__pack_types" not in exported:
        raise ComponentError(
            "is a core wasm module but not a packr actor: it does not export __pack_types "
            "(a component-model actor must be a component: wrap it with `wasm-tools component new`)", file=source)
    memory_import = None
    raw_imports: dict[str, list[tuple[str, Any]]] = {}
    for imp in module.imports:
        if imp.module == "env" and imp.name == "memory" and isinstance(imp.type, wasmtime.MemoryType):
            memory_import = imp.type
            continue
        if imp.module == "pack:alloc" and imp.name in ("alloc", "dealloc"):
            continue
        if imp.module == "env":
            raise ComponentError(f"imports env.{imp.name}, which no packr host provides (a position-independent "
                                 "side module: link it with `packr link` first)", file=source)
        raw_imports.setdefault(imp.module, []).append((imp.name, imp.type))
    shape = FIXED_BASE if memory_import is not None else SELF_CONTAINED
    if shape == SELF_CONTAINED:
        missing = [n for n in ("memory", *_ENV_EXPORTS) if n not in exported]
        if missing:
            raise ComponentError(f"is a self-contained packr module without {', '.join(missing)} "
                                 "(it must export memory, __pack_alloc, __pack_free and __pack_types)", file=source)
    metadata = _read_metadata(module, shape, memory_import, raw_imports, source)
    host_imports: dict[str, dict[str, PackrImport]] = {}
    imports: dict[str, str] = {}
    declared = {(sig.interface, sig.name): sig for sig in metadata.imports}
    for full, items in raw_imports.items():
        short = short_interface(full)
        funcs: dict[str, PackrImport] = {}
        for fn, ty in items:
            if _signature(ty) != _FOUR_I32:
                raise ComponentError(f"imports {full}.{fn} with signature {_signature(ty)}, not the packr calling "
                                     f"convention {_FOUR_I32} (an older raw ABI no Theater host provides)",
                                     file=source)
            theater = full.startswith(PACKAGE + "/")
            if theater:
                provided = INTERFACES.get(full)
                if provided is None:
                    raise ComponentError(
                        f"imports {full}, an interface theater-harness does not implement (it implements "
                        f"{', '.join(sorted(INTERFACES))}; other imports can be supplied with "
                        f"Runtime(host_functions=...) only outside {PACKAGE})", file=source)
                sig = provided.get(fn)
                if sig is None:
                    raise ComponentError(
                        f"imports {full}.{fn}, which theater-harness does not implement ({full} provides "
                        f"{', '.join(sorted(provided))})", file=source)
            else:
                sig = declared.get((full, fn))
                if sig is None:
                    raise ComponentError(f"imports {full}.{fn}, which its __pack_types metadata does not declare",
                                         file=source)
            funcs[fn] = PackrImport(
                interface=short, function=fn, full_interface=full,
                params=tuple(t for _, t in sig.params),
                result=sig.results[0] if sig.results else None,
                blocking=(short, fn) in BLOCKING,
                returns_result=bool(sig.results) and type(sig.results[0]).__name__ == "ResultT",
                host_function=HOST_NAMES.get((short, fn), fn),
                theater=theater,
            )
        if full.startswith(PACKAGE + "/"):
            _check_hash(full, funcs, metadata, source)
        imports[short] = full
        host_imports[short] = funcs
    exports: dict[tuple[str, str], PackrExport] = {}
    callables: dict[str, PackrExport] = {}
    sigs = {sig.qualified_name: sig for sig in metadata.exports}
    for name, ty in exported.items():  # functions of the packr convention; others are not the host's to call
        if name.startswith("__") or not isinstance(ty, wasmtime.FuncType) or _signature(ty) != _FOUR_I32:
            continue
        sig = sigs.get(name)
        params = tuple(t for _, t in sig.params) if sig is not None else None
        callables[name] = PackrExport(name, None, params)
        iface, _, fn = name.rpartition(".")
        key = (short_interface(iface), fn)
        if iface.startswith(PACKAGE + "/") and key in THEATER_EXPORTS:
            exports[key] = PackrExport(name, key, None, THEATER_EXPORTS[key][1])
    return PackrModule(source=source, sha256=digest, module=module, shape=shape, metadata=metadata,
                       exports=exports, callables=callables, imports=imports, host_imports=host_imports,
                       memory_import=memory_import, cache_hit=hit, has_ctors="__wasm_call_ctors" in exported)


def _check_hash(full: str, funcs: dict[str, PackrImport], metadata: PackageMetadata, source: str) -> None:
    """Theater's gate (``build_actor_resources``): the interface hash the module declares
    equals ours over exactly the functions it imports, or over the whole interface."""
    theirs = metadata.import_hashes.get(full)
    provided = INTERFACES[full]
    subset = hash_interface(full, [provided[fn] for fn in funcs])
    whole = hash_interface(full, list(provided.values()))
    names = ", ".join(sorted(funcs))
    if theirs is None:
        raise ComponentError(f"imports {full} ({names}) but its __pack_types declares no hash for it "
                             f"(theater-harness computes {subset.hex()})", file=source)
    if theirs not in (subset, whole):
        raise ComponentError(
            f"imports {full} ({names}) with interface hash {theirs.hex()}, but theater-harness implements "
            f"{full} as hash {subset.hex()} for those functions ({whole.hex()} for the whole interface): "
            "the actor was built against another version of the interface", file=source)


def _read_metadata(module: wasmtime.Module, shape: str, memory_import: Any, raw_imports: dict,
                   source: str) -> PackageMetadata:
    """``__pack_types`` of a throw-away instance (every host import there traps)."""
    store = wasmtime.Store(_engine.engine())
    store.set_fuel(1 << 32)
    linker = wasmtime.Linker(_engine.engine())
    linker.allow_shadowing = True

    def refuse(*_: Any) -> None:
        raise wasmtime.Trap("a host function was called while reading __pack_types")

    for full, items in raw_imports.items():
        for fn, ty in items:
            if isinstance(ty, wasmtime.FuncType):
                linker.define_func(full, fn, ty, refuse)
    bump = [0]
    if memory_import is not None:
        memory = wasmtime.Memory(store, memory_import)
        linker.define(store, "env", "memory", memory)
        bump[0] = memory.data_len(store)

        def alloc(size: int, align: int) -> int:
            align = max(align, 1)
            ptr = (bump[0] + align - 1) // align * align
            end = ptr + max(size, 0)
            while end > memory.data_len(store):
                memory.grow(store, 1)
            bump[0] = end
            return ptr

        linker.define_func("pack:alloc", "alloc", _ALLOC_TYPES["alloc"], alloc)
        linker.define_func("pack:alloc", "dealloc", _ALLOC_TYPES["dealloc"], lambda *a: None)
    try:
        instance = linker.instantiate(store, module)
        exports = instance.exports(store)
        memory = exports["memory"] if memory_import is None else memory
        if "__wasm_call_ctors" in exports:
            exports["__wasm_call_ctors"](store)
        if shape == SELF_CONTAINED:
            slots = exports["__pack_alloc"](store, 8)
        else:
            slots = alloc(8, 4)
        status = exports["__pack_types"](store, slots, slots + 4)
        raw = memory.read(store, slots, slots + 8)
        ptr, length = int.from_bytes(raw[:4], "little"), int.from_bytes(raw[4:], "little")
        if status != 0 or ptr + length > memory.data_len(store):
            raise ComponentError(f"__pack_types returned status {status} and a buffer of {length} bytes at {ptr}, "
                                 "not its metadata", file=source)
        blob = memory.read(store, ptr, ptr + length)
    except wasmtime.WasmtimeError as exc:
        from .._instance import short_error
        raise ComponentError(f"cannot read its __pack_types metadata: {short_error(str(exc))}", file=source) from None
    finally:
        # Freed now: a Store holding wasmtime-py's Python host functions that lived on to
        # the interpreter's exit would be freed after wasmtime-py's own module state, and
        # its host functions' finalizer would crash the process.
        store.close()
    try:
        return decode_metadata(bytes(blob))
    except (ValueError, TypeError, KeyError) as exc:
        raise ComponentError(f"its __pack_types metadata is malformed: {exc}", file=source) from None


__all__ = ["FIXED_BASE", "SELF_CONTAINED", "PackrExport", "PackrImport", "PackrModule", "inspect"]
