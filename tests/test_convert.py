"""The prepared value conversion: every component type round-trips through the C API's
value slots, and agrees with wasmtime-py's own conversion."""

from __future__ import annotations

import ctypes

import pytest
from wasmtime import _ffi as ffi
from wasmtime.component import Component
from wasmtime.component import _types as T

from theater_harness.wasm import _convert as C
from theater_harness.wasm import _engine
from theater_harness.wasm._wit import render

WAT = '''(component
  (import "t:t/all" (instance
    (type $r (record (field "a" u32) (field "b-c" string)))
    (export "r" (type $r2 (eq $r)))
    (type $v (variant (case "none") (case "num" u64) (case "text" string)))
    (export "v" (type $v2 (eq $v)))
    (type $e (enum "x" "y-z"))
    (export "e" (type $e2 (eq $e)))
    (type $fl (flags "read" "write" "exec"))
    (export "fl" (type $fl2 (eq $fl)))
    (export "f" (func
       (param "a" bool) (param "b" s8) (param "c" u16) (param "d" s32) (param "e" u64) (param "f" f32)
       (param "g" f64) (param "h" char) (param "i" string) (param "j" (list u8)) (param "k" (list string))
       (param "l" (tuple u8 string)) (param "m" $r2) (param "n" $v2) (param "o" $e2)
       (param "p" (option (list u8))) (param "q" (result u32 (error string))) (param "r" $fl2)
       (param "s" (result)) (param "t" (list $r2)) (param "u" s64) (param "w" (option (option u8)))
       (param "x" (result (list (tuple (option (list u8)) (option string))) (error string)))))
  ))
)'''


@pytest.fixture(scope="module")
def params() -> dict[str, T.ValType]:
    component = Component(_engine.ENGINE, WAT)
    (extern,) = component.type.imports(_engine.ENGINE).values()
    func = extern.ty.exports(_engine.ENGINE)["f"].ty
    return dict(func.params)


CASES = [
    ("a", [True, False]),
    ("b", [-128, 0, 127]),
    ("c", [0, 65535]),
    ("d", [-(2 ** 31), 2 ** 31 - 1]),
    ("e", [0, 2 ** 64 - 1]),
    ("f", [0.5, -2.0]),
    ("g", [3.141592653589793, -0.0, 1e300]),
    ("h", ["a", "é", "🎭"]),
    ("i", ["", "hello", "naïve 🎭 text", "x" * 10_000]),
    ("j", [b"", b"\x00\xff", bytes(range(256)) * 20]),
    ("k", [[], ["a", "bb", ""]]),
    ("l", [(7, "seven")]),
    ("m", [{"a": 1, "b-c": "two"}]),
    ("n", [("none", None), ("num", 2 ** 40), ("text", "hi")]),
    ("o", ["x", "y-z"]),
    ("p", [None, b"", b"state"]),
    ("q", [(True, 5), (False, "bad")]),
    ("r", [frozenset(), frozenset({"read", "exec"})]),
    ("s", [(True, None), (False, None)]),
    ("t", [[{"a": 1, "b-c": ""}, {"a": 2, "b-c": "z"}]]),
    ("u", [-(2 ** 63), 2 ** 63 - 1]),
    # payloads boxed inside values that are still being built (a list of options in a result)
    ("x", [(True, [(b"a", "b"), (None, None), (b"", "c")]), (False, "no")]),
]


@pytest.mark.parametrize("name, values", CASES, ids=[c[0] for c in CASES])
def test_lower_then_lift_gives_the_value_back(params, name, values):
    lower, lift = C.codec(params[name])
    slot = ctypes.create_string_buffer(C.VAL_SIZE)
    addr = ctypes.addressof(slot)
    for value in values:
        lower(value, addr)
        try:
            assert lift(addr) == value
        finally:
            C.val_delete(addr)


def test_the_slots_we_write_are_what_wasmtime_py_reads(params):
    """Cross-check with wasmtime-py's own converter on the same C slot."""
    for name, values in CASES:
        ty = params[name]
        if isinstance(ty, (T.RecordType, T.VariantType, T.ResultType, T.FlagsType, T.ListType, T.TupleType,
                           T.OptionType)):
            continue  # their Python representations differ by design
        lower, _ = C.codec(ty)
        for value in values:
            slot = ffi.wasmtime_component_val_t()
            lower(value, ctypes.addressof(slot))
            assert ty.convert_from_c(slot) == value


def test_wrong_values_are_rejected_with_the_expected_type(params):
    slot = ctypes.create_string_buffer(C.VAL_SIZE)
    addr = ctypes.addressof(slot)
    for name, bad, message in [
        ("i", b"bytes", "expected a string"),
        ("j", "text", "expected bytes, got str"),
        ("a", 1, "expected a bool"),
        ("o", "nope", "expected one of ['x', 'y-z']"),
        ("q", 5, "expected (True, ok) or (False, err)"),
        ("m", {"a": 1}, "record field 'b-c' is missing"),
    ]:
        with pytest.raises(C.ConversionError, match=message.replace("(", "\\(").replace(")", "\\)").replace("[", "\\[")):
            C.codec(params[name])[0](bad, addr)


def test_types_render_as_wit(params):
    assert render(params["t"]) == "list<record{a: u32, b-c: string}>"
    assert render(params["q"]) == "result<u32, string>"
    assert render(params["s"]) == "result"
    assert render(params["n"]) == "variant{none, num(u64), text(string)}"
    assert render(params["w"]) == "option<option<u8>>"
