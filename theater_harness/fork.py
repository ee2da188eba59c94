"""Checkpoints and forks: continue one run, from one virtual instant, in many independent copies.

A fault-schedule search re-runs the same workload prefix for every schedule. With a
checkpoint, the prefix runs once: ``Checkpoint(rt)`` marks the runtime as it is now, and
``checkpoint.run(fn)`` continues it in a fork and returns what ``fn(rt)`` returns there.
The fork is a child process (``os.fork``): it holds the runtime exactly as it was,
everything included (every actor's wasm instance and linear memory, the scheduler's queue,
the seeded random streams, the chains and the trace), so it continues exactly as the
original would have. Nothing it does reaches the original: memory pages are copied on
write, and the only thing that comes back is ``fn``'s result, pickled through a pipe (an
exception in ``fn`` is raised again here as ``ForkError``, with the child's traceback).
This is the fork-server technique of coverage-guided fuzzers (AFL), applied to a
simulation: a fork costs a few milliseconds, whatever the prefix cost.

A run driven step by step (a state machine's rules) needs its fork to stay:
``checkpoint.session()`` forks once and runs each ``session.call(fn, *args)`` there, on
the runtime as the calls before left it, until ``close()``. ``cached(key, make)`` keeps a
process's checkpoints, so that every example of a search continues the one prefix.

Forking needs Linux (as the rest of the wasm layer). A child has only the thread that
forked it: other threads of the process (pytest-xdist's I/O thread, wasmtime's parallel
compiler) are not there, which is harmless as long as the child needs nothing of theirs.
The one thing of wasmtime's it could need is its compiler, so a fork compiles nothing: an
actor module the child spawns must already be loaded (in this process or in the on-disk
cache), which it is for every actor the run spawned before the checkpoint.
``fork_problem()`` says why a process cannot fork, if it cannot (or why forks are off:
``straight``).
"""

from __future__ import annotations

import atexit
import contextlib
import contextvars
import dataclasses
import os
import pickle
import signal
import struct
import sys
import traceback
import weakref
from collections import OrderedDict
from typing import Any, Callable, Hashable, Iterator

_HEADER = struct.Struct(">Q")  # the length of each pickled message on a pipe
_OFF: contextvars.ContextVar[str | None] = contextvars.ContextVar("theater_harness_forks_off", default=None)
_SESSION_FDS: set[int] = set()  # this process's ends of its sessions' pipes: a fork closes them at once


class ForkError(Exception):
    """What ``fn`` raised in a fork (its traceback is in the message), or a fork that died."""


def fork_problem() -> str | None:
    """Why this process cannot fork a runtime (or, inside ``straight``, why it does not), or
    None when it can."""
    if not hasattr(os, "fork"):
        return "os.fork is not available on this platform"
    return _OFF.get()


def can_fork() -> bool:
    return fork_problem() is None


@contextlib.contextmanager
def straight(why: str) -> Iterator[None]:
    """No forks while the block runs (``fork_problem()`` returns ``why``): what would run in
    one runs straight instead, e.g. under a check that compares real runs."""
    token = _OFF.set(why)
    try:
        yield
    finally:
        _OFF.reset(token)


def forkable(schedule: Any, at_ms: int) -> bool:
    """Whether every fault of ``schedule`` is triggered by time, at or after ``at_ms``: added
    to a run checkpointed before ``at_ms``, it acts as it would given from the start."""
    return all(f.on_call is None and f.on_message is None and f.at_ms is not None and f.at_ms >= at_ms
               for f in schedule)


class Checkpoint:
    """A runtime at a virtual instant, to be continued in forks (``run``, ``session``);
    ``ids``: its actors' ids by name, for what continues it (a tree's, ``TreeSpec.checkpoint``)."""

    def __init__(self, runtime: Any, ids: dict[str, str] | None = None):
        self.runtime = runtime
        self.ids = dict(ids or {})
        self.time_ms = runtime.now
        self.forks = 0
        # The trace's records as dicts (what invariants, coverage and reports read), made
        # once here: every fork then materializes only the records it adds.
        runtime.trace.dicts()

    def run(self, fn: Callable[[Any], Any]) -> Any:
        """``fn(runtime)`` in a fork of the runtime as it is at this checkpoint; returns its
        (picklable) result. The runtime here is left as it was."""
        read_end, write_end = os.pipe()
        pid = self._fork(lambda: _send(write_end, _outcome(fn, self.runtime)), (read_end,), (write_end,))
        with os.fdopen(read_end, "rb") as incoming:
            reply = _receive(incoming)
        _, status = os.waitpid(pid, 0)
        if reply is None:
            raise ForkError(f"the fork (pid {pid}) ended without a result ({_status(status)})")
        return _result(reply, f"in the fork of the run at {self.time_ms} ms")

    def session(self) -> Session:
        """A fork of the runtime as it is at this checkpoint that stays, for calls one after
        another (``Session``)."""
        return Session(self)

    def close(self) -> None:
        """Free the runtime (its actors' wasm); forks of it can no longer be made."""
        self.runtime.close()

    def _fork(self, child: Callable[[], None], parent_ends: tuple[int, ...], child_ends: tuple[int, ...]) -> int:
        """Fork; the child runs ``child`` and leaves without any of the parent's exit
        handlers. Each side closes the other's ``*_ends`` of the pipes between them."""
        problem = fork_problem()
        if problem is not None:
            for fd in parent_ends + child_ends:
                os.close(fd)
            raise ForkError(f"cannot fork the runtime: {problem}")
        if self.runtime.now != self.time_ms:
            for fd in parent_ends + child_ends:
                os.close(fd)
            raise ForkError(f"the runtime has moved on since this checkpoint ({self.time_ms} ms -> "
                            f"{self.runtime.now} ms): make a new checkpoint")
        for stream in (sys.stdout, sys.stderr):
            stream.flush()  # what is buffered now would be written twice
        pid = os.fork()
        if pid == 0:
            status = 0
            try:
                for fd in parent_ends + tuple(_SESSION_FDS):  # a session ends when its parent's ends close
                    os.close(fd)
                child()
            except BaseException:  # noqa: BLE001 - nothing of the parent's may run here
                status = 70
            finally:
                os._exit(status)
        for fd in child_ends:
            os.close(fd)
        self.forks += 1
        return pid


class Session:
    """One fork of a checkpoint that stays: ``call(fn, *args)`` runs ``fn(runtime, *args)``
    there and returns its result, each call on the runtime as the calls before left it.

    ``fn`` and ``args`` go to the fork pickled (a module-level function, plain values), and
    so does the result come back. An exception in ``fn`` comes back as ``ForkError`` (the
    session goes on); a fork that dies is a ``ForkError`` too, and ends the session. The fork
    never outlives this process: ``close()`` (or ``with``, or the session being dropped, or
    the process exiting) kills it and reaps it, and it leaves by itself when its pipe from
    here closes (this process ended)."""

    def __init__(self, checkpoint: Checkpoint):
        self.time_ms = checkpoint.time_ms
        commands_in, commands_out = os.pipe()
        results_in, results_out = os.pipe()
        runtime = checkpoint.runtime
        self.pid = checkpoint._fork(lambda: _serve(runtime, commands_in, results_out),
                                    (commands_out, results_in), (commands_in, results_out))
        self._commands = os.fdopen(commands_out, "wb")
        self._results = os.fdopen(results_in, "rb")
        _SESSION_FDS.update((commands_out, results_in))
        self._end = weakref.finalize(self, _end_session, os.getpid(), self.pid, self._commands, self._results)
        self.calls = 0

    @property
    def closed(self) -> bool:
        return not self._end.alive

    def call(self, fn: Callable[..., Any], *args: Any) -> Any:
        """``fn(runtime, *args)`` in the session's fork; its (picklable) result."""
        if self.closed:
            raise ForkError(f"this session (pid {self.pid}) is closed")
        try:
            message = pickle.dumps((fn, args), protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as exc:  # noqa: BLE001
            raise ForkError(f"a session call must pickle (a module-level function, plain values): {exc!r}") from None
        try:
            self._commands.write(_HEADER.pack(len(message)) + message)
            self._commands.flush()
            reply = _receive(self._results)
        except OSError:  # BrokenPipeError: the fork is gone
            reply = None
        self.calls += 1
        if reply is None:
            status = self._reap()
            raise ForkError(f"the session's fork (pid {self.pid}) of the run at {self.time_ms} ms died during "
                            f"call {self.calls} ({getattr(fn, '__qualname__', fn)}): {status}")
        return _result(reply, f"in the session's fork of the run at {self.time_ms} ms, call {self.calls}")

    def close(self) -> None:
        """End the fork (killed and reaped). Idempotent."""
        self._end()

    def _reap(self) -> str:
        """The fork is gone: reap it and close the session; how it ended, in words."""
        _, status = os.waitpid(self.pid, 0)
        self._end.detach()
        _close_ends(self._commands, self._results)
        return _status(status)

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()


def _serve(runtime: Any, commands_in: int, results_out: int) -> None:
    """A session's fork: each call, as it comes, until the pipe from the parent closes."""
    with os.fdopen(commands_in, "rb") as commands:
        while True:
            message = _receive(commands)
            if message is None:
                return
            fn, args = message
            _send(results_out, _outcome(fn, runtime, *args))


def _end_session(owner: int, pid: int, commands: Any, results: Any) -> None:
    if os.getpid() != owner:  # a copy of the session in another fork: not its to end
        return
    _close_ends(commands, results)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, 0)


def _close_ends(commands: Any, results: Any) -> None:
    for end in (commands, results):
        _SESSION_FDS.discard(end.fileno())
        with contextlib.suppress(OSError):
            end.close()


def _outcome(fn: Callable[..., Any], *args: Any) -> tuple[bool, Any]:
    """(True, what ``fn(*args)`` returned) or (False, its exception's traceback)."""
    try:
        return True, fn(*args)
    except BaseException as exc:  # noqa: BLE001 - everything goes back to the parent
        return False, "".join(traceback.format_exception(exc))


def _send(fd: int, outcome: tuple[bool, Any]) -> None:
    try:
        data = pickle.dumps(outcome, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception as exc:  # noqa: BLE001
        data = pickle.dumps((False, f"the fork's result cannot be pickled: {exc!r}"))
    view = memoryview(_HEADER.pack(len(data)) + data)
    while view:
        view = view[os.write(fd, view):]


def _receive(stream: Any) -> Any:
    """The next message on ``stream``, or None at its end (the other side is gone)."""
    header = stream.read(_HEADER.size)
    if len(header) < _HEADER.size:
        return None
    (size,) = _HEADER.unpack(header)
    data = stream.read(size)
    return pickle.loads(data) if len(data) == size else None


def _result(reply: tuple[bool, Any], where: str) -> Any:
    ok, value = reply
    if not ok:
        raise ForkError(f"{where}:\n{value}")
    return value


def _status(status: int) -> str:
    if os.WIFSIGNALED(status):
        return f"killed by signal {os.WTERMSIG(status)} ({signal.Signals(os.WTERMSIG(status)).name})"
    return f"exit status {os.waitstatus_to_exitcode(status)}"


# --- a process's checkpoints --------------------------------------------------------------

CACHED = 4  # checkpoints a process keeps (the most recently used)
_CACHE: OrderedDict[Hashable, tuple[Any, Any]] = OrderedDict()  # key -> (value, what its key refers to)


def cached(key: Any, make: Callable[[], Any]) -> Any:
    """What ``make()`` made for ``key`` in this process, made at the first call: a
    checkpoint that every example of a search continues. ``key`` is any value (dicts and
    dataclasses are compared by content, other unhashable objects by identity). The
    ``CACHED`` most recently used are kept; one pushed out is closed (``close()``), and
    so are all at exit (a wasm Store must be freed before the interpreter ends)."""
    frozen, refers = _freeze(key)
    if frozen in _CACHE:
        _CACHE.move_to_end(frozen)
        return _CACHE[frozen][0]
    value = make()
    if not _CACHE:
        atexit.register(clear_cache)
    _CACHE[frozen] = (value, refers)
    while len(_CACHE) > CACHED:
        _CACHE.popitem(last=False)[1][0].close()
    return value


def clear_cache() -> None:
    """Close and forget this process's checkpoints (``cached``)."""
    while _CACHE:
        _CACHE.popitem()[1][0].close()


def _freeze(value: Any) -> tuple[Hashable, list]:
    """``value`` as a hashable key, and the objects it names by identity (kept alive with it:
    a freed object's id may be another's)."""
    refers: list = []

    def freeze(v: Any) -> Hashable:
        if dataclasses.is_dataclass(v) and not isinstance(v, type):
            return (type(v).__qualname__, tuple(freeze(getattr(v, f.name)) for f in dataclasses.fields(v)))
        if isinstance(v, dict):
            return ("dict", tuple(sorted(((freeze(k), freeze(x)) for k, x in v.items()), key=repr)))
        if isinstance(v, (list, tuple)):
            return (type(v).__name__, tuple(freeze(x) for x in v))
        try:
            hash(v)
        except TypeError:
            refers.append(v)
            return ("id", id(v))
        return v

    return freeze(value), refers
