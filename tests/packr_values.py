"""Hypothesis strategies for CGRF values (``theater_harness.wasm.packr.value``): well-formed
type-tags, every scalar class over its full range (floats include nan, inf and -0.0), and
nested compound values whose tags and names are arbitrary labels, as in real buffers."""

from __future__ import annotations

import struct

from hypothesis import strategies as st

from theater_harness.wasm.packr.value import (
    FIXED_WIDTH, K_STRING, Array, Bool, Bytes, Char, F32, F64, Flags, List, Option, Record, Result, S8, S16, S32,
    S64, String, Tuple, U8, U16, U32, U64, Value, Variant,
)

# Text CGRF can carry: any code point but the surrogates.
text = st.text(st.characters(exclude_categories=["Cs"]), max_size=12)
names = st.text(st.characters(exclude_categories=["Cs"]), max_size=6)

PRIMITIVE_TAGS = sorted(FIXED_WIDTH) + [K_STRING]
COMPOUND_TAGS = [0x07, 0x08, 0x09, 0x0A, 0x0B, 0x14]


def _named(kind: int, name: str) -> bytes:
    raw = name.encode()
    return bytes([kind]) + struct.pack("<I", len(raw)) + raw


def _extend_tags(inner: st.SearchStrategy[bytes]) -> st.SearchStrategy[bytes]:
    return st.one_of(
        inner.map(lambda t: b"\x07" + t),
        inner.map(lambda t: b"\x0a" + t),
        st.tuples(inner, inner).map(lambda p: b"\x14" + p[0] + p[1]),
        st.lists(inner, max_size=3).map(lambda ts: b"\x0b" + struct.pack("<I", len(ts)) + b"".join(ts)),
    )


type_tags: st.SearchStrategy[bytes] = st.recursive(
    st.one_of(st.sampled_from([bytes([t]) for t in PRIMITIVE_TAGS]),
              names.map(lambda n: _named(0x09, n)), names.map(lambda n: _named(0x08, n))),
    _extend_tags, max_leaves=6)
"""Any well-formed type-tag."""

non_primitive_tags = type_tags.filter(lambda t: t[0] not in FIXED_WIDTH)
"""Tags a List may carry: anything but a fixed-width primitive."""


def _ints(cls: type) -> st.SearchStrategy[Value]:
    return st.integers(cls._lo, cls._hi).map(cls)


SCALARS: dict[type, st.SearchStrategy[Value]] = {
    Bool: st.integers(0, 1).map(Bool),
    S8: _ints(S8), S16: _ints(S16), S32: _ints(S32), S64: _ints(S64),
    U8: _ints(U8), U16: _ints(U16), U32: _ints(U32), U64: _ints(U64), Flags: _ints(Flags),
    F32: st.floats(width=32).map(F32),
    F64: st.floats().map(F64),
    Char: st.characters(exclude_categories=["Cs"]).map(Char),
    String: text.map(String),
}
"""Per scalar class, its values (over the full range)."""

scalars = st.one_of(*SCALARS.values())

arrays: st.SearchStrategy[Value] = st.one_of(
    st.binary(max_size=16).map(Bytes),
    *(st.lists(SCALARS[cls], max_size=6).map(lambda items, t=bytes([cls.kind]): Array(t, items))
      for cls in SCALARS if cls.kind in FIXED_WIDTH and cls is not U8),
)
"""Bytes and Arrays of every other fixed-width primitive."""


def _unique_fields(children: st.SearchStrategy[Value]) -> st.SearchStrategy[list[tuple[str, Value]]]:
    return st.lists(st.tuples(names, children), max_size=4, unique_by=lambda f: f[0])


def _extend(children: st.SearchStrategy[Value]) -> st.SearchStrategy[Value]:
    return st.one_of(
        st.lists(children, max_size=4).map(Tuple),
        st.builds(List, non_primitive_tags, st.lists(children, max_size=4)),
        st.builds(Record, names, _unique_fields(children)),
        st.builds(Variant, names, names, st.integers(0, 2**32 - 1), st.lists(children, max_size=3)),
        st.builds(Option, type_tags, st.none() | children),
        st.builds(Result, st.booleans(), children, type_tags, type_tags),
    )


values: st.SearchStrategy[Value] = st.recursive(scalars | arrays, _extend, max_leaves=12)
"""Any CGRF value: scalars, arrays and nested compounds."""
