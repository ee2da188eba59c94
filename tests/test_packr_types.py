"""packr type descriptors, ``__pack_types`` metadata and interface hashing
(theater_harness.wasm.packr.types / .interfaces): the twelve fixture binaries' blobs decoded,
their embedded hashes reproduced, the reference hashes of PACKR.md 3.2 reproduced from the
interface tables, and encode_metadata / decode_metadata round trips."""

from __future__ import annotations

import hashlib
import struct

import pytest

from packr_blob import FIXTURE_NAMES, fixture, pack_types_blob
from theater_harness.wasm.packr.cgrf import decode, encode
from theater_harness.wasm.packr.interfaces import (
    ACTOR, CHANNEL_ACCEPT, EXPORTS, INTERFACES, MESSAGE_SERVER_CLIENT, MESSAGE_SERVER_HOST, RPC, RUNTIME, STORE,
    SUPERVISOR, SUPERVISOR_HANDLERS, TIMER, WIT_ERROR_TYPE,
)
from theater_harness.wasm.packr.types import (
    HASH_SELF_REF, PRIM, PRIMITIVES, VALUE, FunctionSig, ListT, MetadataError, OptionT, PackageMetadata, Prim,
    RecordT, ResultT, TupleT, ValueT, VariantT, decode_metadata, encode_metadata, hash_function,
    hash_interface, hash_type, interface_hashes, parse_type, sig, type_tag,
)
from theater_harness.wasm.packr.value import Bytes, List, Option, Record, String, Tuple, U64, Variant

# --------------------------------------------------------------------------------------
# The fixtures' metadata

RUNTIME_LOG = "1dd3d02d5f489296fab56691f915636091203b3899500d8d6eb1706d54249e54"
MATH = "045d329df239a4083f01ad53ef75b1b271563fa76147e7a0e3013a75352ff364"
ACTOR_INIT = "5bcd9881f0c4cb5fedd5b5a5699a78dff1bcaef64581d49747c6e3f5f81c43ab"
PROCESS = "00602831491e5f0b9d3d1cbd1dfa10fb1280cdd8395a692c002758ae79ee548e"
DOUBLE = "13899fcdfb05592268bfcde5fcef666ea689789c1e9dd7219951f86080d17a7b"

DOUBLE_IMPORT = "math.double: func(n: s64) -> s64"
LOG_IMPORT = "theater:simple/runtime.log: func(msg: string)"
EXPECTED: dict[str, tuple[list[str], list[str], dict[str, str], dict[str, str]]] = {
    # fixture: (imports, exports, import hashes, export hashes)
    "adder_fixedbase": ([DOUBLE_IMPORT], ["process: func(input: value) -> value"], {"math": MATH}, {"": PROCESS}),
    "adder_package": ([DOUBLE_IMPORT], ["process: func(input: value) -> value"], {"math": MATH}, {"": PROCESS}),
    "bigrodata_fixedbase": ([], ["theater:simple/actor.init: func(input: value) -> value"], {},
                            {"theater:simple/actor": ACTOR_INIT}),
    "doubler_fixedbase": ([], ["double: func(input: value) -> value"], {}, {"": DOUBLE}),
    "doubler_package": ([], ["double: func(input: value) -> value"], {}, {"": DOUBLE}),
    "echo_package": ([], ["echo: func(input: value) -> value", "transform: func(input: value) -> value"], {},
                     {"": "2547f744b0a36e9b799e85cdbeb7d42fda4dfb33a97971a29e1ce608e5bd639a"}),
    "host_actor_fixedbase": ([LOG_IMPORT, DOUBLE_IMPORT], ["process: func(input: value) -> value"],
                             {"math": MATH, "theater:simple/runtime": RUNTIME_LOG}, {"": PROCESS}),
    "lifecycle_actor_fixedbase": ([LOG_IMPORT, DOUBLE_IMPORT], ["theater:simple/actor.init: func(input: value) -> value"],
                                  {"math": MATH, "theater:simple/runtime": RUNTIME_LOG},
                                  {"theater:simple/actor": ACTOR_INIT}),
    "logger_package": ([], ["process: func(value: value) -> value"], {}, {"": PROCESS}),
    "math_mock_fixedbase": ([], [DOUBLE_IMPORT], {}, {"math": MATH}),
    "math_real_fixedbase": ([], [DOUBLE_IMPORT], {}, {"math": MATH}),
    "sexpr_package": ([], ["evaluate: func(expr: value) -> value"], {},
                      {"": "5051d941a06281e398a2ba8bad822a3b809afcb1b33d7506425883e9fc50407a"}),
}
_BLOBS: dict[str, bytes] = {}


def blob(name: str) -> bytes:
    """The fixture's ``__pack_types`` blob (read once per session)."""
    if name not in _BLOBS:
        _BLOBS[name] = pack_types_blob(fixture(name))
    return _BLOBS[name]


def test_the_expectations_cover_all_twelve_fixtures():
    assert sorted(EXPECTED) == sorted(FIXTURE_NAMES) and len(FIXTURE_NAMES) == 12


@pytest.mark.parametrize("name", FIXTURE_NAMES)
def test_a_fixtures_metadata_decodes_to_its_functions_and_hashes(name):
    md = decode_metadata(blob(name))
    imports, exports, import_hashes, export_hashes = EXPECTED[name]
    assert [str(s) for s in md.imports] == imports
    assert [str(s) for s in md.exports] == exports
    assert {k: v.hex() for k, v in md.import_hashes.items()} == import_hashes
    assert {k: v.hex() for k, v in md.export_hashes.items()} == export_hashes


@pytest.mark.parametrize("name", FIXTURE_NAMES)
def test_every_embedded_hash_is_reproduced_by_hash_interface(name):
    md = decode_metadata(blob(name))
    for sigs, embedded in ((md.imports, md.import_hashes), (md.exports, md.export_hashes)):
        assert interface_hashes(sigs) == embedded
        for iface, digest in embedded.items():
            assert hash_interface(iface, [s for s in sigs if s.interface == iface]) == digest


@pytest.mark.parametrize("name", FIXTURE_NAMES)
def test_a_fixtures_blob_re_encodes_byte_for_byte(name):
    raw = blob(name)
    assert encode(decode(raw)) == raw
    assert encode_metadata(decode_metadata(raw)) == raw
    assert encode_metadata(PackageMetadata.build(decode_metadata(raw).imports, decode_metadata(raw).exports)) == raw


def test_the_metadata_shape_of_packr_md_3_1_is_what_encode_metadata_writes():
    """PACKR.md 3.1, built by hand from the value model: math.double(n: s64) -> s64."""
    digest = bytes.fromhex(MATH)
    s64 = Variant("type-desc", "s64", 8)
    expected = encode(Record("package-metadata", [
        ("imports", List(b"\x09\x00\x00\x00\x00", [])),
        ("exports", List(b"\x09\x00\x00\x00\x00", [Record("function-sig", [
            ("interface", String("math")), ("name", String("double")),
            ("params", List(b"\x09\x00\x00\x00\x00", [Record("param-sig", [("name", String("n")), ("type", s64)])])),
            ("results", List(b"\x08\x00\x00\x00\x00", [s64]))])])),
        ("import-hashes", List(b"\x09\x00\x00\x00\x00", [])),
        ("export-hashes", List(b"\x09\x00\x00\x00\x00", [Record("interface-hash", [
            ("name", String("math")), ("hash", Tuple([U64(x) for x in struct.unpack("<4Q", digest)]))])])),
    ]))
    assert encode_metadata(PackageMetadata.build([], [sig("math", "double", [("n", "s64")], ["s64"])])) == expected


def test_encode_metadata_writes_what_the_guest_macro_wrote():
    built = encode_metadata(PackageMetadata.build([], [sig("math", "double", [("n", "s64")], ["s64"])]))
    assert built == blob("math_real_fixedbase") == blob("math_mock_fixedbase")


def test_the_hash_tuple_is_the_digest_as_four_little_endian_u64s():
    digest = bytes(range(32))
    md = PackageMetadata((), (), {"i": digest}, {})
    hashes = decode(encode_metadata(md))["import-hashes"][0]["hash"]
    assert hashes == Tuple([U64(0x0706050403020100), U64(0x0F0E0D0C0B0A0908), U64(0x1716151413121110),
                            U64(0x1F1E1D1C1B1A1918)])
    assert decode_metadata(encode_metadata(md)).import_hashes == {"i": digest}


# --------------------------------------------------------------------------------------
# Reference hashes of PACKR.md 3.2 from the interface tables

def test_the_verified_reference_hashes():
    assert hash_interface(RUNTIME, [INTERFACES[RUNTIME]["log"]]).hex() == RUNTIME_LOG
    assert hash_interface("math", [sig("math", "double", [("n", "s64")], ["s64"])]).hex() == MATH
    assert hash_interface(ACTOR, [sig(ACTOR, "init", [("input", "value")], ["value"])]).hex() == ACTOR_INIT
    assert hash_interface("", [sig("", "process", [("input", "value")], ["value"])]).hex() == PROCESS


@pytest.mark.parametrize("label, functions, prefix, suffix", [
    ("full runtime", (RUNTIME, None), "5a8a7706", "60b2dfc4"),
    ("runtime {log, shutdown}", (RUNTIME, ["log", "shutdown"]), "995dc1c8", "4bd983a6"),
    ("full message-server-host", (MESSAGE_SERVER_HOST, None), "4c57c8b0", "462f8576"),
    ("full supervisor", (SUPERVISOR, None), "802d3cc2", "0e82908b"),
    # PACKR.md prints the timer's as 376e1695…b403d436ae, one hex digit short of the hash's
    # last ten (cb6403d436ae); its prefix and last eight digits match.
    ("timer", (TIMER, None), "376e1695", "03d436ae"),
])
def test_the_computed_reference_hashes_are_reproduced_by_the_tables(label, functions, prefix, suffix):
    iface, names = functions
    sigs = [INTERFACES[iface][n] for n in (names or INTERFACES[iface])]
    digest = hash_interface(iface, sigs).hex()
    assert digest.startswith(prefix) and digest.endswith(suffix), digest


def test_the_full_interface_hashes():
    assert {name: hash_interface(name, fns.values()).hex() for name, fns in INTERFACES.items()} == {
        RUNTIME: "5a8a7706304c531bd5a5aa83d0b3f60c3c5ca58e5ad99854175fb74660b2dfc4",
        MESSAGE_SERVER_HOST: "4c57c8b0b5b79b4dfae06d5011c3096c8802df861de35b29911e1faa462f8576",
        SUPERVISOR: "802d3cc29f9e141e4809eb926ceb441206837da1c469d17333a6633b0e82908b",
        TIMER: "376e169568000435cb382b39f9ab2e65f4000d8f4d15e8420659cb6403d436ae",
        # No reference in PACKR.md: computed from crates/theater-handler-store/store.pact.
        STORE: "bea2dcf56801906d7024fc5f167e6e55d614c9cc2b63a666e889e58005a62246",
        # Computed from crates/theater-handler-rpc/rpc.pact (tests/test_rpc.py recomputes it by hand).
        RPC: "382ac1a99edacf567a7deccd575672353262b3cbaf181d02941ffef212f5bef8",
    }


def test_the_interface_tables_hold_ths_functions():
    assert {name: list(fns) for name, fns in INTERFACES.items()} == {
        RUNTIME: ["log", "self", "shutdown"],
        MESSAGE_SERVER_HOST: ["register", "send", "request", "list-outstanding-requests", "respond-to-request",
                              "cancel-request", "open-channel", "send-on-channel", "close-channel"],
        SUPERVISOR: ["spawn", "spawn-and-wait", "resume", "list-children", "restart-child", "stop-child",
                     "get-child-state", "subscribe-to-child", "unsubscribe-from-child"],
        TIMER: ["set-interval", "clear-interval", "now"],
        STORE: ["new", "store", "get", "exists", "label", "get-by-label", "remove-label", "store-at-label",
                "replace-content-at-label", "replace-at-label", "list-all-content", "calculate-total-size",
                "list-labels"],
        RPC: ["call", "implements", "exports"],
    }
    for name, fns in INTERFACES.items():
        assert all(s.interface == name and s.name == fn for fn, s in fns.items())
    assert str(INTERFACES[SUPERVISOR]["spawn"]) == (
        "theater:simple/supervisor.spawn: func(manifest: string, init-state: option<value>, "
        "wasm-bytes: option<list<u8>>) -> result<string, string>")


def test_the_export_tables_type_the_calls_th_makes():
    assert {name: list(fns) for name, fns in EXPORTS.items()} == {
        ACTOR: ["init"],
        MESSAGE_SERVER_CLIENT: ["handle-send", "handle-request", "handle-channel-open", "handle-channel-message",
                                "handle-channel-close"],
        SUPERVISOR_HANDLERS: ["handle-child-error", "handle-child-exit", "handle-child-external-stop",
                              "handle-child-event"],
        TIMER: ["handle-tick"],
    }
    for fns in EXPORTS.values():
        for s in fns.values():
            assert s.params[0] == ("state", VALUE) and len(s.results) == 1 and isinstance(s.results[0], ResultT)
    assert [str(s) for s in EXPORTS[MESSAGE_SERVER_CLIENT].values()] == [
        "theater:simple/message-server-client.handle-send: func(state: value, msg: list<u8>) "
        "-> result<tuple<value>, string>",
        "theater:simple/message-server-client.handle-request: func(state: value, request-id: string, msg: list<u8>) "
        "-> result<tuple<value, tuple<option<list<u8>>>>, string>",
        "theater:simple/message-server-client.handle-channel-open: func(state: value, channel-id: string, "
        "initial-msg: list<u8>) -> result<tuple<value, tuple<record channel-accept {accepted: bool, "
        "message: option<list<u8>>}>>, string>",
        "theater:simple/message-server-client.handle-channel-message: func(state: value, channel-id: string, "
        "msg: list<u8>) -> result<tuple<value>, string>",
        "theater:simple/message-server-client.handle-channel-close: func(state: value, channel-id: string) "
        "-> result<tuple<value>, string>",
    ]
    error = EXPORTS[SUPERVISOR_HANDLERS]["handle-child-error"].params[2]
    assert error == ("error", TupleT((WIT_ERROR_TYPE, OptionT(ListT(PRIM["u8"])))))
    assert [case for case, _ in WIT_ERROR_TYPE.cases][5] == "internal"
    assert EXPORTS[TIMER]["handle-tick"].params == (("state", VALUE), ("name", PRIM["string"]))
    assert CHANNEL_ACCEPT.fields == (("accepted", PRIM["bool"]), ("message", OptionT(ListT(PRIM["u8"]))))


# --------------------------------------------------------------------------------------
# The hash algorithm's rules

def test_primitive_and_value_hashes_are_the_constants():
    assert [hash_type(PRIM[p]) for p in PRIMITIVES] == [bytes([0, n]) + bytes(30) for n in range(1, 15)]
    assert hash_type(VALUE) == HASH_SELF_REF == b"\xff\xff" + bytes(30)


def test_compound_hashes_are_sha256_over_their_parts():
    def sha(*parts: bytes) -> bytes:
        return hashlib.sha256(b"".join(parts)).digest()
    u8, s32, string = hash_type(PRIM["u8"]), hash_type(PRIM["s32"]), hash_type(PRIM["string"])
    assert hash_type(parse_type("list<u8>")) == sha(b"\x10", u8)
    assert hash_type(parse_type("option<u8>")) == sha(b"\x11", u8)
    assert hash_type(parse_type("result<u8, string>")) == sha(b"\x12", u8, string)
    assert hash_type(parse_type("tuple<u8, s32>")) == sha(b"\x13", struct.pack("<I", 2), u8, s32)
    point = RecordT("point", (("y", PRIM["s32"]), ("x", PRIM["s32"])))
    assert hash_type(point) == sha(b"\x14", struct.pack("<I", 2), b"\x01\x00\x00\x00x", s32, b"\x01\x00\x00\x00y", s32)
    shape = VariantT("shape", (("b", None), ("a", PRIM["u8"])))
    assert hash_type(shape) == sha(b"\x15", struct.pack("<I", 2), b"\x01\x00\x00\x00a\x01", u8, b"\x01\x00\x00\x00b\x00")
    f = FunctionSig("i", "f", (("p", PRIM["u8"]),), ())
    assert hash_function(f) == sha(b"\x16", struct.pack("<I", 1), u8, struct.pack("<I", 0))
    assert hash_interface("i", [f]) == sha(b"\x17", b"\x01\x00\x00\x00i", struct.pack("<II", 0, 1),
                                           b"\x01\x00\x00\x00f", hash_function(f))


def test_hashes_exclude_type_and_parameter_names_and_ignore_declaration_order():
    a = RecordT("point", (("x", PRIM["s32"]), ("y", PRIM["s32"])))
    assert hash_type(a) == hash_type(RecordT("vec2", (("y", PRIM["s32"]), ("x", PRIM["s32"]))))
    assert hash_type(a) != hash_type(RecordT("point", (("x", PRIM["s32"]), ("z", PRIM["s32"]))))
    assert hash_function(sig("", "f", [("a", "u8")])) == hash_function(sig("", "f", [("b", "u8")]))
    f, g = sig("i", "f", [], ["u8"]), sig("i", "g", [], ["u8"])
    assert hash_interface("i", [f, g]) == hash_interface("i", [g, f])
    enum = VariantT("e", (("one", None), ("two", None)))
    assert hash_type(enum) == hash_type(VariantT("other", (("two", None), ("one", None))))


def test_a_unit_result_side_hashes_as_bool_ok_and_string_err():
    assert hash_type(parse_type("result<_, string>")) == hash_type(parse_type("result<bool, string>"))
    assert hash_type(parse_type("result<u8>")) == hash_type(parse_type("result<u8, string>"))
    assert hash_type(parse_type("result")) == hash_type(parse_type("result<bool, string>"))


# --------------------------------------------------------------------------------------
# Type descriptors and their text

@pytest.mark.parametrize("text, expected", [
    ("u8", Prim("u8")), ("value", ValueT()), ("list<u8>", ListT(Prim("u8"))),
    ("option<value>", OptionT(VALUE)), ("result<_, string>", ResultT(None, Prim("string"))),
    ("result<list<u8>, string>", ResultT(ListT(Prim("u8")), Prim("string"))), ("result", ResultT(None, None)),
    ("result<u64>", ResultT(Prim("u64"), None)), ("result<s32, _>", ResultT(Prim("s32"), None)),
    ("tuple<string, u64>", TupleT((Prim("string"), Prim("u64")))), ("tuple<>", TupleT(())),
    (" tuple < option<list<u8>> , tuple<bool> > ", TupleT((OptionT(ListT(Prim("u8"))), TupleT((Prim("bool"),))))),
])
def test_parse_type(text, expected):
    assert parse_type(text) == expected
    assert parse_type(str(expected)) == expected


def test_parse_type_resolves_named_types_and_reports_bad_text():
    point = RecordT("point", (("x", PRIM["f64"]),))
    assert parse_type("list<point>", {"point": point}) == ListT(point)
    for text, message in [
        ("lst<u8>", "bad type 'lst<u8>': unknown type name 'lst'"),
        ("list<u8", "bad type 'list<u8': expected '>', found 'the end'"),
        ("list<u8>>", "bad type 'list<u8>>': unexpected '>' after the type"),
        ("tuple<u8 u16>", "bad type 'tuple<u8 u16>': expected ',', found 'u16'"),
        ("", "bad type '': expected a type, found the end"),
        ("list<_>", "bad type 'list<_>': unknown type name '_'"),
        ("list<" * 70 + "u8" + ">" * 70, f"bad type '{'list<' * 70 + 'u8' + '>' * 70}': nested deeper than 64 levels"),
    ]:
        with pytest.raises(ValueError) as e:
            parse_type(text)
        assert str(e.value) == message
    with pytest.raises(ValueError, match=r"^unknown primitive type 'u128' \(valid: bool, u8, "):
        Prim("u128")


def test_type_tags_of_types():
    assert type_tag(parse_type("list<u8>")) == b"\x07\x0c"
    assert type_tag(parse_type("result<_, string>")) == b"\x14\x01\x06"
    assert type_tag(parse_type("option<tuple<s64, char>>")) == b"\x0a\x0b\x02\x00\x00\x00\x03\x12"
    assert type_tag(CHANNEL_ACCEPT) == b"\x09\x0e\x00\x00\x00channel-accept"
    assert type_tag(WIT_ERROR_TYPE) == b"\x08\x0e\x00\x00\x00wit-error-type"
    assert [type_tag(PRIM[p])[0] for p in PRIMITIVES] == [1, 0x0C, 0x0D, 0x0E, 0x0F, 0x10, 0x11, 2, 3, 4, 5, 0x12, 6,
                                                          0x13]
    with pytest.raises(ValueError, match=r"^the dynamic 'value' type has no CGRF type tag"):
        type_tag(VALUE)


# --------------------------------------------------------------------------------------
# encode_metadata / decode_metadata

EVERY_KIND = PackageMetadata.build(
    imports=[sig("theater:simple/runtime", "log", [("msg", "string")]),
             sig("theater:simple/runtime", "self", [], ["string"]),
             sig("pkg:x/y", "f", [("a", "tuple<u8, u16, u32, u64, s8, s16, s32, s64, f32, f64, char, flags, bool>"),
                                  ("b", "result<_, string>"), ("c", "option<list<value>>")], ["result<u8, _>"])],
    exports=[FunctionSig("theater:simple/actor", "init", (("state", VALUE),), (ResultT(WIT_ERROR_TYPE, CHANNEL_ACCEPT),)),
             FunctionSig("", "g", (("r", RecordT("empty", ())), ("v", VariantT("v", (("a", TupleT(())),)))), ())],
)


def test_metadata_with_every_type_kind_round_trips():
    raw = encode_metadata(EVERY_KIND)
    back = decode_metadata(raw)
    canonical = PackageMetadata.build(
        [FunctionSig(s.interface, s.name, s.params, s.results) for s in EVERY_KIND.imports], EVERY_KIND.exports)
    assert back.exports == EVERY_KIND.exports
    assert [str(s) for s in back.imports][2] == (
        "pkg:x/y.f: func(a: tuple<u8, u16, u32, u64, s8, s16, s32, s64, f32, f64, char, flags, bool>, "
        "b: result<bool, string>, c: option<list<value>>) -> result<u8, string>")
    assert back.import_hashes == canonical.import_hashes == interface_hashes(back.imports)
    assert list(back.import_hashes) == ["pkg:x/y", "theater:simple/runtime"]
    assert encode_metadata(back) == raw
    assert back.export("theater:simple/actor.init") is back.exports[0] and back.export("g") is back.exports[1]
    assert back.export("init") is None and back.exports[0].qualified_name == "theater:simple/actor.init"


def _metadata(**fields) -> bytes:
    base = {"imports": List(b"\x06", []), "exports": List(b"\x06", []), "import-hashes": List(b"\x06", []),
            "export-hashes": List(b"\x06", [])}
    base.update(fields)
    return encode(Record("package-metadata", base))


def _one_export(type_desc) -> bytes:
    return _metadata(exports=List(b"\x06", [Record("function-sig", [
        ("interface", ""), ("name", "f"), ("params", List(b"\x06", [])), ("results", List(b"\x06", [type_desc]))])]))


def test_decode_metadata_ignores_unknown_fields_and_accepts_both_hash_forms():
    extra = _metadata(**{"type-params": List(b"\x06", ["T"]), "import-hashes": List(b"\x06", [
        Record("interface-hash", {"name": "i", "hash": Bytes(bytes(range(32))), "note": "later versions"})])})
    md = decode_metadata(extra)
    assert md.import_hashes == {"i": bytes(range(32))} and md.imports == () and md.export_hashes == {}
    assert decode_metadata(_one_export(Variant("type-desc", "unit", 21))).exports[0].results == (TupleT(()),)
    assert decode_metadata(_one_export(Variant("type-desc", "any-name", 8))).exports[0].results == (PRIM["s64"],)


@pytest.mark.parametrize("raw, message", [
    (b"not cgrf at all!", "package metadata is not a valid CGRF buffer: CGRF header at byte 0: bad magic b'not ' "
                          "(expected b'CGRF')"),
    (encode(String("x")), "package metadata: package-metadata: expected a record, got String \"x\""),
    (encode(Record("package-metadata", {"imports": List(b"\x06", [])})),
     "package metadata: package-metadata: missing field 'exports' (has imports)"),
    (_metadata(imports=String("x")),
     "package metadata: package-metadata.imports: expected List or Bytes or Array, got String \"x\""),
    (_metadata(imports=Bytes(b"\x01")),
     "package metadata: package-metadata.imports: expected a list of records, got [1]"),
    (_metadata(exports=List(b"\x06", [String("f")])),
     "package metadata: exports[0]: expected a record, got String \"f\""),
    (_one_export(String("u8")),
     "package metadata: exports[0].results[0]: expected a type-desc variant, got String \"u8\""),
    (_one_export(Variant("type-desc", "map", 22, [])),
     "package metadata: exports[0].results[0]: unknown type-desc case 'map' with tag 22 (valid tags: 0-21)"),
    (_one_export(Variant("type-desc", "list", 14, [])),
     "package metadata: exports[0].results[0]: type-desc case 'list' needs one payload value, has 0"),
    (_one_export(Variant("type-desc", "result", 16, [Record("result-desc", {"ok": Variant("type-desc", "u8", 1)})])),
     "package metadata: exports[0].results[0].result: missing field 'err' (has ok)"),
    (_one_export(Variant("type-desc", "tuple", 19, [String("x")])),
     "package metadata: exports[0].results[0].tuple: expected a list of type-descs, got \"x\""),
    (_metadata(**{"export-hashes": List(b"\x06", [Record("interface-hash", {"name": "i", "hash": Tuple([U64(1)])})])}),
     "package metadata: export-hashes[0].hash: expected tuple<u64, u64, u64, u64> or 32 bytes, got (1)"),
])
def test_decode_metadata_reports_malformed_metadata(raw, message):
    with pytest.raises(MetadataError) as e:
        decode_metadata(raw)
    assert str(e.value) == message


def test_decode_metadata_limits_type_nesting():
    deep = Variant("type-desc", "u8", 1)
    for _ in range(70):
        deep = Variant("type-desc", "option", 15, [deep])
    with pytest.raises(MetadataError, match=r"^package metadata: exports\[0\]\.results\[0\](\.option)+: type-desc "
                                            r"nested deeper than 64 levels$"):
        decode_metadata(_one_export(deep))
    assert isinstance(MetadataError("x"), ValueError)


def test_option_payloads_in_case_descs_decode():
    v = VariantT("status", (("idle", None), ("moving", RecordT("position", (("x", PRIM["f64"]),))),
                            ("error", PRIM["string"])))
    md = PackageMetadata.build([], [FunctionSig("a", "f", (("s", v),), ())])
    assert decode_metadata(encode_metadata(md)).exports[0].params[0][1] == v
    cases = decode(encode_metadata(md))["exports"][0]["params"][0]["type"].payload[0]["cases"]
    assert [type(c["payload"]) for c in cases] == [Option, Option, Option] and not cases[0]["payload"].is_some
