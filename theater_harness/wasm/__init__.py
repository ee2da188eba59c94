"""The only package that imports wasmtime: engine and compile cache, and the two actor
ABIs behind one protocol.

An actor module is a component (``_component``: the `theater:simple` WIT interfaces) or
a packr core module (``packr``: CGRF values, typed state), told apart by the file's
header. Either offers the same protocol to the runtime: ``incarnate(owner, dispatch,
fuel=, memory_cap=)`` makes an incarnation whose ``call(export, (state, params))``
returns ``(True, (is_ok, payload))``, ``(False, Failure)`` or ``SUSPENDED``; ``exports``
by Theater (interface, function); ``callable(name)`` for any export a test calls;
``imports`` / ``host_imports`` for the host functions it needs, each dispatched to the
runtime as ``dispatch(incarnation, host_import, args)`` in the host protocol (bytes,
strings, ``(ok, value)`` results). Nothing above this package knows which ABI an actor
speaks."""

from __future__ import annotations

import atexit
import gc
from pathlib import Path
from typing import Any

from wasmtime import WasmtimeError

from ..errors import ComponentError
from ._component import ActorComponent, Export, HostImport, Suspension, inspect
from ._engine import WASMTIME_VERSION, cache_dir, engine, is_core_module
from ._instance import INSTANTIATE, SUSPENDED, Failure, Incarnation, live_stores, short_error
from ._memory import live_memories

_LOADED: dict[tuple[int, int, int, int], Any] = {}

# Incarnations that became garbage in reference cycles (a runtime refers to itself) are
# freed by the collector, which may not run again before the interpreter exits; freed then,
# after the modules' state is torn down, a Store's finalizers would crash the process. So
# the last collection runs while everything is still in place.
atexit.register(gc.collect)


def _load(path: Path, *, use_cache: bool = True) -> Any:
    """Read, compile and inspect the actor module at ``path``, whichever its ABI."""
    try:
        wasm = path.read_bytes()
    except FileNotFoundError:
        raise ComponentError("actor file not found", file=path) from None
    except IsADirectoryError:
        raise ComponentError("is a directory, not a .wasm file", file=path) from None
    except OSError as exc:
        raise ComponentError(f"cannot read the actor: {exc.strerror}", file=path) from None
    if is_core_module(wasm):
        from .packr.module import inspect as inspect_packr
        return inspect_packr(wasm, str(path), use_cache=use_cache)
    return inspect(wasm, str(path), use_cache=use_cache)


def load_component(path: str | Path, *, use_cache: bool = True) -> Any:
    """The inspected actor module at ``path`` (a component or a packr module), loaded once
    per process while the file is unchanged (keyed by the file's identity, size and
    modification time, so that two spellings of one path are one entry, without
    resolving the path on every spawn)."""
    path = Path(path)
    try:
        st = path.stat()
        key = (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)
    except OSError:
        return _load(path, use_cache=use_cache)  # raises the clear error
    component = _LOADED.get(key)
    if component is None:
        component = _LOADED[key] = _load(path, use_cache=use_cache)
    return component


def __getattr__(name: str) -> object:  # ``wasm.ENGINE``, made on first use
    if name == "ENGINE":
        return engine()
    raise AttributeError(name)


__all__ = [
    "ActorComponent", "Export", "Failure", "HostImport", "INSTANTIATE", "Incarnation", "SUSPENDED", "Suspension",
    "WASMTIME_VERSION", "WasmtimeError", "cache_dir", "engine", "inspect", "live_memories", "live_stores",
    "load_component", "short_error",
]
