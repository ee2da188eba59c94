"""The one way into the outside world: every call of a world host function passes ``call``.

The world's interfaces (``store`` of both ABIs, ``filesystem``, ``environment``,
``http-client``) register their functions through ``world_functions``, so that each call:

1. is offered to the fault hook, ``world_fault``, first: where world faults are applied
   (``faults/world.py``: a store that is unavailable, slow, loses a write or corrupts a
   read; a full disk; an HTTP request that times out, is refused, or whose response is
   lost after the server acted). A fault is a callable ``fault(call, act)``:
   it may answer in the world's place (set ``call.value``) without calling ``act()``,
   or call ``act()`` (the world acts) and then change ``call.value`` or add to
   ``call.latency_ms``;
2. acts: the host function runs against the run's world (``rt.world``) and gives its
   answer, or a ``Delayed`` answer that takes virtual time to arrive (an HTTP route's
   latency);
3. is recorded: one trace record of kind ``world`` at the instant the world acted:
   ``interface``, ``function``, ``args`` and ``result`` (bounded summaries: long text and
   bytes are cut, long lists shortened), ``outcome`` (``ok``, or ``err`` for a WIT result's
   err) and ``latency_ms`` (the virtual time the answer takes to reach the caller); with
   ``sha1`` (hex) when the answer is bytes, so a check can tell content it sees cut, and
   ``fault`` (the index of the world fault that acted on the call) when one did;
4. answers: at once, or, when there is latency and the caller's import is linked as
   blocking (``BLOCKING`` of the component era), after that much virtual time (the caller's
   call is suspended meanwhile, as ``timing.sleep`` suspends it). A caller that cannot wait
   (a packr actor's store, a probe) gets its answer at once, and the record says 0 ms.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any, Callable, NamedTuple

from ..limits import charge_sent
from .timing import wait_until

WORLD = "world"  # the trace record kind
MAX_TEXT = 64  # characters of a string (or bytes) a summary keeps
MAX_ITEMS = 8  # items of a list a summary keeps


class Delayed(NamedTuple):
    """A world function's answer that reaches its caller ``latency_ms`` of virtual time later."""

    value: Any
    latency_ms: int


@dataclass(slots=True)
class WorldCall:
    """One call into the world, as the fault hook and the trace see it."""

    actor: Any
    interface: str
    function: str
    args: tuple
    value: Any = None
    latency_ms: int = 0
    fault: int | None = None  # the world fault that acted on it


HostFunction = Callable[..., Any]


def world_fault(rt: Any, call: WorldCall) -> Callable[[WorldCall, Callable[[], None]], None] | None:
    """The fault to apply to ``call``, or None: the run's fault injector decides
    (``FaultInjector.on_world``; what each kind does: ``faults/world.py``)."""
    injector = rt.faults
    return injector.on_world(call) if injector is not None else None


def perform(rt: Any, call: WorldCall, act: Callable[[], None]) -> None:
    """``act()`` (the world acts on ``call``), unless a world fault says otherwise."""
    fault = world_fault(rt, call)
    if fault is None:
        act()
    else:
        fault(call, act)


def world_functions(interface: str, functions: dict[str, HostFunction]) -> dict[str, HostFunction]:
    """``functions`` (WIT name -> ``fn(rt, actor, *args)``) behind the choke point."""
    return {name: world_function(interface, name, fn) for name, fn in functions.items()}


def world_function(interface: str, function: str, fn: HostFunction) -> HostFunction:
    """``fn`` as the host function of ``interface.function``: each call goes through ``call``."""
    def host(rt: Any, actor: Any, *args: Any) -> Any:
        return call(rt, actor, WorldCall(actor, interface, function, args), fn)
    host.__name__ = host.__qualname__ = fn.__name__
    host.__doc__ = fn.__doc__
    return host


def call(rt: Any, actor: Any, world_call: WorldCall, fn: HostFunction) -> Any:
    """Run one world call (see the module's docstring); returns the answer, or a wait."""
    def act() -> None:
        answer = fn(rt, actor, *world_call.args)
        if isinstance(answer, Delayed):
            world_call.value, world_call.latency_ms = answer
        else:
            world_call.value = answer

    perform(rt, world_call, act)
    if world_call.latency_ms and not _can_wait(actor, world_call.interface, world_call.function):
        world_call.latency_ms = 0
    _record(rt, world_call)
    if world_call.latency_ms:
        return wait_until(rt, actor, rt.now + world_call.latency_ms, world_call.value)
    return world_call.value


def charge(rt: Any, actor: Any, interface: str, function: str, size: int) -> None:
    """What an actor hands the world in one call counts as a message it sends (limits.py:
    ``max_message_bytes``, ``max_sent_bytes``, its chain); probes (Python-side actors of
    tests) are not bounded."""
    charge_sent(rt, actor, f"{interface}.{function}", size)


def _can_wait(actor: Any, interface: str, function: str) -> bool:
    """Whether the caller's import of this function is linked as blocking (can suspend)."""
    incarnation = actor.instance if actor is not None and actor.probe is None else None
    if incarnation is None:
        return False
    imp = incarnation.component.host_imports.get(interface, {}).get(function)
    return imp is not None and imp.blocking


def _record(rt: Any, world_call: WorldCall) -> None:
    value = world_call.value
    is_result = isinstance(value, tuple) and len(value) == 2 and isinstance(value[0], bool)
    answer = value[1] if is_result else value
    fields = {
        "interface": world_call.interface,
        "function": world_call.function,
        "args": [summary(a) for a in world_call.args],
        "outcome": "err" if is_result and not value[0] else "ok",
        "result": summary(answer),
        "latency_ms": world_call.latency_ms,
    }
    if isinstance(answer, (bytes, bytearray)):
        fields["sha1"] = hashlib.sha1(answer).hexdigest()
    if world_call.fault is not None:
        fields["fault"] = world_call.fault
    rt.trace.add(rt.now, WORLD, world_call.actor.id if world_call.actor is not None else None, fields)


def summary(value: Any) -> Any:
    """``value`` for the trace: JSON-ready, deterministic and bounded in size."""
    if value is None or isinstance(value, (bool, int)):
        return value
    if isinstance(value, str):
        text = str(value)
        return text if len(text) <= MAX_TEXT else f"{text[:MAX_TEXT]}... ({len(text)} chars)"
    if isinstance(value, (bytes, bytearray, memoryview)):
        data = bytes(value)
        shown = repr(data[:MAX_TEXT])
        return shown if len(data) <= MAX_TEXT else f"{shown}... ({len(data)} bytes)"
    if isinstance(value, dict):
        return {str(k): summary(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        items = [summary(v) for v in value[:MAX_ITEMS]]
        return items if len(value) <= MAX_ITEMS else items + [f"... ({len(value) - MAX_ITEMS} more)"]
    return summary(str(value))
