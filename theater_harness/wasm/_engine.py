"""The process's one wasmtime Engine, and the on-disk cache of compiled components.

Compiling a small component takes ~10 ms and a componentize-py one seconds, so compiled
artifacts are cached on disk, keyed by the wasm's sha256, the wasmtime version and the
engine configuration (an artifact from another configuration fails to load). Writes are
atomic (temp file + rename) and serialized by a lock file, so pytest-xdist workers
share one cache and compile each component once.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from contextlib import contextmanager
from importlib.metadata import version as _dist_version
from pathlib import Path
from typing import Iterator

import wasmtime
from wasmtime import _ffi as ffi
from wasmtime.component import Component

from ..errors import ComponentError
from . import _memory

try:  # POSIX advisory locks; elsewhere the atomic rename alone keeps the cache sound
    import fcntl
except ImportError:  # pragma: no cover - not on Linux
    fcntl = None  # type: ignore[assignment]

WASMTIME_VERSION = _dist_version("wasmtime")

# Everything about the engine that changes compiled code goes into this string, and so
# into the cache key.
# --- memory-cap accounting (theater_harness/wasm/_memory.py) ---
# Linear memories are allocated by the harness's host memory creator, which needs
# copy-on-write memory images off; the reservation and guard are wasmtime's 64-bit
# defaults, set explicitly because compiled code elides bounds checks against them.
MEMORY_RESERVATION = 1 << 32
MEMORY_GUARD_SIZE = 32 << 20
ENGINE_CONFIG = (
    "consume_fuel=1;nan_canonicalization=1;opt=speed"
    f";host_memory=1;memory_init_cow=0;memory_reservation={MEMORY_RESERVATION};memory_guard_size={MEMORY_GUARD_SIZE}"
)
# --- end memory-cap accounting ---


def _make_engine() -> wasmtime.Engine:
    config = wasmtime.Config()
    config.consume_fuel = True
    config.cranelift_nan_canonicalization = True
    config.cranelift_opt_level = "speed"
    # --- memory-cap accounting ---
    ffi.wasmtime_config_memory_reservation_set(config.ptr(), MEMORY_RESERVATION)
    ffi.wasmtime_config_memory_guard_size_set(config.ptr(), MEMORY_GUARD_SIZE)
    _memory.install(config)  # host memory creator; turns memory_init_cow off
    # --- end memory-cap accounting ---
    return wasmtime.Engine(config)


_ENGINE: wasmtime.Engine | None = None


def engine() -> wasmtime.Engine:
    """The process's Engine, made on first use.

    Not at import: wasmtime installs its trap signal handlers when the first Engine is
    made, and they must come after any installed by the host process (pytest enables
    ``faulthandler`` after loading plugins and conftest files; a faulthandler installed
    over wasmtime's handlers turns every wasm trap into a fatal error).
    """
    global _ENGINE
    if _ENGINE is None:
        _ENGINE = _make_engine()
    return _ENGINE


def __getattr__(name: str) -> object:  # ``_engine.ENGINE``, made lazily
    if name == "ENGINE":
        return engine()
    raise AttributeError(name)


def cache_dir() -> Path:
    """Where compiled components live: ``$THEATER_HARNESS_CACHE``, else the XDG cache."""
    explicit = os.environ.get("THEATER_HARNESS_CACHE")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "theater-harness" / "components"


def cache_key(wasm_sha256: str) -> str:
    fingerprint = hashlib.sha256(f"{WASMTIME_VERSION}|{ENGINE_CONFIG}".encode()).hexdigest()[:16]
    return f"{wasm_sha256}-{fingerprint}"


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    if fcntl is None:  # pragma: no cover
        yield
        return
    with open(path, "a+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _compile(wasm: bytes, source: str) -> Component:
    if wasm[:4] != b"\0asm":
        raise ComponentError("not a WebAssembly file (it does not start with the \\0asm magic bytes)", file=source)
    try:
        return Component(engine(), wasm)
    except wasmtime.WasmtimeError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else "unknown error"
        hint = ""
        if wasm[4:8] == b"\x01\0\0\0":
            hint = " (this is a core wasm module; wrap it with `wasm-tools component new`)"
        raise ComponentError(f"not a valid WebAssembly component{hint}: {first}", file=source) from None


def load_component(wasm: bytes, source: str, *, use_cache: bool = True) -> tuple[Component, str, bool]:
    """Compile ``wasm`` or load it from the cache; returns (component, sha256, cache_hit)."""
    digest = hashlib.sha256(wasm).hexdigest()
    if not use_cache:
        return _compile(wasm, source), digest, False
    directory = cache_dir()
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError:
        return _compile(wasm, source), digest, False
    key = cache_key(digest)
    artifact = directory / f"{key}.cwasm"
    if artifact.exists():
        component = _deserialize(artifact)
        if component is not None:
            return component, digest, True
    with _locked(directory / f"{key}.lock"):
        if artifact.exists():  # another worker compiled it while we waited
            component = _deserialize(artifact)
            if component is not None:
                return component, digest, True
        component = _compile(wasm, source)
        _write_atomically(artifact, bytes(component.serialize()))
    return component, digest, False


def _deserialize(artifact: Path) -> Component | None:
    try:
        return Component.deserialize_file(engine(), str(artifact))
    except wasmtime.WasmtimeError:
        return None  # truncated or from another build: recompile over it


def _write_atomically(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(prefix=path.name, suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
