"""World faults: what each kind (``model.WORLD_KINDS``) does to a call into the outside world.

The injector (``FaultInjector.on_world``) finds the armed fault that hits a call of its
target into the world (``host/world_calls.py``; rpc calls too, ``host/rpc.py``) and
``apply`` does what the fault's kind says, by the choke point's protocol: it answers in
the world's place (sets ``call.value``) without calling ``act()``, or lets the world act
and then changes the answer or adds to ``call.latency_ms``. It returns whether the fault
acted: a read that found no content to corrupt, or a write the world refused anyway,
leaves the fault for the target's next matching call.

The answers a fault gives, in the texts an actor sees:

=====================  ====================================================================
store-unavailable      ``err("store unavailable")``; the store is not touched
store-slow             the world's answer, ``delay_ms`` (default 1000) later
store-lost-write       the world's answer (``ok``), but the store is left as it was before
store-corrupt-read     ``get``'s content with its first byte flipped (empty content: ``\\x00``)
fs-full                ``err("No space left on device (os error 28)")``; nothing written
fs-io-error            ``err("Input/output error (os error 5)")``; the disk is not touched
fs-slow                the world's answer, ``delay_ms`` (default 1000) later
http-timeout           ``err("error sending request for url (<uri>): operation timed out")``
                       after ``delay_ms`` (default ``HTTP_TIMEOUT_MS``); no route is called
http-refused           ``err("error sending request for url (<uri>): connection refused")``
                       at once; no route is called
http-5xx               a response of ``status`` (default 503) and no body; no route is called
http-slow              the route's response, ``delay_ms`` (default 1000) later
http-lost-response     the route is called (the server acts) but its response is lost: the
                       timeout's ``err``, after the timeout
rpc-drop               the call is never sent: the caller gets ``Call timed out`` at its timeout
rpc-delay              the call reaches its callee ``delay_ms`` (default 1000) later
rpc-target-down        ``err("Actor not found: <callee id>")`` at once, as for a callee that
                       is not running
=====================  ====================================================================

A slow answer reaches a caller that can wait (a blocking import) that much later; one
that cannot wait gets it at once, and the fault record still says ``delay_ms``.
"""

from __future__ import annotations

import fnmatch
from typing import Any, Callable

from ..host.filesystem import ENOSPC
from ..host.store import stores_of
from .model import WORLD_HITS, WORLD_KINDS, Fault

# How long an HTTP request waits for a response that never comes: within the runtime's
# request timeout (30 s), so that an actor answering a request can still say what failed.
HTTP_TIMEOUT_MS = 10_000
DELAY_MS = 1000  # a slow kind's delay_ms when none is given
UNAVAILABLE = "store unavailable"
IO_ERROR = "Input/output error (os error 5)"
Act = Callable[[], None]


def aims_at(fault: Fault, call: Any) -> bool:
    """Whether ``fault`` may hit ``call`` (its target aside): the call's interface and
    function are the kind's (``model.WORLD_HITS``), its ``function`` and ``route`` match."""
    if call.interface != WORLD_KINDS[fault.kind] or call.function not in WORLD_HITS[fault.kind]:
        return False
    if fault.param("function", call.function) != call.function:
        return False
    route = fault.param("route")
    return route is None or fnmatch.fnmatchcase(_uri(call), route)


def apply(rt: Any, fault: Fault, call: Any, act: Act) -> bool:
    """Do to ``call`` what ``fault`` says; whether it acted (see the module's docstring)."""
    return EFFECTS[fault.kind](rt, fault, call, act)


def _uri(call: Any) -> str:
    return str(call.args[0]["uri"])


def _failing(text: str | Callable[[Any], str]) -> Callable[..., bool]:
    """The world is not asked: the call ends in ``err(text)`` (``text`` may depend on the call)."""
    def effect(rt: Any, fault: Fault, call: Any, act: Act) -> bool:
        call.value = (False, text(call) if callable(text) else text)
        return True
    return effect


def _slow(rt: Any, fault: Fault, call: Any, act: Act) -> bool:
    act()
    call.latency_ms += fault.param("delay_ms", DELAY_MS)
    return True


def _lost_write(rt: Any, fault: Fault, call: Any, act: Act) -> bool:
    """The write is acknowledged as the world answers it, and the store put back as it was."""
    stores = stores_of(rt)
    store_id = str(call.args[0])
    store = stores.get(store_id)
    kept = (stores.held, stores.entries, None if store is None else (dict(store.content), dict(store.labels),
                                                                      store.size))
    act()
    stores.held, stores.entries, before = kept
    if before is None:
        stores.pop(store_id, None)
    else:
        store.content, store.labels, store.size = before
    return bool(call.value[0])


def _corrupt_read(rt: Any, fault: Fault, call: Any, act: Act) -> bool:
    act()
    ok, content = call.value
    if not ok:
        return False
    call.value = (True, bytes([content[0] ^ 0xFF]) + bytes(content[1:]) if content else b"\x00")
    return True


def _timed_out(call: Any) -> str:
    return f"error sending request for url ({_uri(call)}): operation timed out"


def _http_timeout(rt: Any, fault: Fault, call: Any, act: Act) -> bool:
    call.value = (False, _timed_out(call))
    call.latency_ms = fault.param("delay_ms", HTTP_TIMEOUT_MS)
    return True


def _http_5xx(rt: Any, fault: Fault, call: Any, act: Act) -> bool:
    call.value = (True, {"status": fault.param("status", 503), "headers": [], "body": b""})
    return True


def _lost_response(rt: Any, fault: Fault, call: Any, act: Act) -> bool:
    act()
    call.value = (False, _timed_out(call))
    call.latency_ms = HTTP_TIMEOUT_MS
    return True


def _rpc_drop(rt: Any, fault: Fault, call: Any, act: Act) -> bool:
    return True  # not sent (act() sends it): its caller waits for its timeout


def _rpc_down(rt: Any, fault: Fault, call: Any, act: Act) -> bool:
    call.value = f"Actor not found: {call.args[0]}"
    return True


EFFECTS: dict[str, Callable[[Any, Fault, Any, Act], bool]] = {
    "store-unavailable": _failing(UNAVAILABLE),
    "store-slow": _slow,
    "store-lost-write": _lost_write,
    "store-corrupt-read": _corrupt_read,
    "fs-full": _failing(ENOSPC),
    "fs-io-error": _failing(IO_ERROR),
    "fs-slow": _slow,
    "http-timeout": _http_timeout,
    "http-refused": _failing(lambda call: f"error sending request for url ({_uri(call)}): connection refused"),
    "http-5xx": _http_5xx,
    "http-slow": _slow,
    "http-lost-response": _lost_response,
    "rpc-drop": _rpc_drop,
    "rpc-delay": _slow,
    "rpc-target-down": _rpc_down,
}
