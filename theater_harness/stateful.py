"""``SupervisionMachine``: a Hypothesis rule-based state machine over a supervision tree.

Its rules inject faults, send messages and advance virtual time; after every step it
checks every invariant that applies (``invariants.check_all``). Hypothesis searches
the sequences of steps for one that breaks a supervision guarantee and shrinks it.

    from theater_harness.stateful import SupervisionMachine

    TestTree = SupervisionMachine.for_tree(my_tree, policies={"sup": {...}}).TestCase
"""

from __future__ import annotations

from typing import Any, Sequence

from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from .faults import fault
from .strategies import COUNTER, CRASHER, HEALABLE_KINDS, WORKER_KINDS
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
    payloads: Sequence[str] = ("inc", "add:3", "hello")
    runtime_options: dict[str, Any] = {}

    @classmethod
    def for_tree(cls, tree: TreeSpec, *, policies: dict[str, dict] | None = None,
                 kinds: Sequence[str] | None = None, **runtime_options: Any) -> type["SupervisionMachine"]:
        """A machine class for ``tree`` (use its ``.TestCase`` in a test module)."""
        attrs = {"tree": tree, "policies": policies, "runtime_options": runtime_options}
        if kinds is not None:
            attrs["kinds"] = tuple(kinds)
        return type(f"SupervisionMachine_{tree.root.name}", (cls,), attrs)

    def __init__(self) -> None:
        super().__init__()
        self.runtime: Any = None
        self.ids: dict[str, str] = {}
        self.steps: list[str] = []

    @initialize(seed=st.integers(0, 2**32 - 1))
    def start(self, seed: int) -> None:
        from .runtime import Runtime

        self.runtime = Runtime(seed, rng=machine_rng(), **self.runtime_options)
        self.ids = self.tree.spawn(self.runtime)
        self.steps.append(f"seed {seed}")

    def _names(self) -> list[str]:
        return self.tree.names

    def _workers(self) -> list[str]:
        return [n.name for n, _ in self.tree.nodes() if not n.is_supervisor]

    def _running(self) -> bool:
        return self.runtime is not None and self.runtime.ended is None

    @precondition(lambda self: self._running())
    @rule(data=st.data())
    def inject(self, data: st.DataObject) -> None:
        kind = data.draw(st.sampled_from(list(self.kinds)), label="kind")
        workers_only = kind in WORKER_KINDS
        target = data.draw(st.sampled_from(self._workers() if workers_only else self._names()), label="target")
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
        target = data.draw(st.sampled_from(self._workers()), label="to")
        payload = data.draw(st.sampled_from(list(self.payloads)), label="payload")
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
