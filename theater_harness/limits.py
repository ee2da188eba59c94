"""Bounds on what actors may make the host hold, per actor and per run.

wasmtime bounds the guest (fuel per call, a memory cap per incarnation); these bound what
the host keeps on the guest's behalf: log lines, messages, states, the chain an
incarnation grows, outstanding requests, live actors, spawn depth, and events at one
virtual instant. An actor that crosses a bound ends with exit kind ``limit`` (a failure,
supervised like any other), its message naming the bound and its value; a run-wide bound
(live actors, events per instant) ends the run (``Runtime.ended``). Every bound is a
``Runtime`` keyword argument (``None``: no bound), so also a ``@pytest.mark.theater(...)``
option and a key of a scenario's ``[runtime]`` table.

The OS's own limits (memory maps, memory) are not bounds of the harness: an allocation the
OS refuses ends the incarnation or the call that needed it with exit kind
``system-limit`` (Erlang's name for the same), or, outside any call, the run.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields
from typing import Any

from .errors import HarnessError
from .exit import LIMIT

MiB = 1 << 20


@dataclass(frozen=True, slots=True)
class Limits:
    """The bounds of a run (defaults far above what any example or test needs)."""

    max_log_bytes: int | None = 1 * MiB  # bytes of runtime.log lines in one call
    max_log_lines: int | None = 10_000  # runtime.log calls in one call
    max_message_bytes: int | None = 2 * MiB  # one message an actor sends (send, request, channel, reply, spawn)
    max_sent_bytes: int | None = 64 * MiB  # every message an actor sends in one call, together
    max_state_bytes: int | None = 2 * MiB  # the state one call returns
    max_chain_bytes: int | None = 256 * MiB  # what one incarnation adds to its chain: states, logs, messages
    max_outstanding_requests: int | None = 10_000  # requests an actor holds unanswered (deferred replies)
    max_calls_per_instant: int | None = 10_000  # calls into one actor at one virtual instant
    max_live_actors: int | None = 10_000  # live incarnations of a run (each a Store: OS memory maps)
    max_spawn_depth: int | None = 100  # nesting of actors spawned by actors (supervisor.spawn/resume)
    max_events_per_instant: int | None = 1_000_000  # scheduler events of a run at one virtual instant

    @classmethod
    def from_options(cls, options: dict[str, Any]) -> "Limits":
        """The bounds ``Runtime(**options)`` was given: unknown names are a TypeError (as
        for any keyword argument), bad values a HarnessError naming the bound."""
        unknown = sorted(set(options) - set(LIMIT_OPTIONS))
        if unknown:
            raise TypeError(f"Runtime() got an unexpected keyword argument {unknown[0]!r} "
                            f"(its bounds are {', '.join(LIMIT_OPTIONS)})")
        for name, value in options.items():
            if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 1):
                raise HarnessError(f"{name} must be an integer >= 1, or None for no bound, not {value!r}")
        return cls(**options)

    def caps(self) -> dict[str, int]:
        """Every bound as a number (no bound: larger than anything it is compared with)."""
        return {f.name: _NO_BOUND if getattr(self, f.name) is None else getattr(self, f.name)
                for f in fields(self)}

    def to_dict(self) -> dict[str, int | None]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


LIMIT_OPTIONS: tuple[str, ...] = tuple(f.name for f in fields(Limits))
_NO_BOUND = 1 << 62


class LimitExceeded(Exception):
    """An actor crossed a bound: raised from a host function, it ends the calling actor's
    incarnation with exit kind ``limit`` (it carries what an ``ExitReason`` needs)."""

    exit_kind = LIMIT

    def __init__(self, message: str, host_import: str | None = None):
        super().__init__(message)
        self.host_import = host_import


def over(what: str, amount: int, unit: str, bound: str, value: int) -> str:
    """The message of a crossed bound, e.g. ``runtime.log: 8388608 bytes in one call, more
    than max_log_bytes 1048576``."""
    return f"{what}: {amount} {unit}, more than {bound} {value}"


def charge_message(rt: Any, actor: Any, what: str, size: int) -> None:
    """``actor`` hands the host a message of ``size`` bytes in its current call (``what``
    names the host function): raise LimitExceeded past ``max_message_bytes`` or, with the
    call's earlier messages, ``max_sent_bytes``."""
    caps = rt._caps
    if size > caps["max_message_bytes"]:
        raise LimitExceeded(over(what, size, "bytes in one message", "max_message_bytes",
                                 caps["max_message_bytes"]))
    usage = call_usage(actor)
    usage[2] += size
    if usage[2] > caps["max_sent_bytes"]:
        raise LimitExceeded(over(what, usage[2], "bytes sent in one call", "max_sent_bytes", caps["max_sent_bytes"]))
    charge_chain(rt, actor, what, size)


def charge_sent(rt: Any, actor: Any, what: str, size: int) -> None:
    """``charge_message`` for what an actor hands a host function (a message, a write to
    the outside world); probes (Python-side actors of tests) are not bounded."""
    if actor is not None and actor.probe is None:
        charge_message(rt, actor, what, size)


def charge_chain(rt: Any, actor: Any, what: str, size: int) -> None:
    """``size`` more bytes in the chain of ``actor``'s incarnation (a state it returned, a
    log line, a message it sent: its chain keeps them all, as Theater's does); raise
    LimitExceeded past ``max_chain_bytes``. (What an actor receives is the sender's bytes,
    shared, and counted once, there.)"""
    actor.chain_bytes += size
    if actor.chain_bytes > rt._caps["max_chain_bytes"]:
        raise LimitExceeded(chain_over(rt, actor, what))


def chain_over(rt: Any, actor: Any, what: str) -> str:
    return over(what, actor.chain_bytes, "bytes added to the chain by this incarnation", "max_chain_bytes",
                rt._caps["max_chain_bytes"])


def call_usage(actor: Any) -> list[int]:
    """What ``actor``'s current call has handed the host so far: [log bytes, log lines,
    message bytes] (the runtime resets it at the start of every call)."""
    usage = actor.call_usage
    if usage is None:
        usage = actor.call_usage = [0, 0, 0]
    return usage


# --- the OS's limits --------------------------------------------------------------------

# How the OS says it is out of memory or of memory maps, through wasmtime or the harness's
# own linear memories: ENOMEM, or a failed mmap.
_EXHAUSTED = re.compile(r"Cannot allocate memory|\(errno 12\)|os error 12|failed to map|out of memory",
                        re.IGNORECASE)


def os_exhausted(message: str) -> bool:
    """Whether an error message says the OS refused memory or a memory map."""
    return _EXHAUSTED.search(message) is not None


def system_limit(message: str) -> str:
    """``message`` with what the process holds of the OS's memory maps, which is what an
    actor-heavy run exhausts first (each live incarnation maps its linear memory, and an
    async one a fiber stack)."""
    return f"{message} (the OS refused memory: {_maps_in_use()})"


def _maps_in_use() -> str:
    try:
        with open("/proc/self/maps", "rb") as maps:
            used = sum(1 for _ in maps)
        with open("/proc/sys/vm/max_map_count") as cap:
            return f"{used} memory maps in use, vm.max_map_count {int(cap.read())}"
    except (OSError, ValueError, MemoryError):  # not Linux, or not even that much memory
        return "memory or memory maps exhausted"
