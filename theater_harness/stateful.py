"""``SupervisionMachine``: a Hypothesis rule-based state machine over a supervision tree.

Its rules inject faults, send messages and advance virtual time; after every step it
checks every invariant that applies (``invariants.check_all``). Hypothesis searches
the sequences of steps for one that breaks a supervision guarantee and shrinks it.

    from theater_harness.stateful import SupervisionMachine

    TestTree = SupervisionMachine.for_tree(my_tree, policies={"sup": {...}}).TestCase

Its faults hit the tree's nodes as ``fault_schedules``' do (``strategies.fault_targets``:
leaves far more often than the root, and shrinking towards leaves); its messages are
``payloads`` (default: JSON objects, ``strategies.JSON_PAYLOADS``).

With a long warm-up (``warmup_ms``), ``fork=True`` makes it once per process and starts
every example from a fork of it (``theater_harness.fork``) instead of spawning the tree
and running its workload again:

    TestTree = SupervisionMachine.for_tree(busy_tree, warmup_ms=5000, fork=True).TestCase
"""

from __future__ import annotations

import contextvars
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from .errors import HarnessError
from .faults import fault
from .strategies import (ACTOR_KINDS, COUNTER, CRASHER, HEALABLE_KINDS, JSON_PAYLOADS, WORKER_KINDS, Targets,
                         _usable_kinds, _weighted, check_payloads, fault_targets)
from .trees import NodeSpec, Policy, TreeSpec, _reported

DEFAULT_TREE = TreeSpec(NodeSpec("root", policy=Policy("one_for_all", intensity=3), children=(
    NodeSpec("w0", manifest=COUNTER),
    NodeSpec("team", policy=Policy("one_for_one", intensity=1), restart="permanent", children=(
        NodeSpec("w1", manifest=CRASHER, restart="transient", recovery="last"),
        NodeSpec("w2", manifest=COUNTER, restart="temporary"),
    )),
    NodeSpec("w3", manifest=CRASHER, recovery="replay"),
)))


_RNG: Any = None


def machine_rng() -> Any:
    """The generator every machine's runtime uses, reseeded with each example's seed. It is
    registered once with Hypothesis (``register_random``), which manages registered
    generators around each test case; one shared instance keeps that cheap."""
    global _RNG
    if _RNG is None:
        from hypothesis import register_random

        from ._rng import RunRandom

        _RNG = RunRandom(0)  # the module keeps it alive; Hypothesis holds a weak reference
        register_random(_RNG)
    return _RNG


class SupervisionMachine(RuleBasedStateMachine):
    """Fault injection, messages and time against one tree; invariants after each step."""

    tree: TreeSpec = DEFAULT_TREE
    policies: dict[str, dict] | None = None  # for guest supervisors that declare none
    kinds: Sequence[str] = HEALABLE_KINDS
    payloads: Sequence[str | bytes] = JSON_PAYLOADS  # what its send rule sends to workers
    targets: Targets = None  # the nodes its faults may hit (fault_targets): names or a predicate
    weights: Mapping[str, int] | None = None  # kind -> weight, as fault_schedules'
    warmup_ms: int | None = None  # the tree's workload runs to this instant before the first step
    fork: bool = False  # each example continues the process's checkpoint of the warmed-up tree
    runtime_options: dict[str, Any] = {}

    @classmethod
    def for_tree(cls, tree: TreeSpec, *, policies: dict[str, dict] | None = None,
                 kinds: Sequence[str] | None = None, payloads: Sequence[str | bytes] | None = None,
                 targets: Targets = None, weights: Mapping[str, int] | None = None,
                 warmup_ms: int | None = None, fork: bool = False, **runtime_options: Any) -> type[SupervisionMachine]:
        """A machine class for ``tree`` (use its ``.TestCase`` in a test module). ``payloads``
        are the messages its send rule picks from (default ``JSON_PAYLOADS``); ``targets``
        and ``weights`` as in ``fault_schedules``. ``warmup_ms``: every example first runs
        the tree's workload (``TreeSpec.workload``) to that instant. ``fork``: the spawned,
        warmed-up tree is made once per process, with one seed (the test's: Hypothesis
        varies the steps, not the seed), and each example continues it in a fork of its own
        (``fork.Session``), step by step; the same steps give the same verdicts as without
        forks, and a failure to be reported is replayed here, straight. Checked here: a bad
        option fails at once."""
        attrs: dict[str, Any] = {"tree": tree, "policies": policies, "runtime_options": runtime_options,
                                 "targets": targets, "weights": weights, "warmup_ms": warmup_ms, "fork": fork}
        if kinds is not None:
            attrs["kinds"] = tuple(kinds)
        if payloads is not None:
            attrs["payloads"] = payloads
        if warmup_ms is not None and (not isinstance(warmup_ms, int) or isinstance(warmup_ms, bool) or warmup_ms < 0):
            raise HarnessError(f"SupervisionMachine_{tree.root.name}: warmup_ms must be a whole number of ms >= 0, "
                               f"not {warmup_ms!r}")
        if fork:  # one checkpoint serves every example only if they all have its seed
            def start(self: SupervisionMachine, seed: int) -> None:
                self._start(seed)

            attrs["start"] = initialize(seed=st.just(0))(start)
        machine = type(f"SupervisionMachine_{tree.root.name}", (cls,), attrs)
        machine._draws()
        return machine

    @classmethod
    def _draws(cls) -> _Draws:
        """The strategies of this machine class's rules, built (and checked) once per class."""
        draws = cls.__dict__.get("_built_draws")
        if draws is None:
            draws = _Draws.of(cls)
            cls._built_draws = draws
        return draws

    def __init__(self) -> None:
        super().__init__()
        self.runtime: Any = None  # the example's runtime, unless it runs in a fork (``session``)
        self.session: Any = None
        self.seed: int | None = None
        self.ids: dict[str, str] = {}
        self.steps: list[str] = []
        self.calls: list[tuple] = []  # every step as (function, arguments): a forked example's replay
        self.running = False  # the run has not ended (the root did not fail)

    @initialize(seed=st.integers(0, 2**32 - 1))
    def start(self, seed: int) -> None:
        self._start(seed)

    def _start(self, seed: int) -> None:
        from .fork import fork_problem
        from .runtime import default_seed

        # Hypothesis draws (and shrinks towards 0) one part of the seed; the other is the
        # runtime's default, which the pytest plugin derives from the test's seed (0 outside
        # pytest): a failing run replays from Hypothesis's database under the same --theater-seed.
        self.seed = default_seed() ^ seed
        if self.fork and fork_problem() is None:
            checkpoint = self._checkpoint()
            self.ids, self.running = checkpoint.ids, checkpoint.runtime.ended is None
            self.session = checkpoint.session()
        else:
            self.runtime, self.ids = self._warmed(machine_rng())
            self.running = self.runtime.ended is None
        self.steps.append(f"seed {self.seed}")

    def _warmed(self, rng: Any) -> tuple[Any, dict[str, str]]:
        """The example's start: the tree spawned, its workload run to ``warmup_ms``, and its
        invariants checked so far (in step: each check then reads only what a step adds)."""
        from .invariants import check_all
        from .runtime import Runtime

        runtime = Runtime(self.seed, rng=rng, **self.runtime_options)
        ids = self.tree.spawn(runtime)
        if self.warmup_ms is not None:
            self.tree.send_workload(runtime, ids)
            runtime.run(until=self.warmup_ms)
        check_all(runtime, policies=self.policies)
        return runtime, ids

    def _checkpoint(self) -> Any:
        """The process's checkpoint of this machine's start (``fork.cached``), made outside
        the current test (see ``TreeSpec.checkpoint``), with a generator of its own: the
        registered one is reseeded by every example."""
        from ._rng import RunRandom
        from .fork import Checkpoint, cached

        def make() -> Checkpoint:
            return Checkpoint(*self._warmed(RunRandom(self.seed)))

        key = ("machine", self.tree, self.seed, self.warmup_ms, self.policies, self.runtime_options)
        return cached(key, lambda: contextvars.Context().run(make))

    def _step(self, fn: Any, *args: Any) -> Any:
        """``fn(runtime, *args)`` on the example's runtime, here or in its fork."""
        self.calls.append((fn, args))
        return self._call(fn, *args)

    def _call(self, fn: Any, *args: Any) -> Any:
        if self.session is not None:
            return self.session.call(fn, *args)
        return fn(self.runtime, *args)

    @precondition(lambda self: self.running)
    @rule(data=st.data())
    def inject(self, data: st.DataObject) -> None:
        draws = self._draws()
        kind = data.draw(draws.kind, label="kind")
        target = data.draw(draws.workers if kind in WORKER_KINDS else draws.targets, label="target")
        extra: dict = {}
        if kind == "hang":
            extra["duration_ms"] = data.draw(st.integers(0, 500), label="duration_ms")
        elif kind == "slow":
            extra["delay_ms"] = data.draw(st.integers(1, 1000), label="delay_ms")
        elif kind == "host-error":
            extra = {"interface": "runtime", "function": "log"}
        now, self.running = self._step(_inject, self.ids[target], kind, extra)
        self.steps.append(f"at {now} ms: {kind} {target}")

    @precondition(lambda self: self.running)
    @rule(data=st.data())
    def send(self, data: st.DataObject) -> None:
        draws = self._draws()
        target = data.draw(draws.to, label="to")
        payload = data.draw(draws.payload, label="payload")
        sent_at = self._step(_send, self.ids[target], payload)
        if sent_at is not None:
            self.steps.append(f"at {sent_at} ms: send {payload!r} to {target}")

    @rule(ms=st.integers(1, 5000))
    def advance(self, ms: int) -> None:  # always possible: after the run ended it is a no-op
        if self.seed is None:
            return
        self.running = self._step(_advance, ms)
        self.steps.append(f"advance {ms} ms")

    @invariant()
    def supervision_holds(self) -> None:
        if self.seed is None:
            return
        violations = self._call(_violations, self.policies)
        if violations and self.session is not None and _reported():
            violations = self._replayed(violations)
        assert not violations, "\n".join(
            ["supervision invariants violated:"] + [f"  {v}" for v in violations]
            + ["steps:"] + [f"  {s}" for s in self.steps])

    def _replayed(self, violations: list) -> list:
        """A forked example's steps again, straight, here: the runtime of the failure the
        test reports (the pytest plugin's report reads it); the same violations."""
        from .fork import ForkError
        from .invariants import check_all

        self.runtime, _ = self._warmed(machine_rng())
        for fn, args in self.calls:
            fn(self.runtime, *args)
        straight = check_all(self.runtime, policies=self.policies)
        if straight != violations:
            raise ForkError(f"the forked example and its straight replay disagree (seed {self.seed}):\n"
                            f"  forked:   {violations}\n  straight: {straight}")
        return straight

    def teardown(self) -> None:
        if self.session is not None:
            self.session.close()
        self.session = None
        self.runtime = None


# The steps, as functions of the example's runtime: called here, or in its fork (pickled).

def _inject(rt: Any, actor_id: str, kind: str, extra: dict) -> tuple[int, bool]:
    rt.inject(fault(kind, actor_id, at_ms=rt.now, **extra))
    return rt.now, rt.ended is None


def _send(rt: Any, actor_id: str, payload: str | bytes) -> int | None:
    """When it was sent, or None: the actor takes no messages now."""
    if not rt._actors[actor_id].accepts_messages:
        return None
    rt.send(actor_id, payload)
    return rt.now


def _advance(rt: Any, ms: int) -> bool:
    rt.advance(ms)
    return rt.ended is None


def _violations(rt: Any, policies: dict | None) -> list:
    from .invariants import check_all

    return check_all(rt, policies=policies)


@dataclass(frozen=True)
class _Draws:
    """A machine class's rule strategies: kinds by weight, targets as ``fault_schedules``
    draws them (the simplest first), workers to send to, payloads."""

    kind: st.SearchStrategy[str]
    targets: st.SearchStrategy[str]
    workers: st.SearchStrategy[str]
    to: st.SearchStrategy[str]
    payload: st.SearchStrategy[str | bytes]

    @classmethod
    def of(cls, machine: type[SupervisionMachine]) -> _Draws:
        where = f"{machine.__name__}"
        link_kinds = [k for k in machine.kinds if k not in ACTOR_KINDS]
        if link_kinds:
            raise HarnessError(f"{where}: kinds: {link_kinds[0]!r} is not an actor fault; the machine injects "
                               f"actor faults only ({', '.join(ACTOR_KINDS)})")
        chosen = fault_targets(machine.tree, machine.targets)
        names = [node.name for node, _ in chosen]
        workers = [node.name for node, _ in chosen if not node.is_supervisor]
        kinds = _usable_kinds(machine.kinds, machine.weights, names, workers)
        weights = machine.weights or {}
        every_worker = [node.name for node, _ in machine.tree.nodes() if not node.is_supervisor]
        return cls(
            kind=_weighted([weights.get(k, 1) for k in kinds]).map(kinds.__getitem__),
            targets=_weighted([w for _, w in chosen]).map(names.__getitem__),
            workers=st.sampled_from(workers) if workers else st.nothing(),
            to=st.sampled_from(every_worker),
            payload=st.sampled_from(check_payloads(machine.payloads, where)),
        )
