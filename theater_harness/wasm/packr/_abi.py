"""The wasmtime C API calls the packr host makes, through ctypes (core modules).

wasmtime-py's own ``Func.__call__`` costs several microseconds per call in argument
checks and conversions, and it has no async calls at all; a packr call is three guest
calls (the export, freeing its output, sometimes an allocation), so the host calls the C
API directly, as the component host does (``_convert._cfunc``).

Async stores. A module that imports a blocking host function (``request``, ``spawn``,
...) has that import linked as an *async* host function, so its calls run on a fiber
and can be parked. wasmtime then refuses every synchronous call into that Store ("store
configuration requires that `*_async` functions are used instead"), including the
host's own re-entries into the guest (``__pack_alloc`` from inside an import). Those
re-entries go through ``wasmtime_func_call_async`` and are polled to completion at
once: they never block, since the guest's allocator imports nothing blocking.
"""

from __future__ import annotations

import ctypes
from typing import Any

from wasmtime import _ffi as ffi

from .._convert import _cfunc, _name_bytes

_vp, _sz = ctypes.c_void_p, ctypes.c_size_t
I32 = 0  # WASMTIME_I32

VAL_SIZE = ctypes.sizeof(ffi.wasmtime_val_t)
VAL_OF = ffi.wasmtime_val_t.of.offset
EXTERN_SIZE = ctypes.sizeof(ffi.wasmtime_extern_t)
EXTERN_OF = ffi.wasmtime_extern_t.of.offset
EXTERN_FUNC, EXTERN_MEMORY = 0, 3  # WASMTIME_EXTERN_FUNC, WASMTIME_EXTERN_MEMORY

# (env, caller, args, nargs, results, nresults) -> wasm_trap_t* or 0
HOST_CALLBACK = ctypes.CFUNCTYPE(_vp, _vp, _vp, _vp, _sz, _vp, _sz)
# (env, caller, args, nargs, results, nresults, trap out, continuation out)
ASYNC_HOST_CALLBACK = ctypes.CFUNCTYPE(None, _vp, _vp, _vp, _sz, _vp, _sz, _vp, _vp)

define_func = _cfunc("wasmtime_linker_define_func", _vp, _vp, ctypes.c_char_p, _sz, ctypes.c_char_p, _sz, _vp,
                     HOST_CALLBACK, _vp, _vp)
define_async_func = _cfunc("wasmtime_linker_define_async_func", _vp, _vp, ctypes.c_char_p, _sz, ctypes.c_char_p,
                           _sz, _vp, ASYNC_HOST_CALLBACK, _vp, _vp)
define_extern = _cfunc("wasmtime_linker_define", _vp, _vp, _vp, ctypes.c_char_p, _sz, ctypes.c_char_p, _sz, _vp)
instantiate = _cfunc("wasmtime_linker_instantiate", _vp, _vp, _vp, _vp, _vp, _vp)
instantiate_async = _cfunc("wasmtime_linker_instantiate_async", _vp, _vp, _vp, _vp, _vp, _vp, _vp)
instance_export_get = _cfunc("wasmtime_instance_export_get", ctypes.c_bool, _vp, _vp, ctypes.c_char_p, _sz, _vp)
func_call = _cfunc("wasmtime_func_call", _vp, _vp, _vp, _vp, _sz, _vp, _sz, _vp)
func_call_async = _cfunc("wasmtime_func_call_async", _vp, _vp, _vp, _vp, _sz, _vp, _sz, _vp, _vp)
future_poll = _cfunc("wasmtime_call_future_poll", ctypes.c_bool, _vp)
caller_context = _cfunc("wasmtime_caller_context", _vp, _vp)
memory_data = _cfunc("wasmtime_memory_data", _vp, _vp, _vp)
memory_data_size = _cfunc("wasmtime_memory_data_size", _sz, _vp, _vp)
memory_size = _cfunc("wasmtime_memory_size", ctypes.c_uint64, _vp, _vp)
memory_grow = _cfunc("wasmtime_memory_grow", _vp, _vp, _vp, ctypes.c_uint64, _vp)
memory_new = _cfunc("wasmtime_memory_new", _vp, _vp, _vp, _vp)
trap_new = _cfunc("wasmtime_trap_new", _vp, ctypes.c_char_p, _sz)
_trap_message = _cfunc("wasm_trap_message", None, _vp, _vp)
_trap_delete = _cfunc("wasm_trap_delete", None, _vp)
_byte_vec_delete = _cfunc("wasm_byte_vec_delete", None, _vp)

_i32 = ctypes.c_int32
_u32_at = ctypes.c_uint32.from_address


def take_trap(trap: int) -> str:
    """A trap's message (the trap is deleted)."""
    vec = ctypes.create_string_buffer(16)
    addr = ctypes.addressof(vec)
    _trap_message(trap, addr)
    text = _name_bytes(addr).decode("utf-8", "replace").rstrip("\0")
    _byte_vec_delete(addr)
    _trap_delete(trap)
    return text


def new_trap(message: str) -> int:
    raw = message.encode("utf-8", "replace")
    return trap_new(raw, len(raw))


class Vals:
    """A block of ``n`` wasmtime_val_t, all i32, for arguments or results; ``slots[i]``
    is the i-th value's i32 (set and read through ``.value``)."""

    __slots__ = ("block", "base", "n", "slots")

    def __init__(self, n: int):
        self.block = ctypes.create_string_buffer(max(n, 1) * VAL_SIZE)
        self.base = ctypes.addressof(self.block)
        self.n = n
        for i in range(n):
            ctypes.c_uint8.from_address(self.base + i * VAL_SIZE).value = I32
        self.slots = [_i32.from_address(self.base + VAL_OF + i * VAL_SIZE) for i in range(max(n, 1))]

    def set(self, *values: int) -> None:
        for slot, v in zip(self.slots, values):
            slot.value = v

    def get(self, i: int = 0) -> int:
        return self.slots[i].value


def read_i32s(base: int, at: int, n: int) -> list[int]:
    return [_u32_at(base + at + 4 * i).value for i in range(n)]


def write_u32(base: int, at: int, value: int) -> None:
    _u32_at(base + at).value = value & 0xFFFFFFFF


def extern_func(extern: Any) -> int:
    """The address of the wasmtime_func_t inside a wasmtime_extern_t buffer."""
    return ctypes.addressof(extern) + EXTERN_OF
