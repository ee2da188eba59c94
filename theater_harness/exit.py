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
SPAWN_ERROR = "spawn-error"  # the component could not be instantiated
ESCALATED = "escalated"  # a supervisor gave up: more restarts than its intensity allows

KINDS = (NORMAL, SHUTDOWN, TRAP, ERR, OUT_OF_FUEL, MEMORY, HOST_ERROR, KILLED, SPAWN_ERROR, ESCALATED)


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
