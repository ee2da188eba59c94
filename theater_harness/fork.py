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

Forking needs Linux (as the rest of the wasm layer). A child has only the thread that
forked it: other threads of the process (pytest-xdist's I/O thread, wasmtime's parallel
compiler) are not there, which is harmless as long as the child needs nothing of theirs.
The one thing of wasmtime's it could need is its compiler, so a fork compiles nothing: an
actor module the child spawns must already be loaded (in this process or in the on-disk
cache), which it is for every actor the run spawned before the checkpoint.
``fork_problem()`` says why a process cannot fork, if it cannot.
"""

from __future__ import annotations

import os
import pickle
import sys
import traceback
from typing import Any, Callable

class ForkError(Exception):
    """What ``fn`` raised in a fork (its traceback is in the message), or a fork that died."""


def fork_problem() -> str | None:
    """Why this process cannot fork a runtime, or None when it can."""
    if not hasattr(os, "fork"):
        return "os.fork is not available on this platform"
    return None


def can_fork() -> bool:
    return fork_problem() is None


class Checkpoint:
    """A runtime at a virtual instant, to be continued in forks (``run``)."""

    def __init__(self, runtime: Any):
        self.runtime = runtime
        self.time_ms = runtime.now
        self.forks = 0
        # The trace's records as dicts (what invariants, coverage and reports read), made
        # once here: every fork then materializes only the records it adds.
        runtime.trace.dicts()

    def run(self, fn: Callable[[Any], Any]) -> Any:
        """``fn(runtime)`` in a fork of the runtime as it is at this checkpoint; returns its
        (picklable) result. The runtime here is left as it was."""
        problem = fork_problem()
        if problem is not None:
            raise ForkError(f"cannot fork the runtime: {problem}")
        if self.runtime.now != self.time_ms:
            raise ForkError(f"the runtime has moved on since this checkpoint ({self.time_ms} ms -> "
                            f"{self.runtime.now} ms): make a new checkpoint")
        for stream in (sys.stdout, sys.stderr):
            stream.flush()  # what is buffered now would be written twice
        read_end, write_end = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: run, send the result, leave without any of the parent's exit handlers
            status = 0
            try:
                os.close(read_end)
                try:
                    outcome = (True, fn(self.runtime))
                except BaseException as exc:  # noqa: BLE001 - everything goes back to the parent
                    outcome = (False, "".join(traceback.format_exception(exc)))
                try:
                    data = pickle.dumps(outcome, protocol=pickle.HIGHEST_PROTOCOL)
                except Exception as exc:  # noqa: BLE001
                    data = pickle.dumps((False, f"the fork's result cannot be pickled: {exc!r}"))
                with os.fdopen(write_end, "wb") as out:
                    out.write(data)
            except BaseException:  # noqa: BLE001
                status = 70
            finally:
                os._exit(status)
        os.close(write_end)
        with os.fdopen(read_end, "rb") as incoming:
            data = incoming.read()
        _, status = os.waitpid(pid, 0)
        self.forks += 1
        if not data:
            raise ForkError(f"the fork (pid {pid}) ended without a result (wait status {status})")
        ok, value = pickle.loads(data)
        if not ok:
            raise ForkError(f"in the fork of the run at {self.time_ms} ms:\n{value}")
        return value
