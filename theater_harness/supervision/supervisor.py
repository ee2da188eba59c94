"""The executor of declarative supervision: what a supervisor does when a child ends.

Called after the supervisor's own ``handle-child-*`` export (if any) has run, for a
supervisor whose manifest declares a ``[supervision]`` policy. It follows OTP's
``supervisor.erl`` function by function (named in each docstring):

1. ``do_restart``: is the child restarted (restart type, permanent-error patterns)? If
   not, its spec is deleted when it is temporary, and ``do_auto_shutdown`` may end the
   supervisor (significant children);
2. ``add_restart``: record the restart; past the intensity the supervisor gives up: it
   stops its children and exits with reason ``shutdown`` (``escalate``);
3. ``restart/3``: the strategy plans over the supervisor's child *specs* (every child but
   ended temporary ones, running or not), stops the affected running siblings last
   started first (``terminate_children``), waits out the child's backoff delay, and
   starts the group again in start order (``start_children``), one init after the other;
   a start that fails aborts the rest, and its failure comes back as a new end
   (``restart_multiple_children`` -> ``try_again_restart``).

A supervisor that is itself restarted starts every child it was given again, temporary
ones included (``init`` -> ``init_children``). Every decision is recorded in the trace.
"""

from __future__ import annotations

from typing import Any, Callable

from .._scheduler import URGENT
from ..exit import (CAUSE_AUTO_SHUTDOWN, CAUSE_ESCALATED, CAUSE_SUPERVISOR, KILLED, SHUTDOWN, SPAWN_ERROR,
                    ExitReason)
from .backoff import delay_ms
from .intensity import add_restart
from .strategy import Child, one_for_one, plan, should_restart

SUPERVISOR_RESTARTED = "supervisor-restarted:"  # the cause of a restarted supervisor's children's starts


def child_ended(rt: Any, sup: Any, child: Any, reason: ExitReason) -> None:
    """Apply ``sup``'s declared policy to the end of ``child`` (``restart_child`` /
    ``do_restart``). The ends a supervisor caused itself never get here: OTP flushes
    their exit signals."""
    spec = sup.spec
    if spec is None or not sup.alive or child.alive or reason.cause == CAUSE_SUPERVISOR:
        return  # no policy, nobody to apply it, already restarted (by the guest), or deliberate
    cspec = child.child_spec
    why_not = None
    if not should_restart(cspec.restart, reason.abnormal):
        why_not = f"{cspec.restart} child, {'abnormal' if reason.abnormal else reason.kind} exit"
    elif reason.abnormal and spec.is_permanent_error(reason.message):
        why_not = "permanent failure (matches permanent_errors)"
        sup.deleted_specs.add(child.id)  # never worth a restart: not by a group restart either
    if why_not:
        rt.trace.add(rt.now, "not-restarted", child.id, ("supervisor", sup.id, "why", why_not))
        auto_shutdown(rt, sup, child)
        return
    sup.restart_times, exceeded = add_restart(sup.restart_times, rt.now, spec.intensity, spec.period_ms,
                                              spec.resolution_ms)
    if exceeded:
        escalate(rt, sup, len(sup.restart_times))
        return
    if spec.strategy == "one_for_one":  # its plan is the child alone, whatever its siblings
        the_plan = one_for_one((), child.id)
        child.end_settled = child.end_posted  # as below: the group is the child, which has ended
    else:
        members = [a for a in (rt._actors[i] for i in sup.children) if a is child or has_spec(sup, a)]
        the_plan = plan(spec.strategy, [Child(a.id, a.child_spec.restart, a.alive) for a in members], child.id)
        group = {*the_plan.stop, *the_plan.restart, *the_plan.drop}
        for member in members:  # terminate_children flushes the 'EXIT' of a member that already ended
            if member.id in group and not member.alive:
                member.end_settled = member.end_posted
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
        rt.scheduler.after(delay, start_in_order, rt, sup, the_plan.restart, child.id, priority=URGENT)
    else:
        start_in_order(rt, sup, the_plan.restart, child.id)


def has_spec(sup: Any, child: Any) -> bool:
    """Whether ``sup`` still holds a spec for ``child`` (OTP ``del_child``): a running
    child has one, and so has one whose end ``sup`` has not dealt with yet; a temporary
    child's goes when its end is dealt with, however it ended; a child whose first start
    failed never had one (``start_child`` saves none); the others keep theirs."""
    if child.alive or child.end_posted > child.end_settled:
        return True
    return not (child.spawn_failed or child.id in sup.deleted_specs or child.child_spec.restart == "temporary")


def respawned(rt: Any, sup: Any) -> tuple[str, ...]:
    """The children a restarted supervisor starts, in start order: every child it was
    given, temporary ones included (OTP ``init`` gets the whole child list from the
    callback module), but those whose first start failed (they were never given). A
    guest supervisor (no declared policy) spawns its own children from its code again;
    the harness starts the ones a test or tree declared under it."""
    actors = rt._actors
    return tuple(c for c in sup.children if not actors[c].spawn_failed
                 and (sup.spec is not None or not actors[c].by_parent))


def auto_shutdown(rt: Any, sup: Any, child: Any) -> None:
    """OTP 24+ ``do_auto_shutdown``: a significant child ended and is not restarted. With
    ``any_significant`` the supervisor shuts down; with ``all_significant`` it does once no
    significant child runs. It exits with reason ``shutdown``, its children stopped first."""
    mode = sup.spec.auto_shutdown
    if mode == "never" or not child.child_spec.significant or not sup.alive:
        return
    if mode == "all_significant":  # a significant child still has a pid: running, or its end unhandled
        actors = rt._actors
        if any((a.alive or a.end_posted > a.end_settled) and a.child_spec.significant
               for a in (actors[c] for c in sup.children)):
            return
    rt.trace.add(rt.now, "auto-shutdown", sup.id, ("mode", mode, "child", child.id))
    rt.stop_actor(sup, ExitReason(SHUTDOWN, f"auto_shutdown ({mode}): significant child {child.name} ended",
                                  sup.id, sup.incarnation, time_ms=rt.now, cause=CAUSE_AUTO_SHUTDOWN))


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


def start_in_order(rt: Any, sup: Any, ids: tuple[str, ...], cause: str) -> None:
    """Restart a plan's children in start order (``start_children``), each after the one
    before has finished its init. A child that fails to start ends the sequence: its end
    reaches ``sup`` like any failure, and that response starts the rest again (OTP:
    ``restart_multiple_children`` returns ``try_again`` for the failed child)."""
    _Sequence(rt, sup, ids, cause, None).run()


class _Sequence:
    """Children started one after the other. An init may suspend in a blocking host call;
    the sequence then goes on when it finishes (as OTP's ``start_link`` waits for the
    child's ``init``). Iterative, so a supervisor of thousands of children needs no deep
    recursion. ``done(failed)`` runs at the end: ``failed`` is None when every child
    started, else the child that could not start, or the supervisor itself when it ended
    before the sequence did."""

    __slots__ = ("rt", "sup", "ids", "cause", "done", "index", "waiting", "parked", "outcome")

    def __init__(self, rt: Any, sup: Any, ids: tuple[str, ...], cause: str,
                 done: Callable[[Any], None] | None):
        self.rt, self.sup, self.ids, self.cause, self.done = rt, sup, ids, cause, done
        self.index = 0
        self.waiting = self.parked = False
        self.outcome: Any = None

    def run(self) -> None:
        actors = self.rt._actors
        while self.index < len(self.ids):
            if not self.sup.alive:  # it ended meanwhile, and its subtree with it
                self._finish(self.sup)
                return
            child = actors[self.ids[self.index]]
            if child.alive:
                self.index += 1
                continue
            self.waiting = True
            restart(self.rt, child, cause=self.cause, supervisor=self.sup, then=self._started)
            if self.waiting:  # its init is suspended: _started goes on from here
                self.parked = True
                return
            if not self.outcome:
                self._finish(child)
                return
            self.index += 1
        self._finish(None)

    def _started(self, payload: Any) -> None:
        self.waiting, self.outcome = False, payload
        if self.parked:
            self.parked = False
            if not payload:
                self._finish(self.rt._actors[self.ids[self.index]])
                return
            self.index += 1
            self.run()

    def _finish(self, failed: Any) -> None:
        if self.done is not None:
            self.done(failed)


def restart(rt: Any, child: Any, *, cause: str | None, supervisor: Any, then: Any = None) -> None:
    """Start a new incarnation of ``child`` (same id), its state per its recovery mode. A
    restarted supervisor then starts every child it was given (``respawned``), temporary
    ones included, in start order, as an OTP supervisor's ``init`` starts every child
    spec; if one of them cannot start, the supervisor's own start fails
    (``init_children``): it ends as a failed start, and its parent's policy applies."""
    child.last_restart_ms = rt.now
    rt.trace.add(rt.now, "restart", child.id, (
        "incarnation", child.incarnation + 1, "recovery", child.child_spec.recovery,
        "supervisor", supervisor.id, "cause", cause))

    def started(payload: Any) -> None:
        ids = respawned(rt, child) if payload and child.alive else ()
        if not ids:
            if then is not None:
                then(payload)
            return

        def children_started(failed: Any) -> None:
            if failed is not None and child.alive:
                rt.fail_actor(child, ExitReason(
                    SPAWN_ERROR, f"failed to start child {failed.name}: {failed.exit_reason}", child.id,
                    child.incarnation, time_ms=rt.now))
            if then is not None:
                then(payload if child.alive else None)

        _Sequence(rt, child, ids, f"{SUPERVISOR_RESTARTED}{child.id}", children_started).run()

    rt.restart_actor(child, started)


def escalate(rt: Any, sup: Any, restarts: int) -> None:
    """Too many restarts (OTP ``restart/2`` -> ``{shutdown, ...}``): the supervisor stops
    every child and exits with reason ``shutdown``; its parent's policy applies."""
    spec = sup.spec
    message = (f"reached max restart intensity: {restarts} restarts within {spec.period_ms} ms "
               f"(intensity {spec.intensity})")
    rt.trace.add(rt.now, "escalate", sup.id, ("restarts", restarts, "intensity", spec.intensity,
                                              "period_ms", spec.period_ms))
    rt.fail_actor(sup, gave_up(sup, message, rt.now))


def gave_up(sup: Any, message: str, now: int) -> ExitReason:
    """The exit reason of a supervisor that gives up: ``shutdown``, as OTP's supervisor
    exits with (``{stop, shutdown, State}``): not a failure to its own parent."""
    return ExitReason(SHUTDOWN, message, sup.id, sup.incarnation, time_ms=now, cause=CAUSE_ESCALATED)
