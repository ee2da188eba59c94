"""The Python value model of CGRF v2 values (PACKR.md section 2), and ``TypedState``.

One class per CGRF node kind; every class has ``kind`` (its node tag) and ``type_tag()``
(the encoded type-tag of a value of that class, as found inside List, Array, Option and
Result payloads). Format decisions:

- **Scalars subclass Python types**, so ``S64(42) == 42`` and ``String("a") == "a"``:
  ``Bool`` (an ``int`` of 0/1, since ``bool`` cannot be subclassed), the eight integer
  classes and ``Flags`` (a u64 mask) subclass ``int`` and check their range;
  ``F32``/``F64`` subclass ``float`` (an ``F32`` is rounded to f32 precision when made,
  so it round-trips exactly); ``Char`` and ``String`` subclass ``str`` (no surrogates:
  CGRF strings are strict UTF-8); ``Bytes`` subclasses ``bytes`` and is ``list<u8>``.
- **Type-tags are carried as their exact encoded bytes** (``b"\\x07\\x0c"`` is
  ``list<u8>``) so that decode then encode reproduces a buffer byte for byte. They are
  labels (PACKR.md 2.4): guests emit placeholders, so nothing checks them against the
  contents. Two rules are structural, not labels: an ``Array``'s element tag must be a
  fixed-width primitive, and a ``List``'s must not be one (such lists are Arrays).
- **Equality means "same canonical encoding"**: values of different kinds are never
  equal (``S64(1) != U64(1)``, ``Char("a") != String("a")``), compound values compare
  their tags and type/case/field names too, and only scalars, ``String`` and ``Bytes``
  also equal plain Python values. Floats keep IEEE semantics (``nan != nan``). Values
  are immutable and hashable; equality and hashing of compound values recurse, so they
  are for values nested less deeply than Python's recursion limit (the codec and
  ``render``/``to_python``/``to_json`` have no such limit).
- **repr is WAVE** (the WebAssembly value text format): ``{count: 3}``, ``some(1)``,
  ``none``, ``ok("x")``, ``err("boom")``, ``case(payload)``, ``[1, 2]``, ``("a", 1)``,
  ``'c'``; record and variant type names are not shown. ``Flags`` render as their mask.

``TypedState`` is a packr actor's state as the host holds it: ``bytes`` that are the
canonical CGRF encoding of ``.value``, so states compare, hash and digest as bytes.
"""

from __future__ import annotations

import math
import operator
import struct
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, ClassVar

# Node kinds (PACKR.md 2.3). A primitive's type-tag byte equals its node kind.
K_BOOL, K_S32, K_S64, K_F32, K_F64, K_STRING = 0x01, 0x02, 0x03, 0x04, 0x05, 0x06
K_LIST, K_VARIANT, K_RECORD, K_OPTION, K_TUPLE = 0x07, 0x08, 0x09, 0x0A, 0x0B
K_U8, K_U16, K_U32, K_U64, K_S8, K_S16 = 0x0C, 0x0D, 0x0E, 0x0F, 0x10, 0x11
K_CHAR, K_FLAGS, K_RESULT, K_ARRAY = 0x12, 0x13, 0x14, 0x15

KIND_NAMES: dict[int, str] = {
    K_BOOL: "Bool", K_S32: "S32", K_S64: "S64", K_F32: "F32", K_F64: "F64", K_STRING: "String",
    K_LIST: "List", K_VARIANT: "Variant", K_RECORD: "Record", K_OPTION: "Option", K_TUPLE: "Tuple",
    K_U8: "U8", K_U16: "U16", K_U32: "U32", K_U64: "U64", K_S8: "S8", K_S16: "S16", K_CHAR: "Char",
    K_FLAGS: "Flags", K_RESULT: "Result", K_ARRAY: "Array",
}
"""Node kind -> name, for messages; every byte 0x01-0x15 is a valid node kind."""

TAG_NAMES: dict[int, str] = {
    K_BOOL: "bool", K_S32: "s32", K_S64: "s64", K_F32: "f32", K_F64: "f64", K_STRING: "string",
    K_LIST: "list", K_VARIANT: "variant", K_RECORD: "record", K_OPTION: "option", K_TUPLE: "tuple",
    K_U8: "u8", K_U16: "u16", K_U32: "u32", K_U64: "u64", K_S8: "s8", K_S16: "s16", K_CHAR: "char",
    K_FLAGS: "flags", K_RESULT: "result",
}
"""Type-tag byte -> name; every byte 0x01-0x14 is a valid first tag byte."""

FIXED_WIDTH: dict[int, int] = {
    K_BOOL: 1, K_U8: 1, K_S8: 1, K_U16: 2, K_S16: 2, K_U32: 4, K_S32: 4, K_F32: 4, K_CHAR: 4,
    K_U64: 8, K_S64: 8, K_F64: 8, K_FLAGS: 8,
}
"""Tag byte of a fixed-width primitive -> its width in an Array."""

FIXED_WIDTH_NAMES = "bool, u8, s8, u16, s16, u32, s32, f32, char, u64, s64, f64, flags"
_PRIMITIVE_TAGS = frozenset(FIXED_WIDTH) | {K_STRING}
_U32 = struct.Struct("<I")


class TagError(ValueError):
    """A malformed type-tag; ``offset`` is the byte where the problem is."""

    def __init__(self, offset: int, problem: str):
        super().__init__(problem)
        self.offset = offset


def tag_end(buf: bytes, pos: int, end: int) -> int:
    """The offset just past the well-formed type-tag that starts at ``buf[pos]`` and must
    end by ``end``. Iterative, so a deeply nested tag cannot exhaust the Python stack;
    record and variant names must be UTF-8. Raises ``TagError``."""
    if pos < end and buf[pos] in _PRIMITIVE_TAGS:
        return pos + 1
    pending = 1
    while pending:
        if pos >= end:
            raise TagError(pos, "the type tag is cut off (more tag bytes expected)")
        b = buf[pos]
        pending -= 1
        if b in _PRIMITIVE_TAGS:
            pos += 1
        elif b == K_LIST or b == K_OPTION:
            pos += 1
            pending += 1
        elif b == K_RESULT:
            pos += 1
            pending += 2
        elif b == K_TUPLE or b == K_RECORD or b == K_VARIANT:
            if pos + 5 > end:
                raise TagError(pos + 1, f"the {TAG_NAMES[b]} type tag is cut off inside its u32")
            n = _U32.unpack_from(buf, pos + 1)[0]
            pos += 5
            if b == K_TUPLE:
                pending += n
            else:
                if pos + n > end:
                    raise TagError(pos, f"the {TAG_NAMES[b]} type tag's name of {n} bytes is cut off")
                try:
                    buf[pos:pos + n].decode()
                except UnicodeDecodeError as e:
                    raise TagError(pos + e.start, f"invalid UTF-8 in a {TAG_NAMES[b]} type tag's name ({e.reason})") from None
                pos += n
        else:
            raise TagError(pos, f"unknown type tag byte 0x{b:02x} (valid: 0x01-0x14)")
    return pos


def _checked_tag(tag: object, what: str) -> bytes:
    """``tag`` as bytes, if it is exactly one well-formed type-tag."""
    if not isinstance(tag, (bytes, bytearray)):
        raise TypeError(f"{what} must be the encoded type tag as bytes (e.g. b'\\x06' for string), got {type(tag).__name__}")
    tag = bytes(tag)
    try:
        end = tag_end(tag, 0, len(tag))
    except TagError as e:
        raise ValueError(f"{what} {tag!r} is not a CGRF type tag: {e} (at byte {e.offset})") from None
    if end != len(tag):
        raise ValueError(f"{what} {tag!r} is not a CGRF type tag: {len(tag) - end} bytes follow the tag")
    return tag


# ---------------------------------------------------------------------------------------
# Value classes


class Value:
    """Base class of every CGRF value."""

    __slots__ = ()
    kind: ClassVar[int]

    def type_tag(self) -> bytes:
        """The encoded type-tag describing this value."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return render(self)


class _Scalar(Value):
    """A Value that is also a plain Python value; equal to that plain value, but not to
    a Value of another kind."""

    __slots__ = ()
    _base: ClassVar[Any]
    _tag: ClassVar[bytes]

    def type_tag(self) -> bytes:
        return self._tag

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Value) and other.kind != self.kind:
            return False
        return self._base.__eq__(self, other)

    def __ne__(self, other: object) -> bool:
        eq = self.__eq__(other)
        return eq if eq is NotImplemented else not eq

    def __reduce__(self) -> tuple:
        return type(self), (self._base(self),)


class _Int(_Scalar, int):
    """An integer kind: each subclass names its node kind and its range in its class line."""

    __slots__ = ()
    _base = int
    _lo: ClassVar[int]
    _hi: ClassVar[int]
    __hash__ = int.__hash__

    def __init_subclass__(cls, *, kind: int, lo: int, hi: int, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.kind, cls._tag, cls._lo, cls._hi = kind, bytes([kind]), lo, hi

    def __new__(cls, value: Any = 0) -> Any:
        v = operator.index(value)
        if not cls._lo <= v <= cls._hi:
            raise ValueError(f"{cls.__name__} value {v} is out of range [{cls._lo}, {cls._hi}]")
        return int.__new__(cls, v)


class Bool(_Int, kind=K_BOOL, lo=0, hi=1):
    """``bool``: an int that is 0 or 1 (``bool`` itself cannot be subclassed)."""

    __slots__ = ()


class S8(_Int, kind=K_S8, lo=-(1 << 7), hi=(1 << 7) - 1):
    """``s8``."""

    __slots__ = ()


class S16(_Int, kind=K_S16, lo=-(1 << 15), hi=(1 << 15) - 1):
    """``s16``."""

    __slots__ = ()


class S32(_Int, kind=K_S32, lo=-(1 << 31), hi=(1 << 31) - 1):
    """``s32``."""

    __slots__ = ()


class S64(_Int, kind=K_S64, lo=-(1 << 63), hi=(1 << 63) - 1):
    """``s64``."""

    __slots__ = ()


class U8(_Int, kind=K_U8, lo=0, hi=(1 << 8) - 1):
    """``u8``."""

    __slots__ = ()


class U16(_Int, kind=K_U16, lo=0, hi=(1 << 16) - 1):
    """``u16``."""

    __slots__ = ()


class U32(_Int, kind=K_U32, lo=0, hi=(1 << 32) - 1):
    """``u32``."""

    __slots__ = ()


class U64(_Int, kind=K_U64, lo=0, hi=(1 << 64) - 1):
    """``u64``."""

    __slots__ = ()


class Flags(_Int, kind=K_FLAGS, lo=0, hi=(1 << 64) - 1):
    """``flags``: a u64 bit mask (CGRF carries no flag names)."""

    __slots__ = ()


class _Float(_Scalar, float):
    __slots__ = ()
    _base = float
    __hash__ = float.__hash__


class F64(_Float):
    """``f64``."""

    __slots__ = ()
    kind = K_F64
    _tag = bytes([K_F64])

    def __new__(cls, value: Any = 0.0) -> F64:
        if not isinstance(value, (int, float)):
            raise TypeError(f"F64 takes an int or float, got {type(value).__name__}")
        try:
            return float.__new__(cls, value)
        except OverflowError:
            raise ValueError(f"F64 value {value!r} is out of range for f64") from None


_F32 = struct.Struct("<f")


class F32(_Float):
    """``f32``: rounded to f32 precision when made, so it round-trips exactly."""

    __slots__ = ()
    kind = K_F32
    _tag = bytes([K_F32])

    def __new__(cls, value: Any = 0.0) -> F32:
        if not isinstance(value, (int, float)):
            raise TypeError(f"F32 takes an int or float, got {type(value).__name__}")
        try:
            rounded = _F32.unpack(_F32.pack(value))[0]
        except OverflowError:
            raise ValueError(f"F32 value {value!r} is out of range for f32 "
                             f"(finite values up to ±3.4028234663852886e+38, or inf/nan)") from None
        return float.__new__(cls, rounded)


class Char(_Scalar, str):
    """``char``: one Unicode scalar value (not a surrogate)."""

    __slots__ = ()
    _base = str
    kind = K_CHAR
    _tag = bytes([K_CHAR])
    __hash__ = str.__hash__

    def __new__(cls, value: Any) -> Char:
        if not isinstance(value, str) or len(value) != 1:
            raise ValueError(f"Char takes a str of one character, got {value!r}")
        if 0xD800 <= ord(value) < 0xE000:
            raise ValueError(f"Char {value!r} is a surrogate, not a Unicode scalar value")
        return str.__new__(cls, value)


class String(_Scalar, str):
    """``string``: text without surrogates (CGRF strings are strict UTF-8)."""

    __slots__ = ()
    _base = str
    kind = K_STRING
    _tag = bytes([K_STRING])
    __hash__ = str.__hash__

    def __new__(cls, value: Any = "") -> String:
        if not isinstance(value, str):
            raise TypeError(f"String takes a str, got {type(value).__name__}")
        try:
            value.encode()
        except UnicodeEncodeError as e:
            raise ValueError(f"String contains a surrogate at index {e.start}: CGRF strings are UTF-8") from None
        return str.__new__(cls, value)


class Bytes(_Scalar, bytes):
    """``list<u8>``, encoded as an Array node of u8."""

    __slots__ = ()
    _base = bytes
    kind = K_ARRAY
    _tag = b"\x07\x0c"
    elem_tag = b"\x0c"
    __hash__ = bytes.__hash__

    def __new__(cls, value: Any = b"") -> Bytes:
        if isinstance(value, (str, int)):
            raise TypeError(f"Bytes takes bytes or an iterable of ints, got {type(value).__name__}")
        return bytes.__new__(cls, value)


SCALAR_CLASSES: dict[int, type] = {
    K_BOOL: Bool, K_S8: S8, K_S16: S16, K_S32: S32, K_S64: S64, K_U8: U8, K_U16: U16, K_U32: U32, K_U64: U64,
    K_FLAGS: Flags, K_F32: F32, K_F64: F64, K_CHAR: Char, K_STRING: String,
}
"""Primitive tag byte -> its value class."""


class _Listlike(Value, tuple):
    """What ``Array`` and ``List`` share: a tuple of items with an element type-tag
    (``_elem``, in the instance dict: a tuple subclass cannot have slots)."""

    _elem: bytes

    @property
    def elem_tag(self) -> bytes:
        """The element type-tag."""
        return self._elem

    def type_tag(self) -> bytes:
        return b"\x07" + self._elem

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and self._elem == other._elem and tuple.__eq__(self, other)

    def __ne__(self, other: object) -> bool:
        return not self.__eq__(other)

    def __hash__(self) -> int:
        return hash((self.kind, self._elem, tuple.__hash__(self)))

    def __reduce__(self) -> tuple:
        return type(self), (self._elem, tuple(self))


class Array(_Listlike):
    """``list<T>`` for a fixed-width primitive ``T`` other than u8 (that is ``Bytes``):
    ``Array(elem_tag, items)``, the items coerced to ``T``'s class.
    ``Array(b"\\x0c", items)`` returns ``Bytes``."""

    kind = K_ARRAY

    def __new__(cls, elem_tag: bytes, items: Iterable[Any] = ()) -> Any:
        elem_tag = _checked_tag(elem_tag, "Array elem_tag")
        if len(elem_tag) != 1 or elem_tag[0] not in FIXED_WIDTH:
            raise ValueError(f"Array elem_tag {elem_tag!r} is not a fixed-width primitive (valid: {FIXED_WIDTH_NAMES}); "
                             f"use List for other element types")
        if elem_tag[0] == K_U8:
            return Bytes(items)
        scalar = SCALAR_CLASSES[elem_tag[0]]
        return _array(elem_tag, tuple(x if type(x) is scalar else scalar(x) for x in items))



class List(_Listlike):
    """``list<T>`` of compound elements: ``List(elem_tag, items)``. Items may be of mixed
    kinds (the tag is a label); a fixed-width primitive ``elem_tag`` is refused (use
    ``Array``)."""

    kind = K_LIST

    def __new__(cls, elem_tag: bytes, items: Iterable[Any] = ()) -> List:
        elem_tag = _checked_tag(elem_tag, "List elem_tag")
        if elem_tag[0] in FIXED_WIDTH:
            raise ValueError(f"List elem_tag {elem_tag!r} ({TAG_NAMES[elem_tag[0]]}) is a fixed-width primitive: "
                             f"such lists are Arrays (use Array, or Bytes for u8)")
        return _list(elem_tag, tuple(map(to_value, items)))



class Tuple(Value, tuple):
    """``tuple<...>``: ``Tuple(items)``."""

    __slots__ = ()
    kind = K_TUPLE

    def __new__(cls, items: Iterable[Any] = ()) -> Tuple:
        return tuple.__new__(cls, map(to_value, items))

    def type_tag(self) -> bytes:
        # Pre-order, without recursion: a tuple's tag nests its items' tags.
        out = bytearray()
        stack: list[Value] = [self]
        while stack:
            v = stack.pop()
            if type(v) is Tuple:
                out += b"\x0b" + _U32.pack(len(v))
                stack.extend(reversed(v))
            else:
                out += v.type_tag()
        return bytes(out)

    def __eq__(self, other: object) -> bool:
        return type(other) is Tuple and tuple.__eq__(self, other)

    def __ne__(self, other: object) -> bool:
        return not self.__eq__(other)

    __hash__ = tuple.__hash__

    def __reduce__(self) -> tuple:
        return Tuple, (tuple(self),)


def _named_tag(kind: int, name: str) -> bytes:
    raw = name.encode()
    return bytes([kind]) + _U32.pack(len(raw)) + raw


class Record(Value):
    """``record``: ``Record(name, fields)``, fields a mapping or (name, value) pairs, in
    declaration order (the wire order). A read-only mapping: ``r["count"]``, ``keys()``,
    ``items()``, ``len``, ``iter``; ``.name`` and ``.fields`` (a tuple of pairs)."""

    __slots__ = ("_name", "_d")
    kind = K_RECORD

    def __init__(self, name: str, fields: Mapping[str, Any] | Iterable[tuple[str, Any]] = ()):
        if not isinstance(name, str):
            raise TypeError(f"Record name must be a str, got {type(name).__name__}")
        pairs = fields.items() if isinstance(fields, Mapping) else fields
        d: dict[str, Value] = {}
        for key, value in pairs:
            if not isinstance(key, str):
                raise TypeError(f"Record field names must be str, got {type(key).__name__} {key!r}")
            key = str(key)  # a plain str, also when given a String
            if key in d:
                raise ValueError(f"Record field {key!r} given twice")
            d[key] = to_value(value)
        self._name = str(name)
        self._d = d

    @property
    def name(self) -> str:
        """The record's type name (carried on the wire, not checked)."""
        return self._name

    @property
    def fields(self) -> tuple[tuple[str, Value], ...]:
        """The (field name, value) pairs in order."""
        return tuple(self._d.items())

    def type_tag(self) -> bytes:
        return _named_tag(K_RECORD, self._name)

    def __getitem__(self, key: str) -> Value:
        return self._d[key]

    def get(self, key: str, default: Any = None) -> Any:
        return self._d.get(key, default)

    def __contains__(self, key: object) -> bool:
        return key in self._d

    def __iter__(self) -> Iterator[str]:
        return iter(self._d)

    def __len__(self) -> int:
        return len(self._d)

    def keys(self) -> Any:
        return self._d.keys()

    def values(self) -> Any:
        return self._d.values()

    def items(self) -> Any:
        return self._d.items()

    def __eq__(self, other: object) -> bool:
        return (type(other) is Record and self._name == other._name
                and tuple(self._d.items()) == tuple(other._d.items()))

    def __ne__(self, other: object) -> bool:
        return not self.__eq__(other)

    def __hash__(self) -> int:
        return hash((K_RECORD, self._name, tuple(self._d.items())))

    def __reduce__(self) -> tuple:
        return Record, (self._name, tuple(self._d.items()))


Mapping.register(Record)


class Variant(Value):
    """``variant`` (and ``enum``, a variant without payload):
    ``Variant(type_name, case, tag, payload=())``, payload a tuple or list of values
    (CGRF allows more than one)."""

    __slots__ = ("_type_name", "_case", "_tag", "_payload")
    kind = K_VARIANT

    def __init__(self, type_name: str, case: str, tag: int, payload: tuple | list = ()):
        if not isinstance(type_name, str) or not isinstance(case, str):
            raise TypeError("Variant type_name and case must be str")
        if type(payload) not in (tuple, list):
            raise TypeError(f"Variant payload must be a tuple or list of values (use (x,) for one), "
                            f"got {type(payload).__name__}")
        tag = operator.index(tag)
        if not 0 <= tag <= 0xFFFFFFFF:
            raise ValueError(f"Variant tag {tag} is out of range [0, 4294967295]")
        self._type_name = str(type_name)
        self._case = str(case)
        self._tag = tag
        self._payload = tuple(map(to_value, payload))

    @property
    def type_name(self) -> str:
        return self._type_name

    @property
    def case(self) -> str:
        return self._case

    @property
    def tag(self) -> int:
        """The case's index in the declaration (a u32 on the wire)."""
        return self._tag

    @property
    def payload(self) -> tuple[Value, ...]:
        return self._payload

    def type_tag(self) -> bytes:
        return _named_tag(K_VARIANT, self._type_name)

    def __eq__(self, other: object) -> bool:
        return (type(other) is Variant and self._tag == other._tag and self._case == other._case
                and self._type_name == other._type_name and self._payload == other._payload)

    def __ne__(self, other: object) -> bool:
        return not self.__eq__(other)

    def __hash__(self) -> int:
        return hash((K_VARIANT, self._type_name, self._case, self._tag, self._payload))

    def __reduce__(self) -> tuple:
        return Variant, (self._type_name, self._case, self._tag, self._payload)


class Option(Value):
    """``option<T>``: ``Option(inner_tag, value)``, ``value`` None for ``none``
    (``some(none)`` is ``Option(tag, NONE)``)."""

    __slots__ = ("_inner", "_value")
    kind = K_OPTION

    def __init__(self, inner_tag: bytes, value: Any = None):
        self._inner = _checked_tag(inner_tag, "Option inner_tag")
        self._value = None if value is None else to_value(value)

    @property
    def inner_tag(self) -> bytes:
        return self._inner

    @property
    def value(self) -> Value | None:
        """The payload of ``some``, or None."""
        return self._value

    @property
    def is_some(self) -> bool:
        return self._value is not None

    def type_tag(self) -> bytes:
        return b"\x0a" + self._inner

    def __eq__(self, other: object) -> bool:
        return type(other) is Option and self._inner == other._inner and self._value == other._value

    def __ne__(self, other: object) -> bool:
        return not self.__eq__(other)

    def __hash__(self) -> int:
        return hash((K_OPTION, self._inner, self._value))

    def __reduce__(self) -> tuple:
        return Option, (self._inner, self._value)


class Result(Value):
    """``result<T, E>``: ``Result(is_ok, value, ok_tag=b"\\x01", err_tag=b"\\x06")``.
    CGRF results always carry a payload (``tuple()`` for a unit ``ok``); the default
    tags are TH's ``result<_, string>`` (``_`` hashes and is tagged as bool)."""

    __slots__ = ("_ok", "_value", "_ok_tag", "_err_tag")
    kind = K_RESULT

    def __init__(self, is_ok: bool, value: Any, ok_tag: bytes = b"\x01", err_tag: bytes = b"\x06"):
        if type(is_ok) is not bool:
            raise TypeError(f"Result is_ok must be a bool, got {type(is_ok).__name__}")
        self._ok = is_ok
        self._value = to_value(value)
        self._ok_tag = _checked_tag(ok_tag, "Result ok_tag")
        self._err_tag = _checked_tag(err_tag, "Result err_tag")

    @property
    def is_ok(self) -> bool:
        return self._ok

    @property
    def value(self) -> Value:
        """The ok or the err payload."""
        return self._value

    @property
    def ok_tag(self) -> bytes:
        return self._ok_tag

    @property
    def err_tag(self) -> bytes:
        return self._err_tag

    def type_tag(self) -> bytes:
        return b"\x14" + self._ok_tag + self._err_tag

    def __eq__(self, other: object) -> bool:
        return (type(other) is Result and self._ok == other._ok and self._ok_tag == other._ok_tag
                and self._err_tag == other._err_tag and self._value == other._value)

    def __ne__(self, other: object) -> bool:
        return not self.__eq__(other)

    def __hash__(self) -> int:
        return hash((K_RESULT, self._ok, self._ok_tag, self._err_tag, self._value))

    def __reduce__(self) -> tuple:
        return Result, (self._ok, self._value, self._ok_tag, self._err_tag)


# Unchecked constructors for the decoder, whose input is already validated.

def _array(elem_tag: bytes, items: tuple) -> Array:
    a = tuple.__new__(Array, items)
    a._elem = elem_tag
    return a


def _list(elem_tag: bytes, items: Iterable[Value]) -> List:
    v = tuple.__new__(List, items)
    v._elem = elem_tag
    return v


def _record(name: str, fields: dict[str, Value]) -> Record:
    r = object.__new__(Record)
    r._name = name
    r._d = fields
    return r


def _variant(type_name: str, case: str, tag: int, payload: tuple) -> Variant:
    v = object.__new__(Variant)
    v._type_name = type_name
    v._case = case
    v._tag = tag
    v._payload = payload
    return v


def _option(inner_tag: bytes, value: Value | None) -> Option:
    o = object.__new__(Option)
    o._inner = inner_tag
    o._value = value
    return o


def _result(is_ok: bool, value: Value, ok_tag: bytes, err_tag: bytes) -> Result:
    r = object.__new__(Result)
    r._ok = is_ok
    r._value = value
    r._ok_tag = ok_tag
    r._err_tag = err_tag
    return r


NONE = _option(b"\x01", None)
"""``none``, tagged as TH tags it (bool is None's placeholder type)."""


# ---------------------------------------------------------------------------------------
# Conversions


def to_value(x: Any) -> Value:
    """Plain Python -> Value. A Value is returned as is. ``bool`` -> Bool, ``int`` -> S64,
    ``float`` -> F64, ``str`` -> String, ``bytes``/``bytearray``/``memoryview`` -> Bytes,
    ``None`` -> ``NONE``, ``tuple`` -> Tuple, ``dict`` (str keys) -> ``Record("", ...)``,
    ``list`` -> an Array when every item converts to one fixed-width scalar class (so
    plain ints make ``list<s64>`` and u8 items make Bytes), else a List tagged with the
    items' common type-tag, or with string when they have none (packr's placeholder for
    mixed lists; also the tag of the empty list)."""
    if isinstance(x, Value):
        return x
    t = type(x)
    if t is bool:
        return int.__new__(Bool, x)
    if t is int:
        return S64(x)
    if t is float:
        return float.__new__(F64, x)
    if t is str:
        return String(x)
    if t is tuple:
        return tuple.__new__(Tuple, map(to_value, x))
    if t is list:
        items = tuple(map(to_value, x))
        if not items:
            return _list(b"\x06", ())
        first = type(items[0])
        if first.kind in FIXED_WIDTH and all(type(i) is first for i in items):
            if first is U8:
                return bytes.__new__(Bytes, items)
            return _array(first._tag, items)
        tag = items[0].type_tag()
        if tag[0] in FIXED_WIDTH or any(i.type_tag() != tag for i in items):
            tag = b"\x06"
        return _list(tag, items)
    if t is dict:
        return Record("", x)
    if x is None:
        return NONE
    if isinstance(x, (bytes, bytearray, memoryview)):
        return bytes.__new__(Bytes, x)
    raise TypeError(f"cannot convert {t.__name__} to a CGRF value (accepted: a Value, bool, int, float, str, "
                    f"bytes, bytearray, memoryview, None, tuple, list, dict with str keys)")


def _children(v: Value) -> tuple[Value, ...] | None:
    """The child values of a compound value, None for leaves (scalars, Bytes, Array)."""
    t = type(v)
    if t is Tuple or t is List:
        return v  # type: ignore[return-value]
    if t is Record:
        return tuple(v._d.values())  # type: ignore[attr-defined]
    if t is Variant:
        return v._payload  # type: ignore[attr-defined]
    if t is Option:
        return () if v._value is None else (v._value,)  # type: ignore[attr-defined]
    if t is Result:
        return (v._value,)  # type: ignore[attr-defined]
    return None


def fold(root: Value, leaf: Callable[[Value], Any], node: Callable[[Value, list], Any]) -> Any:
    """Post-order fold over a value without recursion: ``leaf(v)`` for scalars, Bytes and
    Arrays, ``node(v, child_results)`` for compound values (children in wire order)."""
    results: list[Any] = []
    stack: list[Any] = [root]
    while stack:
        v = stack.pop()
        if type(v) is tuple:  # (compound value, child count): its children are done
            v, n = v
            args = results[len(results) - n:]
            del results[len(results) - n:]
            results.append(node(v, args))
            continue
        kids = _children(v)
        if kids is None:
            results.append(leaf(v))
        else:
            stack.append((v, len(kids)))
            stack.extend(reversed(kids))
    return results[0]


def _escapes(quote: str) -> dict[int, str]:
    table = {c: f"\\u{{{c:x}}}" for c in [*range(0x20), 0x7F]}
    table.update({ord("\\"): "\\\\", ord("\n"): "\\n", ord("\r"): "\\r", ord("\t"): "\\t", ord(quote): "\\" + quote})
    return table


_STRING_ESCAPES, _CHAR_ESCAPES = _escapes('"'), _escapes("'")


def _float_text(x: float, f32: bool) -> str:
    if math.isnan(x):
        return "nan"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    if f32:  # the shortest decimal that rounds to the same f32 (9 digits always do)
        for digits in range(1, 9):
            text = f"{x:.{digits}g}"
            try:
                if _F32.unpack(_F32.pack(float(text)))[0] == x:
                    return repr(float(text))
            except OverflowError:  # rounded past the largest f32
                continue
        return repr(float(f"{x:.9g}"))
    return float.__repr__(x)


def _render_leaf(v: Value) -> str:
    t = type(v)
    if t is Bool:
        return "true" if v else "false"
    if t is String:
        return '"' + v.translate(_STRING_ESCAPES) + '"'  # type: ignore[attr-defined]
    if t is Char:
        return "'" + v.translate(_CHAR_ESCAPES) + "'"  # type: ignore[attr-defined]
    if t is F64 or t is F32:
        return _float_text(v, t is F32)  # type: ignore[arg-type]
    if t is Bytes or t is Array:
        return "[" + ", ".join(map(_render_leaf, v) if t is Array else map(str, v)) + "]"  # type: ignore[call-overload]
    return str(int(v))  # type: ignore[call-overload]


def _render_tokens(v: Value, kids: tuple[Value, ...]) -> list[Any]:
    """A compound value's text as literal strings (plain ``str``) around its children."""
    t = type(v)
    if t is Option:
        return ["some(", kids[0], ")"] if kids else ["none"]
    if t is Result:
        return ["ok(" if v.is_ok else "err(", kids[0], ")"]  # type: ignore[attr-defined]
    if t is Variant:
        if not kids:
            return [v.case]  # type: ignore[attr-defined]
        opening, closing = v.case + "(", ")"  # type: ignore[attr-defined]
    else:
        opening, closing = ("[", "]") if t is List else ("(", ")") if t is Tuple else ("{", "}")
    tokens: list[Any] = [opening]
    labels = [f"{k}: " for k in v] if t is Record else None  # type: ignore[attr-defined]
    for i, kid in enumerate(kids):
        if i:
            tokens.append(", ")
        if labels is not None:
            tokens.append(labels[i])
        tokens.append(kid)
    tokens.append(closing)
    return tokens


def render(v: Value) -> str:
    """The value in WAVE syntax (also its ``repr``). Linear in the output's length and
    without recursion, however deep the value."""
    out: list[str] = []
    stack: list[Any] = [v]
    while stack:
        x = stack.pop()
        if type(x) is str:  # a literal (String values are of class String)
            out.append(x)
            continue
        kids = _children(x)
        if kids is None:
            out.append(_render_leaf(x))
        else:
            stack.extend(reversed(_render_tokens(x, kids)))
    return "".join(out)


def _python_leaf(v: Value) -> Any:
    t = type(v)
    if t is Bool:
        return bool(v)
    if t is Array:
        return [_python_leaf(i) for i in v]  # type: ignore[attr-defined]
    return t._base(v)  # type: ignore[attr-defined]


def _python_node(v: Value, kids: list) -> Any:
    t = type(v)
    if t is List:
        return kids
    if t is Tuple:
        return tuple(kids)
    if t is Record:
        return dict(zip(v, kids))  # type: ignore[call-overload]
    if t is Variant:
        return {v.case: (kids[0] if len(kids) == 1 else tuple(kids)) if kids else None}  # type: ignore[attr-defined]
    if t is Option:
        return kids[0] if kids else None
    return (v.is_ok, kids[0])  # type: ignore[attr-defined]


def to_python(v: Value) -> Any:
    """Value -> plain Python: Bool -> bool; integers and Flags -> int; F32/F64 -> float;
    Char/String -> str; Bytes -> bytes; Array/List -> list; Tuple -> tuple; Record ->
    dict (in field order); Variant -> ``{case: payload}`` (the one payload value, a tuple
    of several, or None without payload); Option -> the value or None (so ``some(none)``
    is None too); Result -> ``(True, ok)`` or ``(False, err)``."""
    return fold(v, _python_leaf, _python_node)


def _json_leaf(v: Value) -> Any:
    t = type(v)
    if t is Bytes:
        return {"hex": v.hex()}  # type: ignore[attr-defined]
    if t is F64 or t is F32:
        return v if math.isfinite(v) else _float_text(v, False)  # type: ignore[arg-type]
    if t is Array:
        return [_json_leaf(i) for i in v]  # type: ignore[attr-defined]
    if t is Bool:
        return bool(v)
    return t._base(v)  # type: ignore[attr-defined]


def _json_node(v: Value, kids: list) -> Any:
    t = type(v)
    if t is Result:
        return {"ok" if v.is_ok else "err": kids[0]}  # type: ignore[attr-defined]
    if t is Tuple:
        return kids
    if t is Variant:
        return {v.case: (kids[0] if len(kids) == 1 else kids) if kids else None}  # type: ignore[attr-defined]
    return _python_node(v, kids)


def to_json(v: Value) -> Any:
    """A deterministic JSON-able form for traces and reports (readable, not lossless:
    ``encode`` is the exact form). As ``to_python``, except: Bytes -> ``{"hex": "..."}``
    (the trace's convention for binary data), non-finite floats -> ``"nan"``, ``"inf"``,
    ``"-inf"``, Tuple and several variant payloads -> list, Result -> ``{"ok": x}`` or
    ``{"err": e}``."""
    return fold(v, _json_leaf, _json_node)


# ---------------------------------------------------------------------------------------
# Host-held state


class TypedState(bytes):
    """A packr actor's state as the host holds it: bytes that ARE the canonical CGRF
    encoding of ``.value``, so ``len``, hashing, equality and digests work wherever
    states are bytes. ``TypedState(data)`` decodes and checks that ``data`` is canonical
    (``CgrfError`` otherwise); ``TypedState.of(value)`` encodes (value via ``to_value``).
    The value is kept once known."""

    _value: Value

    def __new__(cls, data: bytes | bytearray | memoryview) -> TypedState:
        data = bytes(data)
        value = _cgrf.decode(data)
        if _cgrf.encode(value) != data:
            raise _cgrf.CgrfError("TypedState bytes are a valid CGRF buffer but not the canonical encoding of their "
                                  "value (canonical: post-order, no shared nodes, root last)")
        state = bytes.__new__(cls, data)
        state._value = value
        return state

    @classmethod
    def of(cls, value: Any) -> TypedState:
        """The state holding ``value``."""
        v = to_value(value)
        state = bytes.__new__(cls, _cgrf.encode(v))
        state._value = v
        return state

    @property
    def value(self) -> Value:
        return self._value

    def __repr__(self) -> str:
        return f"TypedState({render(self._value)})"

    __str__ = __repr__

    def __reduce__(self) -> tuple:
        return TypedState, (bytes(self),)


# At the end: cgrf imports this module's classes (from either import order).
from . import cgrf as _cgrf  # noqa: E402
