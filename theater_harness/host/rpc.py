"""`theater:simple/rpc` (packr era): an actor calls a function another actor exports, and
waits for its answer.

As Theater's rpc handler does it (``crates/theater-handler-rpc`` @TH):

- ``call(actor-id, function, params, options)`` calls the export named ``function``, its
  full interface-qualified name (``"calc.add"``, ``"theater:simple/actor.init"``). The call
  travels to the target as a message (the link's faults apply), waits its turn in the
  target's mailbox (one call at a time per actor), gets the target's state and leaves the
  new one, goes into the target's chain, and call faults apply to it, as to any call.
  ``params`` reaches the export unconverted and flattened as every export's input is: a
  tuple's items follow the state, any other value is the one parameter. Meanwhile the
  caller is parked (its own mail queues) until the answer: ``ok(return value)``;
  ``err("Call failed: ...")`` when the call failed, the target failing with it (and being
  supervised as usual); or ``err("Call timed out")`` once ``options``' timeout has passed
  in virtual time (``some(call-options{timeout-ms: some(u64)})``; anything else: the
  runtime's request timeout, 30 s by default as Theater's).
- A call is not taken back once sent: Theater queues it in the target's operation channel,
  so a call that timed out, or whose caller ended, still runs in the target's turn and its
  answer goes nowhere. A call to the caller itself, or around a cycle (A calls B, which
  calls A), waits for an actor that waits for it: it ends at its timeout, as in Theater,
  and the caller goes on.
- ``implements(actor-id, interface)`` and ``exports(actor-id)`` read the interface names
  of the target's ``export-hashes`` metadata.
- Answers are Theater's: values of ``variant result {ok, err}``, not ``result`` nodes.

Where the harness differs from Theater, on purpose: a function the target does not export
is the caller's ``err("Call failed: Function not found: ...")`` at once (Theater calls the
target anyway, which fails, is paused and is reported to its supervisor: any actor could
fail any other by naming a function it lacks); a target that is not running (failed and
awaiting its restart, or stopped) is ``Actor not found`` at once (Theater keeps a failed
actor paused, and a call to it times out); ``implements`` and ``exports`` answer at once
(Theater waits for the target's instance, so while the target is in a call, and for ever
about the caller itself). rpc reaches packr actors only: a component-model actor or a
probe exports nothing to it.

Every call ends in one trace record ``rpc`` (the caller's): ``call`` (its id), ``to`` (the
target's id, None when there is none), ``function``, ``issued_ms``, ``outcome`` (``ok``,
``err``, ``timeout``, ``abandoned``: the caller ended first, or ``fault``) and ``error``.
Every call sent passes ``_issue``, where rpc faults enter (``fault_for``).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from .._scheduler import TIMER
from ..limits import charge_message
from ..values import Bool, List, Option, Record, String, Tuple, U64, Value, Variant
from ..wasm.packr import cgrf
from ..wasm.packr.theater import verbatim
from .world_calls import WorldCall, perform

MAX_TIMEOUT_MS = 1 << 53  # a longer timeout-ms is this one (virtual times stay far from 64 bits)
OK, ERR, TIMEOUT, ABANDONED, FAULT = "ok", "err", "timeout", "abandoned", "fault"
TIMED_OUT = "Call timed out"


def ok(value: Value) -> Variant:
    return Variant("result", "ok", 0, (value,))


def err(message: str) -> Variant:
    return Variant("result", "err", 1, (String(message),))


@dataclass(eq=False)
class RpcCall:
    """One rpc call from ``caller``, and what it became."""

    id: str
    caller: Any
    function: str
    issued_ms: int
    target: Any = None
    export: Any = None
    params: tuple = ()
    done: bool = False
    waiter: Any = field(default=None, repr=False)  # the caller's Wait
    timeout_entry: Any = field(default=None, repr=False)

    def finish(self, rt: Any, outcome: str, answer: Variant, error: str | None = None) -> Variant:
        """Record the outcome and give the caller ``answer`` (once; later outcomes are
        ignored: a call that timed out may still return)."""
        if self.done:
            return answer
        self.done = True
        if self.timeout_entry is not None:
            rt.scheduler.cancel(self.timeout_entry)
        fields = {"call": self.id, "to": self.target.id if self.target is not None else None,
                  "function": self.function, "issued_ms": self.issued_ms, "outcome": outcome}
        if error is not None:
            fields["error"] = error
        rt.trace.add(rt.now, "rpc", self.caller.id, fields)
        if self.waiter is not None:
            self.waiter.finish(answer)
        return answer

    def fail(self, rt: Any, outcome: str, error: str) -> Variant:
        return self.finish(rt, outcome, err(error), error)


# --- host functions ----------------------------------------------------------------


def call(rt: Any, actor: Any, target_id: str, function: str, params: Value, options: Value) -> Any:
    """The params are a message the host holds until the target's turn: bounded as one
    (``max_message_bytes``, ``max_sent_bytes``: past them the caller ends, kind limit)."""
    charge_message(rt, actor, "rpc.call", len(cgrf.encode(params)))
    rpc = RpcCall(rt.message_ids.uuid(), actor, str(function), rt.now)
    target, error = _target(rt, target_id)
    if error is None:
        rpc.target = target
        rpc.export, error = _export(target, function)
    if error is not None:
        return rpc.fail(rt, ERR, error)
    rpc.params = tuple(params) if isinstance(params, Tuple) else (params,)
    return _issue(rt, rpc, _timeout_ms(options, rt.request_timeout_ms))


def implements(rt: Any, actor: Any, target_id: str, interface: str) -> Variant:
    target, error = _target(rt, target_id)
    return err(error) if error is not None else ok(Bool(interface in _exported_interfaces(target)))


def exports(rt: Any, actor: Any, target_id: str) -> Variant:
    target, error = _target(rt, target_id)
    if error is not None:
        return err(error)
    return ok(List(b"\x06", [String(name) for name in _exported_interfaces(target)]))


FUNCTIONS = {"call": call, "implements": implements, "exports": exports}


def fault_for(rt: Any, rpc: RpcCall) -> WorldCall:
    """The fault hook of rpc calls, asked once per call before it is sent: the world faults
    of interface ``rpc`` (``faults/world.py``: rpc-drop, rpc-delay, rpc-target-down) see it
    as a ``WorldCall`` whose ``act()`` sends it. What it becomes: ``value`` True (sent,
    ``latency_ms`` later than a message would be), None (dropped: never sent, the caller
    waits for its timeout), or an error text (it ends at once with that ``err``, recorded
    with outcome ``fault``). A message's faults apply too, on the link it travels on."""
    call = WorldCall(rpc.caller, "rpc", "call", (rpc.target.id, rpc.function))

    def send() -> None:
        call.value = True

    perform(rt, call, send)
    return call


def _issue(rt: Any, rpc: RpcCall, timeout_ms: int) -> Any:
    """Send the call and park the caller until its answer or its timeout: every call that
    reaches for its target passes here."""
    sent = fault_for(rt, rpc)
    if isinstance(sent.value, str):
        return rpc.fail(rt, FAULT, sent.value)
    caller = rpc.caller
    wait = rt.wait(caller)
    rpc.waiter = wait
    wait.on_abandon.append(lambda: rpc.fail(rt, ABANDONED, f"the caller {caller.id} ({caller.name}) ended"))
    rpc.timeout_entry = rt.scheduler.after(timeout_ms, rpc.fail, rt, TIMEOUT, TIMED_OUT, priority=TIMER)
    if sent.value is True:
        rt.transmit(caller, rpc.target, ("rpc", rpc), rt.message_latency_ms + sent.latency_ms)
    return wait


def _target(rt: Any, target_id: str) -> tuple[Any, str | None]:
    """The running actor ``target_id`` (any spelling of its UUID, as Theater parses ids),
    or Theater's error text."""
    try:
        key = str(uuid.UUID(target_id))
    except ValueError:
        return None, f"Invalid actor ID: {str(target_id)!r} is not a UUID"
    target = rt._actors.get(key)
    if target is None:
        return None, f"Actor not found: {target_id}"
    if not target.alive:
        return None, f"Actor not found: {target_id} ({target.name} is {target.status})"
    return target, None


def _export(target: Any, function: str) -> tuple[Any, str | None]:
    """The target's export ``function``, as rpc calls it, or the caller's error."""
    module = target.component
    found = module.callables.get(function) if _is_packr(target) else None
    if found is not None:
        return verbatim(found), None
    who = f"actor {target.id} ({target.name})"
    if module is None:
        why = f"{who} is a probe, which exports nothing"
    elif not _is_packr(target):
        why = f"{who} is a component-model actor: rpc calls reach packr actors"
    else:
        why = f"{who} exports {', '.join(module.callable_names()) or 'no function'}"
    return None, f"Call failed: Function not found: {function} ({why})"


def _is_packr(target: Any) -> bool:
    return target.component is not None and target.component.abi == "packr"


def _exported_interfaces(target: Any) -> list[str]:
    """The interfaces the target's metadata lists in its ``export-hashes``, in its order."""
    return list(target.component.metadata.export_hashes) if _is_packr(target) else []


def _timeout_ms(options: Value, default: int) -> int:
    """Theater's ``CallOptions::from_value``: ``some(record{timeout-ms: some(u64)})`` sets
    the timeout; any other options leave the default."""
    if isinstance(options, Option) and isinstance(options.value, Record):
        ms = options.value.get("timeout-ms")
        if isinstance(ms, Option) and isinstance(ms.value, U64):
            return min(int(ms.value), MAX_TIMEOUT_MS)
    return default


# --- the mailbox item -----------------------------------------------------------------


def _deliver(rt: Any, actor: Any, item: tuple) -> None:
    """The call reaches the target's turn: it runs, even if nobody waits for it any more."""
    rpc: RpcCall = item[1]

    def returned(payload: Any) -> None:
        if payload is None:
            rpc.fail(rt, ERR, f"Call failed: Internal error: {actor.exit_reason}")
        else:
            rpc.finish(rt, OK, ok(payload[1][0]))

    rt._call(actor, rpc.export, (actor.state, rpc.params), returned)


ITEMS = {"rpc": _deliver}


def undeliverable(rt: Any, actor: Any, item: tuple) -> None:
    """A call for a target that ended before its turn: the caller gets an err at once."""
    reason = f"actor {actor.id} ({actor.name}) is not running: it is {actor.status}"
    rpc: RpcCall = item[1]
    rt.trace.add(rt.now, "drop", actor.id, {"item": "rpc", "call": rpc.id, "reason": reason})
    rpc.fail(rt, ERR, f"Call failed: {reason}")
