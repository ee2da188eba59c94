"""The host side of `theater:simple`: one module per interface, and the mailbox items.

Each interface module maps WIT function names to ``fn(runtime, actor, *args)``; results
use the converters' conventions (``(True, ok)`` / ``(False, err)`` for a WIT result).
"""

from __future__ import annotations

from typing import Any

from . import message_server, random, runtime, supervisor, supervisor_handlers, timing
from .message_server import close_channels_of

HOST_FUNCTIONS: dict[str, dict[str, Any]] = {
    "runtime": runtime.FUNCTIONS,
    "message-server-host": message_server.FUNCTIONS,
    "timing": timing.FUNCTIONS,
    "random": random.FUNCTIONS,
    "supervisor": supervisor.FUNCTIONS,
}

# Mailbox items by kind: each handler makes one export call into the actor.
ITEMS = {**message_server.ITEMS, **supervisor_handlers.ITEMS}


def undeliverable(rt: Any, actor: Any, item: tuple) -> None:
    """An item for an actor that is no longer running: fail or drop it, and record that."""
    message_server.undeliverable(rt, actor, item)


__all__ = ["HOST_FUNCTIONS", "ITEMS", "close_channels_of", "undeliverable"]
