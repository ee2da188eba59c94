"""One incarnation of a packr actor: a Store, an instance, and calls that end in values.

The same protocol as a component incarnation (``wasm._instance.Incarnation``): ``call``
returns ``(True, (is_ok, payload))``, ``(False, Failure)`` or ``SUSPENDED``; ``resume``,
``cancel``, ``close``. The Store is the component host's (``_Store``: it owns a parked
call's future), linear memories are charged to the incarnation's memory cap, and every
call runs on a fuel budget: a packr guest that panics spins for ever instead of trapping
(PACKR.md 1.2), so fuel is what ends it, as a supervised ``out-of-fuel`` failure.

A call (PACKR.md 1.2): the input ``tuple[state, params...]`` is written into a buffer
from the guest's ``__pack_alloc`` (kept for the incarnation and reused by every call: a
guest never frees its input), the export gets ``(in_ptr, in_len, slot, slot + 4)`` (an
8-byte slot block allocated once per incarnation, not pack's fixed addresses inside the
guest's stack), and the output the guest allocated is read, bounds-checked, freed and
decoded. Status 0 is a value, -1 a UTF-8 error from the guest
(it could not decode its input or encode its output), anything else a broken actor.
"""

from __future__ import annotations

import ctypes
from typing import Any

import wasmtime

from .. import _engine, _memory
from .._component import ACTIVE
from .._instance import (OUT_OF_FUEL, SUSPENDED, TRAP, Failure, IncarnationBase, _set_fuel, _Store,
                         _take_error, classify_failure, complete_at_once)
from . import _abi, cgrf
from .module import FIXED_BASE, PackrExport, PackrImport, PackrModule
from .theater import call_input, unwrap
from .value import TypedState, to_value

_vp = ctypes.c_void_p
_string_at = ctypes.string_at
_memmove = ctypes.memmove
_u32 = ctypes.c_uint32.from_address
MAX_IO = 128 << 20  # the largest input or output buffer (CGRF's own payload limit)


class PackrCallError(Exception):
    """A raw call (``PackrIncarnation.call_raw``) that did not return a value."""


class _Pending:
    """A call parked in a blocking host call: its future, and what finishing it needs."""

    __slots__ = ("future", "export", "denials", "trap", "error")

    def __init__(self, future: int, export: PackrExport, denials: int):
        self.future = future
        self.export = export
        self.denials = denials
        self.trap = _vp(0)
        self.error = _vp(0)


class PackrIncarnation(IncarnationBase):
    """A live instance of a packr actor, in a Store of its own."""

    # Argument blocks shared by every incarnation: wasmtime reads a call's arguments when
    # the call starts, and calls into different incarnations never run inside one another
    # (a blocking host call suspends instead).
    _args = _abi.Vals(4)
    _scratch = (_abi.Vals(2), _abi.Vals(1))  # for the host's own calls into the guest (alloc, free)

    __slots__ = ("component", "owner", "dispatch", "store", "_ctx", "instance", "fuel", "memory_cap", "poisoned",
                 "memory", "_pending", "parked", "_funcs", "_mem", "_mem_holder", "_alloc", "_free", "_slots",
                 "_results", "_scratch_buf", "_inbuf", "_bump_at", "__weakref__")

    def __init__(self, module: PackrModule, owner: Any, dispatch: Any, *, fuel: int, memory_cap: int | None):
        self.component = module
        self.owner = owner
        self.dispatch = dispatch
        self.fuel = fuel
        self.memory_cap = memory_cap
        self.poisoned = False
        self._pending: _Pending | None = None
        self.parked: tuple | None = None
        self.memory = _memory.MemoryAccount(memory_cap)
        self.store = store = _Store(_engine.engine())
        self._ctx = ctypes.cast(store._context(), _vp).value
        self._funcs: dict[str, Any] = {}
        self._results = _abi.Vals(1)  # per incarnation: a parked call's result lands here later
        self._bump_at = 0
        self._scratch_buf = (0, 0)  # (pointer, capacity) of the answers to host imports
        self._inbuf = (0, 0)  # (pointer, capacity) of the calls' inputs
        self.instance = None
        with self._instantiating():
            self._instantiate(module, store)

    # --- instantiation ---------------------------------------------------------------

    def _instantiate(self, module: PackrModule, store: _Store) -> None:
        memory = None
        if module.shape == FIXED_BASE:
            memory = wasmtime.Memory(store, module.memory_import)
            self._bump_at = memory.data_len(store)
        linker = module.linker((store, memory) if memory is not None else None)
        raw = wasmtime._ffi.wasmtime_instance_t()
        trap, error = _vp(0), _vp(0)
        lptr = ctypes.cast(linker.ptr(), _vp).value
        mptr = ctypes.cast(module.module.ptr(), _vp).value
        if module.is_async:
            future = _abi.instantiate_async(lptr, self._ctx, mptr, ctypes.addressof(raw), ctypes.addressof(trap),
                                            ctypes.addressof(error))
            complete_at_once(future, "the module's start function blocked in a host call")
            err = error.value
        else:
            err = _abi.instantiate(lptr, self._ctx, mptr, ctypes.addressof(raw), ctypes.addressof(trap))
        if err:
            raise wasmtime.WasmtimeError(_take_error(err))
        if trap.value:
            raise wasmtime.WasmtimeError(_abi.take_trap(trap.value))
        self.instance = raw
        if memory is None:
            mem = self._export("memory")
        else:
            mem = ctypes.create_string_buffer(_abi.EXTERN_SIZE)
            ctypes.memmove(ctypes.addressof(mem) + _abi.EXTERN_OF, ctypes.addressof(memory._memory),
                           ctypes.sizeof(memory._memory))
        self._mem_holder = (mem, memory)  # keep both alive
        self._mem = ctypes.addressof(mem) + _abi.EXTERN_OF
        self._alloc = self._func("__pack_alloc")
        self._free = self._func("__pack_free")
        if module.has_ctors:
            self._guest(self._ctx, self._func("__wasm_call_ctors"), (0,), 0)
        self._slots = self._guest(self._ctx, self._alloc, (8,), 1)
        if self._slots == 0:
            raise wasmtime.WasmtimeError("__pack_alloc(8) returned 0: the actor has no memory for its result slots")

    def _export(self, name: str) -> Any:
        extern = ctypes.create_string_buffer(_abi.EXTERN_SIZE)
        raw = name.encode()
        if not _abi.instance_export_get(self._ctx, ctypes.addressof(self.instance), raw, len(raw),
                                        ctypes.addressof(extern)):
            return None
        return extern

    def _func(self, name: str, required: bool = True) -> int | None:
        """The address of the export's wasmtime_func_t (its extern kept alive here)."""
        found = self._funcs.get(name)
        if found is None:
            extern = self._export(name)
            if extern is None or extern.raw[0] != _abi.EXTERN_FUNC:
                if required:
                    raise wasmtime.WasmtimeError(f"the module does not export the function {name}")
                return None
            found = self._funcs[name] = (extern, _abi.extern_func(extern))
        return found[1]

    # --- guest memory -------------------------------------------------------------------

    def _base(self, ctx: int) -> tuple[int, int]:
        return _abi.memory_data(ctx, self._mem), _abi.memory_data_size(ctx, self._mem)

    def _guest(self, ctx: int, func: int, args: tuple[int, ...], nresults: int) -> int:
        """A call the host makes into the guest (its allocator): it never blocks."""
        vals, res = self._scratch
        slots = vals.slots
        slots[0].value = args[0]
        if len(args) > 1:
            slots[1].value = args[1]
        trap = _vp(0)
        if self.component.is_async:
            error = _vp(0)
            future = _abi.func_call_async(ctx, func, vals.base, len(args), res.base, nresults,
                                          ctypes.addressof(trap), ctypes.addressof(error))
            complete_at_once(future, "the guest's allocator blocked in a host call")
            err = error.value
        else:
            err = _abi.func_call(ctx, func, vals.base, len(args), res.base, nresults, ctypes.addressof(trap))
        if err:
            raise wasmtime.WasmtimeError(_take_error(err))
        if trap.value:
            raise wasmtime.WasmtimeError(_abi.take_trap(trap.value))
        return res.slots[0].value & 0xFFFFFFFF if nresults else 0

    def bump(self, ctx: int, size: int, align: int) -> int:
        """pack:alloc.alloc of a fixed-base module: from the end of the initial memory up."""
        align = max(align, 1)
        ptr = (self._bump_at + align - 1) // align * align
        end = ptr + max(size, 0)
        _, have = self._base(ctx)
        if end > have:
            pages = (end - have + 65535) // 65536
            prev = ctypes.c_uint64(0)
            err = _abi.memory_grow(ctx, self._mem, pages, ctypes.addressof(prev))
            if err:
                _take_error(err)
                return 0
        self._bump_at = end
        return ptr

    def read_value(self, ctx: int, ptr: int, length: int, imp: PackrImport) -> Any:
        """A host import's argument, read from the guest's memory and decoded."""
        base, size = self._base(ctx)
        if ptr + length > size:
            raise ValueError(f"its argument buffer ({length} bytes at {ptr}) lies outside its memory ({size} bytes)")
        try:
            return cgrf.decode(_string_at(base + ptr, length))
        except ValueError as exc:
            raise ValueError(f"its argument is not a valid CGRF value: {exc}") from None

    def write_output(self, ctx: int, data: bytes, out_pp: int, out_lp: int) -> None:
        """A host import's result, written into the incarnation's scratch buffer (status 0:
        the host owns it, the guest does not free it).

        Status 0 is the answer every packr generation reads: 0.11 guests also take status
        1 (a buffer from their ``__pack_alloc`` that they free), but the self-contained
        packages of April 2026 treat any status but 0 as an error. pack's own host writes
        status-0 answers at a fixed address inside the guest's stack; the scratch here is
        a buffer from the guest's ``__pack_alloc``, kept for the incarnation (grown when an
        answer does not fit) and reused: the guest decodes an answer before it makes its
        next import."""
        n = len(data)
        ptr, cap = self._scratch_buf
        if n > cap:
            if ptr:
                self._guest(ctx, self._free, (ptr, cap), 0)
            cap = max(n, 2 * cap, 256)
            ptr = self._guest(ctx, self._alloc, (cap,), 1)
            if ptr == 0:
                self._scratch_buf = (0, 0)
                raise MemoryError(f"the actor's __pack_alloc({cap}) returned 0")
            self._scratch_buf = (ptr, cap)
        base, size = self._base(ctx)
        if ptr + n > size or out_pp + 4 > size or out_lp + 4 > size:
            raise ValueError("its result slots lie outside its memory")
        _memmove(base + ptr, data, n)
        _u32(base + out_pp).value = ptr
        _u32(base + out_lp).value = n

    # --- calls --------------------------------------------------------------------------

    def call(self, export: PackrExport, args: tuple) -> Any:
        """Call ``export`` with ``(state, params)``: ``(True, (is_ok, payload))``,
        ``(False, Failure)``, or ``SUSPENDED`` (continue it with ``resume()``)."""
        if self.poisoned:
            return False, Failure(TRAP, "cannot enter the instance: it failed earlier")
        if self._pending is not None:
            raise RuntimeError("one call at a time: this incarnation has a suspended call")
        try:
            data = call_input(args[0], export.encode_params(args[1]) if len(args) > 1 else ())
        except (TypeError, ValueError, KeyError) as exc:
            return True, (False, f"cannot encode the arguments of {export.full_name}: {exc}")
        return self._invoke(export, data)

    def call_raw(self, name: str, value: Any) -> Any:
        """Call the export ``name`` with ``value`` as its whole input, as packr's own host
        does (no state, no unwrapping): its output value. For packr packages that are not
        Theater actors (``double``, ``process``, ...). Raises ``PackrCallError``."""
        if self._func(name, required=False) is None:
            raise PackrCallError(f"the module does not export {name!r}")
        outcome = self._invoke(PackrExport(name, None, None, raw=True), cgrf.encode(to_value(value)))
        if outcome is SUSPENDED:
            self.cancel()
            raise PackrCallError(f"{name} waits in a blocking host call, which call_raw cannot answer")
        ok, value = outcome
        if not ok:
            raise PackrCallError(f"{name} failed ({value.kind}): {value.message}")
        if not value[0]:
            raise PackrCallError(f"{name} returned an error: {value[1]}")
        return value[1]

    def _invoke(self, export: PackrExport, data: bytes) -> Any:
        ctx = self._ctx
        _set_fuel(ctx, self.fuel)
        denials = self.memory.denials
        func = self._func(export.name)
        ACTIVE.stack.append(self)
        try:
            n = len(data)
            in_ptr, cap = self._inbuf
            if n > cap:  # the input buffer, kept for the incarnation (the guest never frees an input)
                if in_ptr:
                    self._guest(ctx, self._free, (in_ptr, cap), 0)
                cap = max(n, 2 * cap, 256)
                in_ptr = self._guest(ctx, self._alloc, (cap,), 1)
                if in_ptr == 0:
                    self._inbuf = (0, 0)
                    self.poisoned = True
                    return False, classify_failure(f"__pack_alloc({cap}) returned 0", self.memory,
                                                   self.memory.denials != denials)
                self._inbuf = (in_ptr, cap)
            _memmove(_abi.memory_data(ctx, self._mem) + in_ptr, data, n)
            a = self._args.slots
            a[0].value, a[1].value, a[2].value, a[3].value = in_ptr, n, self._slots, self._slots + 4
            if self.component.is_async:
                pending = self._pending = _Pending(0, export, denials)
                pending.future = self.store.future = _abi.func_call_async(
                    ctx, func, self._args.base, 4, self._results.base, 1, ctypes.addressof(pending.trap),
                    ctypes.addressof(pending.error))
                return self._poll()
            trap = _vp(0)
            err = _abi.func_call(ctx, func, self._args.base, 4, self._results.base, 1, ctypes.addressof(trap))
        except wasmtime.WasmtimeError as exc:
            self.poisoned = True
            return False, classify_failure(str(exc), self.memory, self.memory.denials != denials)
        finally:
            ACTIVE.stack.pop()
        return self._finish(export, err, trap.value, denials)

    def _finish_pending(self, pending: _Pending) -> Any:
        return self._finish(pending.export, pending.error.value, pending.trap.value, pending.denials)

    def _finish(self, export: PackrExport, err: int | None, trap: int | None, denials: int) -> Any:
        denied = self.memory.denials != denials
        if err or trap:
            self.poisoned = True
            message = _take_error(err) if err else _abi.take_trap(trap)
            failure = classify_failure(message, self.memory, denied)
            if failure.kind == OUT_OF_FUEL:  # the usual end of a packr panic
                failure = Failure(OUT_OF_FUEL, f"{failure.message} (a packr guest that panics spins until its fuel "
                                               "runs out: this may be a panic)", failure.exception)
            return False, failure
        ctx = self._ctx
        status = self._results.slots[0].value
        try:
            base, size = self._base(ctx)
            slots = self._slots
            out_ptr, out_len = _u32(base + slots).value, _u32(base + slots + 4).value
            if out_len > MAX_IO or out_ptr + out_len > size:
                self.poisoned = True
                return False, Failure(TRAP, f"{export.full_name} returned status {status} with an output buffer of "
                                            f"{out_len} bytes at {out_ptr}, outside its memory of {size} bytes")
            data = _string_at(base + out_ptr, out_len)
            self._guest(ctx, self._free, (out_ptr, out_len), 0)
        except wasmtime.WasmtimeError as exc:
            self.poisoned = True
            return False, classify_failure(str(exc), self.memory, self.memory.denials != denials)
        if status == -1:
            text = data.decode("utf-8", "replace")
            return True, (False, f"the actor could not handle the call (status -1): {text}")
        if status != 0:
            self.poisoned = True
            return False, Failure(TRAP, f"{export.full_name} returned status {status} (0 is a value, -1 an error)")
        try:
            value = cgrf.decode(data)
            if export.raw:
                return True, (True, value)
            ok, result = unwrap(value)
            if not ok:
                return True, (False, result)
            state, ret = result
            rest = export.lift_return(ret) if export.lift_return is not None else (ret,)
            state = TypedState.of(state)
            return True, (True, (state, rest) if rest else (state,))
        except (ValueError, TypeError) as exc:
            return True, (False, f"{export.full_name} returned a malformed result: {exc}")
