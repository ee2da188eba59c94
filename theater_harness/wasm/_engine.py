"""The process's one wasmtime Engine, and compiling actors (components and core modules)
through the on-disk cache.

Compiling a small component takes ~10 ms and a componentize-py one 7-25 s, so compiled
artifacts are cached on disk (``_cache``), keyed by the wasm's sha256, the wasmtime
version and the engine configuration (an artifact from another configuration fails to
load), so pytest-xdist workers share one cache and compile each component once. A compile
that takes a second or more says so in one line (a warning on the ``theater_harness.wasm``
logger); a cache folder that cannot be written is warned about once per process, and
components are then compiled in memory.
"""

from __future__ import annotations

import hashlib
import logging
import time
from importlib.metadata import version as _dist_version
from pathlib import Path
from typing import Any

import wasmtime
from wasmtime import _ffi as ffi
from wasmtime.component import Component

CORE_VERSION = b"\x01\x00\x00\x00"  # the version field of a core module (a component's reads 0d 00 01 00)

from ..errors import ComponentError
from . import _cache, _memory
from ._cache import cache_dir  # noqa: F401  (re-exported as wasm.cache_dir)

WASMTIME_VERSION = _dist_version("wasmtime")

# Everything about the engine that changes compiled code goes into this string, and so
# into the cache key.
# --- traps without signals ---
# A trap (``unreachable``, an out-of-bounds access, a division by zero) is raised by a
# call into wasmtime's runtime, not by a faulting instruction and a signal: a crash-and-
# restart cycle traps once, and the signal (SIGILL from ``ud2``) cost 20-25 us of its
# ~250 us on the 2-core VMs these benchmarks run on (an invalid-opcode exception in a
# guest is slow), against ~7 us for the whole trapping call now. The price: memory
# accesses check their bounds explicitly (a message to the C counter +1-2%, to the
# componentize-py counter +4%, a tight loop over linear memory up to +35%), and the
# Spectre mitigations of those checks are off (wasmtime requires it: they rely on
# faults). Trap messages, fuel and traces are the same either way.
SIGNALS_BASED_TRAPS = False
# --- end traps without signals ---
# --- memory-cap accounting (theater_harness/wasm/_memory.py) ---
# Linear memories are allocated by the harness's host memory creator, which needs
# wasmtime's copy-on-write memory images off (a component with big data segments gets
# the harness's own instead: _image.py); the reservation and guard are wasmtime's 64-bit
# defaults, set explicitly because compiled code may elide bounds checks against them
# (with signals-based traps: see SIGNALS_BASED_TRAPS above).
MEMORY_RESERVATION = 1 << 32
MEMORY_GUARD_SIZE = 32 << 20
ENGINE_CONFIG = (
    "consume_fuel=1;nan_canonicalization=1;opt=speed"
    f";host_memory=1;memory_init_cow=0;memory_reservation={MEMORY_RESERVATION};memory_guard_size={MEMORY_GUARD_SIZE}"
    + ("" if SIGNALS_BASED_TRAPS else ";signals_based_traps=0;spectre_heap=0;spectre_table=0")
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
    if not SIGNALS_BASED_TRAPS:
        config.signals_based_traps = False
        for flag in ("enable_heap_access_spectre_mitigation", "enable_table_access_spectre_mitigation"):
            config.cranelift_flag_set(flag, "false")
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


def fingerprint() -> str:
    """16 hex digits for this wasmtime version and engine configuration."""
    return hashlib.sha256(f"{WASMTIME_VERSION}|{ENGINE_CONFIG}".encode()).hexdigest()[:16]


def cache_key(wasm_sha256: str) -> str:
    return f"{wasm_sha256}-{fingerprint()}"


def is_core_module(wasm: bytes) -> bool:
    """Whether ``wasm`` is a core module (the packr ABI), not a component: by its header."""
    return wasm[:4] == b"\0asm" and wasm[4:8] == CORE_VERSION


def _compile(wasm: bytes, source: str, core: bool = False) -> Any:
    if wasm[:4] != b"\0asm":
        raise ComponentError("not a WebAssembly file (it does not start with the \\0asm magic bytes)", file=source)
    try:
        return wasmtime.Module(engine(), wasm) if core else Component(engine(), wasm)
    except wasmtime.WasmtimeError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else "unknown error"
        what = "core module" if core else "component"
        raise ComponentError(f"not a valid WebAssembly {what}: {first}", file=source) from None


# Compile times are measured with the OS's monotonic clock, for the notice only: outside
# the simulation, they never reach a trace or any decision the runtime makes.
_clock = time.perf_counter
NOTICE_AFTER_S = 1.0  # a compile this slow or slower is worth a line
log = logging.getLogger("theater_harness.wasm")
_warned: set[tuple[str, str]] = set()  # (cache folder, what failed)


def load_component(wasm: bytes, source: str, *, use_cache: bool = True, core: bool = False) -> tuple[Any, str, bool]:
    """Compile ``wasm`` or load it from the cache; returns (component, sha256, cache_hit).
    ``core``: it is a core module (a ``wasmtime.Module``), not a component."""
    digest = hashlib.sha256(wasm).hexdigest()
    if not use_cache:
        component, seconds = _timed_compile(wasm, source, core)
        _notice(source, len(wasm), seconds, "not cached (use_cache=False)")
        return component, digest, False
    directory = _cache.cache_dir()
    max_bytes = _cache.cap()  # a bad $THEATER_HARNESS_CACHE_MAX fails here, whatever the cache holds
    key = cache_key(digest)
    artifact = directory / f"{key}{_cache.SUFFIX}"
    component = _load_cached(artifact, core)
    if component is not None:
        return component, digest, True
    compiled: tuple[Component, float] | None = None
    try:
        directory.mkdir(parents=True, exist_ok=True)
        with _cache.locked(_cache.compile_lock(directory, key)):
            component = _load_cached(artifact, core)  # another worker compiled it while we waited
            if component is not None:
                return component, digest, True
            compiled = _timed_compile(wasm, source, core)
            _cache.write_atomically(artifact, bytes(compiled[0].serialize()))
    except OSError as exc:
        _warn_once(directory, "cannot write the compiled-component cache", exc,
                   f"components are compiled in memory (set {_cache.DIR_VARIABLE} to a writable folder)")
        component, seconds = compiled or _timed_compile(wasm, source, core)
        _notice(source, len(wasm), seconds, "not cached (the cache folder cannot be written)")
        return component, digest, False
    try:
        _cache.evict(directory, max_bytes, keep=artifact)
    except OSError as exc:
        _warn_once(directory, "cannot evict from the compiled-component cache", exc,
                   "it may grow past its cap (run `theater-harness cache info`)")
    component, seconds = compiled
    _notice(source, len(wasm), seconds, f"cached in {_cache.display(directory)}")
    return component, digest, False


def _timed_compile(wasm: bytes, source: str, core: bool = False) -> tuple[Any, float]:
    started = _clock()
    component = _compile(wasm, source, core)
    return component, _clock() - started


def _notice(source: str, size: int, seconds: float, where: str) -> None:
    """One line for a compile that took a second or more; nothing for a quicker one."""
    if seconds >= NOTICE_AFTER_S:
        log.warning("theater-harness: compiled %s (%s) in %.1f s, %s",
                    Path(source).name, _cache.format_bytes(size), seconds, where)


def _warn_once(directory: Path, what: str, exc: OSError, consequence: str) -> None:
    """Warn once per process and cache folder (a run goes on without the cache)."""
    if (str(directory), what) in _warned:
        return
    _warned.add((str(directory), what))
    log.warning("theater-harness: %s: %s: %s; %s", what, exc.filename or directory, exc.strerror or exc, consequence)


def _load_cached(artifact: Path, core: bool = False) -> Any:
    """The cached component or module, marked as used now; None if it is missing or unusable."""
    try:
        kind = wasmtime.Module if core else Component
        component = kind.deserialize_file(engine(), str(artifact))
    except (wasmtime.WasmtimeError, OSError):
        return None  # missing, evicted meanwhile, truncated or from another build: compile (over it)
    _cache.touch(artifact)
    return component
