"""CGRF v2, packr's value encoding (PACKR.md 2.1-2.3): encoder and validating decoder.

A buffer is a 16-byte header (``"CGRF"``, version u16 = 2, flags u16 = 0, node_count u32,
root u32) and then node_count nodes (kind u8, flags u8 = 0, reserved u16 = 0, payload_len
u32, payload); compound nodes refer to their children by node index. Decisions:

- **Canonical encoding.** ``encode`` writes children before parents, left to right (the
  post-order packr's own encoder writes), one node per value (no sharing) and the root
  last; lists of fixed-width primitives are always Array nodes (``Bytes`` and ``Array``
  values). So ``encode(decode(b)) == b`` for every buffer packr writes (one exception:
  an f32 signaling NaN comes back quieted, as Python's float conversion quiets it), and
  equal values have equal encodings.
- **Full validation, with messages that locate the problem.** ``decode`` refuses what
  packr refuses (bad magic or version, root out of range, trailing bytes, cycles, the
  size limits, invalid UTF-8 or char scalars, a List node with a primitive element type,
  a Result without payload) and, beyond that, every non-canonical corner a decoder
  could otherwise read in two ways: non-zero header or node flags and reserved bytes,
  payloads not exactly consumed, Bool bytes other than 0/1 (in Arrays too), Option
  presence and Result tags other than 0/1, duplicate record field names. Type-tags are
  parsed (they must be well formed) but, being labels, are not checked against the
  contents. ``CgrfError`` (a ``ValueError``) names the node index, its kind, the byte
  offset and what would have been valid.
- **No recursion, no per-byte loops.** Nodes are decoded in one pass in index order,
  which builds every child before its parent in a post-order buffer; a buffer with a
  forward reference (which packr accepts, though no packr encoder writes one) falls
  back to an explicit-stack depth-first pass that also finds cycles. Nesting depth is
  thus bounded only by the node limit. Integers, floats and Array contents are read
  with precompiled ``struct.Struct``s and slices. Nodes that are shared (a DAG) decode
  to one shared Python value.

``encode_call(state, params)`` builds an export's input ``tuple[state, *params]`` with the
state's canonical buffer spliced in unchanged (its nodes first, then the params' nodes,
then the tuple), so a host-held state is never re-encoded.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from struct import Struct
from typing import Any, Callable

from .value import (
    FIXED_WIDTH, FIXED_WIDTH_NAMES, K_ARRAY, K_BOOL, K_CHAR, K_F32, K_F64, K_FLAGS, K_LIST, K_OPTION,
    K_RECORD, K_RESULT, K_S8, K_S16, K_S32, K_S64, K_STRING, K_TUPLE, K_U8, K_U16, K_U32, K_U64,
    K_VARIANT, KIND_NAMES, TAG_NAMES, Array, Bool, Bytes, Char, F32, F64, Flags, List, Option, Record,
    Result, S8, S16, S32, S64, String, TagError, Tuple, U8, U16, U32, U64, Value, Variant, _array, _list,
    _option, _record, _result, _variant, tag_end, to_value,
)

MAGIC = b"CGRF"
VERSION = 2
MAX_BUFFER = 256 * 1024 * 1024
MAX_NODES = 10_000_000
MAX_PAYLOAD = 128 * 1024 * 1024


class CgrfError(ValueError):
    """A buffer that is not valid CGRF v2 (or a value that cannot be encoded).
    ``node`` and ``offset`` locate the problem (None where not applicable)."""

    def __init__(self, message: str, node: int | None = None, offset: int | None = None):
        super().__init__(message)
        self.node = node
        self.offset = offset


class _Bad(Exception):
    """Raised inside a node's parser; decode adds the node's index and kind."""

    def __init__(self, offset: int, problem: str):
        self.offset = offset
        self.problem = problem


_HEADER = Struct("<4sHHII")
_NODE = Struct("<BBHI")
_U32 = Struct("<I")
_U32_U8 = Struct("<IB")
_U32_U32 = Struct("<II")

_U32S: list[Struct] = [Struct(f"<{n}I") for n in range(64)]


def _u32s(n: int) -> Struct:
    """The Struct of ``n`` u32s (cached for small ``n``)."""
    return _U32S[n] if n < 64 else Struct(f"<{n}I")


# Per fixed-width primitive: struct format char and value class.
_ELEMS: dict[int, tuple[str, type]] = {
    K_BOOL: ("B", Bool), K_U8: ("B", U8), K_S8: ("b", S8), K_U16: ("H", U16), K_S16: ("h", S16),
    K_U32: ("I", U32), K_S32: ("i", S32), K_F32: ("f", F32), K_CHAR: ("I", Char),
    K_U64: ("Q", U64), K_S64: ("q", S64), K_F64: ("d", F64), K_FLAGS: ("Q", Flags),
}

# ----------------------------------------------------------------------------------------
# Decoding

# Scalar nodes without value checks: kind -> (payload size, unpack_from, maker).
_SCALAR_DECODERS: dict[int, tuple[int, Callable, Callable]] = {
    kind: (FIXED_WIDTH[kind], Struct("<" + fmt).unpack_from, partial((float if kind in (K_F32, K_F64) else int).__new__, cls))
    for kind, (fmt, cls) in _ELEMS.items() if kind not in (K_BOOL, K_CHAR)
}
_new_bool = partial(int.__new__, Bool)
_new_char = partial(str.__new__, Char)
_new_bytes = partial(bytes.__new__, Bytes)


class _Forward(Exception):
    """A parser met a child index at or past its ``limit`` (not built yet)."""

    def __init__(self, idxs: Sequence[int]):
        self.idxs = idxs


def _u32_at(data: bytes, p: int, end: int, what: str) -> int:
    if p + 4 > end:
        raise _Bad(p, f"the payload ends before the {what} (a u32)")
    return _U32.unpack_from(data, p)[0]


def _name_at(data: bytes, p: int, end: int, what: str) -> tuple[str, int]:
    """A length-prefixed UTF-8 name at ``p``, and the offset after it."""
    if p + 4 > end:
        raise _Bad(p, f"the payload ends before the {what}'s length (a u32)")
    q = p + 4 + _U32.unpack_from(data, p)[0]
    if q > end:
        raise _Bad(p, f"the {what} of {q - p - 4} bytes runs past the end of the payload")
    try:
        return data[p + 4:q].decode(), q
    except UnicodeDecodeError as e:
        raise _Bad(p + 4 + e.start, f"invalid UTF-8 in the {what} ({e.reason}; valid: strict UTF-8)") from None


def _tag_at(data: bytes, p: int, end: int, what: str) -> int:
    try:
        return tag_end(data, p, end)
    except TagError as e:
        raise _Bad(e.offset, f"malformed {what} type tag: {e}") from None


def _kids(data: bytes, p: int, end: int, n: int, vals: list, limit: int, what: str) -> list:
    """The values of exactly ``n`` child indices from ``p`` to the payload's end."""
    if end - p != 4 * n:
        raise _Bad(p, f"the payload has {end - p} bytes for the child indices of its {n} {what} (expected {4 * n})")
    if n == 1:  # the common case: skip the tuple, max() and map()
        c = _U32.unpack_from(data, p)[0]
        if c >= limit:
            raise _Forward((c,))
        return [vals[c]]
    if not n:
        return []
    idxs = _u32s(n).unpack_from(data, p)
    if max(idxs) >= limit:
        raise _Forward(idxs)
    return list(map(vals.__getitem__, idxs))


def _kid(data: bytes, p: int, end: int, vals: list, limit: int, what: str) -> Value:
    """The value of the single child index that ends the payload at ``p``."""
    if end - p != 4:
        raise _Bad(p, f"the payload has {end - p} bytes for the child index of its {what} (expected 4)")
    c = _U32.unpack_from(data, p)[0]
    if c >= limit:
        raise _Forward((c,))
    return vals[c]


# Parsers of the other kinds: (data, payload start, payload end, vals, limit) -> Value;
# children are vals[index] and must be below `limit` (else _Forward).

def _parse_string(data: bytes, start: int, end: int, vals: list, limit: int) -> Value:
    n = _u32_at(data, start, end, "string length")
    if n != end - start - 4:
        raise _Bad(start, f"string length {n} does not match the payload ({end - start - 4} bytes follow the length)")
    try:
        return str.__new__(String, data[start + 4:end], "utf-8")
    except UnicodeDecodeError as e:
        raise _Bad(start + 4 + e.start, f"invalid UTF-8 ({e.reason}; valid: strict UTF-8, no surrogates)") from None


def _parse_tuple(data: bytes, start: int, end: int, vals: list, limit: int) -> Value:
    n = _u32_at(data, start, end, "item count")
    return tuple.__new__(Tuple, _kids(data, start + 4, end, n, vals, limit, "items"))


def _parse_record(data: bytes, start: int, end: int, vals: list, limit: int) -> Value:
    name, p = _name_at(data, start, end, "record type name")
    n = _u32_at(data, p, end, "field count")
    p += 4
    names = []
    for _ in range(n):
        field, p = _name_at(data, p, end, "field name")
        names.append(field)
    fields = dict(zip(names, _kids(data, p, end, n, vals, limit, "fields")))
    if len(fields) != n:
        dup = next(f for f in names if names.count(f) > 1)
        raise _Bad(start, f"field name {dup!r} appears twice (field names must be distinct)")
    return _record(name, fields)


def _parse_variant(data: bytes, start: int, end: int, vals: list, limit: int) -> Value:
    type_name, p = _name_at(data, start, end, "variant type name")
    case, p = _name_at(data, p, end, "case name")
    if p + 8 > end:
        raise _Bad(p, "the payload ends before the case tag and payload count (two u32s)")
    tag, n = _U32_U32.unpack_from(data, p)
    return _variant(type_name, case, tag, tuple(_kids(data, p + 8, end, n, vals, limit, "payload values")))


def _parse_list(data: bytes, start: int, end: int, vals: list, limit: int) -> Value:
    p = _tag_at(data, start, end, "element")
    if data[start] in FIXED_WIDTH:
        raise _Bad(start, f"List element type {TAG_NAMES[data[start]]} is a fixed-width primitive: "
                          f"expected Array node (kind 0x15) for such lists")
    n = _u32_at(data, p, end, "item count")
    return _list(data[start:p], _kids(data, p + 4, end, n, vals, limit, "items"))


def _parse_option(data: bytes, start: int, end: int, vals: list, limit: int) -> Value:
    p = _tag_at(data, start, end, "inner")
    if p >= end:
        raise _Bad(p, "the payload ends before the presence byte")
    presence = data[p]
    if presence == 0:
        if p + 1 != end:
            raise _Bad(p + 1, f"{end - p - 1} byte(s) after the presence byte of none (the payload must end there)")
        return _option(data[start:p], None)
    if presence != 1:
        raise _Bad(p, f"presence byte is {presence} (valid: 0 = none, 1 = some)")
    return _option(data[start:p], _kid(data, p + 1, end, vals, limit, "some"))


def _parse_result(data: bytes, start: int, end: int, vals: list, limit: int) -> Value:
    p = _tag_at(data, start, end, "ok")
    q = _tag_at(data, p, end, "err")
    if q + 5 > end:
        raise _Bad(q, "the payload ends before the result tag (u32) and has_payload byte")
    tag, has = _U32_U8.unpack_from(data, q)
    if tag > 1:
        raise _Bad(q, f"result tag is {tag} (valid: 0 = ok, 1 = err)")
    if has != 1:
        raise _Bad(q + 4, f"has_payload is {has} (must be 1: a Result always carries a payload)")
    return _result(tag == 0, _kid(data, q + 5, end, vals, limit, "payload"), data[start:p], data[p:q])


def _parse_array(data: bytes, start: int, end: int, vals: list, limit: int) -> Value:
    p = _tag_at(data, start, end, "element")
    kind = data[start]
    width = FIXED_WIDTH.get(kind) if p == start + 1 else None
    if width is None:
        raise _Bad(start, f"Array element type {TAG_NAMES[kind]} is not a fixed-width primitive "
                          f"(valid: {FIXED_WIDTH_NAMES})")
    n = _u32_at(data, p, end, "item count")
    p += 4
    if end - p != n * width:
        raise _Bad(p, f"an Array of {n} {TAG_NAMES[kind]} needs {n * width} data bytes, the payload has {end - p}")
    if kind == K_U8:
        return _new_bytes(data[p:end])
    elem = data[start:start + 1]
    if kind == K_BOOL:
        raw = data[p:end]
        if raw.translate(None, b"\x00\x01"):
            j = next(j for j, b in enumerate(raw) if b > 1)
            raise _Bad(p + j, f"bool item {j} is {raw[j]} (valid: 0 or 1)")
        return _array(elem, tuple(map(_new_bool, raw)))
    fmt, cls = _ELEMS[kind]
    items = Struct(f"<{n}{fmt}").unpack_from(data, p)
    if kind == K_CHAR:
        try:
            text = "".join(map(chr, items))
            text.encode()
        except (ValueError, UnicodeEncodeError):
            j = next(j for j, c in enumerate(items) if not (c < 0xD800 or 0xE000 <= c <= 0x10FFFF))
            raise _Bad(p + 4 * j, f"char item {j} is {items[j]:#x}, not a Unicode scalar value "
                                  f"(valid: 0-0xd7ff, 0xe000-0x10ffff)") from None
        return _array(elem, tuple(map(_new_char, text)))
    return _array(elem, tuple(map(_SCALAR_DECODERS[kind][2], items)))


def _parse_bool(data: bytes, start: int, end: int, vals: list, limit: int) -> Value:
    if end - start != 1:
        raise _Bad(start, f"the payload is {end - start} bytes (expected 1)")
    b = data[start]
    if b > 1:
        raise _Bad(start, f"bool byte is {b} (valid: 0 or 1)")
    return _new_bool(b)


def _parse_char(data: bytes, start: int, end: int, vals: list, limit: int) -> Value:
    if end - start != 4:
        raise _Bad(start, f"the payload is {end - start} bytes (expected 4)")
    c = _U32.unpack_from(data, start)[0]
    if not (c < 0xD800 or 0xE000 <= c <= 0x10FFFF):
        raise _Bad(start, f"{c:#x} is not a Unicode scalar value (valid: 0-0xd7ff, 0xe000-0x10ffff)")
    return _new_char(chr(c))


_PARSERS: dict[int, Callable[[bytes, int, int, list, int], Value]] = {
    K_STRING: _parse_string, K_RECORD: _parse_record, K_TUPLE: _parse_tuple, K_LIST: _parse_list,
    K_ARRAY: _parse_array, K_VARIANT: _parse_variant, K_OPTION: _parse_option, K_RESULT: _parse_result,
    K_BOOL: _parse_bool, K_CHAR: _parse_char,
}


def _node_error(i: int, kind: int | None, offset: int, problem: str) -> CgrfError:
    what = f"CGRF node {i}" if kind is None else f"CGRF node {i} ({KIND_NAMES[kind]})"
    return CgrfError(f"{what} at byte {offset}: {problem}", node=i, offset=offset)


def _header_error(offset: int, problem: str) -> CgrfError:
    return CgrfError(f"CGRF header at byte {offset}: {problem}", offset=offset)


def _trailing_error(pos: int, size: int, count: int) -> CgrfError:
    return CgrfError(f"CGRF buffer at byte {pos}: {size - pos} byte(s) after the last node (node count {count}); "
                     f"the buffer must end there", offset=pos)


def _read_header(data: bytes) -> tuple[int, int]:
    """(node_count, root) of a buffer, after the header checks."""
    size = len(data)
    if size > MAX_BUFFER:
        raise _header_error(0, f"the buffer is {size} bytes, over the {MAX_BUFFER}-byte limit")
    if size < 16:
        raise _header_error(0, f"the buffer is {size} bytes, shorter than the 16-byte header")
    magic, version, flags, count, root = _HEADER.unpack_from(data)
    if magic != MAGIC:
        raise _header_error(0, f"bad magic {magic!r} (expected {MAGIC!r})")
    if version != VERSION:
        raise _header_error(4, f"unsupported version {version} (expected {VERSION})")
    if flags:
        raise _header_error(6, f"header flags are {flags:#06x} (expected 0)")
    if count > MAX_NODES:
        raise _header_error(8, f"node count {count} exceeds the limit of {MAX_NODES}")
    if 8 * count > size - 16:
        raise _header_error(8, f"node count {count} needs at least {8 * count} bytes of nodes, "
                               f"only {size - 16} follow the header")
    if root >= count:
        raise _header_error(12, f"root index {root} is out of range (node count {count})")
    return count, root


def _node_at(data: bytes, i: int, pos: int, size: int) -> tuple[int, int, int]:
    """(kind, payload start, payload end) of node ``i`` at ``pos``, its header checked."""
    if pos + 8 > size:
        raise _node_error(i, None, pos, f"the node header runs past the end of the buffer "
                                        f"(8 bytes needed, {size - pos} left)")
    kind, flags, reserved, plen = _NODE.unpack_from(data, pos)
    if kind not in KIND_NAMES:
        raise _node_error(i, None, pos, f"unknown node kind {kind:#04x} (valid: 0x01-0x15)")
    if flags:
        raise _node_error(i, kind, pos + 1, f"node flags are {flags:#04x} (expected 0)")
    if reserved:
        raise _node_error(i, kind, pos + 2, f"reserved bytes are {reserved:#06x} (expected 0)")
    if plen > MAX_PAYLOAD:
        raise _node_error(i, kind, pos + 4, f"payload length {plen} exceeds the {MAX_PAYLOAD}-byte limit")
    start = pos + 8
    if start + plen > size:
        raise _node_error(i, kind, pos + 4, f"the payload of {plen} bytes runs past the end of the buffer "
                                            f"({size - start} bytes left)")
    return kind, start, start + plen


def _scalar_size_error(i: int, kind: int, start: int, have: int, want: int) -> CgrfError:
    return _node_error(i, kind, start, f"the payload is {have} bytes (expected {want})")


def _check_children(i: int, kind: int, start: int, idxs: Sequence[int], count: int) -> None:
    top = max(idxs)
    if top >= count:
        raise _node_error(i, kind, start, f"child index {top} is out of range (node count {count})")


def decode(data: bytes | bytearray | memoryview) -> Value:
    """The value a CGRF v2 buffer holds; ``CgrfError`` if it is not valid."""
    if type(data) is not bytes:
        data = bytes(data)
    size = len(data)
    count, root = _read_header(data)
    scalar_decoders = _SCALAR_DECODERS
    parsers = _PARSERS
    unpack_node = _NODE.unpack_from
    vals: list[Value] = []
    append = vals.append
    pos = 16
    # One pass in index order: in a post-order buffer every child is built before its
    # parent. The first forward reference hands over to the depth-first pass.
    for i in range(count):
        if pos + 8 > size:
            _node_at(data, i, pos, size)  # raises: the header is cut off
        kind, flags, reserved, plen = unpack_node(data, pos)
        start = pos + 8
        pos = start + plen
        if flags or reserved or pos > size or plen > MAX_PAYLOAD:
            _node_at(data, i, start - 8, size)  # raises the precise error
        spec = scalar_decoders.get(kind)
        if spec is not None:
            if plen != spec[0]:
                raise _scalar_size_error(i, kind, start, plen, spec[0])
            append(spec[2](spec[1](data, start)[0]))
            continue
        parser = parsers.get(kind)
        if parser is None:
            _node_at(data, i, start - 8, size)  # raises: an unknown kind
        try:
            append(parser(data, start, pos, vals, i))  # type: ignore[misc]
        except _Bad as e:
            raise _node_error(i, kind, e.offset, e.problem) from None
        except _Forward as f:
            _check_children(i, kind, start, f.idxs, count)
            return _decode_depth_first(data, count, root, vals)
    if pos != size:
        raise _trailing_error(pos, size, count)
    return vals[root]


def _decode_depth_first(data: bytes, count: int, root: int, built: list[Value]) -> Value:
    """Decode a buffer with forward references from its root, depth first with an
    explicit stack; ``built`` are nodes 0.. already decoded in index order. A node is
    first parsed with limit 0 to learn its children (``_Forward``), then, once they are
    built, again to build it; a child that is still on the path to the root is a cycle.
    Nodes unreachable from the root are not decoded."""
    size = len(data)
    offsets = [0] * count
    pos = 16
    for j in range(count):
        offsets[j] = pos
        pos = _node_at(data, j, pos, size)[2]
    if pos != size:
        raise _trailing_error(pos, size, count)
    vals: list[Any] = built + [None] * (count - len(built))
    done = bytearray(b"\x01" * len(built)) + bytearray(count - len(built))
    on_path = bytearray(count)
    stack = [root]
    while stack:
        i = stack[-1]
        if done[i]:
            stack.pop()
            continue
        kind, start, end = _node_at(data, i, offsets[i], size)
        spec = _SCALAR_DECODERS.get(kind)
        if spec is not None:
            if end - start != spec[0]:
                raise _scalar_size_error(i, kind, start, end - start, spec[0])
            value = spec[2](spec[1](data, start)[0])
        else:
            try:
                value = _PARSERS[kind](data, start, end, vals, count if on_path[i] else 0)
            except _Bad as e:
                raise _node_error(i, kind, e.offset, e.problem) from None
            except _Forward as f:
                _check_children(i, kind, start, f.idxs, count)
                on_path[i] = 1
                for c in f.idxs:
                    if not done[c]:
                        if on_path[c]:
                            raise _node_error(i, kind, start, f"child {c} is this node or one of its ancestors: "
                                                              f"the graph has a cycle") from None
                        stack.append(c)
                continue
        vals[i] = value
        done[i] = 1
        on_path[i] = 0
        stack.pop()
    return vals[root]


# ----------------------------------------------------------------------------------------
# Encoding


def _scalar_encoder(kind: int, fmt: str, convert: Callable | None = None) -> Callable[[Any], bytes]:
    pack = partial(Struct("<8s" + fmt).pack, _NODE.pack(kind, 0, 0, FIXED_WIDTH[kind]))
    if convert is None:
        return pack
    return lambda v: pack(convert(v))


def _encode_string(v: str) -> bytes:
    raw = v.encode()
    return _NODE_STRING.pack(K_STRING, 0, 0, len(raw) + 4, len(raw)) + raw


def _encode_bytes(v: bytes) -> bytes:
    return _NODE_ARRAY.pack(K_ARRAY, 0, 0, len(v) + 5, K_U8, len(v)) + v


def _encode_array(v: Array) -> bytes:
    kind = v._elem[0]
    fmt = _ELEMS[kind][0]
    n = len(v)
    items = map(ord, v) if kind == K_CHAR else v
    return (_NODE_ARRAY.pack(K_ARRAY, 0, 0, 5 + n * FIXED_WIDTH[kind], kind, n)
            + Struct(f"<{n}{fmt}").pack(*items))


_NODE_STRING = Struct("<BBHII")
_NODE_ARRAY = Struct("<BBHIBI")

_LEAF_ENCODERS: dict[type, Callable[[Any], bytes]] = {
    cls: _scalar_encoder(kind, fmt, ord if kind == K_CHAR else None) for kind, (fmt, cls) in _ELEMS.items()
}
_LEAF_ENCODERS.update({String: _encode_string, Bytes: _encode_bytes, Array: _encode_array})


def _node(kind: int, head: bytes, kids: Sequence[int]) -> bytes:
    n = len(kids)
    return _NODE.pack(kind, 0, 0, len(head) + 4 * n) + head + _u32s(n).pack(*kids)


def _name(name: str) -> bytes:
    raw = name.encode()
    return _U32.pack(len(raw)) + raw


def _encode_tuple(v: Tuple, kids: list[int]) -> bytes:
    return _node(K_TUPLE, _U32.pack(len(kids)), kids)


def _encode_list(v: List, kids: list[int]) -> bytes:
    return _node(K_LIST, v._elem + _U32.pack(len(kids)), kids)


def _encode_record(v: Record, kids: list[int]) -> bytes:
    return _node(K_RECORD, _name(v._name) + _U32.pack(len(kids)) + b"".join(map(_name, v._d)), kids)


def _encode_variant(v: Variant, kids: list[int]) -> bytes:
    return _node(K_VARIANT, _name(v._type_name) + _name(v._case) + _U32_U32.pack(v._tag, len(kids)), kids)


def _encode_option(v: Option, kids: list[int]) -> bytes:
    return _node(K_OPTION, v._inner + (b"\x01" if kids else b"\x00"), kids)


def _encode_result(v: Result, kids: list[int]) -> bytes:
    return _node(K_RESULT, v._ok_tag + v._err_tag + (b"\x00\x00\x00\x00\x01" if v._ok else b"\x01\x00\x00\x00\x01"),
                 kids)


_NODE_ENCODERS: dict[type, Callable[[Any, list[int]], bytes]] = {
    Tuple: _encode_tuple, List: _encode_list, Record: _encode_record, Variant: _encode_variant,
    Option: _encode_option, Result: _encode_result,
}


def _emit(root: Value, out: bytearray, base: int) -> tuple[int, int]:
    """Append the nodes of ``root`` to ``out``, numbered from ``base``, children first;
    returns (the next free index, the root's index). No recursion: an explicit stack
    holds pending values and (value, child count) markers for parents whose children
    are being written."""
    leaf_encoders = _LEAF_ENCODERS
    node_encoders = _NODE_ENCODERS
    nxt = base
    ids: list[int] = []  # indices of the finished nodes not yet claimed by a parent
    stack: list[Any] = [root]
    while stack:
        v = stack.pop()
        t = type(v)
        enc = leaf_encoders.get(t)
        if enc is not None:
            out += enc(v)
        elif t is tuple:  # (parent, child count): the children's indices end `ids`
            v, n = v
            kids = ids[-n:]
            del ids[-n:]
            out += node_encoders[type(v)](v, kids)
        else:
            if t is Tuple or t is List:
                children = v
            elif t is Record:
                children = tuple(v._d.values())
            elif t is Variant:
                children = v._payload
            elif t is Option:
                children = () if v._value is None else (v._value,)
            elif t is Result:
                children = (v._value,)
            else:
                raise CgrfError(f"cannot encode a {t.__name__}: not a CGRF value class "
                                f"(convert plain Python values with to_value)")
            if children:
                stack.append((v, len(children)))
                stack.extend(reversed(children))
                continue
            out += node_encoders[t](v, [])
        ids.append(nxt)
        nxt += 1
    return nxt, nxt - 1


def encode(value: Any) -> bytes:
    """The canonical CGRF v2 encoding of ``value`` (plain Python goes through ``to_value``)."""
    out = bytearray(16)
    count, root = _emit(value if isinstance(value, Value) else to_value(value), out, 0)
    _HEADER.pack_into(out, 0, MAGIC, VERSION, 0, count, root)
    return bytes(out)


def encode_call(state: bytes | None, params: Sequence[Any]) -> bytes:
    """The CGRF of ``tuple[state, *params]``, an export's input (PACKR.md 4.1), where
    ``state`` is already a CGRF buffer (a ``TypedState``) and goes in unchanged: its
    nodes first, then the params' nodes (indices shifted past the state's), then the
    tuple. Canonical if ``state`` is. ``state=None`` gives ``tuple[*params]``."""
    out = bytearray(16)
    kids: list[int] = []
    nxt = 0
    if state is not None:
        nxt, state_root = _read_header(state)
        out += memoryview(state)[16:]
        kids.append(state_root)
    for param in params:
        nxt, param_root = _emit(param if isinstance(param, Value) else to_value(param), out, nxt)
        kids.append(param_root)
    out += _node(K_TUPLE, _U32.pack(len(kids)), kids)
    _HEADER.pack_into(out, 0, MAGIC, VERSION, 0, nxt + 1, nxt)
    return bytes(out)
