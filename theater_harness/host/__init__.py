"""The host side of `theater:simple`: one module per interface, and the mailbox items.

Each interface module maps WIT function names to ``fn(runtime, actor, *args)``; results
use the converters' conventions (``(True, ok)`` / ``(False, err)`` for a WIT result).
"""

from __future__ import annotations

from typing import Any

from . import calls, message_server, random, rpc, runtime, store, supervisor, supervisor_handlers, timer, timing
from . import environment, filesystem, http_client
from .message_server import close_channels_of
from .timer import cancel_timers_of

HOST_FUNCTIONS: dict[str, dict[str, Any]] = {
    "runtime": runtime.FUNCTIONS,
    "message-server-host": message_server.FUNCTIONS,
    "timing": timing.FUNCTIONS,
    "random": random.FUNCTIONS,
    "supervisor": supervisor.FUNCTIONS,
    "store": store.FUNCTIONS,
    "filesystem": filesystem.FUNCTIONS,
    "environment": environment.FUNCTIONS,
    "http-client": http_client.FUNCTIONS,
    "timer": timer.FUNCTIONS,
    "rpc": rpc.FUNCTIONS,
}

# Host calls that give an incarnation resources of its own: a replayed incarnation (its
# host calls answered from its journal) runs them again, so it holds them too.
REPLAYED_EFFECTS = frozenset({("timer", "set-interval"), ("timer", "clear-interval"),
                              ("message-server-host", "register")})

# Mailbox items by kind: each handler makes one export call into the actor.
ITEMS = {**message_server.ITEMS, **supervisor_handlers.ITEMS, **timer.ITEMS, **calls.ITEMS, **rpc.ITEMS}


def undeliverable(rt: Any, actor: Any, item: tuple) -> None:
    """An item for an actor that is no longer running: fail or drop it, and record that."""
    if item[0] == "tick":
        timer.undeliverable(rt, actor, item)
    elif item[0] == "call":
        calls.undeliverable(rt, actor, item)
    elif item[0] == "rpc":
        rpc.undeliverable(rt, actor, item)
    else:
        message_server.undeliverable(rt, actor, item)


__all__ = ["HOST_FUNCTIONS", "ITEMS", "REPLAYED_EFFECTS", "cancel_timers_of", "close_channels_of", "undeliverable"]
