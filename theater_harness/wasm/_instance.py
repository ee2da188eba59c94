"""One actor incarnation: a Store, an instance, and calls that end in values.

Each incarnation gets its own Store (a trap poisons every instance in a Store, and a
Store frees nothing until dropped), a memory cap enforced by the harness's own linear
memories (``_memory``: a refused growth is recorded, so a call failing after one is a
memory-cap failure, not a generic trap; a component with big data segments starts from
a copy-on-write image of them, ``_image``), and a fuel budget for every call.

A call returns ``(True, value)`` or ``(False, Failure)``; a trap, fuel exhaustion, a
memory-cap hit or a failing host call never raises out of here. A component that imports
a blocking host function is called through wasmtime's async path: its call may instead
return ``SUSPENDED`` (the wasm is parked on its fiber) and is continued with ``resume()``
once what it waits for has happened, or abandoned with ``cancel()``.

Freeing. ``close()`` frees the Store now: the instance, its linear memories and the fiber
of a parked call (whose future is deleted first: it borrows the Store). An incarnation
that is merely dropped frees the same when it is collected, whatever its call was doing:
nothing outside it holds it (the continuation table of ``_component`` names it weakly).
Its runtime refers to itself in cycles, so that is at the cyclic garbage collector's
next pass, and a collection finalizes the objects of a cycle in no set order; the
parked future is therefore owned by the Store object (``_Store``), which deletes it
before itself, whichever of the two is finalized first.

The collector's schedule counts Python allocations and knows nothing of what a Store
holds (a few memory mappings each, against the process's ``vm.max_map_count``, 65,530
by default): in a process with millions of long-lived objects, runtimes old enough to
reach its oldest generation would wait for a full collection long after the mappings
ran out. So making a Store runs a full collection first when the live Stores have grown
by ``COLLECT_STEP`` since the fewest there were since the last such collection (a
collection that frees little doubles the step, up to ``COLLECT_STEP_MAX``: a large tree
of live actors costs a few collections, not one per 1,024 actors).
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import re
from dataclasses import dataclass
from typing import Any, Iterator

import wasmtime
from wasmtime._ffi import wasmtime_component_func_t as _component_func_t
from wasmtime._ffi import wasmtime_component_instance_t as _component_instance_t
from wasmtime.component._instance import Instance

from . import _convert as C
from . import _memory
from ._component import ACTIVE, ActorComponent, Export
from ._engine import engine
from .packr.value import Bytes, Option, String, TypedState, render

_vp, _sz = ctypes.c_void_p, ctypes.c_size_t
_func_call = C._cfunc("wasmtime_component_func_call", _vp, _vp, _vp, _vp, _sz, _vp, _sz)
_func_call_async = C._cfunc("wasmtime_component_func_call_async", _vp, _vp, _vp, _vp, _sz, _vp, _sz, _vp)
_instantiate_async = C._cfunc("wasmtime_component_linker_instantiate_async", _vp, _vp, _vp, _vp, _vp, _vp)
_instantiate = C._cfunc("wasmtime_component_linker_instantiate", _vp, _vp, _vp, _vp, _vp)
_get_func = C._cfunc("wasmtime_component_instance_get_func", ctypes.c_bool, _vp, _vp, _vp, _vp)
_store_context = C._cfunc("wasmtime_store_context", _vp, _vp)
_future_poll = C._cfunc("wasmtime_call_future_poll", ctypes.c_bool, _vp)
_future_delete = C._cfunc("wasmtime_call_future_delete", None, _vp)
_set_fuel = C._cfunc("wasmtime_context_set_fuel", _vp, _vp, ctypes.c_uint64)
_get_fuel = C._cfunc("wasmtime_context_get_fuel", _vp, _vp, _vp)
_error_message = C._cfunc("wasmtime_error_message", None, _vp, _vp)
_error_delete = C._cfunc("wasmtime_error_delete", None, _vp)
_byte_vec_delete = C._cfunc("wasm_byte_vec_delete", None, _vp)

# Failure kinds a call can end with.
TRAP = "trap"
OUT_OF_FUEL = "out-of-fuel"
MEMORY = "memory"
HOST_ERROR = "host-error"

SUSPENDED = ("suspended",)  # what call() and resume() return while the call waits


@dataclass(frozen=True, slots=True)
class Failure:
    """Why a wasm call did not return: the kind, wasmtime's message, the host exception."""

    kind: str
    message: str
    exception: BaseException | None = None


# Calls never nest (a blocking host call suspends rather than running others inside
# it), so one block of argument slots serves every synchronous call. Calls take at
# most a handful of parameters.
_MAX_SLOTS = 8
_SYNC_BLOCK = ctypes.create_string_buffer(C.VAL_SIZE * _MAX_SLOTS)
_SYNC_BASE = ctypes.addressof(_SYNC_BLOCK)
_zero_slot = C._VAL.pack_into


def short_error(message: str) -> str:
    """wasmtime's error text without the backtrace: what follows 'Caused by:', or the first
    line. Several causes, which wasmtime numbers ("0: instance export `log` has the wrong
    type", "1: function implementation is missing"), are joined outermost first, after the
    error itself unless that is only the backtrace's heading, without their numbers:
    "component imports ...: instance export `log` has the wrong type: function
    implementation is missing" (issue 11, D6).

    A pure function of the text, remembered for the last ``_SHORT_MAX`` texts: an actor
    that fails again and again fails with the same text (the backtrace names code
    offsets, not addresses)."""
    short = _SHORT.get(message)
    if short is None:
        short = _short_error(message)
        if len(_SHORT) >= _SHORT_MAX:
            _SHORT.clear()
        _SHORT[message] = short
    return short


_SHORT: dict[str, str] = {}
_SHORT_MAX = 256


def _short_error(message: str) -> str:
    lines = [ln.strip() for ln in message.strip().splitlines() if ln.strip()]
    if "Caused by:" in lines:
        after = lines[lines.index("Caused by:") + 1:]
        if "Stack backtrace:" in after:  # with RUST_BACKTRACE set
            after = after[:after.index("Stack backtrace:")]
        causes = [_CAUSE.match(ln) for ln in after if not _FRAME.match(ln)]
        if causes and all(causes):
            head = [] if _FRAME.match(lines[0]) else [lines[0]]
            return ": ".join(head + [c[1] for c in causes])
        if after:
            return after[-1]
    return lines[0] if lines else message


_CAUSE = re.compile(r"\d+: (.*)")  # one of several numbered causes
_FRAME = re.compile(r"\d+:\s+0x[0-9a-f]+ - |error while executing at wasm backtrace:")  # a backtrace line


_BYTE_VEC = ctypes.c_char * 16  # a wasm_byte_vec_t (size, data)


def _take_error(err: int) -> str:
    """The message of wasmtime error ``err``, which is freed."""
    vec = _BYTE_VEC()
    addr = ctypes.addressof(vec)
    _error_message(err, addr)
    text = C._name_bytes(addr).decode("utf-8", "replace")
    _byte_vec_delete(addr)
    _error_delete(err)
    return text


COLLECT_STEP = 1024  # Stores made (net) since the last low point that trigger a full collection
COLLECT_STEP_MAX = 4096  # the step after collections that freed little (most Stores were in use)


class _Store(wasmtime.Store):
    """A Store that owns the future of the call parked in it, if any: the future borrows
    the Store, so it is deleted first, however the Store goes (``close``, or its
    finalizer in a garbage collection, before or after the incarnation's)."""

    future = 0  # the wasmtime_call_future_t of the call in flight, or 0
    live = 0  # Stores made and not yet freed, in this process (live_stores())
    low = 0  # the fewest live Stores since the last collection this module ran
    step = COLLECT_STEP

    def __init__(self, engine: wasmtime.Engine):
        cls = _Store
        if cls.live - cls.low >= cls.step:
            _collect()
        super().__init__(engine)
        cls.live += 1

    def drop_future(self) -> None:
        future, self.future = self.future, 0
        if future:
            _future_delete(future)  # drops the fiber (and the parked host call's continuation)

    def _delete(self, ptr: Any) -> None:
        self.drop_future()
        super()._delete(ptr)
        cls = _Store
        cls.live -= 1
        cls.low = min(cls.low, cls.live)


def _collect() -> None:
    """A full collection, because many Stores were made since the last (see above)."""
    cls = _Store
    before = cls.live
    gc.collect()
    freed = before - cls.live
    cls.step = COLLECT_STEP if freed >= cls.step // 2 else min(2 * cls.step, COLLECT_STEP_MAX)
    cls.low = cls.live


def complete_at_once(future: int, blocked: str) -> None:
    """Poll a call future that must not wait (an instantiation, the host's own call into a
    guest's allocator), then delete it; ``blocked`` is the error if it did wait."""
    try:
        if not _future_poll(future):
            raise wasmtime.WasmtimeError(blocked)
    finally:
        _future_delete(future)


def live_stores() -> int:
    """How many incarnations' Stores exist in this process (for leak checks): each holds
    an instance, its linear memories and, while a call is parked, a fiber."""
    return _Store.live


def component_state(state: TypedState) -> bytes | None:
    """A typed state given to a component actor, whose state is ``option<list<u8>>``: a
    string (Theater's ``initial_state``) is its UTF-8, bytes are themselves, an option
    is its content."""
    value = state.value
    if isinstance(value, Option):
        value = value.value
        if value is None:
            return None
    if isinstance(value, String):
        return str(value).encode("utf-8")
    if isinstance(value, Bytes):
        return bytes(value)
    raise TypeError(f"a component actor's state is bytes (option<list<u8>>), not {render(value)}")


class _AsyncCall:
    """An async call in flight: its future and the memory wasmtime writes the result to."""

    __slots__ = ("future", "export", "block", "result", "error", "denials", "func")

    def __init__(self, future: int, export: Export, block: Any, result: int, error: Any, denials: int,
                 func: Any):
        self.future = future
        self.export = export
        self.block = block  # keeps the result slot alive until the call completes
        self.result = result
        self.error = error  # a pointer cell wasmtime fills with the error, if any
        self.denials = denials
        self.func = func  # the future borrows the func handle: keep it alive too


INSTANTIATE_FUEL = 1 << 32  # the data-segment allowance of an incarnation without a memory cap
INSTANTIATE = "instantiate"  # the "export" an ExitReason names for a failure while instantiating


class IncarnationBase:
    """What an incarnation of either ABI does the same way (``Incarnation`` here, and
    ``packr.instance.PackrIncarnation``): a Store of its own (``store``, ``_ctx``), a call
    parked in a blocking host call (``_pending``, its future owned by the Store), and
    freeing. A subclass makes the calls and says how a parked call finishes
    (``_finish_pending``)."""

    __slots__ = ()

    @contextlib.contextmanager
    def _instantiating(self, image: Any = None) -> Iterator[None]:
        """Around the instantiation: its fuel, the incarnation on the active stack (its
        start function's host calls), its linear memories charged to its memory account
        (``image``: the memory image mapped into them, ``_image``); a failure after a
        refused growth is a memory-cap failure (``MemoryCapExceeded``).

        Instantiation copies the data segments into linear memory (those not in a memory
        image), and wasmtime charges fuel for the copy (one unit per byte). The data
        cannot be larger than the memory it lands in, so this budget covers any module
        that fits its cap, plus its start function."""
        cap = self.memory_cap
        _set_fuel(self._ctx, self.fuel + (cap if cap is not None else INSTANTIATE_FUEL))
        account = self.memory
        ACTIVE.stack.append(self)
        previous = _memory.enter(account, image)
        try:
            yield
        except wasmtime.WasmtimeError as exc:
            if account.denials:
                raise _memory.MemoryCapExceeded(str(exc), account) from None
            raise
        finally:
            _memory.leave(previous)
            ACTIVE.stack.pop()

    @property
    def suspended(self) -> bool:
        """Whether a call is parked, waiting for a blocking host call to answer."""
        return self._pending is not None

    def resume(self) -> Any:
        """Continue the suspended call (what it waited for has happened, or may have)."""
        if self._pending is None:
            raise RuntimeError("no suspended call to resume")
        return self._poll()

    def _poll(self) -> Any:
        pending = self._pending
        ACTIVE.stack.append(self)
        try:
            done = _future_poll(pending.future)
        finally:
            ACTIVE.stack.pop()
        if not done:
            return SUSPENDED
        self._pending = None
        self.store.drop_future()
        return self._finish_pending(pending)

    def cancel(self) -> None:
        """Abandon the suspended call (its actor is being stopped): its fiber is dropped.
        The instance is unusable afterwards."""
        pending, self._pending = self._pending, None
        if pending is not None:
            self.store.drop_future()
            self.parked = None
            self.poisoned = True

    def fuel_left(self) -> int:
        """Fuel remaining from the current call's budget (for cost accounting); 0 once closed."""
        if self._ctx is None:
            return 0
        out = ctypes.c_uint64(0)
        _get_fuel(self._ctx, ctypes.addressof(out))
        return out.value

    @property
    def closed(self) -> bool:
        """Whether ``close()`` has freed the Store."""
        return self._ctx is None

    def close(self) -> None:
        """Free the Store now: a suspended call is abandoned (its fiber dropped), then the
        instance and its linear memories go. Calls then fail as on a poisoned instance.
        Idempotent. Not while one of this incarnation's own calls is running (the stop
        comes from inside it): the Store then goes when the incarnation is dropped."""
        self.cancel()
        self.instance = None
        self._funcs.clear()
        if self._ctx is not None and self not in ACTIVE.stack:
            self.poisoned = True
            self._ctx = None
            self.store.close()  # deletes a pending future first (_Store)

    def __del__(self) -> None:
        store = getattr(self, "store", None)  # absent if __init__ failed before making it
        if store is not None:
            store.drop_future()  # before the result block it writes to can go


class Incarnation(IncarnationBase):
    """A live instance of an actor's component, in a Store of its own."""

    __slots__ = ("component", "owner", "dispatch", "store", "_ctx", "instance", "_funcs", "fuel",
                 "memory_cap", "poisoned", "memory", "_pending", "parked", "__weakref__")

    def __init__(self, component: ActorComponent, owner: Any, dispatch: Any, *, fuel: int, memory_cap: int | None):
        self.component = component
        self.owner = owner  # the actor this incarnation belongs to
        self.dispatch = dispatch  # dispatch(incarnation, host_import, args) serves its host calls
        self.fuel = fuel
        self.memory_cap = memory_cap
        self.poisoned = False
        self._pending: _AsyncCall | None = None
        # the continuation of the host call this incarnation's call is parked in, set by
        # _component's async callback: (key, Suspension, lower, result address)
        self.parked: tuple | None = None
        store = _Store(engine())
        self.memory = _memory.MemoryAccount(memory_cap)  # the cap, enforced by _memory
        self.store = store
        self._ctx = _store_context(store.ptr())
        self._funcs: dict[int, tuple[Any, int]] = {}  # export index_key -> (func, its address)
        self.instance = None
        linker, linker_ptr, component_ptr = component.instantiate_args
        with self._instantiating(component.image):
            if component.is_async:
                self.instance = self._instantiate_async(linker_ptr, component_ptr)
            else:  # wasmtime-py's Linker.instantiate, by address
                raw = _component_instance_t()
                err = _instantiate(linker_ptr, self._ctx, component_ptr, ctypes.addressof(raw))
                if err:
                    raise wasmtime.WasmtimeError(_take_error(err))
                self.instance = Instance._from_raw(raw)

    def _instantiate_async(self, linker_ptr: int, component_ptr: int) -> Instance:
        raw = _component_instance_t()
        error = ctypes.c_void_p(0)
        future = _instantiate_async(linker_ptr, self._ctx, component_ptr, ctypes.addressof(raw),
                                    ctypes.addressof(error))
        complete_at_once(future, "the component's start function blocked in a host call")  # not an actor
        if error.value:
            raise wasmtime.WasmtimeError(_take_error(error.value))
        return Instance._from_raw(raw)

    def _func(self, export: Export) -> tuple[Any, int]:
        func = self._funcs.get(export.index_key)
        if func is None:  # wasmtime-py's Instance.get_func, by address
            raw = _component_func_t()
            address = ctypes.addressof(raw)
            if not _get_func(ctypes.addressof(self.instance._instance), self._ctx, export.index_address, address):
                raise AttributeError(f"the instance has no function {export.full_name}")
            func = self._funcs[export.index_key] = (raw, address)
        return func

    def call(self, export: Export, args: tuple) -> Any:
        """Call ``export`` with ``args``: ``(True, result)``, ``(False, Failure)``, or
        ``SUSPENDED`` (continue it with ``resume()``)."""
        if self.poisoned:
            return False, Failure(TRAP, "cannot enter component instance: it trapped earlier")
        if self._pending is not None:
            raise RuntimeError("one call at a time: this incarnation has a suspended call")
        if args and args[0].__class__ is TypedState:  # a typed initial state (a manifest's initial_state)
            try:
                args = (component_state(args[0]), *args[1:])
            except TypeError as exc:
                return True, (False, str(exc))
        func = self._func(export)
        lowers = export.lowers
        n = len(lowers)
        if self.component.is_async:
            block = ctypes.create_string_buffer(C.VAL_SIZE * (n + 1) + 8)
            base = ctypes.addressof(block)
        else:
            block, base = None, _SYNC_BASE
        raddr = base + n * C.VAL_SIZE
        lowered = 0
        try:
            for i, lower in enumerate(lowers):
                lower(args[i], base + i * C.VAL_SIZE)
                lowered += 1
            _zero_slot(C.MEM, raddr, 0, 0, 0, 0)  # the call drops whatever the slot holds
            _set_fuel(self._ctx, self.fuel)  # the budget covers the whole call, suspended or not
            denials = self.memory.denials
            if block is None:
                ACTIVE.stack.append(self)
                try:
                    err = _func_call(func[1], self._ctx, base, n, raddr, 1)
                finally:
                    ACTIVE.stack.pop()
                return self._finish(export, raddr, err, denials)
            error = ctypes.c_void_p.from_address(raddr + C.VAL_SIZE)
            error.value = 0
            future = _func_call_async(func[1], self._ctx, base, n, raddr, 1, raddr + C.VAL_SIZE)
            self.store.future = future
            self._pending = _AsyncCall(future, export, block, raddr, error, denials, func)
            return self._poll()  # the first poll reads the arguments: free them after it
        finally:
            for i in range(lowered):
                C.val_delete(base + i * C.VAL_SIZE)

    def _finish_pending(self, pending: _AsyncCall) -> tuple[bool, Any]:
        return self._finish(pending.export, pending.result, pending.error.value, pending.denials)

    def _finish(self, export: Export, raddr: int, err: int | None, denials: int) -> tuple[bool, Any]:
        if err:
            self.poisoned = True
            return False, self._failure(_take_error(err), self.memory.denials != denials)
        try:
            return True, export.lift_result(raddr)
        finally:
            C.val_delete(raddr)

    def _failure(self, message: str, memory_denied: bool = False) -> Failure:
        return classify_failure(message, self.memory, memory_denied)


def classify_failure(message: str, account: _memory.MemoryAccount, memory_denied: bool = False) -> Failure:
    """Why a wasm call failed, from wasmtime's message: a host function's exception (it is
    pending on this thread), a refused memory growth in this call, fuel, or a trap."""
    message = short_error(message)
    exc = ACTIVE.pending_exception
    if exc is not None:
        ACTIVE.pending_exception = None
        return Failure(HOST_ERROR, message, exc)
    if memory_denied:  # this call was refused memory, then failed
        return Failure(MEMORY, f"{account.describe_denial()}; then: {message}")
    if "all fuel consumed" in message:
        return Failure(OUT_OF_FUEL, message)
    return Failure(TRAP, message)
