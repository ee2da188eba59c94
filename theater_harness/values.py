"""Typed values: what packr actors exchange and keep as state, for tests to build and read.

A packr actor's state and every value it takes or returns is a CGRF value (PACKR.md 2).
In Python each is an immutable object of one of these classes; scalars subclass Python's
own types, so ``rt.call(counter, "counter.add", 5) == 6`` holds for an ``S64`` result.

    from theater_harness.values import Record, S32, String, render

    rt.spawn("examples:packr_counter.toml", init_state=Record("counter-state",
             {"count": S64(41), "last": String("")}))
    assert rt.actor("packr_counter").state.value["count"] == 41
    render(rt.actor("packr_counter").state.value)   # '{count: 41, last: ""}'

Plain Python converts with ``to_value`` (int -> s64, str -> string, bytes -> list<u8>,
None -> none, tuple -> tuple, list -> list, dict -> record); calls convert arguments by
the types the actor declares for them. ``TypedState`` is a state as the runtime holds it:
bytes (its canonical CGRF encoding) with its ``.value``, so that states compare, hash and
fingerprint by value.
"""

from __future__ import annotations

from .wasm.packr.value import (NONE, Array, Bool, Bytes, Char, F32, F64, Flags, List, Option, Record, Result,
                               S8, S16, S32, S64, String, Tuple, TypedState, U8, U16, U32, U64, Value, Variant,
                               render, to_json, to_python, to_value)

__all__ = [
    "NONE", "Array", "Bool", "Bytes", "Char", "F32", "F64", "Flags", "List", "Option", "Record", "Result", "S8",
    "S16", "S32", "S64", "String", "Tuple", "TypedState", "U8", "U16", "U32", "U64", "Value", "Variant", "render",
    "to_json", "to_python", "to_value",
]
