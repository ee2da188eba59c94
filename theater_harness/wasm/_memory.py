"""Linear memories owned by the harness, so a memory-cap hit is known, not guessed.

wasmtime's store limiter (``Store.set_limits(memory_size=...)``) makes ``memory.grow``
return -1 past the cap, but the host never learns that it did: the guest then traps
(``unreachable``, an allocator's out-of-memory abort) and the trap looks like any other.
The C API has no ``trap_on_grow_failure``.

So the process's one Engine gets a *host memory creator*
(``wasmtime_config_host_memory_creator_set``): every core linear memory wasmtime
creates is allocated here, and every growth asks ``_grow_memory`` first. Each memory is
charged to the :class:`MemoryAccount` of the incarnation being instantiated (see
:func:`enter`); the cap bounds the total of all of an incarnation's linear memories. A
growth that would take the total past the cap is refused (``memory.grow`` returns -1,
exactly as with the limiter) and counted in ``account.denials``. A call that fails
after a denial in that same call is a memory-cap failure; an instantiation whose
initial memories exceed the cap fails with :class:`MemoryCapExceeded`.

Storage honours the contract of ``wasmtime::MemoryCreator::new_memory``: an anonymous
``PROT_NONE`` reservation of ``max(reserved_size, minimum)`` bytes plus ``guard_size``
bytes after it (compiled code may elide bounds checks against exactly that layout), whose
first ``size`` bytes are made read-write with ``mprotect``; growth within the
reservation never moves the base. Like wasmtime's own memories, a guard of the same
size also precedes the base (defence in depth; it costs address space only). Growth
past the reservation (only when the engine lets memories move: memory64, or a
``memory_reservation`` below 4 GiB) maps a larger region and moves the pages there
(``mremap``). Fresh anonymous pages are zero, as wasmtime requires. The mapping is
released when wasmtime finalizes the memory (when its Store is dropped): kept for the
next memory, or unmapped (see "Reuse").

The engine must not use wasmtime's copy-on-write memory images (``memory_init_cow``):
wasmtime only applies them to its own mmap-backed memories and would abort on ours.
Without them, data segments are copied into each new memory at instantiation, except
those of a component with big ones, which come from a memory image of the harness's
own (``_image``): the component's segments were emptied when it was loaded, and the
memory created while it is instantiated (:func:`enter` names its image) gets the image
mapped over its first pages (``MAP_PRIVATE``, so writes stay the incarnation's). Such a
memory is unmapped when it is finalized, never kept for reuse: a kept mapping must read
zero once its pages are dropped, and an image's pages would read the image.

Reuse. Mapping a reservation and unmapping it again cost ~20 us of system calls per
incarnation (a crash-and-restart cycle pays both), so a finalized memory's mapping is
kept for the next memory of the same layout (reservation and guard), up to
``POOL_MAX`` mappings of at most ``POOL_RW_MAX`` read-write bytes each (a larger one's
teardown is its pages, not its mapping). Its read-write pages are dropped first
(``MADV_DONTNEED``: the next access reads zero pages, as from a fresh mapping, and a
kept mapping holds no resident memory); the next memory re-protects the read-write
prefix it needs. The layout a memory sees is exactly that of a fresh mapping.
"""

from __future__ import annotations

import _thread
import ctypes
import itertools
import mmap
import struct
import sys
import threading

import wasmtime

from . import _convert as C
from . import _image

if not sys.platform.startswith("linux"):  # pragma: no cover - the harness targets Linux
    raise ImportError("theater_harness.wasm._memory needs Linux (mmap, mprotect, MAP_NORESERVE)")

_vp, _sz = ctypes.c_void_p, ctypes.c_size_t

_libc = ctypes.CDLL(None, use_errno=True)
_mmap = _libc.mmap
_mmap.restype = _vp
_mmap.argtypes = [_vp, _sz, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_long]
_munmap = _libc.munmap
_munmap.restype = ctypes.c_int
_munmap.argtypes = [_vp, _sz]
_mprotect = _libc.mprotect
_mprotect.restype = ctypes.c_int
_mprotect.argtypes = [_vp, _sz, ctypes.c_int]
_mremap = _libc.mremap
_mremap.restype = _vp
_mremap.argtypes = [_vp, _sz, _sz, ctypes.c_int, _vp]
_madvise = _libc.madvise
_madvise.restype = ctypes.c_int
_madvise.argtypes = [_vp, _sz, ctypes.c_int]
_memmove = ctypes.memmove

_PROT_NONE = 0
_PROT_RW = mmap.PROT_READ | mmap.PROT_WRITE
_MAP_NORESERVE = 0x4000  # Linux, every architecture wasmtime supports
_MAP_FLAGS = mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS | _MAP_NORESERVE
_MAP_FIXED = 0x10  # Linux, every architecture wasmtime supports
_MAP_FAILED = (1 << (8 * ctypes.sizeof(_vp))) - 1
_MREMAP_MOVE_TO = 1 | 2  # MREMAP_MAYMOVE | MREMAP_FIXED
_MADV_DONTNEED = 4  # Linux: private anonymous pages read as zero afterwards
_HOST_PAGE = mmap.PAGESIZE

_error_new = C._cfunc("wasmtime_error_new", _sz, ctypes.c_char_p)
_pack_linear_memory = struct.Struct("@4P").pack_into  # wasmtime_linear_memory_t: 4 pointers
_pack_size = struct.Struct("@N").pack_into
_MEM = C.MEM


def _round_up(n: int) -> int:
    return (n + _HOST_PAGE - 1) & ~(_HOST_PAGE - 1)


class MemoryCapExceeded(wasmtime.WasmtimeError):
    """Instantiation failed because the initial linear memory exceeds the memory cap."""

    kind = "memory"

    def __init__(self, message: str, account: "MemoryAccount"):
        if "memory limit exceeded" not in message:  # refused a growth (in a start function), then failed
            message = f"memory limit exceeded: {account.describe_denial()}; then: {message}"
        super().__init__(message)
        self.account = account


class MemoryAccount:
    """The linear memory of one incarnation: its cap, current and peak size, denials.

    ``cap`` is the most bytes all of the incarnation's linear memories together may
    hold (``None``: unlimited). ``denials`` counts refused allocations and growths;
    ``denied_size`` is the total the last refused request asked for.
    """

    __slots__ = ("cap", "used", "peak", "denials", "denied_size", "memories")

    def __init__(self, cap: int | None):
        self.cap = cap
        self.used = 0  # bytes of linear memory currently held
        self.peak = 0
        self.denials = 0
        self.denied_size = 0
        self.memories = 0  # live linear memories charged here

    @property
    def denied(self) -> bool:
        return self.denials > 0

    def describe_denial(self) -> str:
        return (f"memory cap of {self.cap} bytes reached: the actor asked for {self.denied_size} bytes "
                f"of linear memory (peak {self.peak} bytes)")

    def __repr__(self) -> str:
        return (f"MemoryAccount(cap={self.cap}, used={self.used}, peak={self.peak}, "
                f"denials={self.denials}, memories={self.memories})")


class _Current(threading.local):
    account: MemoryAccount | None = None
    image: _image.Image | None = None


_CURRENT = _Current()


def enter(account: MemoryAccount, image: _image.Image | None = None) -> tuple:
    """Charge memories created on this thread to ``account``, and map ``image`` (the
    memory image of the component being instantiated, if it has one) into each, until
    :func:`leave`.

    Returns what was current before, to give back to :func:`leave` (instantiations nest
    when a start function makes a host call that spawns another actor).
    """
    current = _CURRENT
    previous = (current.account, current.image)
    current.account, current.image = account, image
    return previous


def leave(previous: tuple) -> None:
    _CURRENT.account, _CURRENT.image = previous


class _Region:
    """One linear memory: its mapping, accessible size and reservation."""

    __slots__ = ("base", "size", "rw", "capacity", "guard", "account", "imaged")

    def __init__(self, base: int, size: int, rw: int, capacity: int, guard: int, account: MemoryAccount,
                 imaged: bool = False):
        self.base = base  # the memory's base, ``guard`` bytes into the mapping
        self.size = size  # bytes wasm may access (wasmtime's byte_size)
        self.rw = rw  # bytes made read-write: size rounded up to host pages
        self.capacity = capacity  # bytes reserved: growth up to here never moves
        self.guard = guard  # PROT_NONE bytes before the base and after the reservation
        self.account = account
        self.imaged = imaged  # a memory image is mapped into it: unmapped when released, never kept

    def unmap(self) -> None:
        _munmap(self.base - self.guard, self.capacity + 2 * self.guard)


# Live memories by the key wasmtime hands back to the callbacks as their env pointer.
_REGIONS: dict[int, _Region] = {}
_keys = itertools.count(1)
# Memories created outside any incarnation (e.g. a host-made wasmtime.Memory): no cap.
_UNCAPPED = MemoryAccount(None)


def _map(capacity: int, guard: int, rw: int) -> int:
    """A PROT_NONE mapping of guard + capacity + guard bytes whose first ``rw`` bytes
    after the leading guard are read-write: the base (after the guard), or 0."""
    total = capacity + 2 * guard
    start = _mmap(None, total, _PROT_NONE, _MAP_FLAGS, -1, 0)
    if start is None or start == _MAP_FAILED:
        return 0
    if rw and _mprotect(start + guard, rw, _PROT_RW) != 0:
        _munmap(start, total)
        return 0
    return start + guard


# --- reuse of released mappings (see "Reuse" above) ---
POOL_MAX = 16  # released mappings kept for reuse, at most (address space only: no resident pages)
POOL_RW_MAX = 8 << 20  # a memory that grew larger is unmapped: its pages, not the mapping, cost its teardown
# (capacity, guard) -> [(base, rw), ...]: mappings of released memories, their pages dropped
_POOL: dict[tuple[int, int], list[tuple[int, int]]] = {}
_pooled = 0


def _release(region: _Region) -> None:
    """Keep ``region``'s mapping for reuse (its pages dropped), or unmap it."""
    global _pooled
    if not region.imaged and _pooled < POOL_MAX and region.rw <= POOL_RW_MAX and \
            (not region.rw or _madvise(region.base, region.rw, _MADV_DONTNEED) == 0):
        try:
            _POOL.setdefault((region.capacity, region.guard), []).append((region.base, region.rw))
        except BaseException:  # noqa: BLE001 - not kept: not leaked either
            region.unmap()
            raise
        _pooled += 1
    else:
        region.unmap()


def _reuse(capacity: int, guard: int, rw: int) -> int:
    """The base of a kept mapping of this layout, its first ``rw`` bytes read-write and the
    rest PROT_NONE, as ``_map`` makes them; or 0 if none is kept (or it cannot be used)."""
    global _pooled
    kept = _POOL.get((capacity, guard))
    if not kept:
        return 0
    base, old = kept.pop()
    _pooled -= 1
    if (rw > old and _mprotect(base + old, rw - old, _PROT_RW) != 0) or \
            (rw < old and _mprotect(base + rw, old - rw, _PROT_NONE) != 0):
        _munmap(base - guard, capacity + 2 * guard)
        return 0
    return base


def release_pool() -> int:
    """Unmap every kept mapping; returns how many there were."""
    global _pooled
    freed = 0
    for (capacity, guard), kept in list(_POOL.items()):
        while kept:
            base, _ = kept.pop()
            _pooled -= 1
            _munmap(base - guard, capacity + 2 * guard)
            freed += 1
    return freed
# --- end reuse ---


def _map_image(base: int, image: _image.Image) -> bool:
    """Map ``image`` over its place in the read-write memory at ``base``, copy-on-write."""
    at = base + image.start
    return _mmap(at, image.length, _PROT_RW, mmap.MAP_PRIVATE | _MAP_FIXED, image.fd, 0) == at


def _fail(message: str) -> int:
    return _error_new(message.encode())


# --- the C callbacks --------------------------------------------------------------------
# They must never raise: ctypes would print the exception and hand wasmtime a zero, which
# means success. Each catches everything and reports it as a wasmtime error instead.

# uint8_t *get_memory(void *env, size_t *byte_size, size_t *byte_capacity)
_GET_T = ctypes.CFUNCTYPE(_sz, _sz, _sz, _sz)
# wasmtime_error_t *grow_memory(void *env, size_t new_size)
_GROW_T = ctypes.CFUNCTYPE(_sz, _sz, _sz)
# void finalizer(void *env)
_FINAL_T = ctypes.CFUNCTYPE(None, _sz)
# wasmtime_error_t *new_memory(void *env, const wasm_memorytype_t *ty, size_t minimum,
#     size_t maximum, size_t reserved_size_in_bytes, size_t guard_size_in_bytes,
#     wasmtime_linear_memory_t *memory_ret)
_NEW_T = ctypes.CFUNCTYPE(_sz, _vp, _vp, _sz, _sz, _sz, _sz, _sz)


def _get_memory(env: int, size_ptr: int, capacity_ptr: int,
                _regions=_REGIONS, _pack=_pack_size, _mem=_MEM) -> int:
    region = _regions[env]
    _pack(_mem, size_ptr, region.size)
    _pack(_mem, capacity_ptr, region.capacity)
    return region.base


def _grow_memory(env: int, new_size: int) -> int:
    try:
        region = _REGIONS[env]
        account = region.account
        delta = new_size - region.size
        if delta <= 0:
            return 0
        cap = account.cap
        if cap is not None and account.used + delta > cap:
            account.denials += 1
            account.denied_size = account.used + delta
            return _fail(f"memory cap exceeded: growing linear memory to {new_size} bytes would take the "
                         f"actor to {account.used + delta} bytes, over its cap of {cap} bytes")
        rw = _round_up(new_size)
        if new_size > region.capacity:  # wasmtime only asks this of memories that may move
            error = _move(region, rw)
            if error:
                return error
        elif rw > region.rw and _mprotect(region.base + region.rw, rw - region.rw, _PROT_RW) != 0:
            return _fail(f"cannot grow a linear memory to {new_size} bytes (errno {ctypes.get_errno()})")
        region.rw = max(rw, region.rw)
        region.size = new_size
        used = account.used = account.used + delta
        if used > account.peak:
            account.peak = used
        return 0
    except BaseException as exc:  # noqa: BLE001 - see above
        if isinstance(exc, KeyboardInterrupt):
            _thread.interrupt_main()  # deliver it again, outside wasm
        try:
            return _fail(f"growing a linear memory failed in the host: {exc!r}")
        except BaseException:  # noqa: BLE001
            return _fail("growing a linear memory failed in the host")


def _move(region: _Region, rw: int) -> int:
    """Move ``region`` into a new reservation with ``rw`` read-write bytes: 0, or an error.

    Nothing can fail after the contents have moved: wasmtime keeps using the old base
    after a failed growth.
    """
    capacity = max(rw, 2 * region.capacity)
    base = _map(capacity, region.guard, rw)
    if not base:
        return _fail(f"cannot map {capacity + 2 * region.guard} bytes for a linear memory "
                     f"(errno {ctypes.get_errno()})")
    old = region.rw
    # Move the pages themselves over the start of the new mapping (no copy, no new
    # resident memory); if the kernel will not (say the read-write part is not one
    # mapping), copy the bytes.
    if old and _mremap(region.base, old, old, _MREMAP_MOVE_TO, base) != base:
        _memmove(base, region.base, region.size)
    region.unmap()
    region.base, region.capacity = base, capacity
    return 0


def _finalize(env: int, _pop=_REGIONS.pop) -> None:
    try:
        region = _pop(env, None)
        if region is None:
            return
        _release(region)
        account = region.account
        account.used -= region.size
        account.memories -= 1
    except BaseException:  # noqa: BLE001 - nothing may escape into wasmtime
        pass


_get_cb = _GET_T(_get_memory)
_grow_cb = _GROW_T(_grow_memory)
_final_cb = _FINAL_T(_finalize)
_GET_ADDR = ctypes.cast(_get_cb, _vp).value
_GROW_ADDR = ctypes.cast(_grow_cb, _vp).value
_FINAL_ADDR = ctypes.cast(_final_cb, _vp).value


def _new_memory(env: int, ty: int, minimum: int, maximum: int, reserved: int, guard: int, ret: int) -> int:
    try:
        account = _CURRENT.account or _UNCAPPED
        cap = account.cap
        if cap is not None and account.used + minimum > cap:
            account.denials += 1
            account.denied_size = account.used + minimum
            return _fail(f"memory limit exceeded: the actor's initial linear memory needs "
                         f"{account.used + minimum} bytes, over its memory cap of {cap} bytes")
        rw = _round_up(minimum)
        capacity = max(_round_up(reserved), rw, _HOST_PAGE)
        guard = _round_up(guard)
        image = _CURRENT.image
        if image is not None and image.start + image.length > minimum:  # _image.prepare rules it out
            return _fail(f"a memory image of {image.start + image.length} bytes does not fit a linear memory "
                         f"of {minimum} bytes")
        base = _reuse(capacity, guard, rw) or _map(capacity, guard, rw)
        if not base:
            return _fail(f"cannot map {capacity + 2 * guard} bytes for a linear memory "
                         f"(errno {ctypes.get_errno()})")
        if image is not None and not _map_image(base, image):
            _munmap(base - guard, capacity + 2 * guard)
            return _fail(f"cannot map a memory image of {image.length} bytes (errno {ctypes.get_errno()})")
        key = next(_keys)
        _REGIONS[key] = _Region(base, minimum, rw, capacity, guard, account, image is not None)
        account.memories += 1
        used = account.used = account.used + minimum
        if used > account.peak:
            account.peak = used
        _pack_linear_memory(_MEM, ret, key, _GET_ADDR, _GROW_ADDR, _FINAL_ADDR)
        return 0
    except BaseException as exc:  # noqa: BLE001 - see above
        if isinstance(exc, KeyboardInterrupt):
            _thread.interrupt_main()  # deliver it again, outside wasm
        try:
            return _fail(f"creating a linear memory failed in the host: {exc!r}")
        except BaseException:  # noqa: BLE001
            return _fail("creating a linear memory failed in the host")


_new_cb = _NEW_T(_new_memory)


class _Creator(ctypes.Structure):  # wasmtime_memory_creator_t
    _fields_ = [("env", _vp), ("new_memory", _NEW_T), ("finalizer", _vp)]


_creator_set = C._cfunc("wasmtime_config_host_memory_creator_set", None, _vp, _vp)
_init_cow_set = C._cfunc("wasmtime_config_memory_init_cow_set", None, _vp, ctypes.c_bool)


def install(config: wasmtime.Config) -> None:
    """Make ``config``'s engine allocate every linear memory here (and turn CoW images off)."""
    ptr = ctypes.cast(config.ptr(), _vp).value
    _init_cow_set(ptr, False)
    creator = _Creator(None, _new_cb, None)
    _creator_set(ptr, ctypes.addressof(creator))  # the config copies the struct


def live_memories() -> int:
    """How many harness-owned linear memories exist (for leak checks)."""
    return len(_REGIONS)

