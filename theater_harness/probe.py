"""Probes: Python-side actors for tests, receiving in virtual time; and the test's end of
a channel (``ChannelEnd``), opened from outside or by a probe.

A probe has an actor id like any actor, so wasm actors can send to it, request from it
and open channels to it; the test then asserts on what arrived, and answers requests
and channel openings itself:

    probe = runtime.probe("client")
    pinger = runtime.spawn("pinger.toml", init_state={"target": probe.id})
    runtime.send(pinger, "request:hello")
    msg = probe.expect_msg(within=100)       # runs the clock until it comes, or fails
    assert msg.payload == b"hello"
    msg.reply(b"hi back")
    probe.expect_no_msg(within=1000)

    runtime.send(pinger, "open:hi")          # the pinger opens a channel to the probe
    chan = probe.expect_msg(within=10).accept()
    runtime.send(pinger, "chan:ping")
    assert probe.expect_channel_msg(within=10).payload == b"ping"
    chan.send("pong")

    echo = runtime.open_channel(echo_id, "hello")   # a test opens one itself (outside)
    assert echo.expect_msg(within=10).payload == b"hello"

    added = probe.call(counter_id, "counter.add", 5)   # any export (Runtime.call_later)
    runtime.run_until_idle()
    assert added.ok and added.result == 5

Everything a test's end receives is a ``channel-receive`` trace record (its actor: the
probe, or none for outside); opening, sending and closing are recorded as an actor's are.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from ._scheduler import TIMER
from .actor import RUNNING, Actor
from .errors import HarnessError
from .manifest import HandlerSpec, Manifest

CHANNEL_KINDS = ("channel", "channel-close")  # what arrives on an open channel


@dataclass
class ProbeMessage:
    """What a probe (or a test's channel end) received: a ``send``; a ``request`` (answer
    it with ``reply``); a ``channel-open`` (``accept`` or ``reject`` it); a ``channel``
    message or its ``channel-close`` (``channel`` is the test's end of it)."""

    kind: str  # "send", "request", "channel-open", "channel" or "channel-close"
    payload: bytes
    time_ms: int
    sender: str | None = None  # a requester's or channel peer's id (None: outside)
    _request: Any = None
    _runtime: Any = None
    channel: ChannelEnd | None = None

    def reply(self, payload: bytes | str) -> None:
        if self._request is None:
            raise TypeError(f"a {self.kind} cannot be replied to; only a request can")
        self._request.complete(self._runtime, _bytes(payload))

    def accept(self, message: bytes | str | None = None) -> ChannelEnd:
        """Accept a channel opening (with a first ``message`` back, if given); returns the
        probe's end of the channel."""
        end = self._opening("accepted")
        end.channel.settle(end.runtime, True)
        if message is not None:
            from .host.message_server import pass_on

            pass_on(end.runtime, end.channel, end._side, ("channel-message", end.channel, _bytes(message)))
        return end

    def reject(self) -> None:
        """Reject a channel opening: the opener's ``open-channel`` returns an error."""
        end = self._opening("rejected")
        end.channel.settle(end.runtime, False, f"probe {end._side.name} ({end._side.id}) rejected the channel")

    def _opening(self, verb: str) -> ChannelEnd:
        if self.kind != "channel-open":
            raise TypeError(f"a {self.kind} cannot be {verb}; only a channel-open can")
        end = self.channel
        if end.channel.accepted is not None:
            raise HarnessError(f"channel {end.id} cannot be {verb} any more: its handshake ended at "
                               f"{end.runtime.now} ms or before ({end.channel.error or 'accepted'})")
        return end


class Probe:
    """A Python-side actor registered in a runtime."""

    def __init__(self, runtime: Any, actor: Actor):
        self.runtime = runtime
        self.actor = actor
        self.received: deque[ProbeMessage] = deque()
        self.history: list[ProbeMessage] = []
        self._ends: dict[str, ChannelEnd] = {}  # channel id -> the probe's end of it

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
            chan, initial = item[1], item[2]
            if chan.accepted is not None:
                return  # timed out while on its way
            end = self._ends[chan.id] = ChannelEnd(rt, chan, self.actor, self.received)
            self._keep(ProbeMessage("channel-open", initial, rt.now, end.peer, channel=end))
        else:  # channel-message, channel-close
            message = _arrived(rt, self._ends.get(item[1].id), item, self.id)
            if message is not None:
                self._keep(message)

    def _keep(self, message: ProbeMessage) -> None:
        self.received.append(message)
        self.history.append(message)

    # --- expectations (called by tests) ---------------------------------------------------

    def expect_msg(self, within: int) -> ProbeMessage:
        """The next thing that arrives, of any kind, running the clock up to ``within``
        virtual ms for it to come."""
        return _expect(self.runtime, self.received, within, lambda m: True, f"probe {self.name}: no message")

    def expect_no_msg(self, within: int) -> None:
        """Run the clock ``within`` virtual ms; fail if anything arrives meanwhile."""
        _expect_none(self.runtime, self.received, within, lambda m: True, f"probe {self.name}")

    def expect_channel_msg(self, within: int) -> ProbeMessage:
        """The next message (or close) on any of the probe's channels, running the clock up
        to ``within`` virtual ms for it; what else arrived meanwhile stays for ``expect_msg``."""
        return _expect(self.runtime, self.received, within, lambda m: m.kind in CHANNEL_KINDS,
                       f"probe {self.name}: no channel message")

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

    def call(self, to: str, export: str, *args: Any, delay_ms: int = 0) -> Any:
        """Call any export of an actor (``"iface.fn"``, e.g. ``"counter.add"``) with
        ``args``; a ``PendingCall`` that completes as the run goes (``.done``, ``.ok``,
        ``.result``, ``.error``). A thin wrapper over ``Runtime.call_later`` (see it for
        how arguments convert), for tests that drive everything through their probe: the
        call is the test's, not the probe's (an export call has no sender, so it does not
        cross the probe's links, and faults on them do not apply; the actor's do)."""
        return self.runtime.call_later(to, export, *args, delay_ms=delay_ms)

    def open_channel(self, to: str, initial: bytes | str = b"") -> ChannelEnd:
        """Open a channel from the probe to an actor; returns the probe's end, whose
        handshake ends as the run goes (``accepted``)."""
        from .host.message_server import _accepts_messages, _new_channel

        rt = self.runtime
        target = rt._resolve(to)
        _accepts_messages(target)
        chan = _new_channel(rt, self.actor, target, _bytes(initial), rt.message_latency_ms)
        end = self._ends[chan.id] = ChannelEnd(rt, chan, self.actor, self.received)
        return end


class ChannelEnd:
    """The test's end of a channel, opened from outside (``Runtime.open_channel``) or by a
    probe (``Probe.open_channel``, ``ProbeMessage.accept``). ``accepted`` is None while the
    handshake is under way; ``expect_msg`` returns what the other side sends on it, and
    finally a ``channel-close`` if it closes it (or ends)."""

    def __init__(self, runtime: Any, channel: Any, side: Any, queue: deque[ProbeMessage]):
        self.runtime = runtime
        self.channel = channel
        self._side = side  # the probe's actor, or None: outside
        self._queue = queue  # where what arrives waits: the probe's queue, or this end's own
        self.history: list[ProbeMessage] = []

    def __repr__(self) -> str:
        state = {None: "opening", False: "not accepted"}.get(self.accepted, "open" if self.open else "closed")
        return f"<ChannelEnd {self.id[:8]} to {(self.peer or 'outside')[:8]} {state}>"

    @property
    def id(self) -> str:
        return self.channel.id

    @property
    def peer(self) -> str | None:
        """The id of the actor at the other end (None: outside)."""
        other = self.channel.other(self._side)
        return other.id if other is not None else None

    @property
    def accepted(self) -> bool | None:
        return self.channel.accepted

    @property
    def open(self) -> bool:
        """Whether it carries messages: accepted, and closed by neither side yet."""
        return self.channel.open

    @property
    def error(self) -> str | None:
        """Why the handshake failed (rejected, timed out, the target ended)."""
        return self.channel.error

    def send(self, payload: bytes | str) -> None:
        """Send on the channel (as its opener's side: outside, or the probe)."""
        from .host.message_server import send_on_channel

        self._usable("send on")
        ok, error = send_on_channel(self.runtime, self._side, self.id, _bytes(payload))
        if not ok:
            raise HarnessError(f"cannot send on channel {self.id}: {error}")

    def close(self) -> None:
        """Close the channel; the other side is told (its handle-channel-close)."""
        from .host.message_server import close_channel

        self._usable("close")
        ok, error = close_channel(self.runtime, self._side, self.id)
        if not ok:
            raise HarnessError(f"cannot close channel {self.id}: {error}")

    def _usable(self, verb: str) -> None:
        if self.channel.accepted is None:
            raise HarnessError(f"cannot {verb} channel {self.id} yet: its handshake with {self.peer} is under way; "
                               f"run the clock first (rt.advance, rt.run_until_idle, expect_msg)")
        if self.channel.accepted is False:
            raise HarnessError(f"cannot {verb} channel {self.id}: it was not accepted ({self.channel.error})")
        if not self.channel.open:
            raise HarnessError(f"cannot {verb} channel {self.id}: it is closed")

    def receive(self, item: tuple) -> None:
        """What arrives at an outside end (called by the scheduler)."""
        message = _arrived(self.runtime, self, item, None)
        if message is not None:
            self._queue.append(message)

    def expect_msg(self, within: int) -> ProbeMessage:
        """The next message (or close) on this channel, running the clock up to ``within``
        virtual ms for it; fails at once if the handshake fails meanwhile."""
        return _expect(self.runtime, self._queue, within, self._mine, f"channel {self.id}: no message",
                       failed=self._failed)

    def expect_no_msg(self, within: int) -> None:
        """Run the clock ``within`` virtual ms; fail if anything arrives on this channel."""
        _expect_none(self.runtime, self._queue, within, self._mine, f"channel {self.id}")

    def _mine(self, message: ProbeMessage) -> bool:
        return message.channel is self and message.kind in CHANNEL_KINDS

    def _failed(self) -> str | None:
        chan = self.channel
        return f"channel {self.id} to {self.peer} was not accepted: {chan.error}" if chan.accepted is False else None


def open_outside_channel(runtime: Any, target: Actor, initial: bytes, delay_ms: int) -> ChannelEnd:
    """``Runtime.open_channel``: a channel from outside, and the test's end of it."""
    from .host.message_server import external_open_channel

    chan = external_open_channel(runtime, target, initial, delay_ms)
    chan.outside = ChannelEnd(runtime, chan, None, deque())
    return chan.outside


def _arrived(rt: Any, end: ChannelEnd | None, item: tuple, actor_id: str | None) -> ProbeMessage | None:
    """A channel message or close arriving at a test's end: recorded, and what to keep
    (None: a message on a channel closed meanwhile, dropped as an actor's would be)."""
    chan = item[1]
    if end is None:
        return None
    if item[0] == "channel-close":
        rt.trace.add(rt.now, "channel-receive", actor_id, {"channel": chan.id, "closed": True})
        message = ProbeMessage("channel-close", b"", rt.now, end.peer, channel=end)
    elif not chan.open:
        rt.trace.add(rt.now, "drop", actor_id, {"channel": chan.id, "reason": "channel closed"})
        return None
    else:
        rt.trace.add(rt.now, "channel-receive", actor_id, {"channel": chan.id, "size": len(item[2])})
        message = ProbeMessage("channel", item[2], rt.now, end.peer, channel=end)
    end.history.append(message)
    return message


def _run_for(runtime: Any, within: int, ready: Callable[[], bool]) -> None:
    """Run until ``ready()`` or until ``within`` ms have passed (what arrives at the
    deadline itself still counts)."""
    if ready():
        return
    scheduler = runtime.scheduler
    reached: list[bool] = []
    deadline = scheduler.at(runtime.now + within, reached.append, True, priority=TIMER)
    scheduler.run_while(lambda: not ready() and not reached)
    if not reached:
        scheduler.cancel(deadline)


def _first(queue: deque[ProbeMessage], wanted: Callable[[ProbeMessage], bool]) -> int | None:
    return next((i for i, message in enumerate(queue) if wanted(message)), None)


def _expect(runtime: Any, queue: deque[ProbeMessage], within: int, wanted: Callable[[ProbeMessage], bool],
            missing: str, failed: Callable[[], str | None] = lambda: None) -> ProbeMessage:
    """The first message of ``queue`` that is ``wanted``, taken from it, running the clock
    up to ``within`` ms for it to come."""
    _run_for(runtime, within, lambda: _first(queue, wanted) is not None or failed() is not None)
    index = _first(queue, wanted)
    if index is None:
        raise AssertionError(failed() or f"{missing} within {within} ms (virtual time is now {runtime.now} ms)")
    message = queue[index]
    del queue[index]
    return message


def _expect_none(runtime: Any, queue: deque[ProbeMessage], within: int, wanted: Callable[[ProbeMessage], bool],
                 who: str) -> None:
    _run_for(runtime, within, lambda: _first(queue, wanted) is not None)
    index = _first(queue, wanted)
    if index is not None:
        got = queue[index]
        raise AssertionError(f"{who}: expected no message within {within} ms, got a {got.kind} "
                             f"{got.payload!r} at {got.time_ms} ms")


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
