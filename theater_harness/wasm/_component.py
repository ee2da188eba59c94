"""A compiled actor component: its era, its checked imports and exports, its linkers.

Everything type-related is prepared here once per component: the converters of every
export the host calls and of every host import the component uses, and one Linker per
component. Host imports reach Python through callbacks that dispatch to whichever
incarnation is inside a wasm call on this thread, so a linker is shared by every actor
of a component.

Blocking host functions (sleep, request, spawn, ...) are linked as *async* host
functions: when one must wait, it hands wasmtime a continuation and the calling
actor's wasm call is suspended on its fiber, to be resumed when what it waits for has
happened. Nothing nests: the rest of the system runs on from the scheduler's loop.
"""

from __future__ import annotations

import ctypes
import functools
import hashlib
import itertools
import threading
import weakref
from dataclasses import dataclass, field
from typing import Any, Callable

import wasmtime
from wasmtime import _ffi as ffi
from wasmtime.component import Component, Linker
from wasmtime.component import _types as T

from ..errors import ComponentError
from . import _convert as C
from . import _engine, _image
from ._wit import BLOCKING, EXPORTS, HANDLER_FOR_IMPORT, HOST_NAMES, IMPORTS, PACKAGE, parse_interface, render_func

_vp, _sz = ctypes.c_void_p, ctypes.c_size_t
# (env, context, func type, args, nargs, results, nresults) -> error pointer or 0
HOST_CALLBACK = ctypes.CFUNCTYPE(_sz, _vp, _vp, _vp, _vp, _sz, _vp, _sz)
_add_func = C._cfunc(
    "wasmtime_component_linker_instance_add_func", _vp, _vp, ctypes.c_char_p, _sz, HOST_CALLBACK, _vp, _vp
)
_error_new = C._cfunc("wasmtime_error_new", _vp, ctypes.c_char_p)


class _Continuation(ctypes.Structure):  # wasmtime_async_continuation_t
    _fields_ = [("callback", ctypes.CFUNCTYPE(ctypes.c_bool, _vp)), ("env", _vp),
                ("finalizer", ctypes.CFUNCTYPE(None, _vp))]


# (env, context, func type, args, nargs, results, nresults, error out, continuation out)
ASYNC_HOST_CALLBACK = ctypes.CFUNCTYPE(None, _vp, _vp, _vp, _vp, _sz, _vp, _sz, _vp, ctypes.POINTER(_Continuation))
_add_func_async = C._cfunc(
    "wasmtime_component_linker_instance_add_func_async", _vp, _vp, ctypes.c_char_p, _sz, ASYNC_HOST_CALLBACK,
    _vp, _vp,
)


class Suspension:
    """What a blocking host function returns when its caller must wait.

    ``ready()`` says whether the caller can go on; ``result()`` then gives the host
    function's value (it is called once, on the caller's fiber, when it resumes).
    """

    def ready(self) -> bool:  # pragma: no cover - interface
        raise NotImplementedError

    def result(self) -> Any:  # pragma: no cover - interface
        raise NotImplementedError


class _Active(threading.local):
    """The incarnations currently inside a wasm call on this thread, innermost last."""

    def __init__(self) -> None:
        self.stack: list[Any] = []
        self.pending_exception: BaseException | None = None


ACTIVE = _Active()


@dataclass(eq=False)
class HostImport:
    """One imported host function, with its argument and result converters."""

    interface: str  # short name, e.g. "runtime"
    function: str
    lift_args: list[C.Lift]
    lower_result: C.Lower | None
    blocking: bool = False  # linked as an async host function; may suspend its caller
    returns_result: bool = False  # its WIT result is a result<...>: a host error can be an err
    host_function: str = ""  # the name the host implements it under (the function's, here)
    theater: bool = True  # one of Theater's interfaces (every import of a component is)


@dataclass(eq=False)
class Export:
    """One export the host may call, with prepared converters."""

    interface: str
    function: str
    full_name: str  # Theater's name for it: "theater:simple/actor.init"
    index: Any  # wasmtime ExportIndex, valid for every instance of the component
    index_key: int  # small int identifying this export within its component
    lowers: list[C.Lower]
    lift_result: C.Lift

    @functools.cached_property
    def index_address(self) -> int:
        """The address of ``index`` (its C handle), for ``wasmtime_component_instance_get_func``."""
        return ctypes.cast(self.index.ptr(), _vp).value

    def prepare(self, args: tuple) -> tuple:
        """A test's params for this export (what follows the state), checked now by
        lowering them into a scratch slot, so that a bad one is the test's error (a
        TypeError or ValueError), not the actor's. A ``list<u8>`` may be given as text
        (UTF-8) or a list of ints, as a scenario file can write it."""
        if len(self.lowers) < 2:
            if args:
                raise TypeError(f"{self.full_name} takes no arguments after the state, got {len(args)}")
            return ()
        try:
            _try_lower(self.lowers[1], args)
            return args
        except (TypeError, ValueError) as exc:
            error = exc
        convertible = [i for i, a in enumerate(args) if isinstance(a, str) or (
            isinstance(a, list) and all(isinstance(i, int) for i in a))]
        for mask in range(1, 1 << len(convertible)):  # which of them are list<u8> (a handful of params)
            chosen = {convertible[b] for b in range(len(convertible)) if mask >> b & 1}
            candidate = tuple((a.encode("utf-8") if isinstance(a, str) else bytes(a)) if i in chosen else a
                              for i, a in enumerate(args))
            try:
                _try_lower(self.lowers[1], candidate)
                return candidate
            except (TypeError, ValueError):
                continue
        raise error


def _try_lower(lower: C.Lower, value: Any) -> None:
    slot = ctypes.create_string_buffer(C.VAL_SIZE)
    lower(value, ctypes.addressof(slot))
    C.val_delete(ctypes.addressof(slot))


@dataclass(eq=False)
class ActorComponent:
    """A compiled component, inspected and checked against `theater:simple`."""

    source: str
    sha256: str
    component: Component
    era: str  # "A": init(state, tuple<actor-id>); "B": init(state)
    exports: dict[tuple[str, str], Export]
    imports: dict[str, str]  # short interface name -> full import name
    host_imports: dict[str, dict[str, HostImport]]
    cache_hit: bool
    _linker: Linker | None = None
    _callbacks: list = field(default_factory=list)
    abi: str = "component"
    supplied_imports: tuple = ()  # imports a test must supply: none (every one is Theater's)
    image: _image.Image | None = None  # its data segments' memory image, if they are big (_image)

    def incarnate(self, owner: Any, dispatch: Any, *, fuel: int, memory_cap: int | None) -> Any:
        """A new instance in a Store of its own (``_instance.Incarnation``)."""
        from ._instance import Incarnation
        return Incarnation(self, owner, dispatch, fuel=fuel, memory_cap=memory_cap)

    def callable(self, name: str) -> Export | None:
        """The export with this Theater name ("theater:simple/actor.init"), for calls from
        tests: a component's calls are the `theater:simple` exports it was checked for."""
        return next((e for e in self.exports.values() if e.full_name == name), None)

    def callable_names(self) -> list[str]:
        return sorted(e.full_name for e in self.exports.values())

    @functools.cached_property
    def is_async(self) -> bool:
        """Whether calls into it go through wasmtime's async path (it imports a blocking
        host function, which may suspend the call)."""
        return any(imp.blocking for funcs in self.host_imports.values() for imp in funcs.values())

    @functools.cached_property
    def required_handlers(self) -> tuple[str, ...]:
        """Manifest handler types this component needs declared, in import order."""
        return tuple(dict.fromkeys(HANDLER_FOR_IMPORT[i] for i in self.imports))

    def has_export(self, interface: str, function: str) -> bool:
        return (interface, function) in self.exports

    @functools.cached_property
    def instantiate_args(self) -> tuple[Linker, int, int]:
        """The linker, and the addresses of it and of the component, for instantiating."""
        linker = self.linker()
        return linker, ctypes.cast(linker.ptr(), _vp).value, ctypes.cast(self.component.ptr(), _vp).value

    def linker(self) -> Linker:
        """The linker providing this component's imports (built once per component).

        Each host call is passed to the calling incarnation's ``dispatch``.
        """
        linker = self._linker
        if linker is None:
            linker = Linker(_engine.engine())
            with linker.root() as root:
                for short, full in self.imports.items():
                    with root.add_instance(full) as inst:
                        address = ctypes.cast(inst.ptr(), _vp).value
                        for fn_name, imp in self.host_imports[short].items():
                            raw = fn_name.encode()
                            if imp.blocking:
                                cb = ASYNC_HOST_CALLBACK(_make_async_callback(imp))
                                err = _add_func_async(address, raw, len(raw), cb, None, None)
                            else:
                                cb = HOST_CALLBACK(_make_callback(imp))
                                err = _add_func(address, raw, len(raw), cb, None, None)
                            self._callbacks.append(cb)  # keep the trampoline alive
                            if err:
                                raise wasmtime.WasmtimeError._from_ptr(
                                    ctypes.cast(err, ctypes.POINTER(ffi.wasmtime_error_t)))
            self._linker = linker
        return linker


def _host_failed(imp: HostImport, exc: BaseException) -> int:
    """Carry ``exc`` back to the caller of the wasm function; returns a wasmtime error."""
    ACTIVE.pending_exception = exc
    return _error_new(f"host function {imp.interface}.{imp.function} failed: {exc}".encode())


def _make_callback(imp: HostImport) -> Callable[..., int]:
    lifts = imp.lift_args
    lower = imp.lower_result
    size = C.VAL_SIZE

    def callback(env, context, ty, args, nargs, results, nresults):  # noqa: ANN001 - C trampoline
        try:
            values = [lift(args + i * size) for i, lift in enumerate(lifts)]
            caller = ACTIVE.stack[-1]
            result = caller.dispatch(caller, imp, values)
            if lower is not None:
                lower(result, results)
            return 0
        except BaseException as exc:
            return _host_failed(imp, exc)

    return callback


# Continuations of suspended host calls, by the ``env`` handed to wasmtime: one C
# trampoline serves them all (making a ctypes callback per call would cost ~20 us).
# The calling incarnation owns its parked continuation (``parked``: the key, what it
# waits for, how to lower the value); this table only names the incarnation, weakly. A
# strong entry here would hold what the call waits for (a Wait, and through it its
# runtime, every actor and every Store) from this module for as long as the call stays
# parked: for ever, for a runtime dropped while an actor sleeps (issue 11, D5).
_suspended: dict[int, weakref.ref] = {}
_suspension_ids = itertools.count(1)


@ctypes.CFUNCTYPE(ctypes.c_bool, _vp)
def _poll_suspension(env: int) -> bool:
    _key, suspension, lower, results = _suspended[env]().parked  # polled only by its incarnation
    if not suspension.ready():
        return False
    try:
        value = suspension.result()
    except BaseException as exc:  # a harness bug: the guest sees an err, the trace the cause
        ACTIVE.pending_exception = exc
        value = (False, f"host error: {exc}")
    lower(value, results)
    return True


@ctypes.CFUNCTYPE(None, _vp)
def _drop_suspension(env: int) -> None:
    """wasmtime dropped the continuation (the host call returned, or its call was
    abandoned): the incarnation lets go of what it waited for."""
    ref = _suspended.pop(env, None)
    owner = ref() if ref is not None else None  # None while the collector frees it
    if owner is not None:
        parked = owner.parked
        if parked is not None and parked[0] == env:
            owner.parked = None


def _make_async_callback(imp: HostImport) -> Callable[..., None]:
    lifts = imp.lift_args
    lower = imp.lower_result
    size = C.VAL_SIZE

    def callback(env, context, ty, args, nargs, results, nresults, error_out, continuation):  # noqa: ANN001
        caller = ACTIVE.stack[-1]
        try:
            values = [lift(args + i * size) for i, lift in enumerate(lifts)]
            outcome = caller.dispatch(caller, imp, values)
            if not isinstance(outcome, Suspension):
                outcome = _Ready(outcome)
        except BaseException as exc:
            ctypes.c_void_p.from_address(error_out).value = _host_failed(imp, exc)
            outcome = _Ready(None)
        park(caller, outcome, lower, results, continuation.contents)

    return callback


def park(caller: Any, outcome: Suspension, lower: Callable[[Any, int], None], results: int,
         cont: _Continuation) -> None:
    """Park ``caller``'s call in an async host call until ``outcome`` is ready: wasmtime
    polls the continuation, which lowers the host function's value into ``results``."""
    key = next(_suspension_ids)
    caller.parked = (key, outcome, lower, results)
    _suspended[key] = weakref.ref(caller)
    cont.callback = _poll_suspension
    cont.env = key
    cont.finalizer = _drop_suspension


class _Ready(Suspension):
    """A blocking host function that could answer at once."""

    __slots__ = ("value",)

    def __init__(self, value: Any):
        self.value = value

    def ready(self) -> bool:
        return True

    def result(self) -> Any:
        return self.value


def inspect(wasm: bytes, source: str, *, use_cache: bool = True) -> ActorComponent:
    """Compile (or load from the cache) and check a component against `theater:simple`.
    A component with big data segments is compiled without their bytes, which go into
    its memory image (``_image``)."""
    compiled, image = _image.prepare(wasm)
    component, digest, hit = _engine.load_component(compiled, source, use_cache=use_cache)
    if image is not None:  # the cache keys what was compiled; the trace names the file
        digest = hashlib.sha256(wasm).hexdigest()
    ctype = component.type
    engine = _engine.engine()

    imports: dict[str, str] = {}
    host_imports: dict[str, dict[str, HostImport]] = {}
    for full, extern in ctype.imports(engine).items():
        name = parse_interface(full)
        if name is not None and name.package == PACKAGE and name.name == "types":
            continue  # `types` holds only type definitions
        if name is None or name.package != PACKAGE or name.name not in IMPORTS:
            raise ComponentError(
                f"imports '{full}', which theater-harness does not provide "
                f"(it provides {', '.join(f'{PACKAGE}/{i}' for i in IMPORTS)})",
                file=source,
            )
        expected = IMPORTS[name.name]
        funcs: dict[str, HostImport] = {}
        for fn_name, item in extern.ty.exports(engine).items():
            fty = item.ty
            if not isinstance(fty, T.FuncType):
                continue
            if fn_name not in expected:
                raise ComponentError(
                    f"imports '{full}' function '{fn_name}', which the interface does not define "
                    f"(it defines {', '.join(expected)})",
                    file=source,
                )
            _check_signature(fty, expected[fn_name], f"import '{full}' function '{fn_name}'", source)
            result = fty.result
            funcs[fn_name] = HostImport(
                interface=name.name,
                function=fn_name,
                lift_args=[C.codec(t)[1] for _, t in fty.params],
                lower_result=C.codec(result)[0] if result is not None else None,
                blocking=(name.name, fn_name) in BLOCKING,
                returns_result=isinstance(result, T.ResultType),
                host_function=HOST_NAMES.get((name.name, fn_name), fn_name),
            )
        imports[name.name] = full
        host_imports[name.name] = funcs

    exports: dict[tuple[str, str], Export] = {}
    for full, extern in ctype.exports(engine).items():
        name = parse_interface(full)
        if name is None or name.package != PACKAGE:
            continue  # exports the host never calls are allowed
        instance_index = component.get_export_index(full)
        for fn_name, item in extern.ty.exports(engine).items():
            key = (name.name, fn_name)
            fty = item.ty
            if key not in EXPORTS or not isinstance(fty, T.FuncType):
                continue
            _check_signature(fty, EXPORTS[key], f"export '{full}' function '{fn_name}'", source)
            exports[key] = Export(
                interface=name.name,
                function=fn_name,
                full_name=f"{PACKAGE}/{name.name}.{fn_name}",
                index=component.get_export_index(fn_name, instance_index),
                index_key=len(exports),
                lowers=[C.codec(t)[0] for _, t in fty.params],
                lift_result=C.codec(fty.result)[1],
            )

    init = exports.get(("actor", "init"))
    if init is None:
        raise ComponentError(
            f"does not export '{PACKAGE}/actor' with an 'init' function; every Theater actor must",
            file=source,
        )
    era = "A" if len(init.lowers) == 2 else "B"
    return ActorComponent(
        source=source,
        sha256=digest,
        component=component,
        era=era,
        exports=exports,
        imports=imports,
        host_imports=host_imports,
        cache_hit=hit,
        image=image,
    )


def _check_signature(fty: T.FuncType, accepted: tuple[str, ...], what: str, source: str) -> None:
    actual = render_func(fty)
    if actual not in accepted:
        raise ComponentError(
            f"{what} has type {actual}, but theater:simple defines {' or '.join(accepted)}",
            file=source,
        )
