"""`theater:simple/message-server-host` and the message items it puts in mailboxes.

Sends are fire-and-forget; a request suspends the caller's call until the reply, an
error, or the request timeout (in virtual time); a handler may defer its reply
(``none``) and answer later with ``respond-to-request``. Channels are opened with a
handshake (``handle-channel-open``) the opener waits for, and carry messages both ways
until one side closes them. A test takes part as "outside" (no actor): it sends and
requests, and opens channels whose end (``Channel.outside``, a ``probe.ChannelEnd``)
receives what the actor sends back.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .._scheduler import TIMER
from ..errors import HarnessError
from ..exit import LIMIT, ExitReason
from ..limits import charge_sent, over

HANDLE_SEND = ("message-server-client", "handle-send")
HANDLE_REQUEST = ("message-server-client", "handle-request")
HANDLE_CHANNEL_OPEN = ("message-server-client", "handle-channel-open")
HANDLE_CHANNEL_MESSAGE = ("message-server-client", "handle-channel-message")
HANDLE_CHANNEL_CLOSE = ("message-server-client", "handle-channel-close")


class RequestFailed(HarnessError):
    """A request from outside (``Runtime.ask``) that ended in an error."""


@dataclass(eq=False)
class PendingRequest:
    """A request on its way: to ``target``, from ``sender`` (None: from outside)."""

    id: str
    sender: Any
    target: Any
    payload: bytes
    issued_ms: int
    done: bool = False
    ok: bool = False
    reply: bytes | None = None
    error: str | None = None
    timeout_entry: Any = field(default=None, repr=False)
    waiter: Any = field(default=None, repr=False)  # the requester's Wait, if an actor waits

    def complete(self, rt: Any, reply: bytes) -> None:
        if self.done:
            return
        self.done, self.ok, self.reply = True, True, reply
        self._finish(rt, "reply", ("request", self.id, "size", len(reply)))

    def fail(self, rt: Any, error: str) -> None:
        if self.done:
            return
        self.done, self.error = True, error
        self._finish(rt, "request-failed", ("request", self.id, "error", error))

    def _finish(self, rt: Any, kind: str, fields: tuple) -> None:
        if self.timeout_entry is not None:
            rt.scheduler.cancel(self.timeout_entry)
        rt.requests.pop(self.id, None)
        rt.trace.add(rt.now, kind, self.target.id, fields)
        if self.waiter is not None:
            self.waiter.finish((True, self.reply) if self.ok else (False, self.error))


@dataclass(eq=False)
class Channel:
    """A channel between ``opener`` (None: outside) and ``target``."""

    id: str
    opener: Any
    target: Any
    accepted: bool | None = None  # None while the handshake is under way
    open: bool = False
    error: str | None = None
    waiter: Any = field(default=None, repr=False)  # the opener's Wait during the handshake
    timeout_entry: Any = field(default=None, repr=False)
    outside: Any = field(default=None, repr=False)  # the test's end, when outside opened it: receive(item)

    def settle(self, rt: Any, accepted: bool, error: str | None = None) -> None:
        """End the handshake: accepted (the channel is open) or rejected with ``error``."""
        if self.accepted is not None:
            return
        self.accepted, self.open, self.error = accepted, accepted, error
        if self.timeout_entry is not None:
            rt.scheduler.cancel(self.timeout_entry)
        if accepted:
            rt.trace.add(rt.now, "channel-accepted", self.target.id, {"channel": self.id})
        else:
            rt.channels.pop(self.id, None)
            rt.trace.add(rt.now, "channel-rejected", self.target.id, {"channel": self.id, "error": error})
        if self.waiter is not None:
            self.waiter.finish((True, self.id) if accepted else (False, error))

    def other(self, actor: Any) -> Any:
        return self.target if actor is self.opener else self.opener

    def has(self, actor: Any) -> bool:
        return actor is self.opener or actor is self.target


def _target(rt: Any, target_id: str) -> tuple[Any, str | None]:
    """The live actor ``target_id`` that accepts messages, or an error text."""
    target = rt._actors.get(target_id)
    if target is None:
        return None, f"no actor with id {target_id}"
    if not target.alive:
        return None, f"actor {target_id} ({target.name}) is not running: it is {target.status}"
    if not target.accepts_messages:
        return None, f"actor {target_id} ({target.name}) declares no message-server handler"
    return target, None


# --- host functions ----------------------------------------------------------------


def _charge(rt: Any, actor: Any, what: str, msg: bytes) -> None:
    """An actor's call hands the host ``msg``: within max_message_bytes and, with the
    call's other messages, max_sent_bytes (limits.py), or the actor ends with kind limit."""
    charge_sent(rt, actor, what, len(msg))


def send(rt: Any, actor: Any, target_id: str, msg: bytes) -> tuple[bool, Any]:
    _charge(rt, actor, "message-server-host.send", msg)
    target, error = _target(rt, target_id)
    if error:
        return (False, error)
    _send(rt, actor, target, msg, rt.message_latency_ms)
    return (True, None)


def _send(rt: Any, sender: Any, target: Any, msg: bytes, delay: int, delay_ms: int = 0) -> int:
    """``delay_ms``: how much later than now an outside sender meant the message to leave
    (recorded, so that the reports draw it then)."""
    number = next(rt.msg_seq)  # then trace.add, inlined: every message passes here
    fields = ("msg", number, "to", target.id, "size", len(msg))
    rt._trace_raw.append((rt.clock._now, "send", sender.id if sender is not None else None,
                          fields + ("delay_ms", delay_ms) if delay_ms else fields))
    rt.transmit(sender, target, ("send", number, msg), delay)
    return number


def _new_request(rt: Any, sender: Any, target: Any, msg: bytes, delay: int, delay_ms: int = 0) -> PendingRequest:
    req = PendingRequest(rt.message_ids.uuid(), sender, target, msg, rt.now)
    rt.requests[req.id] = req
    fields = ("request", req.id, "to", target.id, "size", len(msg))
    rt.trace.add(rt.now, "request", sender.id if sender is not None else None,
                 fields + ("delay_ms", delay_ms) if delay_ms else fields)
    rt.transmit(sender, target, ("request", req), delay)
    req.timeout_entry = rt.scheduler.after(
        delay + rt.request_timeout_ms, _timeout, rt, req, priority=TIMER)
    return req


def _timeout(rt: Any, req: PendingRequest) -> None:
    req.target.outstanding.pop(req.id, None)
    req.fail(rt, f"request {req.id} to {req.target.id} ({req.target.name}) timed out after "
                 f"{rt.request_timeout_ms} ms")


def request(rt: Any, actor: Any, target_id: str, msg: bytes) -> Any:
    _charge(rt, actor, "message-server-host.request", msg)
    target, error = _target(rt, target_id)
    if error:
        return (False, error)
    wait = rt.wait(actor)
    req = _new_request(rt, actor, target, msg, rt.message_latency_ms)
    req.waiter = wait
    wait.on_abandon.append(lambda: req.fail(rt, f"the requester {actor.id} ({actor.name}) ended"))
    return wait


def open_channel(rt: Any, actor: Any, target_id: str, initial: bytes) -> Any:
    _charge(rt, actor, "message-server-host.open-channel", initial)
    target, error = _target(rt, target_id)
    if error:
        return (False, error)
    wait = rt.wait(actor)
    chan = _new_channel(rt, actor, target, initial, rt.message_latency_ms)
    chan.waiter = wait
    wait.on_abandon.append(lambda: chan.settle(rt, False, f"the opener {actor.id} ({actor.name}) ended"))
    return wait


def _new_channel(rt: Any, opener: Any, target: Any, initial: bytes, delay: int, delay_ms: int = 0) -> Channel:
    """A channel from ``opener`` (an actor, a probe, or None: outside) to ``target``, its
    handshake under way: it ends when the target accepts or rejects it, or at the request
    timeout. ``delay_ms``: as ``_send``'s."""
    chan = Channel(rt.message_ids.uuid(), opener, target)
    rt.channels[chan.id] = chan
    fields = {"channel": chan.id, "to": target.id}
    if delay_ms:
        fields["delay_ms"] = delay_ms
    rt.trace.add(rt.now, "channel-open", opener.id if opener is not None else None, fields)
    rt.transmit(opener, target, ("channel-open", chan, initial), delay)
    chan.timeout_entry = rt.scheduler.after(delay + rt.request_timeout_ms, _channel_timeout, rt, chan, priority=TIMER)
    return chan


def _channel_timeout(rt: Any, chan: Channel) -> None:
    chan.settle(rt, False, f"channel {chan.id} to {chan.target.id} was not accepted within "
                           f"{rt.request_timeout_ms} ms")


def send_on_channel(rt: Any, actor: Any, channel_id: str, msg: bytes) -> tuple[bool, Any]:
    """``actor`` sends on a channel it is part of (None: outside, for its own channels)."""
    _charge(rt, actor, "message-server-host.send-on-channel", msg)
    chan = rt.channels.get(channel_id)
    if chan is None or not chan.has(actor):
        return (False, f"no open channel {channel_id} for {_who(actor)}")
    if not chan.open:
        return (False, f"channel {channel_id} is closed")
    rt.trace.add(rt.now, "channel-send", actor.id if actor is not None else None,
                 {"channel": channel_id, "size": len(msg)})
    pass_on(rt, chan, actor, ("channel-message", chan, msg))
    return (True, None)


def close_channel(rt: Any, actor: Any, channel_id: str) -> tuple[bool, Any]:
    chan = rt.channels.get(channel_id)
    if chan is None or not chan.has(actor) or not chan.open:
        return (False, f"no open channel {channel_id} for {_who(actor)}")
    _close(rt, chan, actor)
    return (True, None)


def _who(actor: Any) -> str:
    return f"actor {actor.id}" if actor is not None else "outside"


def pass_on(rt: Any, chan: Channel, sender: Any, item: tuple) -> None:
    """Carry a channel item from ``sender``'s side to the other: into an actor's (or a
    probe's) mailbox, where the link's faults apply, or to the test's end (outside)."""
    other = chan.other(sender)
    if other is not None:
        rt.transmit(sender, other, item, rt.message_latency_ms)
    elif chan.outside is not None:
        rt.scheduler.after(rt.message_latency_ms, chan.outside.receive, item)


def _close(rt: Any, chan: Channel, closer: Any) -> None:
    chan.open = False
    rt.channels.pop(chan.id, None)
    rt.trace.add(rt.now, "channel-close", closer.id if closer is not None else None, {"channel": chan.id})
    other = chan.other(closer)
    if other is None or other.alive:
        pass_on(rt, chan, closer, ("channel-close", chan))


def close_channels_of(rt: Any, actor: Any) -> None:
    """Close every channel ``actor`` is part of (it ended); the other sides are told."""
    for chan in [c for c in rt.channels.values() if c.has(actor)]:
        if chan.open:
            _close(rt, chan, actor)
        else:
            chan.settle(rt, False, f"actor {actor.id} ended before accepting the channel")


def list_outstanding_requests(rt: Any, actor: Any) -> list[str]:
    return list(actor.outstanding)


def respond_to_request(rt: Any, actor: Any, request_id: str, response: bytes) -> tuple[bool, Any]:
    _charge(rt, actor, "message-server-host.respond-to-request", response)
    req = actor.outstanding.pop(request_id, None)
    if req is None:
        return (False, f"no outstanding request {request_id} for actor {actor.id}")
    req.complete(rt, response)
    return (True, None)


def cancel_request(rt: Any, actor: Any, request_id: str) -> tuple[bool, Any]:
    req = actor.outstanding.pop(request_id, None)
    if req is None:
        return (False, f"no outstanding request {request_id} for actor {actor.id}")
    req.fail(rt, f"request {request_id} was cancelled by {actor.id} ({actor.name})")
    return (True, None)


def register(rt: Any, actor: Any) -> tuple[bool, Any]:
    """packr-era Theater's ``register``: the actor may receive messages from now on (even
    if its manifest lists no message-server handler). A second call in one incarnation is
    Theater's ``Err("Already registered")``."""
    if actor.registered:
        return (False, "Already registered")
    actor.registered = actor.accepts_messages = True
    return (True, None)


FUNCTIONS = {
    "register": register,
    "send": send,
    "request": request,
    "open-channel": open_channel,
    "send-on-channel": send_on_channel,
    "close-channel": close_channel,
    "list-outstanding-requests": list_outstanding_requests,
    "respond-to-request": respond_to_request,
    "cancel-request": cancel_request,
}


# --- mailbox items -------------------------------------------------------------------


def _deliver_send(rt: Any, actor: Any, item: tuple) -> None:
    _, number, msg = item  # then trace.add, inlined: every message passes here
    rt._trace_raw.append((rt.clock._now, "deliver", actor.id, ("msg", number)))
    rt._call(actor, HANDLE_SEND, (actor.state, (msg,)))


def _deliver_request(rt: Any, actor: Any, item: tuple) -> None:
    req: PendingRequest = item[1]
    if req.done:  # timed out, or its requester ended, while it was queued
        rt.trace.add(rt.now, "drop", actor.id, {"request": req.id, "reason": f"no longer awaited: {req.error}"})
        return
    rt.trace.add(rt.now, "deliver", actor.id, ("request", req.id))
    actor.outstanding[req.id] = req

    def handled(result: Any) -> None:
        if result is None:
            return  # the actor failed; ending it failed its outstanding requests
        if not result:  # no handle-request export
            actor.outstanding.pop(req.id, None)
            req.fail(rt, f"actor {actor.id} ({actor.name}) does not export handle-request")
            return
        reply = result[1][0]
        if reply is not None:
            actor.outstanding.pop(req.id, None)
            req.complete(rt, reply)
        elif len(actor.outstanding) > rt._caps["max_outstanding_requests"]:  # it holds one request too many
            rt.fail_actor(actor, _too_many_outstanding(rt, actor))

    rt._call(actor, HANDLE_REQUEST, (actor.state, (req.id, req.payload)), handled)


def _too_many_outstanding(rt: Any, actor: Any) -> ExitReason:
    """An actor that deferred one reply too many ends (after its handle-request returned)."""
    export = actor.component.exports[HANDLE_REQUEST].full_name
    return ExitReason(LIMIT, over(export, len(actor.outstanding), "requests held unanswered",
                                  "max_outstanding_requests", rt._caps["max_outstanding_requests"]),
                      actor.id, actor.incarnation, export, time_ms=rt.now)


def _deliver_channel_open(rt: Any, actor: Any, item: tuple) -> None:
    _, chan, initial = item
    if chan.accepted is not None:
        return  # timed out while queued

    def handled(result: Any) -> None:
        if not result:
            chan.settle(rt, False, f"actor {actor.id} ({actor.name}) did not accept the channel"
                                   + ("" if result is None else ": it does not export handle-channel-open"))
            return
        accept = result[1][0]
        if not accept["accepted"]:
            chan.settle(rt, False, f"actor {actor.id} ({actor.name}) rejected the channel")
            return
        chan.settle(rt, True)
        if accept["message"] is not None:
            pass_on(rt, chan, actor, ("channel-message", chan, accept["message"]))

    rt._call(actor, HANDLE_CHANNEL_OPEN, (actor.state, (chan.id, initial)), handled)


def _deliver_channel_message(rt: Any, actor: Any, item: tuple) -> None:
    _, chan, msg = item
    if not chan.open:
        rt.trace.add(rt.now, "drop", actor.id, {"channel": chan.id, "reason": "channel closed"})
        return
    rt._call(actor, HANDLE_CHANNEL_MESSAGE, (actor.state, (chan.id, msg)))


def _deliver_channel_close(rt: Any, actor: Any, item: tuple) -> None:
    chan = item[1]
    rt._call(actor, HANDLE_CHANNEL_CLOSE, (actor.state, (chan.id,)))


ITEMS = {
    "send": _deliver_send,
    "request": _deliver_request,
    "channel-open": _deliver_channel_open,
    "channel-message": _deliver_channel_message,
    "channel-close": _deliver_channel_close,
}


def undeliverable(rt: Any, actor: Any, item: tuple) -> None:
    """An item for an actor that ended: requests and channel handshakes fail, the rest drop."""
    kind = item[0]
    reason = f"actor {actor.id} ({actor.name}) is not running: it is {actor.status}"
    if kind == "request":
        item[1].fail(rt, reason)
    elif kind == "channel-open":
        item[1].settle(rt, False, reason)
    else:
        fields = {"item": kind, "reason": reason}
        if kind == "send":
            fields["msg"] = item[1]
        rt.trace.add(rt.now, "drop", actor.id, fields)


# --- from outside (tests and tools) ------------------------------------------------------


def _accepts_messages(target: Any) -> None:
    if not target.accepts_messages:
        raise HarnessError(f"actor {target.name} ({target.id}) declares no message-server handler, "
                           f"so it cannot receive messages; add [[handler]] type = \"message-server\" "
                           f"to {target.manifest.source}")


def external_send(rt: Any, target: Any, payload: bytes, delay: int) -> int:
    _accepts_messages(target)
    return _send(rt, None, target, payload, rt.message_latency_ms + delay, delay)


def external_request(rt: Any, target: Any, payload: bytes, delay: int) -> PendingRequest:
    _accepts_messages(target)
    return _new_request(rt, None, target, payload, rt.message_latency_ms + delay, delay)


def external_open_channel(rt: Any, target: Any, initial: bytes, delay: int) -> Channel:
    """A channel from outside to ``target`` (the caller gives it its ``outside`` end)."""
    _accepts_messages(target)
    return _new_channel(rt, None, target, initial, rt.message_latency_ms + delay, delay)
