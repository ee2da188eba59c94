"""Exit reasons: why an actor incarnation ended, as a value.

A failure is never an exception that escapes the runtime: it is an ``ExitReason``
carried to whoever supervises the actor, recorded in the trace, and kept on the actor.
"""

from __future__ import annotations

from dataclasses import dataclass

NORMAL = "normal"  # the actor called runtime.shutdown
SHUTDOWN = "shutdown"  # stopped from outside or by its supervisor
TRAP = "trap"  # a wasm trap (unreachable, out-of-bounds access, ...)
ERR = "err"  # an export returned err(...)
OUT_OF_FUEL = "out-of-fuel"  # a call exceeded its fuel budget (a hang)
MEMORY = "memory"  # the incarnation hit its memory cap
HOST_ERROR = "host-error"  # a host import failed underneath the actor
KILLED = "killed"  # brutally killed
SPAWN_ERROR = "spawn-error"  # it could not be started (instantiation, or a supervisor's children)
LIMIT = "limit"  # it crossed one of the harness's bounds (theater_harness.limits), named in the message
SYSTEM_LIMIT = "system-limit"  # the OS refused memory or a memory map its instance or call needed

KINDS = (NORMAL, SHUTDOWN, TRAP, ERR, OUT_OF_FUEL, MEMORY, HOST_ERROR, KILLED, SPAWN_ERROR, LIMIT, SYSTEM_LIMIT)

# Causes: who ended an incarnation that did not end of its own doing. A supervisor that
# gives up (escalation) or shuts itself down (auto_shutdown) exits with kind ``shutdown``,
# as an OTP supervisor does: to its parent that is not a failure (a transient or
# temporary supervisor is not restarted; a permanent one is).
CAUSE_OUTSIDE = "outside"  # stopped or killed through the API or by a fault
CAUSE_SUPERVISOR = "supervisor"  # stopped by its own supervisor (a plan, stop-child)
CAUSE_PARENT_ENDED = "parent-ended"  # its parent ended, and its subtree with it
CAUSE_ESCALATED = "escalated"  # a supervisor reached its restart intensity and gave up
CAUSE_AUTO_SHUTDOWN = "auto-shutdown"  # a supervisor's significant children ended (OTP 24+)


@dataclass(frozen=True, slots=True)
class ExitReason:
    """Which actor and incarnation ended, in which export or import, how, and why."""

    kind: str
    message: str
    actor: str = ""
    incarnation: int = 0
    export: str | None = None  # e.g. "theater:simple/message-server-client.handle-send"
    host_import: str | None = None  # e.g. "theater:simple/timing.sleep", for host errors
    time_ms: int = 0
    cause: str | None = None  # who stopped it: "outside", "supervisor", "parent-ended"

    @property
    def abnormal(self) -> bool:
        """True for failures; False for a normal shutdown or a stop from outside."""
        return self.kind not in (NORMAL, SHUTDOWN)

    def to_dict(self) -> dict:
        out = {"kind": self.kind, "message": self.message, "actor": self.actor,
               "incarnation": self.incarnation, "time_ms": self.time_ms}
        if self.export is not None:
            out["export"] = self.export
        if self.host_import is not None:
            out["host_import"] = self.host_import
        if self.cause is not None:
            out["cause"] = self.cause
        return out

    def __str__(self) -> str:
        where = f" in {self.export}" if self.export else ""
        via = f" (host import {self.host_import})" if self.host_import else ""
        return f"{self.kind}{where}{via}: {self.message}"


class _Skipped(tuple):
    """What a call's ``then`` gets when the actor lacks the export (``Runtime._call``
    records the skip): not a payload, not a failure."""


SKIPPED = _Skipped()
