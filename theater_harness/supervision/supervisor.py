"""The executor of declarative supervision: what a supervisor does when a child ends.

Called after the supervisor's own ``handle-child-*`` export (if any) has run, for a
supervisor whose manifest declares a ``[supervision]`` policy:

1. decide whether the child is restarted (restart type, permanent-error patterns);
2. record the restart and check the intensity; past it, escalate: the supervisor stops
   its children and fails itself, and its own parent's policy applies;
3. otherwise plan with the strategy (which siblings stop, who restarts), stop them in
   order, wait out the child's backoff delay, and restart in start order, each child's
   state chosen by its recovery mode.

Every decision is recorded in the trace.
"""

from __future__ import annotations

from typing import Any

from .._scheduler import URGENT
from ..exit import ESCALATED, KILLED, SHUTDOWN, ExitReason
from .backoff import delay_ms
from .intensity import add_restart
from .strategy import Child, plan, should_restart

CAUSE_SUPERVISOR = "supervisor"  # stopped by its own supervisor: never a reason to restart


def child_ended(rt: Any, sup: Any, child: Any, reason: ExitReason) -> None:
    """Apply ``sup``'s declared policy to the end of ``child``."""
    spec = sup.spec
    if spec is None or not sup.alive or child.alive or reason.cause == CAUSE_SUPERVISOR:
        return  # no policy, nobody to apply it, already restarted (by the guest), or deliberate
    cspec = child.child_spec
    why_not = None
    if not should_restart(cspec.restart, reason.abnormal):
        why_not = f"{cspec.restart} child, {'abnormal' if reason.abnormal else 'normal'} exit"
    elif reason.abnormal and spec.is_permanent_error(reason.message):
        why_not = "permanent failure (matches permanent_errors)"
    if why_not:
        rt.trace.add(rt.now, "not-restarted", child.id, ("supervisor", sup.id, "why", why_not))
        return
    sup.restart_times, exceeded = add_restart(sup.restart_times, rt.now, spec.intensity, spec.period_ms,
                                              spec.resolution_ms)
    if exceeded:
        escalate(rt, sup, len(sup.restart_times))
        return
    members = [rt._actors[c] for c in sup.children]
    candidates = [Child(a.id, a.child_spec.restart, a.alive) for a in members if a.alive or a is child]
    the_plan = plan(spec.strategy, candidates, child.id)
    rt.trace.add(rt.now, "restart-plan", sup.id, {
        "strategy": spec.strategy, "failed": child.id, "stop": list(the_plan.stop),
        "restart": list(the_plan.restart), "drop": list(the_plan.drop)})
    for sibling_id in the_plan.stop:
        sibling = rt._actors[sibling_id]
        rt.stop_actor(sibling, _stop_reason(rt, sibling, f"{spec.strategy}: sibling {child.name} failed"),
                      notify=False)
    delay = _backoff(rt, child)
    if delay:
        rt.trace.add(rt.now, "backoff", child.id, ("delay_ms", delay, "supervisor", sup.id))
        rt.scheduler.after(delay, _restart_all, rt, sup, the_plan.restart, child.id, priority=URGENT)
    else:
        _restart_all(rt, sup, the_plan.restart, child.id)


def _stop_reason(rt: Any, child: Any, message: str) -> ExitReason:
    kind = KILLED if child.child_spec.brutal_kill else SHUTDOWN
    return ExitReason(kind, message, child.id, child.incarnation, time_ms=rt.now, cause=CAUSE_SUPERVISOR)


def _backoff(rt: Any, child: Any) -> int:
    backoff = child.child_spec.backoff
    if backoff is None:
        return 0
    if backoff.reset_after_ms is not None and rt.now - child.last_restart_ms >= backoff.reset_after_ms:
        child.consecutive_restarts = 0
    delay = delay_ms(backoff, child.consecutive_restarts, rt.backoff_rng)
    child.consecutive_restarts += 1
    return delay


def _restart_all(rt: Any, sup: Any, ids: tuple[str, ...], cause: str) -> None:
    for child_id in ids:
        child = rt._actors[child_id]
        if sup.alive and not child.alive:
            restart(rt, child, cause=cause, supervisor=sup)


def restart(rt: Any, child: Any, *, cause: str | None, supervisor: Any, then: Any = None) -> None:
    """Start a new incarnation of ``child`` (same id), its state per its recovery mode. A
    restarted declarative supervisor then restarts its children (all but temporary ones),
    as an OTP supervisor starts every child spec in its init: the subtree heals whole."""
    child.last_restart_ms = rt.now
    rt.trace.add(rt.now, "restart", child.id, (
        "incarnation", child.incarnation + 1, "recovery", child.child_spec.recovery,
        "supervisor", supervisor.id, "cause", cause))

    def started(payload: Any) -> None:
        if payload and child.spec is not None:
            for grandchild_id in child.children:
                grandchild = rt._actors[grandchild_id]
                if not grandchild.alive and grandchild.child_spec.restart != "temporary":
                    restart(rt, grandchild, cause=f"supervisor-restarted:{child.id}", supervisor=child)
        if then is not None:
            then(payload)

    rt.restart_actor(child, started)


def escalate(rt: Any, sup: Any, restarts: int) -> None:
    """Too many restarts: stop every child, then fail, so the parent's policy applies."""
    spec = sup.spec
    message = (f"restart intensity exceeded: {restarts} restarts within {spec.period_ms} ms "
               f"(intensity {spec.intensity})")
    rt.trace.add(rt.now, "escalate", sup.id, ("restarts", restarts, "intensity", spec.intensity,
                                              "period_ms", spec.period_ms))
    rt.fail_actor(sup, ExitReason(ESCALATED, message, sup.id, sup.incarnation, time_ms=rt.now))
