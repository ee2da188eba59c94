"""`theater:simple/supervisor`: a parent spawns, inspects, stops and restarts its children.

``spawn``, ``resume`` and ``restart-child`` wait for the child's ``init`` (the caller's
call is suspended meanwhile, and the child starts in an event of its own, never inside
the parent's call). Calls about an actor that is not the caller's child return ``err``.

``stop-child`` and ``restart-child`` behave as OTP's ``terminate_child`` and
``restart_child``: stopping a child that already ended succeeds (there is nothing left to
stop), and restarting one that runs is an error (stop it first), so that a supervisor
can stop a failed child from its ``handle-child-error`` without failing itself.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .._scheduler import URGENT
from ..errors import HarnessError
from ..exit import CAUSE_SUPERVISOR, SHUTDOWN, ExitReason
from ..limits import LimitExceeded, charge_message, over
from ..supervision.supervisor import restart


def _child(rt: Any, actor: Any, child_id: str) -> tuple[Any, str | None]:
    child = rt._actors.get(child_id)
    if child is None or child.parent != actor.id:
        return None, f"{child_id} is not a child of {actor.id} ({actor.name})"
    return child, None


def _started(rt: Any, wait: Any, child: Any, ok_value: Any):
    def then(payload: Any) -> None:
        if payload:
            wait.finish((True, ok_value))
        else:
            wait.finish((False, f"child {child.id} ({child.name}) failed to start: {child.exit_reason}"))
    return then


def _spawn(rt: Any, actor: Any, manifest: str, state: Any, verbatim: bool, started: Any = None) -> Any:
    """Spawn a child of ``actor``; the caller waits for its init (``started(rt, wait,
    child)`` makes what runs then; by default the wait ends with the child's id)."""
    what = f"supervisor.{'resume' if verbatim else 'spawn'}"
    depth, cap = actor.depth + 1, rt._caps["max_spawn_depth"]
    if depth > cap:  # a chain of actors spawning actors: the spawner ends, kind limit
        raise LimitExceeded(over(what, depth, "levels deep", "max_spawn_depth", cap))
    charge_message(rt, actor, what, len(manifest) + (len(state) if state is not None else 0))
    try:
        parsed = rt._manifest(manifest, base_dir=Path(actor.manifest.base_dir))
        child = rt._spawn(parsed, state, name=None, parent=actor, state_override=verbatim, start=False,
                          by_parent=True)
    except HarnessError as exc:
        return (False, f"cannot spawn {manifest!r}: {exc}")
    wait = rt.wait(actor)
    then = started(rt, wait, child) if started is not None else _started(rt, wait, child, child.id)
    rt.scheduler.after(0, rt._start, child, child.init_state, then, priority=URGENT)
    return wait


def spawn(rt: Any, actor: Any, manifest: str, init_bytes: bytes | None) -> Any:
    """A new child; ``init_bytes`` are merged over its manifest's ``init_state``."""
    return _spawn(rt, actor, manifest, init_bytes, verbatim=False)


def resume(rt: Any, actor: Any, manifest: str, init_state: bytes | None) -> Any:
    """A new child whose init gets ``init_state`` as it is (a state saved earlier)."""
    return _spawn(rt, actor, manifest, init_state, verbatim=True)


def list_children(rt: Any, actor: Any) -> list[str]:
    actors = rt._actors
    return [c for c in actor.children if actors[c].alive]


def stop_child(rt: Any, actor: Any, child_id: str) -> tuple[bool, Any]:
    """Stop the child and its subtree; the parent then gets handle-child-external-stop.
    A child that already ended is left as it is, and the call succeeds (OTP's
    ``terminate_child`` is idempotent)."""
    child, error = _child(rt, actor, child_id)
    if error:
        return (False, error)
    if not child.alive:
        return (True, None)
    rt.stop_actor(child, ExitReason(SHUTDOWN, f"stopped by its supervisor {actor.name}", child.id,
                                    child.incarnation, time_ms=rt.now, cause=CAUSE_SUPERVISOR))
    return (True, None)


def restart_child(rt: Any, actor: Any, child_id: str) -> Any:
    """A new incarnation of a child that ended, its state per the child's recovery mode;
    waits for its init. A running child is an error (OTP's ``restart_child`` answers
    ``{error, running}``): stop it first."""
    child, error = _child(rt, actor, child_id)
    if error:
        return (False, error)
    if child.alive:
        return (False, f"child {child_id} ({child.name}) is running (incarnation {child.incarnation}): "
                       f"stop it with stop-child before restarting it")
    wait = rt.wait(actor)
    rt.scheduler.after(0, _restart_now, rt, actor, child, _started(rt, wait, child, None), priority=URGENT)
    return wait


def _restart_now(rt: Any, actor: Any, child: Any, then: Any) -> None:
    if child.alive:  # restarted meanwhile by someone else: report the running incarnation
        then(True)
        return
    restart(rt, child, cause="restart-child", supervisor=actor, then=then)


def get_child_state(rt: Any, actor: Any, child_id: str) -> tuple[bool, Any]:
    child, error = _child(rt, actor, child_id)
    return (False, error) if error else (True, child.state)


def get_child_events(rt: Any, actor: Any, child_id: str) -> tuple[bool, Any]:
    child, error = _child(rt, actor, child_id)
    if error:
        return (False, error)
    return (True, [{
        "hash": e.hash, "parent-hash": e.parent_hash, "event-type": e.event_type, "data": e.data,
        "description": e.description, "timestamp": rt.epoch_ms + e.time_ms,
    } for e in child.chain.events])


# --- packr-era Theater (PACKR.md 4.3) ---------------------------------------------------

def spawn_typed(rt: Any, actor: Any, manifest: str, init_state: Any, wasm_bytes: bytes | None) -> Any:
    """packr's ``spawn(manifest, init-state: option<value>, wasm-bytes)``: the child's init
    gets ``init_state`` exactly as given; none means its manifest's ``initial_state`` (as
    a string value), else Theater's default state. Returns after the child's init."""
    if wasm_bytes is not None:
        return (False, "supervisor.spawn: wasm-bytes are not supported by theater-harness; give a manifest path")
    if init_state is None:
        return _spawn(rt, actor, manifest, None, verbatim=False)
    return _spawn(rt, actor, manifest, _typed(init_state), verbatim=True)


def resume_typed(rt: Any, actor: Any, manifest: str, state_bytes: bytes | None, wasm_bytes: bytes | None) -> Any:
    """packr's ``resume(manifest, state-bytes, wasm-bytes)``: a child whose init gets the
    saved state as it is."""
    if wasm_bytes is not None:
        return (False, "supervisor.resume: wasm-bytes are not supported by theater-harness; give a manifest path")
    return _spawn(rt, actor, manifest, state_bytes, verbatim=True)


def spawn_and_wait(rt: Any, actor: Any, manifest: str, init_state: Any, wasm_bytes: bytes | None,
                   timeout_ms: int | None) -> Any:
    """packr's ``spawn-and-wait``: spawn a child and wait until it ends: its
    ``runtime.shutdown`` data (none if it was stopped), err if it failed or if
    ``timeout_ms`` of virtual time pass first (the child then keeps running)."""
    if wasm_bytes is not None:
        return (False, "supervisor.spawn-and-wait: wasm-bytes are not supported by theater-harness")

    def started(rt: Any, wait: Any, child: Any) -> Any:
        def ended(reason: Any) -> None:
            if reason.abnormal:
                wait.finish((False, f"child {child.id} ({child.name}) failed: {reason}"))
            else:
                wait.finish((True, child.shutdown_data[0] if child.shutdown_data else None))

        def then(payload: Any) -> None:
            if not payload:
                wait.finish((False, f"child {child.id} ({child.name}) failed to start: {child.exit_reason}"))
                return
            child.exit_waiters.append(ended)
            if timeout_ms is not None:
                timer = rt.scheduler.after(timeout_ms, wait.finish, (
                    False, f"child {child.id} ({child.name}) still running after {timeout_ms} ms"))
                wait.on_abandon.append(lambda: rt.scheduler.cancel(timer))
        return then

    state = None if init_state is None else _typed(init_state)
    return _spawn(rt, actor, manifest, state, verbatim=state is not None, started=started)


def _typed(value: Any) -> Any:
    from ..values import TypedState
    return value if isinstance(value, TypedState) else TypedState.of(value)


def subscribe_to_child(rt: Any, actor: Any, child_id: str) -> tuple[bool, Any]:
    """packr's ``subscribe-to-child``: accepted for a child (theater-harness does not send
    ``handle-child-event``: its child events are its chain, which tests read directly)."""
    _, error = _child(rt, actor, child_id)
    return (False, error) if error else (True, None)


unsubscribe_from_child = subscribe_to_child


FUNCTIONS = {
    "spawn-typed": spawn_typed,
    "resume-typed": resume_typed,
    "spawn-and-wait": spawn_and_wait,
    "subscribe-to-child": subscribe_to_child,
    "unsubscribe-from-child": unsubscribe_from_child,
    "spawn": spawn,
    "resume": resume,
    "list-children": list_children,
    "stop-child": stop_child,
    "restart-child": restart_child,
    "get-child-state": get_child_state,
    "get-child-events": get_child_events,
}
