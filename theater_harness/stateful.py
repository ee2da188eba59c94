"""``SupervisionMachine``: a Hypothesis rule-based state machine over a supervision tree.

Its rules inject faults, send messages and advance virtual time; after every step it
checks every invariant that applies (``invariants.check_all``). Hypothesis searches
the sequences of steps for one that breaks a supervision guarantee and shrinks it.

    from theater_harness.stateful import SupervisionMachine

    TestTree = SupervisionMachine.for_tree(my_tree, policies={"sup": {...}}).TestCase

Its faults hit the tree's nodes as ``fault_schedules``' do (``strategies.fault_targets``:
leaves far more often than the root, and shrinking towards leaves); its messages are
``payloads`` (default: JSON objects, ``strategies.JSON_PAYLOADS``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from .errors import HarnessError
from .faults import fault
from .strategies import (ACTOR_KINDS, COUNTER, CRASHER, HEALABLE_KINDS, JSON_PAYLOADS, WORKER_KINDS, Targets,
                         _usable_kinds, _weighted, check_payloads, fault_targets)
from .trees import NodeSpec, Policy, TreeSpec

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
    runtime_options: dict[str, Any] = {}

    @classmethod
    def for_tree(cls, tree: TreeSpec, *, policies: dict[str, dict] | None = None,
                 kinds: Sequence[str] | None = None, payloads: Sequence[str | bytes] | None = None,
                 targets: Targets = None, weights: Mapping[str, int] | None = None,
                 **runtime_options: Any) -> type[SupervisionMachine]:
        """A machine class for ``tree`` (use its ``.TestCase`` in a test module). ``payloads``
        are the messages its send rule picks from (default ``JSON_PAYLOADS``); ``targets``
        and ``weights`` as in ``fault_schedules``. Checked here: a bad one fails at once."""
        attrs: dict[str, Any] = {"tree": tree, "policies": policies, "runtime_options": runtime_options,
                                 "targets": targets, "weights": weights}
        if kinds is not None:
            attrs["kinds"] = tuple(kinds)
        if payloads is not None:
            attrs["payloads"] = payloads
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
        self.runtime: Any = None
        self.ids: dict[str, str] = {}
        self.steps: list[str] = []

    @initialize(seed=st.integers(0, 2**32 - 1))
    def start(self, seed: int) -> None:
        from .runtime import Runtime, default_seed

        # Hypothesis draws (and shrinks towards 0) one part of the seed; the other is the
        # runtime's default, which the pytest plugin derives from the test's seed (0 outside
        # pytest): a failing run replays from Hypothesis's database under the same --theater-seed.
        self.runtime = Runtime(default_seed() ^ seed, rng=machine_rng(), **self.runtime_options)
        self.ids = self.tree.spawn(self.runtime)
        self.steps.append(f"seed {self.runtime.seed}")

    def _running(self) -> bool:
        return self.runtime is not None and self.runtime.ended is None

    @precondition(lambda self: self._running())
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
        injected = fault(kind, self.ids[target], at_ms=self.runtime.now, **extra)
        self.runtime.inject(injected)
        self.steps.append(f"at {self.runtime.now} ms: {kind} {target}")

    @precondition(lambda self: self._running())
    @rule(data=st.data())
    def send(self, data: st.DataObject) -> None:
        draws = self._draws()
        target = data.draw(draws.to, label="to")
        payload = data.draw(draws.payload, label="payload")
        actor = self.runtime._actors[self.ids[target]]
        if actor.accepts_messages:
            self.runtime.send(self.ids[target], payload)
            self.steps.append(f"at {self.runtime.now} ms: send {payload!r} to {target}")

    @rule(ms=st.integers(1, 5000))
    def advance(self, ms: int) -> None:  # always possible: after the run ended it is a no-op
        if self.runtime is None:
            return
        self.runtime.advance(ms)
        self.steps.append(f"advance {ms} ms")

    @invariant()
    def supervision_holds(self) -> None:
        if self.runtime is None:
            return
        from .invariants import check_all

        violations = check_all(self.runtime, policies=self.policies)
        assert not violations, "\n".join(
            ["supervision invariants violated:"] + [f"  {v}" for v in violations]
            + ["steps:"] + [f"  {s}" for s in self.steps])

    def teardown(self) -> None:
        self.runtime = None


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
