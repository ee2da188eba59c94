"""Probes: Python-side actors for tests, receiving in virtual time.

A probe has an actor id like any actor, so wasm actors can send to it and request
from it; the test then asserts on what arrived, and answers requests itself:

    probe = runtime.probe("client")
    pinger = runtime.spawn("pinger.toml", init_state={"target": probe.id})
    runtime.send(pinger, "request:hello")
    msg = probe.expect_msg(within=100)       # runs the clock until it comes, or fails
    assert msg.payload == b"hello"
    msg.reply(b"hi back")
    probe.expect_no_msg(within=1000)
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ._scheduler import TIMER
from .actor import RUNNING, Actor
from .manifest import HandlerSpec, Manifest


@dataclass
class ProbeMessage:
    """What a probe received: a send, a request (answer it with ``reply``), or a message on
    a channel."""

    kind: str  # "send", "request" or "channel"
    payload: bytes
    time_ms: int
    sender: str | None = None  # for requests: the requester's id (None: from outside)
    _request: Any = None
    _runtime: Any = None

    def reply(self, payload: bytes | str) -> None:
        if self._request is None:
            raise TypeError(f"a {self.kind} cannot be replied to; only a request can")
        self._request.complete(self._runtime, _bytes(payload))


class Probe:
    """A Python-side actor registered in a runtime."""

    def __init__(self, runtime: Any, actor: Actor):
        self.runtime = runtime
        self.actor = actor
        self.received: deque[ProbeMessage] = deque()
        self.history: list[ProbeMessage] = []

    @property
    def id(self) -> str:
        return self.actor.id

    @property
    def name(self) -> str:
        return self.actor.name

    # --- receiving (called by the runtime) ----------------------------------------------

    def receive(self, item: tuple) -> None:
        rt = self.runtime
        kind = item[0]
        if kind == "send":
            rt.trace.add(rt.now, "deliver", self.id, ("msg", item[1]))
            self._keep(ProbeMessage("send", item[2], rt.now))
        elif kind == "request":
            req = item[1]
            if req.done:
                rt.trace.add(rt.now, "drop", self.id, {"request": req.id, "reason": f"no longer awaited: {req.error}"})
                return
            rt.trace.add(rt.now, "deliver", self.id, ("request", req.id))
            self._keep(ProbeMessage("request", req.payload, rt.now, req.sender.id if req.sender else None, req, rt))
        elif kind == "channel-open":
            item[1].settle(rt, True)
        elif kind == "channel-message":
            self._keep(ProbeMessage("channel", item[2], rt.now))

    def _keep(self, message: ProbeMessage) -> None:
        self.received.append(message)
        self.history.append(message)

    # --- expectations (called by tests) ---------------------------------------------------

    def expect_msg(self, within: int) -> ProbeMessage:
        """The next message, running the clock up to ``within`` virtual ms for it to come."""
        self._run_for(within)
        if not self.received:
            raise AssertionError(f"probe {self.name}: no message within {within} ms "
                                 f"(virtual time is now {self.runtime.now} ms)")
        return self.received.popleft()

    def expect_no_msg(self, within: int) -> None:
        """Run the clock ``within`` virtual ms; fail if anything arrives meanwhile."""
        self._run_for(within)
        if self.received:
            got = self.received[0]
            raise AssertionError(f"probe {self.name}: expected no message within {within} ms, got a {got.kind} "
                                 f"{got.payload!r} at {got.time_ms} ms")

    def _run_for(self, within: int) -> None:
        """Run until something is received or ``within`` ms have passed (what arrives at
        the deadline itself still counts)."""
        if self.received:
            return
        scheduler = self.runtime.scheduler
        reached: list[bool] = []
        deadline = scheduler.at(self.runtime.now + within, reached.append, True, priority=TIMER)
        scheduler.run_while(lambda: not self.received and not reached)
        if not reached:
            scheduler.cancel(deadline)

    # --- sending (as this actor) ----------------------------------------------------------

    def send(self, to: str, payload: bytes | str) -> int:
        """Send to an actor from the probe (faults on the probe's links apply)."""
        from .host.message_server import _send

        target = self.runtime._resolve(to)
        return _send(self.runtime, self.actor, target, _bytes(payload), self.runtime.message_latency_ms)

    def request(self, to: str, payload: bytes | str) -> Any:
        """Request from an actor as the probe; a ``PendingRequest`` that completes as the run goes."""
        from .host.message_server import _new_request

        target = self.runtime._resolve(to)
        return _new_request(self.runtime, self.actor, target, _bytes(payload), self.runtime.message_latency_ms)


def _bytes(payload: bytes | str) -> bytes:
    return payload.encode() if isinstance(payload, str) else payload


def make_probe_actor(actor_id: str, name: str, spawn_order: int) -> Actor:
    """The runtime's record of a probe: a running actor with no component."""
    manifest = Manifest(name=name, component=Path("<probe>"), source="<probe>",
                        handlers=(HandlerSpec("runtime"), HandlerSpec("message-server")))
    actor = Actor(actor_id, name, manifest, None, None, fuel=0, memory=None, spawn_order=spawn_order,
                  init_state=None)
    actor.status = RUNNING
    actor.incarnation = 1
    return actor
