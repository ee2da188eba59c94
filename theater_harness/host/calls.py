"""Calls from tests (``Runtime.call``, ``call_later``, ``Probe.call``, scenario files): the
mailbox item ``call`` that calls one export of an actor in its turn, and the test's
``PendingCall`` that it settles."""

from __future__ import annotations

from typing import Any


class PendingCall:
    """A call from a test on its way (``Runtime.call_later``)."""

    __slots__ = ("actor", "export", "issued_ms", "done", "ok", "result", "error")

    def __init__(self, actor: str, export: str, issued_ms: int):
        self.actor, self.export, self.issued_ms = actor, export, issued_ms
        self.done = self.ok = False
        self.result: Any = None
        self.error: str | None = None

    def settle(self, ok: bool, value: Any) -> None:
        if not self.done:
            self.done, self.ok = True, ok
            if ok:
                self.result = value
            else:
                self.error = value

    def __repr__(self) -> str:
        state = ("ok " + repr(self.result)) if self.ok else (f"failed: {self.error}" if self.done else "pending")
        return f"PendingCall({self.export} of {self.actor}: {state})"


def _deliver(rt: Any, actor: Any, item: tuple) -> None:
    """A test's call reaches the actor's turn."""
    _, export, args, pending = item

    def then(payload: Any) -> None:
        if payload is None:
            pending.settle(False, f"{export.full_name} failed: {actor.exit_reason}")
        else:
            pending.settle(True, payload[1][0] if len(payload) > 1 and payload[1] else None)

    rt._call(actor, export, (actor.state, args), then)


def undeliverable(rt: Any, actor: Any, item: tuple) -> None:
    """A call for an actor that is no longer running: it fails, and the drop is recorded."""
    reason = f"actor {actor.id} ({actor.name}) is not running: it is {actor.status}"
    item[3].settle(False, reason)
    rt.trace.add(rt.now, "drop", actor.id, {"item": "call", "export": item[1].full_name, "reason": reason})


ITEMS = {"call": _deliver}
