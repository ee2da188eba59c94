"""Copy-on-write memory images: a component's big data segments are mapped into each new
linear memory instead of copied.

A componentize-py actor carries ~11 MB of data segments (its pre-initialized CPython
heap). Copied into every new incarnation, they cost most of a restart's time and 11 MiB
of resident memory per live actor, though an incarnation writes to few of those pages.
wasmtime's copy-on-write memory images (``memory_init_cow``) work only with memories
wasmtime allocates itself, and the harness allocates every linear memory itself
(``_memory``: that is how it knows a growth was refused by the memory cap; wasmtime's
store limiter refuses a growth without telling the host, and its C API cannot read a
component's memory sizes afterwards). So the harness makes the images:

- when a component is loaded, ``prepare`` moves the bytes of its data segments out of it:
  each active segment keeps its place (and the module its segment count) but holds no
  bytes, and the bytes go into an image, a memfd holding the memory's initial contents
  from the first segment's host page to the last one's;
- when an incarnation is instantiated, the memory creator maps that image over the new
  memory (``MAP_PRIVATE``: a page is shared with the image until the incarnation writes
  to it), and wasmtime then copies the now empty segments.

The memory each incarnation starts with is the one the copy would have made, byte for
byte, so its behaviour, the memory cap and its accounting (a memory is charged its whole
size, image or not) and the classification of failures are those of a copied one. Only
instantiation's fuel differs (wasmtime charges the copy, one unit per byte), and it
counts against no call's budget. What is compiled, and cached (keyed by its own SHA-256),
is the component without the data bytes; traces still name the file's digest. The image
is made once per process (~20 ms for 11 MB) and lives as long as its component; a fork
inherits it, and maps it for the incarnations it makes without compiling anything.

A component gets an image only when it is certain to be right: exactly one core module in
the whole component defines linear memory (exactly one, 32-bit, unshared, 64 KiB pages, and
it imports none), so that every memory created while the component is instantiated is an
instance of that memory; every active segment of that module has a constant offset and
lies within the memory's initial size (a segment out of bounds keeps failing
instantiation as before); and its segments hold at least ``IMAGE_MIN_BYTES``. Anything
else, or anything ``prepare`` cannot parse, is left as it is, and copied.
"""

from __future__ import annotations

import mmap
import os
import weakref
from dataclasses import dataclass

# Below this many bytes of data segments a copy is as quick as an image. Measured as a
# restart (new incarnation + init + one message) of the ballast actor built with data
# segments of 16 KiB to 4 MiB: copied 52, 81, 122, 201, 338, 538, 2136 us; imaged 86-95 us
# whatever the size (mapping the image, and unmapping rather than keeping the memory's
# mapping, cost ~35 us). The example C actors hold under 1 KiB, the ballast actor 1 MiB,
# a componentize-py actor 11 MB.
IMAGE_MIN_BYTES = 128 << 10

WASM_PAGE = 65536
_COMPONENT_HEADER = b"\0asm\x0d\x00\x01\x00"  # magic, version 13, layer 1 (a core module's layer is 0)
_HOST_PAGE = mmap.PAGESIZE
_MODULE, _COMPONENT = 1, 4  # component sections holding a core module, a nested component
_IMPORT, _MEMORY, _DATA = 2, 5, 11  # core module sections
_I32_CONST, _END = 0x41, 0x0B


@dataclass(frozen=True, eq=False)
class Image:
    """The initial contents of a component's linear memory, from ``start`` (a host-page
    boundary) for ``length`` bytes (whole host pages), held by the memfd ``fd``."""

    fd: int
    start: int
    length: int
    minimum: int  # the memory's initial size in bytes: the image lies within it
    data: int  # bytes of data segments it holds


class _Unsupported(Exception):
    """The component is not one ``prepare`` makes an image of (or cannot parse)."""


def prepare(wasm: bytes) -> tuple[bytes, Image | None]:
    """The component to compile for ``wasm`` and its memory image: ``wasm`` without the
    bytes of its data segments and their image, or ``wasm`` itself and None."""
    if wasm[:8] != _COMPONENT_HEADER:
        return wasm, None
    try:
        found = _memory_module(wasm)
        if found is None:
            return wasm, None
        path, minimum = found
        data_section = _data_section(wasm, path[-1])
        if data_section is None:
            return wasm, None
        body, segments = _strip(wasm, data_section, minimum)
    except (_Unsupported, IndexError, ValueError):
        return wasm, None
    size = sum(len(data) for _, data in segments)
    if not segments or size < IMAGE_MIN_BYTES:
        return wasm, None
    return _splice(wasm, path + [data_section], body), _make_image(segments, minimum, size)


# --- reading the binary -------------------------------------------------------------------


def _leb(b: bytes, i: int, signed: bool = False) -> tuple[int, int]:
    """The LEB128 number at ``b[i]`` and the offset after it."""
    result = shift = 0
    while True:
        byte = b[i]
        i += 1
        result |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return (result - (1 << shift) if signed and byte & 0x40 else result), i


def _encode_uleb(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


# A section: (id, where it starts, where its body starts, where it ends), offsets in the file.
Section = tuple[int, int, int, int]


def _sections(b: bytes, start: int, end: int) -> list[Section]:
    """The sections of the module or component whose binary is ``b[start:end]``."""
    if b[start:start + 4] != b"\0asm":
        raise _Unsupported("no \\0asm header")
    found, i = [], start + 8
    while i < end:
        section_id = b[i]
        size, body = _leb(b, i + 1)
        if body + size > end:
            raise _Unsupported("a section runs past its container")
        found.append((section_id, i, body, body + size))
        i = body + size
    return found


def _module_paths(b: bytes, start: int, end: int, path: list[Section]) -> list[list[Section]]:
    """Every core module section of the component ``b[start:end]``, nested ones included,
    each as the path of sections that leads to it."""
    found = []
    for section in _sections(b, start, end):
        if section[0] == _MODULE:
            found.append(path + [section])
        elif section[0] == _COMPONENT:
            found += _module_paths(b, section[2], section[3], path + [section])
    return found


def _memory_module(b: bytes) -> tuple[list[Section], int] | None:
    """The path to the one core module that defines linear memory, and that memory's
    initial size in bytes; None if no module or more than one does."""
    found = None
    for path in _module_paths(b, 0, len(b), []):
        _, _, start, end = path[-1]
        sections = _sections(b, start, end)
        memories = [s for s in sections if s[0] == _MEMORY]
        if not memories:
            continue
        if found is not None or len(memories) != 1:
            return None
        imports = [s for s in sections if s[0] == _IMPORT]
        if imports and _imports_memory(b, imports[0]):
            raise _Unsupported("the memory module also imports a memory")
        found = path, _only_memory(b, memories[0])
    return found


def _only_memory(b: bytes, section: Section) -> int:
    """The initial size in bytes of a memory section's only memory (32-bit, unshared, 64 KiB pages)."""
    count, i = _leb(b, section[2])
    flags = b[i]
    if count != 1 or flags not in (0, 1):
        raise _Unsupported("not one plain 32-bit memory")
    pages, _ = _leb(b, i + 1)
    return pages * WASM_PAGE


def _imports_memory(b: bytes, section: Section) -> bool:
    """Whether a core import section imports a memory; _Unsupported if it holds an import
    whose encoding this reader does not know."""
    count, i = _leb(b, section[2])
    for _ in range(count):
        for _name in range(2):  # module, then name
            size, i = _leb(b, i)
            i += size
        kind = b[i]
        i += 1
        if kind == 0x02:
            return True
        if kind == 0x00:  # a function: its type index
            _, i = _leb(b, i)
        elif kind == 0x03 and b[i] in (0x7F, 0x7E, 0x7D, 0x7C, 0x7B, 0x70, 0x6F):  # a global: value type, mutability
            i += 2
        elif kind == 0x01 and b[i] in (0x70, 0x6F) and b[i + 1] in (0, 1):  # a table: funcref/externref, limits
            has_maximum = b[i + 1]
            _, i = _leb(b, i + 2)
            if has_maximum:
                _, i = _leb(b, i)
        else:
            raise _Unsupported(f"an import of kind {kind:#x}")
    if i != section[3]:
        raise _Unsupported("the import section did not parse to its end")
    return False


def _data_section(b: bytes, module: Section) -> Section | None:
    return next((s for s in _sections(b, module[2], module[3]) if s[0] == _DATA), None)


def _strip(b: bytes, section: Section, minimum: int) -> tuple[bytes, list[tuple[int, memoryview]]]:
    """The data section without the bytes of its active segments, and those segments as
    (offset, bytes) in order; _Unsupported unless each has a constant offset into memory
    0 and lies within its initial ``minimum`` bytes."""
    view = memoryview(b)
    count, i = _leb(b, section[2])
    out = [_encode_uleb(count)]
    segments = []
    for _ in range(count):
        start = i
        flags, i = _leb(b, i)
        if flags == 1:  # passive: kept as it is (memory.init copies it when the code asks)
            size, i = _leb(b, i)
            i += size
            out.append(view[start:i])
            continue
        if flags == 2:
            memory, i = _leb(b, i)
            if memory != 0:
                raise _Unsupported("a segment for another memory")
        elif flags != 0:
            raise _Unsupported(f"a data segment with flags {flags}")
        if b[i] != _I32_CONST:
            raise _Unsupported("a segment whose offset is not a constant")
        offset, i = _leb(b, i + 1, signed=True)
        if b[i] != _END:
            raise _Unsupported("a segment whose offset is not a constant")
        header_end = i + 1
        size, i = _leb(b, header_end)
        offset &= 0xFFFFFFFF
        if offset + size > minimum:
            raise _Unsupported("a segment outside the initial memory")
        segments.append((offset, view[i:i + size]))
        i += size
        out.append(view[start:header_end])
        out.append(b"\0")  # no bytes: the image has them
    if i != section[3]:
        raise _Unsupported("the data section did not parse to its end")
    return b"".join(out), segments


def _splice(b: bytes, path: list[Section], body: bytes) -> bytes:
    """``b`` with the body of the last section on ``path`` replaced by ``body``, and the
    sizes of the sections around it adjusted."""
    for depth in range(len(path) - 1, -1, -1):
        section_id, start, _, end = path[depth]
        low, high = (path[depth - 1][2], path[depth - 1][3]) if depth else (0, len(b))
        body = b"".join((b[low:start], bytes((section_id,)), _encode_uleb(len(body)), body, b[end:high]))
    return body


def _make_image(segments: list[tuple[int, memoryview]], minimum: int, size: int) -> Image:
    """A memfd holding the segments at their offsets (later ones over earlier ones, as
    instantiation would copy them), from the first one's host page to the last one's."""
    start = min(offset for offset, _ in segments) & ~(_HOST_PAGE - 1)
    end = max(offset + len(data) for offset, data in segments)
    length = (end - start + _HOST_PAGE - 1) & ~(_HOST_PAGE - 1)
    fd = os.memfd_create("theater-harness-memory-image", os.MFD_CLOEXEC)
    try:
        os.ftruncate(fd, length)
        for offset, data in segments:
            written = 0
            while written < len(data):
                written += os.pwrite(fd, data[written:], offset - start + written)
    except BaseException:
        os.close(fd)
        raise
    image = Image(fd, start, length, minimum, size)
    weakref.finalize(image, os.close, fd)  # live memories keep their mappings of it
    return image
