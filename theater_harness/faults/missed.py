"""Why a fault was missed, in words.

A fault triggered by time acts on the incarnation(s) of its target alive at that time
(``model.BOUND_KINDS``, ``model.AT_ONCE_KINDS``). It is *missed* when there is none then,
or when the incarnation it is bound to ends before the fault could act. The injector
records each miss as a ``missed`` trace record whose ``why`` is one of these sentences.
A sentence names a time only when it differs from the record's own time.
"""

from __future__ import annotations

from typing import Any


def not_running(ref: str, named: list[Any]) -> str:
    """Why a fault found no target alive: ``named`` are the actors ``ref`` names (any status)."""
    if not named:
        return f"{ref} is not running (no actor with that id, name or path has been spawned)"
    states = ", ".join(_status(actor) for actor in named)
    if len(named) == 1:
        return f"{ref} is not running (it is {states})"
    return f"none of the {len(named)} actors {ref} names is running ({states})"


def ended_first(rt: Any, fault: Any, bound: dict[str, int]) -> str:
    """Why a bound fault is missed: each incarnation it waited on (actor id -> incarnation)
    ended, when and how, before the call or host import the fault waited for."""
    parts = []
    for actor_id, incarnation in bound.items():
        actor = rt._actors[actor_id]
        ended = _exit_of(rt, actor_id, incarnation)
        when = f" at {ended[0]} ms" if ended is not None and ended[0] != rt.now else ""
        how = f"{when} ({ended[1]}: {ended[2]})" if ended is not None else ""
        parts.append(f"{actor.name}'s incarnation {incarnation} ended{how}")
    return " and ".join(parts) + f" before {_awaited(fault)}"


def _status(actor: Any) -> str:
    reason = actor.exit_reason
    return f"{actor.status}: {reason.kind}" if reason is not None else actor.status


def _awaited(fault: Any) -> str:
    """What a bound fault waits for: a call, or (host-error) a matching host import."""
    if fault.kind != "host-error":
        return "its next call"
    interface, function = fault.param("interface"), fault.param("function")
    if interface and function:
        return f"calling {interface}.{function}"
    if interface or function:
        return f"calling {'a function of ' + interface if interface else function + ' of any interface'}"
    return "calling a host function"


def _exit_of(rt: Any, actor_id: str, incarnation: int) -> tuple[int, str, str] | None:
    """(time, status, exit kind) of the trace's exit record for that incarnation. The trace
    is read from its end, where the exit almost always is: a miss is noticed soon after."""
    for time_ms, kind, actor, fields in reversed(rt.trace._raw):
        if kind != "exit" or actor != actor_id:
            continue
        if fields.__class__ is tuple:
            fields = dict(zip(fields[0::2], fields[1::2]))
        reason = fields.get("reason") or {}
        if reason.get("incarnation") == incarnation:
            return time_ms, fields.get("status"), reason.get("kind")
    return None
