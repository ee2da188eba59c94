"""Supervisor responses: what a supervisor with a known policy did about each end of one
of its children, next to what its policy says it should have done.

A child's end that its supervisor must respond to (a *failure*, in the words of the
invariants) is an exit that neither the supervisor itself caused (cause ``supervisor``)
nor its parent's end (cause ``parent-ended``): an abnormal exit, a normal one, or a stop
from outside. A first incarnation that never finished its ``init`` is not one: whoever
spawned it learns of that from the spawn (the runtime does not notify the parent).

The response window. The supervisor hears of the end in one of its own calls, the
``handle-child-*`` handler naming the child (or the record that it lacks the handler,
``skip``, paired in order with the ends of that handler's kind). The response is what the
supervisor does from the start of that call until it starts its next call or ends:
which of its children it stops (exits with cause ``supervisor``), which it restarts
(``restart`` records by it), and whether it escalates. A declarative policy acts right
after the handler, inside that window; only restarts it delays by backoff come later,
and those are attributed by their ``cause`` (the failed child's id). A guest supervisor's
``restart-child`` calls happen inside its handler call. So deliberate actions in later
calls (a ``stop-child`` command, say) are never mistaken for a response.

The expected response is OTP's (``supervisor.erl``): the restart type and
``permanent_errors`` decide whether a restart is due (``do_restart``); when it is not, a
significant child's end may shut the supervisor down (``do_auto_shutdown``); a due
restart is recorded first (``add_restart``) and, past the intensity, the supervisor
escalates instead; otherwise the strategy's ``plan`` over the supervisor's child *specs*:
every child it started but temporary ones that ended (and those it gave up on for a
permanent error), running or not, so that a group restart starts an ended transient
sibling again (``restart_multiple_children``). The restart history and the deleted specs
start afresh with each incarnation of the supervisor, as a new OTP supervisor process's.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Any, Mapping

from ..supervision.intensity import add_restart
from ..supervision.spec import STRATEGIES
from ..supervision.strategy import Child, plan, should_restart
from ..supervision.supervisor import SUPERVISOR_RESTARTED  # noqa: F401  (re-exported to the other checks)
from ._records import (CAUSE_PARENT_ENDED, CAUSE_SUPERVISOR, INIT, abnormal, call_params, cause,
                       wasm_event)

HANDLER = "supervisor-handlers.handle-child-"
POLICY_DEFAULTS: dict[str, Any] = {"strategy": "one_for_one", "intensity": 1, "period_ms": 5000,
                                   "resolution_ms": 1000, "permanent_errors": [], "auto_shutdown": "never"}
AUTO_SHUTDOWN = ("never", "any_significant", "all_significant")


@dataclass(frozen=True)
class Policy:
    """A supervisor's policy, as its spawn record declares it or a test gives it."""

    strategy: str = "one_for_one"
    intensity: int = 1
    period_ms: int = 5000
    resolution_ms: int = 1000
    permanent_errors: tuple[str, ...] = ()
    auto_shutdown: str = "never"

    def is_permanent_error(self, message: str) -> bool:
        return any(re.search(p, message) for p in self.permanent_errors)

    def describe(self) -> str:
        shutdown = f", auto_shutdown {self.auto_shutdown}" if self.auto_shutdown != "never" else ""
        return f"{self.strategy}, intensity {self.intensity} per {self.period_ms} ms{shutdown}"


def policy_from(table: Mapping[str, Any], where: str) -> Policy:
    """Validate a policy table; errors name where it came from and the key at fault."""
    if not isinstance(table, Mapping):
        raise ValueError(f"{where}: expected a dict with keys {', '.join(POLICY_DEFAULTS)}")
    for key in table:
        if key not in POLICY_DEFAULTS:
            raise ValueError(f"{where}: unknown key {key!r}; known keys: {', '.join(POLICY_DEFAULTS)}")
    values = {**POLICY_DEFAULTS, **table}
    if values["strategy"] not in STRATEGIES:
        raise ValueError(f"{where}: strategy {values['strategy']!r} is not one of {', '.join(STRATEGIES)}")
    for key in ("intensity", "period_ms", "resolution_ms"):
        value = values[key]
        if not isinstance(value, int) or isinstance(value, bool) or value < (0 if key == "intensity" else 1):
            raise ValueError(f"{where}: {key} must be an integer >= {0 if key == 'intensity' else 1}, not {value!r}")
    patterns = values["permanent_errors"]
    if not isinstance(patterns, (list, tuple)) or not all(isinstance(p, str) for p in patterns):
        raise ValueError(f"{where}: permanent_errors must be a list of regular expressions (strings)")
    if values["auto_shutdown"] not in AUTO_SHUTDOWN:
        raise ValueError(f"{where}: auto_shutdown {values['auto_shutdown']!r} is not one of {', '.join(AUTO_SHUTDOWN)}")
    return Policy(values["strategy"], values["intensity"], values["period_ms"], values["resolution_ms"],
                  tuple(patterns), values["auto_shutdown"])


def given_policies(given: Mapping[str, Mapping[str, Any]] | None) -> dict[str, Policy]:
    """The policies a test gives, by supervisor id or name, validated."""
    return {ref: policy_from(table, f"policies[{ref!r}]") for ref, table in (given or {}).items()}


@dataclass(frozen=True)
class Expected:
    """What the policy says: stop these (in order), restart those (in order), escalate,
    or shut itself down (auto_shutdown)."""

    stop: tuple[str, ...]
    restart: tuple[str, ...]
    escalate: bool
    why: str
    shutdown: bool = False


@dataclass
class Response:
    """A supervisor's response to the end of one of its children."""

    supervisor: str
    policy: Policy
    failure: dict  # the child's exit record
    handled: dict  # where the supervisor began handling it: its handler call, or the skip
    alive: frozenset[str]  # its children alive then
    generation: int = 0  # how often the supervisor had been restarted (its restart history is per generation)
    expected: Expected | None = None
    time_ms: int = 0  # when it decided: its first decision record, else when it began handling
    stops: list[dict] = field(default_factory=list)  # exits (cause supervisor) of its children
    restarts: list[dict] = field(default_factory=list)  # its restart records
    decisions: list[dict] = field(default_factory=list)  # restart-plan, not-restarted, backoff, escalate, ...
    escalation: dict | None = None
    auto_shutdown: dict | None = None  # its auto-shutdown record, if it shut itself down
    handler_done: bool = False  # its handler call returned (or was skipped)
    cut_short: bool = False  # it ended, or the trace did, before the response could finish
    aborted: bool = False  # a child it restarted failed to start: the rest of the group waits (try_again)

    @property
    def child(self) -> str:
        return self.failure["actor"]

    def did(self) -> tuple[tuple[str, ...], tuple[str, ...], bool, bool]:
        return (tuple(r["actor"] for r in self.stops), tuple(r["actor"] for r in self.restarts),
                self.escalation is not None, self.auto_shutdown is not None)

    def evidence(self) -> tuple[dict, ...]:
        found = [self.failure, self.handled, *self.decisions, *self.stops, *self.restarts]
        unique = {r["seq"]: r for r in found}
        return tuple(unique[s] for s in sorted(unique))


def _category(exit_record: dict) -> str:
    """The handler a parent gets for this end: error, exit or external-stop."""
    if abnormal(exit_record):
        return "error"
    return "exit" if exit_record["reason"]["kind"] == "normal" else "external-stop"


class Responses:
    """The supervisors' responses, built as the records come (``on_<kind>``, fed by a
    ``Checker``): every supervisor with a policy (the one a test gives, by id or name, else
    the one its spawn record declares) has its responses checked."""

    def __init__(self, checker: Any, given: Mapping[str, Mapping[str, Any]] | None):
        self.checker, self.actors = checker, checker.actors
        self.given = given_policies(given)
        self.policies: dict[str, Policy] = {}
        self.alive: dict[str, bool] = {}
        self.initialized: set[str] = set()  # actors whose first init returned
        self.starting: set[str] = set()  # restarted actors whose init has not returned yet
        self.restarted_by: dict[str, Response] = {}  # actor -> the response that restarted it last
        self.pending: dict[str, list[dict]] = {}  # supervisor -> the ends it has not handled yet
        self.current: dict[str, Response] = {}
        self.latest: dict[tuple[str, str], Response] = {}  # (supervisor, child) -> its latest response
        self.history: dict[str, tuple[int, ...]] = {}  # due restarts, per supervisor incarnation
        self.deleted: dict[str, set[str]] = {}  # specs given up for a permanent error, per supervisor incarnation
        self.spawn_failed: set[str] = set()  # children whose first init failed: they never had a spec
        self.exits: dict[str, list[dict]] = {}  # each supervisor's exits
        self.generation: dict[str, int] = {}  # each supervisor's restarts so far
        self.out: list[Response] = []
        self._final: tuple[int, list[Response]] = (-1, [])  # final() as of that many records read

    def check_policies(self) -> None:
        """A policy given for an actor the trace does not have is an error."""
        known = set(self.actors.info) | {a.name for a in self.actors.info.values()}
        unknown = [ref for ref in self.given if ref not in known]
        if unknown:
            raise ValueError(f"policies[{unknown[0]!r}]: no actor of this trace has that id or name; names: "
                             + ", ".join(sorted({a.name for a in self.actors.info.values()})))

    def final(self) -> list[Response]:
        """Every response so far, in the order they began, as if the trace ended here: an
        open one closed, one whose backoff delay outlasts the trace or its supervisor cut
        short. The responses themselves stay as they are (more records may come)."""
        if self._final[0] == self.checker.fed:
            return self._final[1]
        out = []
        for resp in self.out:
            if self.current.get(resp.supervisor) is resp:
                resp = replace(resp)
                self.decide(resp, commit=False)
            if not resp.cut_short and self.backoff_cut(resp):
                resp = replace(resp, cut_short=True)
            out.append(resp)
        self._final = (self.checker.fed, out)
        return out

    # --- lifecycle ---------------------------------------------------------------------

    def on_spawn(self, r: dict) -> None:
        actor = r["actor"]
        self.alive[actor] = True
        a = self.actors.info[actor]
        chosen = self.given.get(a.id) or self.given.get(a.name)
        if chosen is None and a.supervision is not None:
            chosen = policy_from(a.supervision, f"the supervision of spawn record {a.spawn.get('seq')} ({a.name})")
        if chosen is not None:
            self.policies[actor] = chosen
            self.pending.setdefault(actor, [])

    def on_restart(self, r: dict) -> None:
        self.alive[r["actor"]] = True
        self.starting.add(r["actor"])
        if r["actor"] in self.policies:  # a new incarnation: a fresh restart history, every spec back
            self.history[r["actor"]] = ()
            self.deleted.pop(r["actor"], None)
            self.generation[r["actor"]] = self.generation.get(r["actor"], 0) + 1
        sup, why = r.get("supervisor"), r.get("cause") or ""
        if sup not in self.policies or why.startswith(SUPERVISOR_RESTARTED):
            return
        resp = self.latest.get((sup, why))  # a declarative restart, perhaps delayed by backoff
        if resp is None:
            resp = self.current.get(sup)
        if resp is not None:
            resp.restarts.append(r)
            self.restarted_by[r["actor"]] = resp

    def on_replay(self, r: dict) -> None:
        self.starting.discard(r["actor"])

    def on_exit(self, r: dict) -> None:
        actor = r["actor"]
        self.alive[actor] = False
        # A restart that failed (its init, or a restarted supervisor's start of its children,
        # kind spawn-error): a group restart goes no further.
        if actor in self.starting or r["reason"]["kind"] == "spawn-error":
            self.starting.discard(actor)
            resp = self.restarted_by.get(actor)
            if resp is not None and resp.restarts and resp.restarts[-1]["actor"] == actor:
                resp.aborted = True
        if actor in self.policies:
            self.exits.setdefault(actor, []).append(r)
            resp = self.current.get(actor)
            if resp is not None and not resp.handler_done:
                resp.cut_short = True  # it ended inside its handler
            self.close(actor)
            self.pending[actor].clear()
        parent = self.actors.parent(actor)
        if parent not in self.policies:
            return
        if cause(r) == CAUSE_SUPERVISOR:
            if parent in self.current:
                self.current[parent].stops.append(r)
        elif self.never_started(r):
            self.spawn_failed.add(actor)
        elif cause(r) != CAUSE_PARENT_ENDED:
            self.pending[parent].append(r)

    def never_started(self, r: dict) -> bool:
        return r["reason"].get("incarnation", 1) <= 1 and r["actor"] not in self.initialized

    # --- the supervisor's calls --------------------------------------------------------

    def on_event(self, r: dict) -> None:
        if r["actor"] not in self.policies and r["actor"] in self.initialized and r["actor"] not in self.starting:
            return  # the common case: nothing here for supervision
        event = wasm_event(r)
        if event is None:
            return
        tag, function = event
        actor = r["actor"]
        if tag == "WasmResult" and function == INIT:
            self.initialized.add(actor)
            self.starting.discard(actor)
        if actor not in self.policies:
            return
        if tag != "WasmCall":  # a handler that returned finished its part; one that failed ends its actor
            if tag == "WasmResult" and HANDLER in function and actor in self.current:
                self.current[actor].handler_done = True
            return
        self.close(actor)  # a new call: the previous response is over
        if HANDLER in function:
            params = call_params(r)
            child = params[0] if isinstance(params, list) and params else None
            self.open(actor, lambda e: e["actor"] == child, r, handler_done=False)

    def on_skip(self, r: dict) -> None:
        actor, export = r["actor"], r.get("export", "")
        if actor not in self.policies or HANDLER not in export:
            return
        self.close(actor)
        kind = export.rsplit(HANDLER, 1)[1]
        self.open(actor, lambda e: _category(e) == kind, r, handler_done=True)

    def open(self, sup: str, matches: Any, handled: dict, *, handler_done: bool) -> None:
        failure = next((e for e in self.pending[sup] if matches(e)), None)
        if failure is None:
            return  # the end of a child it stopped itself (stop-child): no policy applies
        self.pending[sup].remove(failure)
        alive = frozenset(c for c in self.actors.children.get(sup, ()) if self.alive.get(c))
        resp = Response(sup, self.policies[sup], failure, handled, alive, self.generation.get(sup, 0),
                        handler_done=handler_done)
        self.current[sup] = resp
        self.latest[(sup, failure["actor"])] = resp
        self.out.append(resp)

    def on_restart_plan(self, r: dict) -> None:
        self.decision(r["actor"], r)

    def on_escalate(self, r: dict) -> None:
        resp = self.decision(r["actor"], r)
        if resp is not None:
            resp.escalation = r

    def on_auto_shutdown(self, r: dict) -> None:
        resp = self.decision(r["actor"], r)
        if resp is not None:
            resp.auto_shutdown = r

    def on_not_restarted(self, r: dict) -> None:
        self.decision(r.get("supervisor"), r)

    def on_backoff(self, r: dict) -> None:
        self.decision(r.get("supervisor"), r)

    def decision(self, sup: str | None, r: dict) -> Response | None:
        resp = self.current.get(sup)
        if resp is not None:
            resp.decisions.append(r)
        return resp

    # --- the policy ----------------------------------------------------------------------

    def close(self, sup: str) -> None:
        """The supervisor's response is over: decide what its policy expected of it."""
        resp = self.current.pop(sup, None)
        if resp is not None:
            self.decide(resp, commit=True)

    def decide(self, resp: Response, *, commit: bool) -> None:
        """Set when the response was decided and what its policy expected. ``commit``: the
        supervisor's state goes on from that decision (its restart history, its specs, the
        ends it has still to handle); a decision at the trace's end, which more records may
        still change, leaves it."""
        acts = sorted(resp.decisions + resp.stops + resp.restarts, key=lambda r: r["seq"])
        resp.time_ms = acts[0]["t"] if acts else resp.handled["t"]
        resp.expected = self.expect(resp, commit)

    def expect(self, resp: Response, commit: bool) -> Expected:
        policy, failure, child, sup = resp.policy, resp.failure, resp.child, resp.supervisor
        restart_type = self.actors.info[child].restart
        failed = abnormal(failure)
        why_not = None
        if not should_restart(restart_type, failed):
            why_not = (f"a {restart_type} child after {'an abnormal' if failed else 'a normal'} exit "
                       f"({failure['reason']['kind']}) is not restarted")
        elif failed and policy.is_permanent_error(failure["reason"].get("message", "")):
            why_not = "its failure matches permanent_errors"
            if commit:
                self.deleted.setdefault(sup, set()).add(child)
        if why_not is not None:
            return self.expect_auto_shutdown(resp, why_not)
        history, exceeded = add_restart(self.history.get(sup, ()), resp.time_ms, policy.intensity,
                                        policy.period_ms, policy.resolution_ms)
        if commit:
            self.history[sup] = history
        if exceeded:
            return Expected((), (), True, f"restart intensity exceeded: {len(history)} restarts within "
                                          f"{policy.period_ms} ms (intensity {policy.intensity})")
        children = [Child(c, self.actors.info[c].restart, c in resp.alive)
                    for c in self.actors.children[sup] if c == child or self.has_spec(resp, c)]
        chosen = plan(policy.strategy, children, child)
        # terminate_children flushes the 'EXIT' of a group member that had already ended:
        # the supervisor never handles that end on its own
        group = {*chosen.stop, *chosen.restart, *chosen.drop} - resp.alive - {child}
        if commit:
            self.pending[sup] = [e for e in self.pending[sup]
                                 if e["actor"] not in group or e["seq"] > resp.handled["seq"]]
        return Expected(chosen.stop, chosen.restart, False, f"{policy.strategy} plan")

    def unhandled(self, resp: Response, child: str) -> bool:
        """Whether an end of ``child`` that came before ``resp`` began still waits for the
        supervisor (OTP: an 'EXIT' in its mailbox, the child's pid still in its state)."""
        return any(e["actor"] == child and e["seq"] < resp.handled["seq"] for e in self.pending[resp.supervisor])

    def has_spec(self, resp: Response, child: str) -> bool:
        """Whether the supervisor still holds a spec for the child (OTP ``del_child``): a
        running child has one, and so has one whose end it has not handled yet; a temporary
        child's goes when its end is handled; one given up for a permanent error goes too;
        a child whose first init failed never had one; the others keep theirs."""
        sup = resp.supervisor
        if child in resp.alive or self.unhandled(resp, child):
            return True
        return not (child in self.spawn_failed or child in self.deleted.get(sup, ())
                    or self.actors.info[child].restart == "temporary")

    def expect_auto_shutdown(self, resp: Response, why_not: str) -> Expected:
        """OTP's ``do_auto_shutdown``, for a child that is not restarted."""
        mode, info = resp.policy.auto_shutdown, self.actors.info
        if mode == "never" or not info[resp.child].spawn.get("significant"):
            return Expected((), (), False, why_not)
        others = [c for c in self.actors.children[resp.supervisor]  # those that still have a pid
                  if c != resp.child and (c in resp.alive or self.unhandled(resp, c))
                  and info[c].spawn.get("significant")]
        if mode == "all_significant" and others:
            return Expected((), (), False, f"{why_not}; significant {self.actors.labels(others)} still run "
                                           f"(auto_shutdown all_significant)")
        return Expected((), (), False, f"{why_not}, and it is significant (auto_shutdown {mode})", shutdown=True)

    def backoff_cut(self, resp: Response) -> bool:
        """Whether a restart delayed by backoff is due past the supervisor's end or the
        trace's (so that it is not missing)."""
        backoffs = [r for r in resp.decisions if r["kind"] == "backoff"]
        if not backoffs:
            return False
        sup_end = next((e["t"] for e in self.exits.get(resp.supervisor, ()) if e["seq"] > resp.handled["seq"]), None)
        return any(r["t"] + r.get("delay_ms", 0) > self.checker.last_time
                   or (sup_end is not None and sup_end <= r["t"] + r.get("delay_ms", 0)) for r in backoffs)
