"""CGRF v2 codec and value model (theater_harness.wasm.packr.value / .cgrf): the byte vectors
of PACKR.md 2.5-2.7 and 3.1, round trips, every validation rule with its exact message,
deep nesting, encode_call's splice, TypedState, and a Hypothesis round-trip property."""

from __future__ import annotations

import math
import pickle
import struct

import pytest
from hypothesis import HealthCheck, given, settings

from packr_values import values
from theater_harness.wasm.packr import cgrf
from theater_harness.wasm.packr.cgrf import CgrfError, decode, encode, encode_call
from theater_harness.wasm.packr.value import (
    NONE, Array, Bool, Bytes, Char, F32, F64, Flags, List, Option, Record, Result, S8, S16, S32, S64, String,
    Tuple, TypedState, U8, U16, U32, U64, Value, Variant, fold, render, to_json, to_python, to_value,
)


def u32(n: int) -> bytes:
    return struct.pack("<I", n)


def node(kind: int, payload: bytes, flags: int = 0, reserved: int = 0) -> bytes:
    return struct.pack("<BBHI", kind, flags, reserved, len(payload)) + payload


def buf(*nodes: bytes, root: int | None = None, count: int | None = None, magic: bytes = b"CGRF",
        version: int = 2, flags: int = 0) -> bytes:
    """A CGRF buffer of these encoded nodes (root: the last one unless given)."""
    return struct.pack("<4sHHII", magic, version, flags, len(nodes) if count is None else count,
                       len(nodes) - 1 if root is None else root) + b"".join(nodes)


def name(s: str) -> bytes:
    return u32(len(s.encode())) + s.encode()


def has_nan(v: Value) -> bool:
    def leaf(x: Value) -> bool:
        items = x if type(x) is Array else (x,)
        return any(isinstance(i, float) and math.isnan(i) for i in items)
    return fold(v, leaf, lambda _v, kids: any(kids))


# --------------------------------------------------------------------------------------
# PACKR.md byte vectors

OK_12 = bytes.fromhex(
    "43475246 02000000 02000000 01000000"
    "15000000 07000000 0c 02000000 0102"
    "14000000 0c000000 070c 06 00000000 01 00000000")
ERR_BOOM = bytes.fromhex(
    "43475246 02000000 02000000 01000000"
    "06000000 08000000 04000000 626f6f6d"
    "14000000 0c000000 070c 06 01000000 01 00000000")
POINT = bytes.fromhex(
    "43475246 02000000 03000000 02000000"
    "02000000 04000000 01000000"
    "02000000 04000000 feffffff"
    "09000000 1f000000 05000000 706f696e74 02000000 01000000 78 01000000 79 00000000 01000000")
UNIT = bytes.fromhex("43475246 0200 0000 01000000 00000000 0b 00 0000 04000000 00000000")
INTERNAL = buf(node(0x08, bytes.fromhex("0e000000") + b"wit-error-type" + bytes.fromhex("08000000") + b"internal"
                    + bytes.fromhex("05000000 00000000")))
INIT_NONE = bytes.fromhex(
    "43 47 52 46 02 00 00 00 02 00 00 00 01 00 00 00 0a 00 00 00 03 00 00 00 07 0c 00 0b 00 00 00 08 00 00 00"
    " 01 00 00 00 00 00 00 00")
TYPE_DESC_S64 = buf(node(0x08, name("type-desc") + name("s64") + u32(8) + u32(0)))

VECTORS = [
    ("2.5 ok([1,2])", OK_12, Result(True, Bytes([1, 2]), b"\x07\x0c", b"\x06")),
    ("2.5 err(boom)", ERR_BOOM, Result(False, String("boom"), b"\x07\x0c", b"\x06")),
    ("2.6 point", POINT, Record("point", [("x", S32(1)), ("y", S32(-2))])),
    ("2.7 unit", UNIT, Tuple()),
    ("2.7 internal", INTERNAL, Variant("wit-error-type", "internal", 5)),
    ("2.7 default init", INIT_NONE, Tuple([Option(b"\x07\x0c", None)])),
    ("3.1 type-desc s64", TYPE_DESC_S64, Variant("type-desc", "s64", 8)),
]


@pytest.mark.parametrize("raw, value", [v[1:] for v in VECTORS], ids=[v[0] for v in VECTORS])
def test_the_spec_vectors_encode_and_decode_exactly(raw, value):
    assert encode(value) == raw
    assert decode(raw) == value
    assert encode(decode(raw)) == raw


def test_the_spec_vectors_sizes():
    # PACKR.md states 52 and 67 bytes for 2.5 and 2.6, but the bytes it lists add up to
    # 51 (16 + 15 + 20) and 79 (16 + 12 + 12 + 39); the bytes are what packr writes.
    assert (len(OK_12), len(POINT), len(INIT_NONE)) == (51, 79, 43)


def test_the_spec_vectors_render_in_wave():
    assert [repr(v[2]) for v in VECTORS] == [
        "ok([1, 2])", 'err("boom")', "{x: 1, y: -2}", "()", "internal", "(none)", "s64"]


# --------------------------------------------------------------------------------------
# Encoding choices

def test_every_scalar_encodes_as_its_own_node():
    cases = [
        (Bool(1), 0x01, b"\x01"), (S32(-1), 0x02, b"\xff\xff\xff\xff"), (S64(-2), 0x03, struct.pack("<q", -2)),
        (F32(1.5), 0x04, struct.pack("<f", 1.5)), (F64(-0.0), 0x05, struct.pack("<d", -0.0)),
        (String("hé"), 0x06, u32(3) + "hé".encode()), (U8(255), 0x0C, b"\xff"), (U16(513), 0x0D, b"\x01\x02"),
        (U32(2**32 - 1), 0x0E, b"\xff" * 4), (U64(2**64 - 1), 0x0F, b"\xff" * 8), (S8(-128), 0x10, b"\x80"),
        (S16(-2), 0x11, b"\xfe\xff"), (Char("€"), 0x12, u32(0x20AC)), (Flags(5), 0x13, struct.pack("<Q", 5)),
    ]
    for value, kind, payload in cases:
        assert encode(value) == buf(node(kind, payload)), value
        assert decode(buf(node(kind, payload))) == value


def test_lists_of_fixed_width_primitives_are_array_nodes_and_others_list_nodes():
    assert encode(Bytes(b"\x01\x02")) == buf(node(0x15, b"\x0c" + u32(2) + b"\x01\x02"))
    assert encode(Array(b"\x03", [1, -1])) == buf(node(0x15, b"\x03" + u32(2) + struct.pack("<2q", 1, -1)))
    assert encode(Array(b"\x12", ["a", "€"])) == buf(node(0x15, b"\x12" + u32(2) + struct.pack("<2I", 0x61, 0x20AC)))
    assert encode(Array(b"\x01", [True, False])) == buf(node(0x15, b"\x01" + u32(2) + b"\x01\x00"))
    assert encode(List(b"\x06", ["a"])) == buf(node(0x06, u32(1) + b"a"), node(0x07, b"\x06" + u32(1) + u32(0)))
    assert encode(to_value([1, 2])) == encode(Array(b"\x03", [1, 2]))


def test_encoding_is_post_order_left_to_right_with_the_root_last():
    value = Tuple([Tuple([S64(1), S64(2)]), Option(b"\x03", S64(3))])
    assert encode(value) == buf(
        node(0x03, struct.pack("<q", 1)), node(0x03, struct.pack("<q", 2)), node(0x0B, u32(2) + u32(0) + u32(1)),
        node(0x03, struct.pack("<q", 3)), node(0x0A, b"\x03\x01" + u32(3)), node(0x0B, u32(2) + u32(2) + u32(4)))


def test_tags_and_names_are_carried_exactly_and_never_checked_against_contents():
    odd = Result(True, String("not a list"), ok_tag=b"\x0b\x02\x00\x00\x00\x01\x01", err_tag=b"\x09\x01\x00\x00\x00x")
    assert decode(encode(odd)) == odd
    assert decode(encode(odd)).ok_tag == b"\x0b\x02\x00\x00\x00\x01\x01"
    mixed = List(b"\x06", [String("hello"), Variant("node", "list", 2, [Array(b"\x03", [1, 2, 3])]),
                           Option(b"\x01", Bool(1))])
    assert decode(encode(mixed)) == mixed


def test_plain_python_is_encoded_through_to_value():
    assert encode({"count": 3}) == encode(Record("", {"count": S64(3)}))
    assert encode(None) == encode(NONE)


def test_encode_refuses_objects_that_are_not_values():
    class Odd(Value):
        kind = 0x0B
    with pytest.raises(CgrfError, match=r"^cannot encode a Odd: not a CGRF value class \(convert plain Python "
                                        r"values with to_value\)$"):
        encode(Tuple([Odd()]))


# --------------------------------------------------------------------------------------
# Decoding: accepted shapes

def test_a_dag_with_a_shared_child_decodes_to_one_shared_value():
    shared = buf(node(0x06, name("shared")), node(0x0B, u32(2) + u32(0) + u32(0)))
    value = decode(shared)
    assert value == Tuple([String("shared"), String("shared")])
    assert value[0] is value[1]
    assert encode(value) == buf(node(0x06, name("shared")), node(0x06, name("shared")),
                                node(0x0B, u32(2) + u32(0) + u32(1)))


def test_forward_references_decode_like_the_post_order_buffer():
    pre_order = buf(node(0x0B, u32(2) + u32(1) + u32(2)), node(0x03, struct.pack("<q", 1)),
                    node(0x0A, b"\x06\x01" + u32(3)), node(0x06, name("x")), root=0)
    assert decode(pre_order) == Tuple([S64(1), Option(b"\x06", String("x"))])
    assert decode(bytearray(pre_order)) == decode(memoryview(pre_order))


def test_nodes_unreachable_from_the_root_are_still_validated_in_a_post_order_buffer():
    with pytest.raises(CgrfError, match=r"^CGRF node 0 \(Bool\) at byte 24: bool byte is 7"):
        decode(buf(node(0x01, b"\x07"), node(0x03, bytes(8))))
    assert decode(buf(node(0x01, b"\x01"), node(0x03, bytes(8)))) == S64(0)


def test_a_cycle_is_refused_even_with_a_valid_acyclic_part():
    with pytest.raises(CgrfError) as e:
        decode(buf(node(0x03, bytes(8)), node(0x0B, u32(2) + u32(0) + u32(2)), node(0x0A, b"\x0b\x00\x00\x00\x00\x01"
                                                                                          + u32(1)), root=1))
    assert str(e.value) == ("CGRF node 2 (Option) at byte 60: child 1 is this node or one of its ancestors: "
                            "the graph has a cycle")


# --------------------------------------------------------------------------------------
# Decoding: every validation rule, with its exact message

S64_1 = node(0x03, struct.pack("<q", 1))
INVALID = [
    ("short", b"CGRF\x02\x00",
     "CGRF header at byte 0: the buffer is 6 bytes, shorter than the 16-byte header"),
    ("magic", buf(S64_1, magic=b"CGRX"),
     "CGRF header at byte 0: bad magic b'CGRX' (expected b'CGRF')"),
    ("version", buf(S64_1, version=3),
     "CGRF header at byte 4: unsupported version 3 (expected 2)"),
    ("header flags", buf(S64_1, flags=1),
     "CGRF header at byte 6: header flags are 0x0001 (expected 0)"),
    ("node limit", buf(count=10_000_001, root=0),
     "CGRF header at byte 8: node count 10000001 exceeds the limit of 10000000"),
    ("node count vs size", buf(S64_1, count=3, root=0),
     "CGRF header at byte 8: node count 3 needs at least 24 bytes of nodes, only 16 follow the header"),
    ("root", buf(S64_1, root=1),
     "CGRF header at byte 12: root index 1 is out of range (node count 1)"),
    ("no nodes", buf(root=0),
     "CGRF header at byte 12: root index 0 is out of range (node count 0)"),
    ("node header cut", buf(S64_1, count=2, root=0) + b"\x03\x00\x00\x00\x08\x00\x00",
     "CGRF node 1 at byte 32: the node header runs past the end of the buffer (8 bytes needed, 7 left)"),
    ("unknown kind", buf(node(0x16, b"")),
     "CGRF node 0 at byte 16: unknown node kind 0x16 (valid: 0x01-0x15)"),
    ("kind 0", buf(node(0x00, b"")),
     "CGRF node 0 at byte 16: unknown node kind 0x00 (valid: 0x01-0x15)"),
    ("node flags", buf(node(0x03, bytes(8), flags=1)),
     "CGRF node 0 (S64) at byte 17: node flags are 0x01 (expected 0)"),
    ("reserved", buf(node(0x03, bytes(8), reserved=2)),
     "CGRF node 0 (S64) at byte 18: reserved bytes are 0x0002 (expected 0)"),
    ("payload past end", buf(S64_1)[:-1],
     "CGRF node 0 (S64) at byte 20: the payload of 8 bytes runs past the end of the buffer (7 bytes left)"),
    ("trailing bytes", buf(S64_1) + b"\x00",
     "CGRF buffer at byte 32: 1 byte(s) after the last node (node count 1); the buffer must end there"),
    ("scalar size", buf(node(0x03, b"\x01\x00\x00\x00")),
     "CGRF node 0 (S64) at byte 24: the payload is 4 bytes (expected 8)"),
    ("bool 2", buf(node(0x01, b"\x02")),
     "CGRF node 0 (Bool) at byte 24: bool byte is 2 (valid: 0 or 1)"),
    ("bool size", buf(node(0x01, b"\x01\x00")),
     "CGRF node 0 (Bool) at byte 24: the payload is 2 bytes (expected 1)"),
    ("char surrogate", buf(node(0x12, u32(0xD800))),
     "CGRF node 0 (Char) at byte 24: 0xd800 is not a Unicode scalar value (valid: 0-0xd7ff, 0xe000-0x10ffff)"),
    ("char too big", buf(node(0x12, u32(0x110000))),
     "CGRF node 0 (Char) at byte 24: 0x110000 is not a Unicode scalar value (valid: 0-0xd7ff, 0xe000-0x10ffff)"),
    ("string length", buf(node(0x06, u32(5) + b"abcd")),
     "CGRF node 0 (String) at byte 24: string length 5 does not match the payload (4 bytes follow the length)"),
    ("string no length", buf(node(0x06, b"\x01")),
     "CGRF node 0 (String) at byte 24: the payload ends before the string length (a u32)"),
    ("string utf-8", buf(node(0x06, u32(3) + b"a\xffb")),
     "CGRF node 0 (String) at byte 29: invalid UTF-8 (invalid start byte; valid: strict UTF-8, no surrogates)"),
    ("string surrogate", buf(node(0x06, u32(3) + b"\xed\xa0\x80")),
     "CGRF node 0 (String) at byte 28: invalid UTF-8 (invalid continuation byte; valid: strict UTF-8, "
     "no surrogates)"),
    ("child out of range", buf(node(0x0B, u32(1) + u32(7))),
     "CGRF node 0 (Tuple) at byte 24: child index 7 is out of range (node count 1)"),
    ("payload not consumed", buf(S64_1, node(0x0B, u32(1) + u32(0) + b"\x00")),
     "CGRF node 1 (Tuple) at byte 44: the payload has 5 bytes for the child indices of its 1 items (expected 4)"),
    ("payload short", buf(S64_1, node(0x0B, u32(2) + u32(0))),
     "CGRF node 1 (Tuple) at byte 44: the payload has 4 bytes for the child indices of its 2 items (expected 8)"),
    ("list of a primitive", buf(S64_1, node(0x07, b"\x03" + u32(1) + u32(0))),
     "CGRF node 1 (List) at byte 40: List element type s64 is a fixed-width primitive: expected Array node "
     "(kind 0x15) for such lists"),
    ("unknown tag byte", buf(S64_1, node(0x07, b"\x15" + u32(1) + u32(0))),
     "CGRF node 1 (List) at byte 40: malformed element type tag: unknown type tag byte 0x15 (valid: 0x01-0x14)"),
    ("tag name cut", buf(node(0x07, b"\x09\x05\x00\x00\x00ab")),
     "CGRF node 0 (List) at byte 29: malformed element type tag: the record type tag's name of 5 bytes is cut off"),
    ("tag name utf-8", buf(node(0x07, b"\x09\x01\x00\x00\x00\xff" + u32(0))),
     "CGRF node 0 (List) at byte 29: malformed element type tag: invalid UTF-8 in a record type tag's name "
     "(invalid start byte)"),
    ("tag cut", buf(node(0x0A, b"\x14\x07")),
     "CGRF node 0 (Option) at byte 26: malformed inner type tag: the type tag is cut off (more tag bytes expected)"),
    ("tag count cut", buf(node(0x0A, b"\x0b\x01\x00")),
     "CGRF node 0 (Option) at byte 25: malformed inner type tag: the tuple type tag is cut off inside its u32"),
    ("array of strings", buf(node(0x15, b"\x06" + u32(0))),
     "CGRF node 0 (Array) at byte 24: Array element type string is not a fixed-width primitive (valid: bool, u8, "
     "s8, u16, s16, u32, s32, f32, char, u64, s64, f64, flags)"),
    ("array of lists", buf(node(0x15, b"\x07\x0c" + u32(0))),
     "CGRF node 0 (Array) at byte 24: Array element type list is not a fixed-width primitive (valid: bool, u8, "
     "s8, u16, s16, u32, s32, f32, char, u64, s64, f64, flags)"),
    ("array length", buf(node(0x15, b"\x03" + u32(2) + bytes(12))),
     "CGRF node 0 (Array) at byte 29: an Array of 2 s64 needs 16 data bytes, the payload has 12"),
    ("array bool", buf(node(0x15, b"\x01" + u32(3) + b"\x01\x00\x02")),
     "CGRF node 0 (Array) at byte 31: bool item 2 is 2 (valid: 0 or 1)"),
    ("array char", buf(node(0x15, b"\x12" + u32(2) + u32(0x41) + u32(0xDFFF))),
     "CGRF node 0 (Array) at byte 33: char item 1 is 0xdfff, not a Unicode scalar value "
     "(valid: 0-0xd7ff, 0xe000-0x10ffff)"),
    ("option presence", buf(node(0x0A, b"\x01\x02")),
     "CGRF node 0 (Option) at byte 25: presence byte is 2 (valid: 0 = none, 1 = some)"),
    ("none with more", buf(node(0x0A, b"\x01\x00\x00")),
     "CGRF node 0 (Option) at byte 26: 1 byte(s) after the presence byte of none (the payload must end there)"),
    ("some cut", buf(S64_1, node(0x0A, b"\x01\x01\x00\x00")),
     "CGRF node 1 (Option) at byte 42: the payload has 2 bytes for the child index of its some (expected 4)"),
    ("no presence", buf(node(0x0A, b"\x07\x0c")),
     "CGRF node 0 (Option) at byte 26: the payload ends before the presence byte"),
    ("result tag", buf(S64_1, node(0x14, b"\x01\x06" + u32(2) + b"\x01" + u32(0))),
     "CGRF node 1 (Result) at byte 42: result tag is 2 (valid: 0 = ok, 1 = err)"),
    ("result without payload", buf(node(0x14, b"\x01\x06" + u32(0) + b"\x00")),
     "CGRF node 0 (Result) at byte 30: has_payload is 0 (must be 1: a Result always carries a payload)"),
    ("result cut", buf(node(0x14, b"\x01\x06" + u32(0))),
     "CGRF node 0 (Result) at byte 26: the payload ends before the result tag (u32) and has_payload byte"),
    ("duplicate field", buf(S64_1, S64_1, node(0x09, name("p") + u32(2) + name("x") + name("x") + u32(0) + u32(1))),
     "CGRF node 2 (Record) at byte 56: field name 'x' appears twice (field names must be distinct)"),
    ("record name utf-8", buf(node(0x09, u32(1) + b"\xc3" + u32(0))),
     "CGRF node 0 (Record) at byte 28: invalid UTF-8 in the record type name (unexpected end of data; "
     "valid: strict UTF-8)"),
    ("record name cut", buf(node(0x09, u32(9) + b"ab")),
     "CGRF node 0 (Record) at byte 24: the record type name of 9 bytes runs past the end of the payload"),
    ("record no field count", buf(node(0x09, name("p"))),
     "CGRF node 0 (Record) at byte 29: the payload ends before the field count (a u32)"),
    ("field name cut", buf(node(0x09, name("p") + u32(1) + b"\x01\x00")),
     "CGRF node 0 (Record) at byte 33: the payload ends before the field name's length (a u32)"),
    ("variant cut", buf(node(0x08, name("t") + name("c") + u32(0))),
     "CGRF node 0 (Variant) at byte 34: the payload ends before the case tag and payload count (two u32s)"),
    ("case name utf-8", buf(node(0x08, name("t") + u32(1) + b"\x80" + u32(0) + u32(0))),
     "CGRF node 0 (Variant) at byte 33: invalid UTF-8 in the case name (invalid start byte; valid: strict UTF-8)"),
    ("cycle", buf(node(0x0B, u32(1) + u32(1)), node(0x0B, u32(1) + u32(0)), root=0),
     "CGRF node 1 (Tuple) at byte 40: child 0 is this node or one of its ancestors: the graph has a cycle"),
    ("self reference", buf(node(0x0B, u32(1) + u32(0)), root=0),
     "CGRF node 0 (Tuple) at byte 24: child 0 is this node or one of its ancestors: the graph has a cycle"),
    ("forward then bad", buf(node(0x0B, u32(1) + u32(1)), node(0x01, b"\x03"), root=0),
     "CGRF node 1 (Bool) at byte 40: bool byte is 3 (valid: 0 or 1)"),
    ("forward then trailing", buf(node(0x0B, u32(1) + u32(1)), S64_1, root=0) + b"\x00",
     "CGRF buffer at byte 48: 1 byte(s) after the last node (node count 2); the buffer must end there"),
]


@pytest.mark.parametrize("raw, message", [c[1:] for c in INVALID], ids=[c[0] for c in INVALID])
def test_an_invalid_buffer_is_refused_with_a_message_that_locates_the_problem(raw, message):
    with pytest.raises(CgrfError) as e:
        decode(raw)
    assert str(e.value) == message
    assert isinstance(e.value, ValueError)
    assert e.value.offset == int(message.split(" at byte ")[1].split(":")[0])
    assert e.value.node == (int(message.split()[2]) if message.startswith("CGRF node") else None)


def test_the_limits_are_packrs():
    assert (cgrf.MAX_BUFFER, cgrf.MAX_NODES, cgrf.MAX_PAYLOAD) == (256 * 1024 * 1024, 10_000_000, 128 * 1024 * 1024)


def test_the_buffer_and_payload_limits_are_enforced(monkeypatch):
    monkeypatch.setattr(cgrf, "MAX_BUFFER", 36)
    with pytest.raises(CgrfError, match=r"^CGRF header at byte 0: the buffer is 37 bytes, over the 36-byte limit$"):
        decode(buf(node(0x06, u32(9) + b"123456789")))
    monkeypatch.setattr(cgrf, "MAX_BUFFER", 1000)
    monkeypatch.setattr(cgrf, "MAX_PAYLOAD", 12)
    with pytest.raises(CgrfError, match=r"^CGRF node 0 \(String\) at byte 20: payload length 13 exceeds the "
                                        r"12-byte limit$"):
        decode(buf(node(0x06, u32(9) + b"123456789")))
    assert decode(buf(node(0x06, u32(8) + b"12345678"))) == "12345678"


def test_a_signaling_f32_nan_comes_back_quieted_and_f64_nans_exactly():
    f32 = buf(node(0x04, u32(0x7F800001)))
    assert math.isnan(decode(f32))
    assert encode(decode(f32)) == buf(node(0x04, u32(0x7FC00001)))
    f64 = buf(node(0x05, struct.pack("<Q", 0x7FF0000000000001)))
    assert encode(decode(f64)) == f64


# --------------------------------------------------------------------------------------
# Deep nesting: no recursion anywhere

DEPTH = 100_000


def test_deeply_nested_values_encode_decode_and_render_without_recursion():
    value: Value = S64(7)
    for i in range(DEPTH):
        value = Option(b"\x03", value) if i % 2 else Tuple([value])
    raw = encode(value)
    assert len(raw) == 16 + 16 + (DEPTH // 2) * (16 + 14)
    back = decode(raw)
    assert encode(back) == raw
    text = render(back)
    assert text.startswith("some((some((") and text.endswith("7" + "))" * (DEPTH // 2))
    assert to_json(back) is not None and to_python(back) is not None
    assert Tuple([back]).type_tag() == b"\x0b\x01\x00\x00\x00\x0a\x03"


def test_a_deep_forward_referenced_chain_decodes_depth_first_without_recursion():
    nodes = [node(0x0B, u32(1) + u32(i + 1)) for i in range(DEPTH)] + [node(0x01, b"\x01")]
    value = decode(buf(*nodes, root=0))
    for _ in range(DEPTH):
        value = value[0]
    assert value == Bool(1)


def test_a_deeply_nested_type_tag_is_parsed_without_recursion():
    tag = b"\x07" * DEPTH + b"\x0c"
    assert decode(buf(node(0x0A, tag + b"\x00"))).inner_tag == tag
    assert Option(tag, None).type_tag() == b"\x0a" + tag


# --------------------------------------------------------------------------------------
# encode_call: the state's buffer spliced in

STATE = Record("actor-state", {"count": S32(3)})


def test_encode_call_splices_the_state_and_equals_encoding_the_whole_tuple():
    state = TypedState.of(STATE)
    params = (String("req-1"), Bytes(b"hi"), Tuple([S64(1), Option(b"\x06", None)]))
    raw = encode_call(state, params)
    assert raw == encode(Tuple([STATE, *params]))
    assert raw[16:16 + len(state) - 16] == state[16:]
    assert decode(raw) == Tuple([STATE, *params])


def test_encode_call_for_init_without_params_and_without_state():
    state = TypedState.of(Option(b"\x07\x0c", None))
    assert encode_call(state, ()) == INIT_NONE
    assert encode_call(None, (S64(5),)) == encode(Tuple([S64(5)]))
    assert encode_call(None, ()) == UNIT
    assert encode_call(encode(S64(1)), [2, "x"]) == encode(Tuple([S64(1), S64(2), String("x")]))


def test_encode_call_checks_the_state_header():
    with pytest.raises(CgrfError, match=r"^CGRF header at byte 0: bad magic b'XXXX' \(expected b'CGRF'\)$"):
        encode_call(b"XXXX" + bytes(28), ())


# --------------------------------------------------------------------------------------
# TypedState

def test_a_typed_state_is_the_canonical_bytes_of_its_value():
    state = TypedState.of({"count": 3})
    assert isinstance(state, bytes)
    assert state == encode(Record("", {"count": S64(3)}))
    assert state.value == Record("", {"count": S64(3)})
    assert repr(state) == "TypedState({count: 3})"
    assert TypedState(bytes(state)) == state and TypedState(bytes(state)).value == state.value
    assert hash(state) == hash(bytes(state))
    assert pickle.loads(pickle.dumps(state)) == state and pickle.loads(pickle.dumps(state)).value == state.value


def test_a_typed_state_refuses_non_canonical_or_invalid_bytes():
    shared = buf(node(0x06, name("s")), node(0x0B, u32(2) + u32(0) + u32(0)))
    with pytest.raises(CgrfError, match=r"^TypedState bytes are a valid CGRF buffer but not the canonical encoding "
                                        r"of their value \(canonical: post-order, no shared nodes, root last\)$"):
        TypedState(shared)
    with pytest.raises(CgrfError, match="bad magic"):
        TypedState(b"nope" + bytes(12))


# --------------------------------------------------------------------------------------
# The value model

def test_scalars_are_python_values_equal_only_within_their_kind():
    assert S64(42) == 42 and 42 == S64(42) and hash(S64(42)) == hash(42)
    assert S64(1) != U64(1) and Bool(1) != S64(1) and Char("a") != String("a")
    assert String("a") == "a" and Bytes(b"ab") == b"ab" and F64(0.5) == 0.5
    assert Bytes(b"\x01") != Array(b"\x03", [1])
    assert {S64(1), U64(1)} == {S64(1), U64(1)} and len({S64(1), U64(1)}) == 2
    assert str(String("x")) == "x" and f"{String('x')}" == "x"


def test_compound_values_compare_their_tags_and_names_too():
    assert Array(b"\x03", []) != Array(b"\x0f", [])
    assert List(b"\x06", []) != List(b"\x07\x0c", [])
    assert Tuple([1]) != (S64(1),) and Tuple([1]) == Tuple([S64(1)])
    assert Record("a", {"x": 1}) != Record("b", {"x": 1})
    assert Record("a", [("x", 1), ("y", 2)]) != Record("a", [("y", 2), ("x", 1)])
    assert Variant("t", "c", 1) != Variant("t", "c", 2) != Variant("u", "c", 2)
    assert Option(b"\x01", None) != Option(b"\x06", None)
    assert Result(True, 1) != Result(False, 1) and Result(True, 1) != Result(True, 1, ok_tag=b"\x03")
    assert len({Record("a", {"x": 1}), Record("a", {"x": 1}), Variant("t", "c", 0), Option(b"\x01", 1)}) == 3


def test_values_are_immutable():
    r = Record("p", {"x": 1})
    with pytest.raises(AttributeError):
        r.name = "q"
    with pytest.raises(TypeError):
        r["x"] = 2  # type: ignore[index]
    with pytest.raises(AttributeError):
        Variant("t", "c", 0).case = "d"
    with pytest.raises(AttributeError):
        NONE.value = S64(1)


def test_record_is_a_read_only_mapping_in_field_order():
    r = Record("point", {"x": S32(1), "y": S32(-2)})
    assert r["x"] == 1 and list(r) == ["x", "y"] and len(r) == 2 and "y" in r and "z" not in r
    assert r.fields == (("x", S32(1)), ("y", S32(-2))) and r.name == "point"
    assert dict(r.items()) == {"x": 1, "y": -2} and list(r.values()) == [1, -2] and r.get("z") is None
    from collections.abc import Mapping
    assert isinstance(r, Mapping)


def test_values_pickle_and_keep_their_class():
    for v in [S64(-5), U8(3), F32(0.1), Char("é"), String("s"), Bytes(b"b"), Array(b"\x11", [1, -1]),
              List(b"\x06", ["a"]), Tuple([1, "a"]), Record("r", {"a": 1}), Variant("t", "c", 2, [1]),
              Option(b"\x01", Bool(1)), NONE, Result(False, "e", b"\x03", b"\x06"), Flags(9), Bool(0)]:
        back = pickle.loads(pickle.dumps(v))
        assert back == v and type(back) is type(v), v


def test_scalar_constructors_check_their_range():
    for cls, bad, lo, hi in [(S8, 128, -128, 127), (U8, -1, 0, 255), (U64, 2**64, 0, 2**64 - 1), (Bool, 2, 0, 1),
                             (S64, -(2**63) - 1, -(2**63), 2**63 - 1), (Flags, -1, 0, 2**64 - 1)]:
        with pytest.raises(ValueError) as e:
            cls(bad)
        assert str(e.value) == f"{cls.__name__} value {bad} is out of range [{lo}, {hi}]"
    assert F32(0.1) == struct.unpack("<f", struct.pack("<f", 0.1))[0]
    with pytest.raises(ValueError, match=r"^F32 value 1e\+300 is out of range for f32 "):
        F32(1e300)
    with pytest.raises(ValueError, match=r"^Char takes a str of one character, got 'ab'$"):
        Char("ab")
    with pytest.raises(ValueError, match=r"^Char '\\ud800' is a surrogate, not a Unicode scalar value$"):
        Char("\ud800")
    with pytest.raises(ValueError, match=r"^String contains a surrogate at index 1: CGRF strings are UTF-8$"):
        String("a\udc00")
    with pytest.raises(TypeError, match=r"^F64 takes an int or float, got str$"):
        F64("1.5")
    with pytest.raises(TypeError):
        S32(1.5)


def test_compound_constructors_check_their_tags():
    with pytest.raises(ValueError, match=r"^List elem_tag b'\\x03' \(s64\) is a fixed-width primitive: such lists "
                                         r"are Arrays \(use Array, or Bytes for u8\)$"):
        List(b"\x03", [])
    with pytest.raises(ValueError, match=r"^Array elem_tag b'\\x06' is not a fixed-width primitive \(valid: bool, "):
        Array(b"\x06", [])
    with pytest.raises(ValueError, match=r"^Option inner_tag b'\\x07' is not a CGRF type tag: the type tag is cut "
                                         r"off \(more tag bytes expected\) \(at byte 1\)$"):
        Option(b"\x07", None)
    with pytest.raises(ValueError, match=r"^Result ok_tag b'\\x01\\x01' is not a CGRF type tag: 1 bytes follow "
                                         r"the tag$"):
        Result(True, 1, ok_tag=b"\x01\x01")
    with pytest.raises(TypeError, match=r"^List elem_tag must be the encoded type tag as bytes"):
        List("string", [])  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"^Record field 'x' given twice$"):
        Record("r", [("x", 1), ("x", 2)])
    with pytest.raises(TypeError, match=r"^Variant payload must be a tuple or list of values \(use \(x,\) for one\), "
                                        r"got String$"):
        Variant("t", "c", 0, String("abc"))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"^Variant tag 4294967296 is out of range \[0, 4294967295\]$"):
        Variant("t", "c", 2**32)
    with pytest.raises(TypeError, match=r"^Result is_ok must be a bool, got int$"):
        Result(1, 1)  # type: ignore[arg-type]
    assert type(Array(b"\x0c", [1, 2])) is Bytes and Array(b"\x0c", [1, 2]) == b"\x01\x02"
    assert Array(b"\x11", [1, S16(2)]) == Array(b"\x11", [S16(1), S16(2)])


def test_type_tags_of_values():
    assert [v.type_tag() for v in (Bool(1), String(""), Bytes(b""), Array(b"\x03", []), List(b"\x06", []),
                                   Option(b"\x0c", None), Result(True, 1))] == [
        b"\x01", b"\x06", b"\x07\x0c", b"\x07\x03", b"\x07\x06", b"\x0a\x0c", b"\x14\x01\x06"]
    assert Record("ab", {}).type_tag() == b"\x09\x02\x00\x00\x00ab"
    assert Variant("e", "c", 0).type_tag() == b"\x08\x01\x00\x00\x00e"
    assert Tuple([1, Tuple(["x"])]).type_tag() == b"\x0b\x02\x00\x00\x00\x03\x0b\x01\x00\x00\x00\x06"


def test_to_value_maps_plain_python():
    assert type(to_value(True)) is Bool and to_value(True) == 1
    assert type(to_value(5)) is S64 and type(to_value(1.5)) is F64 and type(to_value("s")) is String
    assert to_value(b"ab") == Bytes(b"ab") and type(to_value(bytearray(b"a"))) is Bytes
    assert type(to_value(memoryview(b"a"))) is Bytes and to_value(None) is NONE
    assert to_value((1, "a")) == Tuple([S64(1), String("a")])
    assert to_value({"a": [1]}) == Record("", {"a": Array(b"\x03", [1])})
    assert to_value([1, 2]) == Array(b"\x03", [1, 2])
    assert to_value([U8(1), U8(2)]) == Bytes(b"\x01\x02")
    assert to_value([Char("a")]) == Array(b"\x12", ["a"])
    assert to_value(["a", "b"]) == List(b"\x06", ["a", "b"])
    assert to_value([b"a"]) == List(b"\x07\x0c", [b"a"])
    assert to_value([1, "a"]) == List(b"\x06", [1, "a"])
    assert to_value([S32(1), S64(2)]) == List(b"\x06", [S32(1), S64(2)])
    assert to_value([]) == List(b"\x06", [])
    assert to_value([Record("p", {}), Record("p", {})]).elem_tag == b"\x09\x01\x00\x00\x00p"
    v = S64(3)
    assert to_value(v) is v
    with pytest.raises(ValueError, match=r"^S64 value 9223372036854775808 is out of range"):
        to_value(2**63)
    with pytest.raises(TypeError, match=r"^cannot convert set to a CGRF value \(accepted: a Value, bool, int, "
                                        r"float, str, bytes, bytearray, memoryview, None, tuple, list, dict with str "
                                        r"keys\)$"):
        to_value({1})
    with pytest.raises(TypeError, match=r"^Record field names must be str, got int 1$"):
        to_value({1: 2})


def test_render_is_wave():
    value = Record("r", {
        "b": Bool(0), "i": S8(-3), "f": F32(0.1), "d": F64(1.0), "n": F64(math.nan), "inf": F64(-math.inf),
        "c": Char("'"), "s": String('a"b\\\n\t\x01'), "bytes": Bytes(b"\x00\xff"), "arr": Array(b"\x12", ["x"]),
        "l": List(b"\x06", ["x"]), "t": Tuple([S64(1), String("a")]), "one": Tuple([S64(1)]),
        "e": Variant("e", "idle", 0), "v": Variant("v", "moving", 1, [S32(1), S32(2)]),
        "o": Option(b"\x03", S64(1)), "none": NONE, "ok": Result(True, Tuple()), "err": Result(False, String("x")),
        "flags": Flags(5), "rec": Record("", {}),
    })
    assert repr(value) == render(value) == (
        '{b: false, i: -3, f: 0.1, d: 1.0, n: nan, inf: -inf, c: \'\\\'\', s: "a\\"b\\\\\\n\\t\\u{1}", '
        "bytes: [0, 255], arr: ['x'], l: [\"x\"], t: (1, \"a\"), one: (1), e: idle, v: moving(1, 2), o: some(1), "
        "none: none, ok: ok(()), err: err(\"x\"), flags: 5, rec: {}}")


def test_to_python_and_to_json():
    value = Record("r", {"b": Bool(1), "bytes": Bytes(b"\x01"), "arr": Array(b"\x01", [True]),
                         "t": Tuple([S64(1)]), "e": Variant("e", "idle", 0), "v": Variant("v", "one", 1, [S64(1)]),
                         "m": Variant("v", "two", 2, [S64(1), S64(2)]), "o": Option(b"\x03", S64(1)), "none": NONE,
                         "ok": Result(True, S64(1)), "err": Result(False, String("x")), "nan": F64(math.nan),
                         "c": Char("c"), "f": Flags(3)})
    py = to_python(value)
    assert py == {"b": True, "bytes": b"\x01", "arr": [True], "t": (1,), "e": {"idle": None}, "v": {"one": 1},
                  "m": {"two": (1, 2)}, "o": 1, "none": None, "ok": (True, 1), "err": (False, "x"),
                  "nan": py["nan"], "c": "c", "f": 3}
    assert math.isnan(py["nan"])
    assert all(type(x) in (bool, bytes, list, tuple, dict, int, float, str, type(None)) for x in py.values())
    assert type(py["b"]) is bool and type(py["f"]) is int and type(py["c"]) is str
    assert to_json(value) == {"b": True, "bytes": {"hex": "01"}, "arr": [True], "t": [1], "e": {"idle": None},
                              "v": {"one": 1}, "m": {"two": [1, 2]}, "o": 1, "none": None, "ok": {"ok": 1},
                              "err": {"err": "x"}, "nan": "nan", "c": "c", "f": 3}
    import json
    assert json.loads(json.dumps(to_json(value))) == to_json(value)


# --------------------------------------------------------------------------------------
# Property: every value round-trips byte-exactly

@settings(max_examples=400, deadline=None, database=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(values)
def test_every_value_round_trips(value):
    raw = encode(value)
    back = decode(raw)
    assert encode(back) == raw
    assert type(back) is type(value)
    if not has_nan(value):
        assert back == value
        assert hash(back) == hash(value)
        assert repr(back) == repr(value)
