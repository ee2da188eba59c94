"""The only package that imports wasmtime: engine and compile cache, value conversion,
component inspection, and actor incarnations."""

from __future__ import annotations

from pathlib import Path

from wasmtime import WasmtimeError

from ._component import ActorComponent, Export, HostImport, Suspension, inspect
from ._component import load as _load
from ._engine import WASMTIME_VERSION, cache_dir, engine
from ._instance import INSTANTIATE, SUSPENDED, Failure, Incarnation, live_stores, short_error
from ._memory import live_memories

_LOADED: dict[tuple[int, int, int, int], ActorComponent] = {}


def load_component(path: str | Path, *, use_cache: bool = True) -> ActorComponent:
    """The inspected component at ``path``, loaded once per process while the file is
    unchanged (keyed by the file's identity, size and modification time, so that two
    spellings of one path are one entry, without resolving the path on every spawn)."""
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
