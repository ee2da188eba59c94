"""Test-only: the ``__pack_types`` metadata blob of a packr fixture binary, read with plain
wasmtime-py (core Module/Instance), without the packr host.

Every function import is defined as a stub that traps if called, except that fixed-base
(packr 0.10) modules get what they need: ``env.memory`` (its declared minimum) and a bump
``pack:alloc.alloc`` over pages added after the initial memory (``dealloc`` is a no-op),
as packr's own default provider does. ``__pack_types(out_ptr_ptr, out_len_ptr)`` writes
the blob's address and length into two scratch slots: from ``__pack_alloc(8)`` in a
self-contained module, the first bytes of the bump region in a fixed-base one.

``FIXTURES`` is where the binaries are: ``$THEATER_PACKR_FIXTURES``, by default
``../shared/packr/fixtures`` beside the repository. The wasmtime Engine is made on first
use, not at import (wasmtime installs signal handlers when the first Engine is made).
"""

from __future__ import annotations

import os
import struct
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(os.environ.get("THEATER_PACKR_FIXTURES", ROOT.parent / "shared" / "packr" / "fixtures"))

FIXTURE_NAMES = (
    "adder_fixedbase", "adder_package", "bigrodata_fixedbase", "doubler_fixedbase", "doubler_package",
    "echo_package", "host_actor_fixedbase", "lifecycle_actor_fixedbase", "logger_package",
    "math_mock_fixedbase", "math_real_fixedbase", "sexpr_package",
)
"""The twelve packr binaries of PACKR.md section 6 (file stems)."""

_PAGE = 65536
_engine: Any = None


def fixture(name: str) -> Path:
    """The path of fixture ``name`` (a stem of ``FIXTURE_NAMES``); skips the test when
    the fixtures folder is absent."""
    if not FIXTURES.is_dir():
        pytest.skip(f"packr fixtures not found at {FIXTURES} (set THEATER_PACKR_FIXTURES)")
    return FIXTURES / f"{name}.wasm"


def _stub(module: str, name: str) -> Any:
    def trap(*args: Any) -> Any:
        raise RuntimeError(f"stub import {module}.{name} called while reading __pack_types")
    return trap


def pack_types_blob(path: Path) -> bytes:
    """The bytes ``__pack_types`` points at in the module at ``path``."""
    import wasmtime

    global _engine
    if _engine is None:
        _engine = wasmtime.Engine()
    store = wasmtime.Store(_engine)
    module = wasmtime.Module.from_file(_engine, str(path))
    linker = wasmtime.Linker(_engine)
    memory = None
    bump = [0]

    def alloc(size: int, align: int) -> int:
        ptr = -(-bump[0] // max(align, 1)) * max(align, 1)
        bump[0] = ptr + size
        short = bump[0] - memory.data_len(store)
        if short > 0:
            memory.grow(store, -(-short // _PAGE))
        return ptr

    for imp in module.imports:
        if isinstance(imp.type, wasmtime.MemoryType):
            memory = wasmtime.Memory(store, wasmtime.MemoryType(wasmtime.Limits(imp.type.limits.min, None)))
            linker.define(store, imp.module, imp.name, memory)
        elif (imp.module, imp.name) == ("pack:alloc", "alloc"):
            linker.define_func(imp.module, imp.name, imp.type, alloc)
        elif (imp.module, imp.name) == ("pack:alloc", "dealloc"):
            linker.define_func(imp.module, imp.name, imp.type, lambda ptr, size, align: None)
        else:
            linker.define_func(imp.module, imp.name, imp.type, _stub(imp.module, imp.name))
    instance = linker.instantiate(store, module)
    exports = instance.exports(store)
    if "__wasm_call_ctors" in exports:
        exports["__wasm_call_ctors"](store)
    if memory is None:  # self-contained: the module owns its memory and allocator
        memory = exports["memory"]
        slots = exports["__pack_alloc"](store, 8)
        assert slots, "__pack_alloc(8) failed"
    else:  # fixed-base: scratch slots at the start of the bump region past the initial memory
        bump[0] = memory.data_len(store)
        slots = alloc(8, 4)
    status = exports["__pack_types"](store, slots, slots + 4)
    assert status == 0, f"__pack_types returned {status}"
    ptr, length = struct.unpack("<II", memory.read(store, slots, slots + 8))
    blob = memory.read(store, ptr, ptr + length)
    store.close()  # now: a Store with Python host functions freed at the interpreter's exit crashes it
    return blob
