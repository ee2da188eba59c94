"""Component-model value conversion, compiled once per type, with bulk byte copies.

wasmtime-py's default call path re-reads a function's type on every call and converts
``list<u8>`` one element at a time (about 200 us a call and 1.5 us per payload byte).
Here each ``ValType`` is compiled once into a pair of closures that read and write the
C API's ``wasmtime_component_val_t`` directly at raw addresses:

- ``lower(value, addr)`` writes ``value`` into the 32-byte slot at ``addr``; nested
  storage (lists, boxed payloads) is allocated with the C API's own allocators, so
  ``wasmtime_component_val_delete`` frees the whole tree.
- ``lift(addr)`` reads a Python value from the slot at ``addr`` without freeing it.

Python representations: ``bool``/``int``/``float``/``str`` for scalars and strings,
``bytes`` for ``list<u8>``, ``list`` for other lists, ``tuple`` for tuples, ``dict``
keyed by WIT field name for records, ``None``/value for options, ``(True, ok)`` /
``(False, err)`` for results, ``(case, payload)`` for variants, ``str`` for enums and
``frozenset`` for flags. Records accept any missing field only if it is an option
(lowered as ``none``) or ``timestamp`` (lowered as 0): that lets one host value
serve Theater's eras, whose ``chain-event`` records differ in those fields.
"""

from __future__ import annotations

import ctypes
import struct
import sys
from typing import Any, Callable

from wasmtime import _ffi as ffi
from wasmtime.component import _types as T

VAL_SIZE = ctypes.sizeof(ffi.wasmtime_component_val_t)
ENTRY_SIZE = ctypes.sizeof(ffi.wasmtime_component_valrecord_entry)
assert VAL_SIZE == 32 and ENTRY_SIZE == 48, "unexpected wasmtime C API layout"

Lower = Callable[[Any, int], None]
Lift = Callable[[int], Any]


def _kind(name: str) -> int:
    return getattr(ffi, "WASMTIME_COMPONENT_" + name).value


K_BOOL, K_S8, K_U8, K_S16, K_U16 = (_kind(n) for n in ("BOOL", "S8", "U8", "S16", "U16"))
K_S32, K_U32, K_S64, K_U64 = (_kind(n) for n in ("S32", "U32", "S64", "U64"))
K_F32, K_F64, K_CHAR, K_STRING = (_kind(n) for n in ("F32", "F64", "CHAR", "STRING"))
K_LIST, K_RECORD, K_TUPLE, K_VARIANT = (_kind(n) for n in ("LIST", "RECORD", "TUPLE", "VARIANT"))
K_ENUM, K_OPTION, K_RESULT, K_FLAGS = (_kind(n) for n in ("ENUM", "OPTION", "RESULT", "FLAGS"))


def _cfunc(name: str, restype: Any, *argtypes: Any) -> Any:
    """A private handle on a C API function, with address-based argument types."""
    fn = ffi.dll[name]  # indexing gives a fresh object: wasmtime-py's own stays untouched
    fn.restype = restype
    fn.argtypes = list(argtypes)
    return fn


_vp, _sz = ctypes.c_void_p, ctypes.c_size_t
byte_vec_new = _cfunc("wasm_byte_vec_new", None, _vp, _sz, ctypes.c_char_p)
vallist_new_uninit = _cfunc("wasmtime_component_vallist_new_uninit", None, _vp, _sz)
valtuple_new_uninit = _cfunc("wasmtime_component_valtuple_new_uninit", None, _vp, _sz)
valrecord_new_uninit = _cfunc("wasmtime_component_valrecord_new_uninit", None, _vp, _sz)
valflags_new_uninit = _cfunc("wasmtime_component_valflags_new_uninit", None, _vp, _sz)
val_new = _cfunc("wasmtime_component_val_new", _vp, _vp)
val_delete = _cfunc("wasmtime_component_val_delete", None, _vp)

# The whole address space as one byte view: reads and writes of the C API's value slots
# become struct.unpack_from / pack_into and (strided) slice copies, several times cheaper
# than a ctypes call each. Only addresses the C API handed out are ever touched.
MEM = memoryview((ctypes.c_char * (sys.maxsize // 2)).from_address(0)).cast("B")

_VAL = struct.Struct("<B7xQQQ")  # kind, then the union's three 8-byte words
_pack_val = _VAL.pack_into
_read_pair = struct.Struct("<QQ").unpack_from  # two words: (size, data) or (flag, pointer)
_read_q = struct.Struct("<Q").unpack_from
_KIND = struct.Struct("<B").pack_into

# A zeroed slot (a bool false): what a new heap slot is allocated as, before the value
# is written into it (``val_new`` copies it).
_zero = ctypes.create_string_buffer(VAL_SIZE)
ZERO = ctypes.addressof(_zero)


def _word(addr: int) -> int:
    return _read_q(MEM, addr + 8)[0]


def _name_bytes(addr: int) -> bytes:
    """Bytes of a ``wasm_name_t`` (size, data) stored at ``addr``."""
    size, data = _read_pair(MEM, addr)
    return MEM[data:data + size].tobytes() if size else b""


def _write_name(kind: int, text: str, addr: int) -> None:
    raw = text.encode("utf-8")
    _KIND(MEM, addr, kind)
    byte_vec_new(addr + 8, len(raw), raw)


class ConversionError(TypeError):
    """A host value that does not fit the component type it is converted to."""


def _scalar(kind: int, fmt: str, check: Callable[[Any], bool], what: str) -> tuple[Lower, Lift]:
    pack = struct.Struct("<B7x" + fmt).pack_into
    unpack = struct.Struct("<" + fmt).unpack_from

    def lower(value: Any, addr: int) -> None:
        if not check(value):
            raise ConversionError(f"expected {what}, got {value!r}")
        _pack_val(MEM, addr, 0, 0, 0, 0)
        pack(MEM, addr, kind, value)

    def lift(addr: int) -> Any:
        return unpack(MEM, addr + 8)[0]

    return lower, lift


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


_SCALARS: dict[type, tuple[int, str, Callable[[Any], bool], str]] = {
    T.Bool: (K_BOOL, "?", lambda v: isinstance(v, bool), "a bool"),
    T.S8: (K_S8, "b", _is_int, "an s8"),
    T.U8: (K_U8, "B", _is_int, "a u8"),
    T.S16: (K_S16, "h", _is_int, "an s16"),
    T.U16: (K_U16, "H", _is_int, "a u16"),
    T.S32: (K_S32, "i", _is_int, "an s32"),
    T.U32: (K_U32, "I", _is_int, "a u32"),
    T.S64: (K_S64, "q", _is_int, "an s64"),
    T.U64: (K_U64, "Q", _is_int, "a u64"),
    T.F32: (K_F32, "f", lambda v: isinstance(v, float), "an f32"),
    T.F64: (K_F64, "d", lambda v: isinstance(v, float), "an f64"),
}


def codec(ty: T.ValType) -> tuple[Lower, Lift]:
    """Compile ``ty`` into its ``(lower, lift)`` pair."""
    spec = _SCALARS.get(type(ty))
    if spec is not None:
        return _scalar(*spec)
    if isinstance(ty, T.Char):
        return _char()
    if isinstance(ty, T.String):
        return _string()
    if isinstance(ty, T.ListType):
        element = ty.element
        if isinstance(element, T.U8):
            return _bytes()
        return _list(codec(element))
    if isinstance(ty, T.TupleType):
        return _tuple([codec(e) for e in ty.elements])
    if isinstance(ty, T.RecordType):
        return _record([(name, codec(t), _default_for(name, t)) for name, t in ty.fields])
    if isinstance(ty, T.OptionType):
        return _option(codec(ty.payload))
    if isinstance(ty, T.ResultType):
        ok, err = ty.ok, ty.err
        return _result(codec(ok) if ok is not None else None, codec(err) if err is not None else None)
    if isinstance(ty, T.VariantType):
        return _variant([(name, codec(t) if t is not None else None) for name, t in ty.cases])
    if isinstance(ty, T.EnumType):
        return _enum(ty.names)
    if isinstance(ty, T.FlagsType):
        return _flags(ty.names)
    raise ConversionError(f"component type {type(ty).__name__} is not supported by theater-harness")


_MISSING = object()


def _default_for(name: str, ty: T.ValType) -> Any:
    if isinstance(ty, T.OptionType):
        return None
    if name == "timestamp" and isinstance(ty, T.U64):
        return 0
    return _MISSING


def _char() -> tuple[Lower, Lift]:
    def lower(value: Any, addr: int) -> None:
        if not isinstance(value, str) or len(value) != 1:
            raise ConversionError(f"expected a one-character string, got {value!r}")
        _pack_val(MEM, addr, K_CHAR, ord(value), 0, 0)

    def lift(addr: int) -> str:
        return chr(_word(addr) & 0xFFFFFFFF)

    return lower, lift


def _string() -> tuple[Lower, Lift]:
    def lower(value: Any, addr: int) -> None:
        if not isinstance(value, str):
            raise ConversionError(f"expected a string, got {value!r}")
        _write_name(K_STRING, value, addr)

    def lift(addr: int) -> str:
        return _name_bytes(addr + 8).decode("utf-8")

    return lower, lift


def _array(alloc: Any, kind: int, count: int, addr: int) -> int:
    """Make the slot at ``addr`` a ``kind`` value owning a new array of ``count`` slots
    (the allocator writes the (size, data) pair straight into the slot); returns data."""
    _KIND(MEM, addr, kind)
    alloc(addr + 8, count)
    return _read_q(MEM, addr + 16)[0]


def _bytes() -> tuple[Lower, Lift]:
    """``list<u8>``: two strided slice copies each way instead of one conversion per byte."""
    kinds: dict[int, bytes] = {}

    def lower(value: Any, addr: int) -> None:
        if not isinstance(value, (bytes, bytearray, memoryview)):
            raise ConversionError(f"expected bytes, got {type(value).__name__}")
        n = len(value)
        data = _array(vallist_new_uninit, K_LIST, n, addr)
        if n:
            end = data + n * VAL_SIZE
            pattern = kinds.get(n)
            if pattern is None:
                pattern = bytes([K_U8]) * n
                if n <= 4096:
                    kinds[n] = pattern
            MEM[data:end:VAL_SIZE] = pattern
            MEM[data + 8:end:VAL_SIZE] = value

    def lift(addr: int) -> bytes:
        n, data = _read_pair(MEM, addr + 8)
        if not n:
            return b""
        return MEM[data + 8:data + n * VAL_SIZE:VAL_SIZE].tobytes()

    return lower, lift


def _list(element: tuple[Lower, Lift]) -> tuple[Lower, Lift]:
    lower_e, lift_e = element

    def lower(value: Any, addr: int) -> None:
        if not isinstance(value, (list, tuple)):
            raise ConversionError(f"expected a list, got {type(value).__name__}")
        data = _array(vallist_new_uninit, K_LIST, len(value), addr)
        for i, item in enumerate(value):
            lower_e(item, data + i * VAL_SIZE)

    def lift(addr: int) -> list:
        n, data = _read_pair(MEM, addr + 8)
        return [lift_e(data + i * VAL_SIZE) for i in range(n)]

    return lower, lift


def _tuple(elements: list[tuple[Lower, Lift]]) -> tuple[Lower, Lift]:
    count = len(elements)
    parts = [(low, lf, i * VAL_SIZE) for i, (low, lf) in enumerate(elements)]

    def lower(value: Any, addr: int) -> None:
        if not isinstance(value, (tuple, list)) or len(value) != count:
            raise ConversionError(f"expected a tuple of {count}, got {value!r}")
        data = _array(valtuple_new_uninit, K_TUPLE, count, addr)
        for (low, _, off), item in zip(parts, value):
            low(item, data + off)

    def lift(addr: int) -> tuple:
        data = _read_q(MEM, addr + 16)[0]
        return tuple([lf(data + off) for _, lf, off in parts])

    return lower, lift


def _record(fields: list[tuple[str, tuple[Lower, Lift], Any]]) -> tuple[Lower, Lift]:
    count = len(fields)
    names = [name.encode("utf-8") for name, _, _ in fields]

    def lower(value: Any, addr: int) -> None:
        if not isinstance(value, dict):
            raise ConversionError(f"expected a dict for a record, got {type(value).__name__}")
        items = []
        for name, _, default in fields:
            item = value.get(name, default)
            if item is _MISSING:
                raise ConversionError(f"record field '{name}' is missing")
            items.append(item)
        data = _array(valrecord_new_uninit, K_RECORD, count, addr)
        for i, ((_, (low, _), _), raw, item) in enumerate(zip(fields, names, items)):
            entry = data + i * ENTRY_SIZE
            byte_vec_new(entry, len(raw), raw)
            low(item, entry + 16)

    def lift(addr: int) -> dict:
        data = _read_q(MEM, addr + 16)[0]
        return {name: lf(data + i * ENTRY_SIZE + 16) for i, (name, (_, lf), _) in enumerate(fields)}

    return lower, lift


def _box(low: Lower, value: Any) -> int:
    """Lower ``value`` into a fresh heap slot (as option/result/variant payloads are).

    The slot is allocated first (a copy of a zeroed one) and the value written straight
    into it, so that nested payloads, lowered while an outer value is half-built, never
    share a scratch slot."""
    ptr = val_new(ZERO)
    low(value, ptr)
    return ptr


def _option(payload: tuple[Lower, Lift]) -> tuple[Lower, Lift]:
    low_p, lift_p = payload

    def lower(value: Any, addr: int) -> None:
        _pack_val(MEM, addr, K_OPTION, 0 if value is None else _box(low_p, value), 0, 0)

    def lift(addr: int) -> Any:
        ptr = _read_q(MEM, addr + 8)[0]
        return None if not ptr else lift_p(ptr)

    return lower, lift


def _result(ok: tuple[Lower, Lift] | None, err: tuple[Lower, Lift] | None) -> tuple[Lower, Lift]:
    def lower(value: Any, addr: int) -> None:
        if not (isinstance(value, tuple) and len(value) == 2 and isinstance(value[0], bool)):
            raise ConversionError(f"expected (True, ok) or (False, err) for a result, got {value!r}")
        is_ok, payload = value
        case = ok if is_ok else err
        ptr = _box(case[0], payload) if case is not None else 0
        _pack_val(MEM, addr, K_RESULT, 1 if is_ok else 0, ptr, 0)

    def lift(addr: int) -> tuple[bool, Any]:
        flag, ptr = _read_pair(MEM, addr + 8)
        is_ok = (flag & 0xFF) != 0
        case = ok if is_ok else err
        return (is_ok, case[1](ptr) if case is not None and ptr else None)

    return lower, lift


def _variant(cases: list[tuple[str, tuple[Lower, Lift] | None]]) -> tuple[Lower, Lift]:
    by_name = dict(cases)

    def lower(value: Any, addr: int) -> None:
        if not (isinstance(value, tuple) and len(value) == 2 and value[0] in by_name):
            raise ConversionError(f"expected (case, payload) with case in {list(by_name)}, got {value!r}")
        name, payload = value
        case = by_name[name]
        ptr = _box(case[0], payload) if case is not None else 0
        _write_name(K_VARIANT, name, addr)
        struct.pack_into("<Q", MEM, addr + 24, ptr)

    def lift(addr: int) -> tuple[str, Any]:
        name = _name_bytes(addr + 8).decode("utf-8")
        ptr = _read_q(MEM, addr + 24)[0]
        case = by_name[name]
        return (name, case[1](ptr) if case is not None and ptr else None)

    return lower, lift


def _enum(names: list[str]) -> tuple[Lower, Lift]:
    valid = frozenset(names)

    def lower(value: Any, addr: int) -> None:
        if value not in valid:
            raise ConversionError(f"expected one of {names}, got {value!r}")
        _write_name(K_ENUM, value, addr)

    def lift(addr: int) -> str:
        return _name_bytes(addr + 8).decode("utf-8")

    return lower, lift


def _flags(names: list[str]) -> tuple[Lower, Lift]:
    order = {n: i for i, n in enumerate(names)}

    def lower(value: Any, addr: int) -> None:
        chosen = sorted(value, key=lambda n: order[n])
        data = _array(valflags_new_uninit, K_FLAGS, len(chosen), addr)
        for i, name in enumerate(chosen):
            raw = name.encode("utf-8")
            byte_vec_new(data + i * 16, len(raw), raw)

    def lift(addr: int) -> frozenset:
        n, data = _read_pair(MEM, addr + 8)
        return frozenset(_name_bytes(data + i * 16).decode("utf-8") for i in range(n))

    return lower, lift
