"""The on-disk cache of compiled components: where it lives, its size cap, and
least-recently-used eviction; what ``theater-harness cache info`` and ``cache prune`` read.

An entry is one file, ``<wasm sha256>-<engine fingerprint>.cwasm`` (the fingerprint covers
the wasmtime version and the engine configuration). Its modification time is its last
use: set when it is written and again each time a process loads it (``os.utime``; access
times are unreliable, ``noatime``/``relatime``).

Several processes (pytest-xdist workers) use one cache at once:

- entries are written to a temporary file and renamed into place, so a reader sees a
  whole entry or none;
- one process compiles a given component at a time: it holds one of 16 lock files
  (``compile-<first hex digit of the key>.lock``), which are never deleted, so no process
  ever locks a file another one has unlinked;
- eviction and pruning hold ``evict.lock``, so two of them never race over one listing;
- readers take no lock: an entry evicted under a reader fails to load, and the reader
  compiles it again (and writes it back).

The cap is checked after every write; the entry just written is kept even if it alone
is bigger than the cap (the process is using it; the next write evicts it).
"""

from __future__ import annotations

import os
import re
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from ..errors import HarnessError

try:  # POSIX advisory locks; elsewhere the atomic rename alone keeps the cache sound
    import fcntl
except ImportError:  # pragma: no cover - not on Linux
    fcntl = None  # type: ignore[assignment]

DIR_VARIABLE = "THEATER_HARNESS_CACHE"
CAP_VARIABLE = "THEATER_HARNESS_CACHE_MAX"
DEFAULT_CAP = 512 << 20  # about a dozen componentize-py builds (37 MiB each) or thousands of C ones
SUFFIX = ".cwasm"
_LEGACY_LOCK = re.compile(r"[0-9a-f]{64}-[0-9a-f]{16}\.lock")  # one lock per key, before the stripes


class CacheError(HarnessError):
    """The cache's folder or its size cap cannot be used as asked."""


def cache_dir() -> Path:
    """Where compiled components live: ``$THEATER_HARNESS_CACHE``, else the XDG cache."""
    explicit = os.environ.get(DIR_VARIABLE)
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "theater-harness" / "components"


_UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}


def parse_size(text: str) -> int:
    """Bytes from ``"123456"``, ``"512M"``, ``"1.5G"``, ``"64KiB"`` (K, M, G, T are powers
    of 1024); ValueError saying what is accepted."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d*)?)\s*([kmgt]?)(?:i?b)?\s*", text, re.IGNORECASE)
    if match is None:
        raise ValueError(f"{text!r} is not a size; give bytes or a number with K, M or G (512M, 2G)")
    return int(float(match[1]) * _UNITS[match[2].upper()])


def cap() -> int | None:
    """The size cap in bytes: ``$THEATER_HARNESS_CACHE_MAX`` (0: no cap), else 512 MiB."""
    text = os.environ.get(CAP_VARIABLE)
    if text is None or not text.strip():
        return DEFAULT_CAP
    try:
        value = parse_size(text)
    except ValueError as exc:
        raise CacheError(f"{CAP_VARIABLE}: {exc}, or 0 for no cap") from None
    return value or None


def format_bytes(n: int) -> str:
    """``512 B``, ``3.1 KiB``, ``17.5 MiB``, ``1.2 GiB``."""
    if n < 1024:
        return f"{n} B"
    for unit in ("KiB", "MiB", "GiB"):
        n /= 1024
        if n < 1024 or unit == "GiB":
            break
    return f"{n:.1f} {unit}"


def display(path: Path) -> str:
    """``path`` with the home folder as ``~``, for notices."""
    home = os.path.expanduser("~")
    text = str(path)
    return "~" + text[len(home):] if home not in ("", "/") and (text == home or text.startswith(home + os.sep)) else text


# --- locks and writes ------------------------------------------------------------------


@contextmanager
def locked(path: Path) -> Iterator[None]:
    """An exclusive lock on ``path`` (made if missing), shared with other processes."""
    if fcntl is None:  # pragma: no cover
        yield
        return
    with open(path, "a+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def compile_lock(directory: Path, key: str) -> Path:
    """The lock file that serializes compiling ``key`` (one of 16, by its first digit)."""
    return directory / f"compile-{key[0]}.lock"


def write_atomically(path: Path, data: bytes) -> None:
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


def touch(path: Path) -> None:
    """Mark an entry as used now (its modification time); never fails a load."""
    try:
        os.utime(path)
    except OSError:
        pass  # evicted meanwhile, or a read-only cache: the load itself succeeded


# --- listing, eviction, pruning ----------------------------------------------------------


@dataclass(frozen=True)
class Entry:
    """One compiled component in the cache."""

    path: Path
    size: int
    last_use_ns: int  # the file's modification time

    @property
    def key(self) -> str:
        return self.path.name.removesuffix(SUFFIX)


def entries(directory: Path) -> list[Entry]:
    """The cache's entries, most recently used first (none if the folder does not exist)."""
    found = []
    try:
        with os.scandir(directory) as it:
            for item in it:
                if not item.name.endswith(SUFFIX):
                    continue
                try:
                    st = item.stat()
                except FileNotFoundError:
                    continue  # evicted while we listed
                found.append(Entry(Path(item.path), st.st_size, st.st_mtime_ns))
    except FileNotFoundError:
        return []
    found.sort(key=lambda e: (-e.last_use_ns, e.path.name))
    return found


def _remove(entry: Entry) -> bool:
    """Delete an entry (and its lock file from before the stripes); False if already gone."""
    try:
        entry.path.unlink()
    except FileNotFoundError:
        return False
    try:
        (entry.path.parent / f"{entry.key}.lock").unlink()
    except OSError:
        pass
    return True


def evict(directory: Path, max_bytes: int | None, *, keep: Path | None = None) -> list[Entry]:
    """Delete the least recently used entries until the cache holds at most ``max_bytes``
    (never ``keep``, the entry just written); returns what was deleted, oldest first."""
    if max_bytes is None:
        return []
    removed = []
    with locked(directory / "evict.lock"):
        listed = entries(directory)
        total = sum(e.size for e in listed)
        for entry in reversed(listed):  # least recently used first
            if total <= max_bytes:
                break
            if keep is not None and entry.path == keep:
                continue
            if _remove(entry):
                removed.append(entry)
            total -= entry.size
    return removed


STALE_TEMP_S = 3600


def prune(directory: Path, max_bytes: int | None) -> list[Entry]:
    """Evict down to ``max_bytes`` (0: every entry, with the lock files from before the
    stripes; the 16 stripes stay, another process may hold one), and delete temporary files
    that writers killed mid-write left behind (older than an hour)."""
    removed = evict(directory, max_bytes)
    # The OS clock, read here only to tell an abandoned temporary file from one being
    # written: the cache's housekeeping, outside any simulation.
    stale_before = time.time() - STALE_TEMP_S  # wall-clock ok
    try:
        with os.scandir(directory) as it:
            for item in it:
                try:
                    if ((max_bytes == 0 and _LEGACY_LOCK.fullmatch(item.name))
                            or (item.name.endswith(".tmp") and item.stat().st_mtime < stale_before)):
                        os.unlink(item.path)
                except FileNotFoundError:
                    pass  # renamed into place or removed meanwhile
    except FileNotFoundError:
        pass
    return removed
