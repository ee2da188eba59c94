"""packr type descriptors, ``__pack_types`` metadata, and interface hashing (PACKR.md 3).

- **Type descriptors** are frozen dataclasses: ``Prim(name)`` for the fourteen primitive
  types, ``ValueT`` (the dynamic ``value``), ``ListT``, ``OptionT``, ``ResultT`` (``None``
  for a ``_`` side), ``TupleT``, ``RecordT`` and ``VariantT`` (an enum is a variant whose
  cases have no payload). ``parse_type`` reads pact-style text such as
  ``"result<list<u8>, string>"``; records and variants are built as objects, or named in
  ``types=``. ``str(t)`` gives the text back.
- **Metadata** is the CGRF blob a module's ``__pack_types`` export points at: record
  ``package-metadata`` {imports, exports: list<function-sig>, import-hashes,
  export-hashes: list<interface-hash>}, types as ``type-desc`` variants dispatched on
  their case tag (as packr's host does; case names are not checked). ``decode_metadata``
  ignores fields it does not know (later packr versions add some) and accepts a hash
  either as ``tuple<u64 x4>`` (what guests write) or as ``list<u8>``. ``encode_metadata``
  writes the same shape, byte for byte as packr-guest's ``pack_types!`` does.
- **Hashes** follow packr-abi's ``hash.rs``: SHA-256 Merkle hashes over structure, field
  and case names included (sorted), type names excluded; ``value`` hashes as the
  self-reference constant; ``result<_, E>`` hashes its ``_`` ok as ``bool`` and a ``_``
  err as ``string``. An interface hash covers its name and its functions sorted by name;
  ``interface_hashes`` groups signatures by interface, as the guest macro does when it
  embeds ``import-hashes`` and ``export-hashes``.

Type descriptors nest at most ``MAX_TYPE_DEPTH`` levels in parsed text and in metadata, so
the recursive helpers here stay far from Python's recursion limit.
"""

from __future__ import annotations

import hashlib
import re
import struct
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Union

from .cgrf import decode, encode
from .value import Array, Bytes, List, Option, Record, String, Tuple, U64, Value, Variant

MAX_TYPE_DEPTH = 64

PRIMITIVES = ("bool", "u8", "u16", "u32", "u64", "s8", "s16", "s32", "s64", "f32", "f64", "char", "string", "flags")
"""The primitive type names, in ``type-desc`` case-tag order (tags 0-13)."""


class TypeDesc:
    """Base of the type descriptors."""

    __slots__ = ()


@dataclass(frozen=True)
class Prim(TypeDesc):
    """A primitive type: one of ``PRIMITIVES``."""

    name: str

    def __post_init__(self) -> None:
        if self.name not in PRIMITIVES:
            raise ValueError(f"unknown primitive type {self.name!r} (valid: {', '.join(PRIMITIVES)})")

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True)
class ValueT(TypeDesc):
    """``value``: any CGRF value."""

    def __str__(self) -> str:
        return "value"


@dataclass(frozen=True)
class ListT(TypeDesc):
    elem: TypeDesc

    def __str__(self) -> str:
        return f"list<{self.elem}>"


@dataclass(frozen=True)
class OptionT(TypeDesc):
    inner: TypeDesc

    def __str__(self) -> str:
        return f"option<{self.inner}>"


@dataclass(frozen=True)
class ResultT(TypeDesc):
    """``result<ok, err>``; None stands for ``_``."""

    ok: TypeDesc | None
    err: TypeDesc | None

    def __str__(self) -> str:
        return f"result<{self.ok or '_'}, {self.err or '_'}>"


@dataclass(frozen=True)
class TupleT(TypeDesc):
    items: tuple[TypeDesc, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "items", tuple(self.items))

    def __str__(self) -> str:
        return f"tuple<{', '.join(map(str, self.items))}>"


@dataclass(frozen=True)
class RecordT(TypeDesc):
    name: str
    fields: tuple[tuple[str, TypeDesc], ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "fields", tuple((n, t) for n, t in self.fields))

    def __str__(self) -> str:
        return f"record {self.name} {{{', '.join(f'{n}: {t}' for n, t in self.fields)}}}"


@dataclass(frozen=True)
class VariantT(TypeDesc):
    name: str
    cases: tuple[tuple[str, TypeDesc | None], ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "cases", tuple((n, t) for n, t in self.cases))

    def __str__(self) -> str:
        cases = (n if t is None else f"{n}({t})" for n, t in self.cases)
        return f"variant {self.name} {{{', '.join(cases)}}}"


PRIM: dict[str, Prim] = {name: Prim(name) for name in PRIMITIVES}
"""The primitive descriptors by name."""
VALUE = ValueT()

TypeLike = Union[TypeDesc, str]


# ---------------------------------------------------------------------------------------
# Pact-style type text

_TOKEN = re.compile(r"\s*(?:([A-Za-z_][A-Za-z0-9_-]*)|(\S))")


def parse_type(text: str, types: Mapping[str, TypeDesc] | None = None) -> TypeDesc:
    """The type written in pact syntax: a primitive, ``value``, ``list<T>``,
    ``option<T>``, ``result`` / ``result<T>`` / ``result<T, E>`` (``_`` for no type),
    ``tuple<T, ...>``, or a name looked up in ``types`` (records and variants)."""
    tokens = [m.group(1) or m.group(2) for m in _TOKEN.finditer(text) if m.group(1) or m.group(2)]
    pos = 0

    def fail(problem: str) -> ValueError:
        return ValueError(f"bad type {text!r}: {problem}")

    def expect(tok: str) -> None:
        nonlocal pos
        got = tokens[pos] if pos < len(tokens) else "the end"
        if got != tok:
            raise fail(f"expected {tok!r}, found {got!r}")
        pos += 1

    def ty(depth: int, allow_blank: bool = False) -> TypeDesc | None:
        nonlocal pos
        if depth > MAX_TYPE_DEPTH:
            raise fail(f"nested deeper than {MAX_TYPE_DEPTH} levels")
        if pos >= len(tokens):
            raise fail("expected a type, found the end")
        word = tokens[pos]
        pos += 1
        if word == "_" and allow_blank:
            return None
        if word in PRIM:
            return PRIM[word]
        if word == "value":
            return VALUE
        if word in ("list", "option"):
            expect("<")
            inner = ty(depth + 1)
            expect(">")
            return ListT(inner) if word == "list" else OptionT(inner)  # type: ignore[arg-type]
        if word == "result":
            if pos < len(tokens) and tokens[pos] == "<":
                pos += 1
                ok = ty(depth + 1, True)
                err = None
                if tokens[pos:pos + 1] == [","]:
                    pos += 1
                    err = ty(depth + 1, True)
                expect(">")
                return ResultT(ok, err)
            return ResultT(None, None)
        if word == "tuple":
            expect("<")
            items: list[TypeDesc] = []
            while tokens[pos:pos + 1] != [">"]:
                if items:
                    expect(",")
                items.append(ty(depth + 1))  # type: ignore[arg-type]
            pos += 1
            return TupleT(tuple(items))
        if types is not None and word in types:
            return types[word]
        raise fail(f"unknown type name {word!r}")

    result = ty(0)
    if pos != len(tokens):
        raise fail(f"unexpected {tokens[pos]!r} after the type")
    return result  # type: ignore[return-value]


def type_tag(t: TypeDesc) -> bytes:
    """The CGRF type-tag for values of type ``t`` (``_`` in a result tags as bool and
    string, as it hashes). ``value`` has no tag: ValueError."""
    if isinstance(t, Prim):
        return bytes([_PRIM_TAG_BYTES[t.name]])
    if isinstance(t, ListT):
        return b"\x07" + type_tag(t.elem)
    if isinstance(t, OptionT):
        return b"\x0a" + type_tag(t.inner)
    if isinstance(t, ResultT):
        return b"\x14" + type_tag(t.ok or PRIM["bool"]) + type_tag(t.err or PRIM["string"])
    if isinstance(t, TupleT):
        return b"\x0b" + _U32.pack(len(t.items)) + b"".join(map(type_tag, t.items))
    if isinstance(t, (RecordT, VariantT)):
        raw = t.name.encode()
        return (b"\x09" if isinstance(t, RecordT) else b"\x08") + _U32.pack(len(raw)) + raw
    raise ValueError("the dynamic 'value' type has no CGRF type tag (tag the value by what it holds)")


_PRIM_TAG_BYTES = {"bool": 0x01, "s32": 0x02, "s64": 0x03, "f32": 0x04, "f64": 0x05, "string": 0x06, "u8": 0x0C,
                   "u16": 0x0D, "u32": 0x0E, "u64": 0x0F, "s8": 0x10, "s16": 0x11, "char": 0x12, "flags": 0x13}
_U32 = struct.Struct("<I")


# ---------------------------------------------------------------------------------------
# Signatures and metadata


@dataclass(frozen=True)
class FunctionSig:
    """A function of an interface: ``interface`` is ``""`` for unqualified exports."""

    interface: str
    name: str
    params: tuple[tuple[str, TypeDesc], ...] = ()
    results: tuple[TypeDesc, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "params", tuple((n, t) for n, t in self.params))
        object.__setattr__(self, "results", tuple(self.results))

    @property
    def qualified_name(self) -> str:
        """The name of the module's export or import field: ``"iface.fn"`` or ``"fn"``."""
        return f"{self.interface}.{self.name}" if self.interface else self.name

    def __str__(self) -> str:
        params = ", ".join(f"{n}: {t}" for n, t in self.params)
        results = " -> " + ", ".join(map(str, self.results)) if self.results else ""
        return f"{self.qualified_name}: func({params}){results}"


def sig(interface: str, name: str, params: Iterable[tuple[str, TypeLike]] = (),
        results: Iterable[TypeLike] = (), types: Mapping[str, TypeDesc] | None = None) -> FunctionSig:
    """A ``FunctionSig`` with its types given as descriptors or pact text."""
    def t(x: TypeLike) -> TypeDesc:
        return x if isinstance(x, TypeDesc) else parse_type(x, types)
    return FunctionSig(interface, name, tuple((n, t(x)) for n, x in params), tuple(map(t, results)))


@dataclass(frozen=True)
class PackageMetadata:
    """A module's ``__pack_types``: its imported and exported functions and the interface
    hashes it carries (interface name -> 32 bytes)."""

    imports: tuple[FunctionSig, ...]
    exports: tuple[FunctionSig, ...]
    import_hashes: dict[str, bytes] = field(default_factory=dict)
    export_hashes: dict[str, bytes] = field(default_factory=dict)

    @classmethod
    def build(cls, imports: Iterable[FunctionSig], exports: Iterable[FunctionSig]) -> PackageMetadata:
        """Metadata for these functions, with the hashes computed as the guest macro does."""
        imports, exports = tuple(imports), tuple(exports)
        return cls(imports, exports, interface_hashes(imports), interface_hashes(exports))

    def export(self, qualified_name: str) -> FunctionSig | None:
        """The exported function named like the module's export (``"iface.fn"`` or ``"fn"``)."""
        return next((s for s in self.exports if s.qualified_name == qualified_name), None)


class MetadataError(ValueError):
    """A ``__pack_types`` blob that is not valid package metadata."""


_TYPE_TAGS: dict[int, str] = {i: name for i, name in enumerate(PRIMITIVES)}
_LIST, _OPTION, _RESULT, _RECORD, _VARIANT, _TUPLE, _VALUE, _UNIT = range(14, 22)


def _field(rec: Value, name: str, kind: type | tuple[type, ...], path: str) -> Value:
    if type(rec) is not Record:
        raise MetadataError(f"package metadata: {path}: expected a record, got {type(rec).__name__} {rec!r}")
    v = rec.get(name)  # type: ignore[attr-defined]
    if v is None:
        raise MetadataError(f"package metadata: {path}: missing field {name!r} (has {', '.join(rec) or 'none'})")
    if not isinstance(v, kind):
        want = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
        raise MetadataError(f"package metadata: {path}.{name}: expected {want}, got {type(v).__name__} {v!r}")
    return v


def _seq(v: Value) -> tuple[Value, ...] | None:
    """The items of a list of compound values (an empty list may come as an empty Array)."""
    if type(v) is List or (type(v) in (Array, Bytes) and not len(v)):  # type: ignore[arg-type]
        return tuple(v)  # type: ignore[arg-type]
    return None


def _items(rec: Value, name: str, path: str) -> tuple[Value, ...]:
    items = _seq(_field(rec, name, (List, Bytes, Array), path))
    if items is None:
        raise MetadataError(f"package metadata: {path}.{name}: expected a list of records, got {rec[name]!r}")  # type: ignore[index]
    return items


def _type_from(v: Value, path: str, depth: int = 0) -> TypeDesc:
    if depth > MAX_TYPE_DEPTH:
        raise MetadataError(f"package metadata: {path}: type-desc nested deeper than {MAX_TYPE_DEPTH} levels")
    if type(v) is not Variant:
        raise MetadataError(f"package metadata: {path}: expected a type-desc variant, got {type(v).__name__} {v!r}")
    tag, payload = v.tag, v.payload  # type: ignore[attr-defined]
    if tag in _TYPE_TAGS:
        return PRIM[_TYPE_TAGS[tag]]
    if tag == _VALUE:
        return VALUE
    if tag == _UNIT:  # packr's host-side encoder writes unit; it hashes as the empty tuple
        return TupleT(())
    if tag not in (_LIST, _OPTION, _RESULT, _RECORD, _VARIANT, _TUPLE):
        raise MetadataError(f"package metadata: {path}: unknown type-desc case {v.case!r} with tag {tag} "  # type: ignore[attr-defined]
                            f"(valid tags: 0-21)")
    if len(payload) != 1:
        raise MetadataError(f"package metadata: {path}: type-desc case {v.case!r} needs one payload value, "  # type: ignore[attr-defined]
                            f"has {len(payload)}")
    inner = payload[0]
    here = f"{path}.{v.case}"  # type: ignore[attr-defined]
    if tag == _LIST:
        return ListT(_type_from(inner, here, depth + 1))
    if tag == _OPTION:
        return OptionT(_type_from(inner, here, depth + 1))
    if tag == _RESULT:
        return ResultT(_type_from(_field(inner, "ok", Variant, here), here + ".ok", depth + 1),
                       _type_from(_field(inner, "err", Variant, here), here + ".err", depth + 1))
    if tag == _TUPLE:
        items = _seq(inner)
        if items is None:
            raise MetadataError(f"package metadata: {here}: expected a list of type-descs, got {inner!r}")
        return TupleT(tuple(_type_from(t, f"{here}[{i}]", depth + 1) for i, t in enumerate(items)))
    name = str(_field(inner, "name", String, here))
    if tag == _RECORD:
        fields = []
        for i, f in enumerate(_items(inner, "fields", here)):
            at = f"{here}.fields[{i}]"
            fields.append((str(_field(f, "name", String, at)), _type_from(_field(f, "type", Variant, at), at + ".type", depth + 1)))
        return RecordT(name, tuple(fields))
    cases = []
    for i, c in enumerate(_items(inner, "cases", here)):
        at = f"{here}.cases[{i}]"
        opt = _field(c, "payload", Option, at)
        cases.append((str(_field(c, "name", String, at)),
                      None if opt.value is None else _type_from(opt.value, at + ".payload", depth + 1)))  # type: ignore[attr-defined]
    return VariantT(name, tuple(cases))


def _sig_from(v: Value, path: str) -> FunctionSig:
    params = []
    for i, p in enumerate(_items(v, "params", path)):
        at = f"{path}.params[{i}]"
        params.append((str(_field(p, "name", String, at)), _type_from(_field(p, "type", Variant, at), at + ".type")))
    results = tuple(_type_from(t, f"{path}.results[{i}]") for i, t in enumerate(_items(v, "results", path)))
    return FunctionSig(str(_field(v, "interface", String, path)), str(_field(v, "name", String, path)),
                       tuple(params), results)


def _hashes_from(v: Value, name: str) -> dict[str, bytes]:
    out: dict[str, bytes] = {}
    for i, h in enumerate(_items(v, name, "package-metadata")):
        at = f"{name}[{i}]"
        raw = _field(h, "hash", (Tuple, Bytes), at)
        if type(raw) is Tuple and len(raw) == 4 and all(type(x) is U64 for x in raw):  # type: ignore[arg-type]
            digest = struct.pack("<4Q", *raw)  # type: ignore[misc]
        elif type(raw) is Bytes and len(raw) == 32:  # type: ignore[arg-type]
            digest = bytes(raw)  # type: ignore[arg-type]
        else:
            raise MetadataError(f"package metadata: {at}.hash: expected tuple<u64, u64, u64, u64> or 32 bytes, got {raw!r}")
        out[str(_field(h, "name", String, at))] = digest
    return out


def decode_metadata(blob: bytes) -> PackageMetadata:
    """The package metadata in a ``__pack_types`` blob (``MetadataError`` if the blob is
    not CGRF or not shaped as package metadata)."""
    try:
        root = decode(blob)
    except ValueError as e:
        raise MetadataError(f"package metadata is not a valid CGRF buffer: {e}") from None
    return PackageMetadata(
        tuple(_sig_from(s, f"imports[{i}]") for i, s in enumerate(_items(root, "imports", "package-metadata"))),
        tuple(_sig_from(s, f"exports[{i}]") for i, s in enumerate(_items(root, "exports", "package-metadata"))),
        _hashes_from(root, "import-hashes"),
        _hashes_from(root, "export-hashes"),
    )


_REC0 = b"\x09\x00\x00\x00\x00"  # the guest macro's list/option tags: record "" and variant ""
_VAR0 = b"\x08\x00\x00\x00\x00"


def _type_value(t: TypeDesc) -> Value:
    def case(name: str, tag: int, *payload: Value) -> Variant:
        return Variant("type-desc", name, tag, payload)
    if isinstance(t, Prim):
        return case(t.name, PRIMITIVES.index(t.name))
    if isinstance(t, ValueT):
        return case("value", _VALUE)
    if isinstance(t, ListT):
        return case("list", _LIST, _type_value(t.elem))
    if isinstance(t, OptionT):
        return case("option", _OPTION, _type_value(t.inner))
    if isinstance(t, ResultT):
        return case("result", _RESULT, Record("result-desc", [("ok", _type_value(t.ok or PRIM["bool"])),
                                                              ("err", _type_value(t.err or PRIM["string"]))]))
    if isinstance(t, TupleT):
        return case("tuple", _TUPLE, List(_VAR0, map(_type_value, t.items)))
    if isinstance(t, RecordT):
        fields = List(_REC0, (Record("field-desc", [("name", String(n)), ("type", _type_value(ft))]) for n, ft in t.fields))
        return case("record", _RECORD, Record("record-desc", [("name", String(t.name)), ("fields", fields)]))
    if isinstance(t, VariantT):
        cases = List(_REC0, (Record("case-desc", [("name", String(n)),
                                                  ("payload", Option(_VAR0, None if ct is None else _type_value(ct)))])
                             for n, ct in t.cases))
        return case("variant", _VARIANT, Record("variant-desc", [("name", String(t.name)), ("cases", cases)]))
    raise TypeError(f"not a type descriptor: {t!r}")


def _sig_value(s: FunctionSig) -> Record:
    params = List(_REC0, (Record("param-sig", [("name", String(n)), ("type", _type_value(t))]) for n, t in s.params))
    return Record("function-sig", [("interface", String(s.interface)), ("name", String(s.name)), ("params", params),
                                   ("results", List(_VAR0, map(_type_value, s.results)))])


def _hash_values(hashes: Mapping[str, bytes]) -> List:
    return List(_REC0, (Record("interface-hash", [("name", String(n)), ("hash", Tuple(map(U64, struct.unpack("<4Q", h))))])
                        for n, h in hashes.items()))


def encode_metadata(md: PackageMetadata) -> bytes:
    """The ``__pack_types`` blob for ``md``, shaped as packr-guest's ``pack_types!`` writes
    it (the hashes as given, in their order; ``PackageMetadata.build`` computes them)."""
    return encode(Record("package-metadata", [
        ("imports", List(_REC0, map(_sig_value, md.imports))),
        ("exports", List(_REC0, map(_sig_value, md.exports))),
        ("import-hashes", _hash_values(md.import_hashes)),
        ("export-hashes", _hash_values(md.export_hashes)),
    ]))


# ---------------------------------------------------------------------------------------
# Hashing (packr-abi hash.rs)


def _prim_hash(n: int) -> bytes:
    return bytes([0, n]) + bytes(30)


_PRIM_HASHES = {name: _prim_hash(i + 1) for i, name in enumerate(PRIMITIVES)}
HASH_SELF_REF = b"\xff\xff" + bytes(30)
"""The hash of ``value`` (and of self-references in recursive types)."""


def _str(s: str) -> bytes:
    raw = s.encode()
    return _U32.pack(len(raw)) + raw


def _sha(*parts: bytes) -> bytes:
    return hashlib.sha256(b"".join(parts)).digest()


def hash_type(t: TypeDesc) -> bytes:
    """The 32-byte structural hash of a type."""
    if isinstance(t, Prim):
        return _PRIM_HASHES[t.name]
    if isinstance(t, ValueT):
        return HASH_SELF_REF
    if isinstance(t, ListT):
        return _sha(b"\x10", hash_type(t.elem))
    if isinstance(t, OptionT):
        return _sha(b"\x11", hash_type(t.inner))
    if isinstance(t, ResultT):
        return _sha(b"\x12", hash_type(t.ok or PRIM["bool"]), hash_type(t.err or PRIM["string"]))
    if isinstance(t, TupleT):
        return _sha(b"\x13", _U32.pack(len(t.items)), *map(hash_type, t.items))
    if isinstance(t, RecordT):
        fields = sorted(t.fields, key=lambda f: f[0])
        return _sha(b"\x14", _U32.pack(len(fields)), *(_str(n) + hash_type(ft) for n, ft in fields))
    if isinstance(t, VariantT):
        cases = sorted(t.cases, key=lambda c: c[0])
        return _sha(b"\x15", _U32.pack(len(cases)),
                    *(_str(n) + (b"\x00" if ct is None else b"\x01" + hash_type(ct)) for n, ct in cases))
    raise TypeError(f"not a type descriptor: {t!r}")


def hash_function(s: FunctionSig) -> bytes:
    """The hash of a function's signature (parameter types, not names, then results)."""
    return _sha(b"\x16", _U32.pack(len(s.params)), *(hash_type(t) for _, t in s.params),
                _U32.pack(len(s.results)), *map(hash_type, s.results))


def hash_interface(name: str, sigs: Iterable[FunctionSig]) -> bytes:
    """The hash of interface ``name`` with these functions (sorted by name; no type
    bindings, as the guest macro and TH's handlers compute it)."""
    funcs = sorted(sigs, key=lambda s: s.name)
    return _sha(b"\x17", _str(name), _U32.pack(0), _U32.pack(len(funcs)),
                *(_str(s.name) + hash_function(s) for s in funcs))


def interface_hashes(sigs: Iterable[FunctionSig]) -> dict[str, bytes]:
    """Interface name -> hash over that interface's functions among ``sigs``, sorted by
    interface name (the ``import-hashes`` / ``export-hashes`` of a blob)."""
    groups: dict[str, list[FunctionSig]] = {}
    for s in sigs:
        groups.setdefault(s.interface, []).append(s)
    return {name: hash_interface(name, groups[name]) for name in sorted(groups)}
