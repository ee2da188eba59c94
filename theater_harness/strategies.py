"""Hypothesis strategies: supervision trees, workloads, and fault schedules over them.

Built so that shrinking heads for the simplest counterexample: fewer and smaller
subtrees, one_for_one before the others, permanent children before transient and
temporary ones, init recovery first, no auto_shutdown and no significant children; fewer faults, earlier times, simpler kinds
(``KIND_ORDER``), shallower targets. Fault kinds are chosen by swarm testing: each
example first picks which kinds it may use, so that rare combinations get their turn.

    from hypothesis import given
    from theater_harness.strategies import trees_with_schedules

    @given(trees_with_schedules(max_faults=3))
    def test_the_tree_heals(case):
        tree, schedule = case
        ...
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Sequence

from hypothesis import strategies as st

from .faults import Fault, FaultSchedule, fault
from .trees import EXAMPLES, NodeSpec, Policy, TreeSpec

COUNTER = str(EXAMPLES / "counter.toml")
CRASHER = str(EXAMPLES / "crasher.toml")
DEFAULT_WORKERS = (COUNTER, CRASHER)

STRATEGIES = ("one_for_one", "rest_for_one", "one_for_all")
RESTART_TYPES = ("permanent", "transient", "temporary")
RECOVERY_MODES = ("init", "last", "replay")
AUTO_SHUTDOWN = ("never", "any_significant", "all_significant")
# From the simplest to the most involved: shrinking moves toward the front.
KIND_ORDER = ("stop", "kill", "trap", "err", "init-trap", "init-err", "hang", "slow", "host-error",
              "memory", "corrupt-state", "drop", "delay", "duplicate", "reorder", "partition")
ACTOR_KINDS = tuple(k for k in KIND_ORDER if k not in ("drop", "delay", "duplicate", "reorder", "partition"))
# The faults correct supervision heals: every actor fault but corrupt-state, which breaks
# the state-recovery promise by design (it is there to check that the state_recovery
# invariant, or the actor's own validation of its state, catches it). The default of the
# strategies, so that "correct supervision violates nothing" holds; pass kinds= to add it.
HEALABLE_KINDS = tuple(k for k in ACTOR_KINDS if k != "corrupt-state")
# Kinds that need an actor running wasm (not a generated supervisor): they target workers.
WORKER_KINDS = ("slow", "hang", "host-error", "memory")


@st.composite
def supervision_trees(
    draw: st.DrawFn,
    *,
    workers: Sequence[str] = DEFAULT_WORKERS,
    max_depth: int = 2,
    max_children: int = 3,
    strategies: Sequence[str] = STRATEGIES,
    restart_types: Sequence[str] = RESTART_TYPES,
    recovery_modes: Sequence[str] = RECOVERY_MODES,
    intensities: st.SearchStrategy[int] = st.integers(0, 3),
    period_ms: st.SearchStrategy[int] = st.sampled_from([5000, 1000, 10000]),
    auto_shutdowns: Sequence[str] = AUTO_SHUTDOWN,
) -> TreeSpec:
    """A tree whose root is a supervisor; supervisors nest up to ``max_depth`` levels,
    each with 1..``max_children`` children; workers come from ``workers`` (manifests).
    A supervisor's ``auto_shutdown`` comes from ``auto_shutdowns``; under one that is not
    ``never``, transient and temporary children may be significant (OTP allows no more)."""
    names = itertools.count()

    def node(depth: int, parent_auto_shutdown: str) -> NodeSpec:
        # a subtree only where depth allows, and workers first (the simpler choice)
        is_supervisor = depth == 0 or (depth < max_depth and draw(st.booleans()))
        restart = draw(st.sampled_from(list(restart_types))) if depth else "permanent"
        recovery = draw(st.sampled_from(list(recovery_modes))) if depth else "init"
        significant = restart != "permanent" and parent_auto_shutdown != "never" and draw(st.booleans())
        if not is_supervisor:
            return NodeSpec(f"w{next(names)}", manifest=draw(st.sampled_from(list(workers))), restart=restart,
                            recovery=recovery, significant=significant)
        name = f"s{next(names)}"
        auto_shutdown = draw(st.sampled_from(list(auto_shutdowns)))
        policy = Policy(draw(st.sampled_from(list(strategies))), draw(intensities), draw(period_ms),
                        auto_shutdown=auto_shutdown)
        count = draw(st.integers(1, max_children))
        return NodeSpec(name, policy=policy, children=tuple(node(depth + 1, auto_shutdown) for _ in range(count)),
                        restart=restart, recovery=recovery, significant=significant)

    return TreeSpec(node(0, "never"))


@st.composite
def workloads(draw: st.DrawFn, tree: TreeSpec, *, horizon_ms: int = 10_000, max_messages: int = 12,
              payloads: Sequence[str] = ("inc", "add:2", "hello")) -> TreeSpec:
    """The tree with messages from outside to its workers at virtual times."""
    workers = [n.name for n, _ in tree.nodes() if not n.is_supervisor]
    count = draw(st.integers(0, max_messages))
    messages = sorted((draw(st.integers(0, horizon_ms)), draw(st.sampled_from(workers)),
                       draw(st.sampled_from(list(payloads)))) for _ in range(count))
    return TreeSpec(tree.root, tuple(messages))


def fault_schedules(tree: TreeSpec, *, max_faults: int = 3, kinds: Sequence[str] = HEALABLE_KINDS,
                    horizon_ms: int = 10_000) -> st.SearchStrategy[FaultSchedule]:
    """Up to ``max_faults`` faults on ``tree``'s actors. Swarm testing: each example enables
    a random subset of ``kinds`` (one integer, a bit per kind, that shrinks towards the
    simplest kinds alone), so that some schedules pile up one kind of fault. The faults
    are a Hypothesis list, one element per fault, so that shrinking can drop any one of
    them (not only the last), whatever the kinds of the others."""
    ordered = [k for k in KIND_ORDER if k in kinds]
    by_depth = [n.name for n, depth in sorted(tree.nodes(), key=lambda nd: nd[1])]
    workers = [n.name for n, _ in tree.nodes() if not n.is_supervisor]
    # Every strategy is built once, here: building (and validating) strategies inside each
    # draw cost more than the draws themselves.
    enabled: list[str] = []  # the kinds the example being drawn may use (set before its faults)

    @st.composite
    def one_fault(draw: st.DrawFn) -> Fault:
        # an index into the enabled kinds: it shrinks towards the simplest one enabled
        return _one_fault(draw, enabled[draw(parts.kind) % len(enabled)], by_depth, parts)

    parts = _FaultParts(
        mask=st.integers(1, (1 << len(ordered)) - 1), kind=st.integers(0, len(ordered) - 1),
        faults=st.lists(one_fault(), max_size=max_faults),
        at_ms=st.integers(0, horizon_ms), targets=st.sampled_from(by_depth), workers=st.sampled_from(workers),
        side=st.lists(st.sampled_from(by_depth), min_size=1, max_size=max(1, len(by_depth) - 1), unique=True),
        duration=st.integers(1, horizon_ms), delay=st.integers(1, 2000), on_message=st.integers(1, 5),
        on_call=st.integers(1, 6), on_init=st.integers(2, 6), hang=st.integers(0, 1000), coin=st.booleans(),
    )

    @st.composite
    def schedules(draw: st.DrawFn) -> FaultSchedule:
        mask = draw(parts.mask)
        enabled[:] = [k for i, k in enumerate(ordered) if mask >> i & 1]
        return FaultSchedule(sorted(draw(parts.faults), key=_fault_time))

    return schedules()


@dataclass(frozen=True)
class _FaultParts:
    mask: st.SearchStrategy[int]
    kind: st.SearchStrategy[int]
    faults: st.SearchStrategy[list]
    at_ms: st.SearchStrategy[int]
    targets: st.SearchStrategy[str]  # every node, the shallowest first
    workers: st.SearchStrategy[str]
    side: st.SearchStrategy[list]
    duration: st.SearchStrategy[int]
    delay: st.SearchStrategy[int]
    on_message: st.SearchStrategy[int]
    on_call: st.SearchStrategy[int]
    on_init: st.SearchStrategy[int]
    hang: st.SearchStrategy[int]
    coin: st.SearchStrategy[bool]


def _fault_time(f: Fault) -> int:
    return f.at_ms if f.at_ms is not None else 0


def _one_fault(draw: st.DrawFn, kind: str, targets: list[str], parts: _FaultParts) -> Fault:
    at_ms = draw(parts.at_ms)
    if kind == "partition":
        side = draw(parts.side)
        rest = [t for t in targets if t not in side]
        if not rest:
            return fault("stop", targets[-1], at_ms=at_ms)
        return fault("partition", groups=[side, rest], at_ms=at_ms, duration_ms=draw(parts.duration))
    if kind in ("drop", "delay", "duplicate", "reorder"):
        link = ("outside", draw(parts.workers))
        extra = {"delay_ms": draw(parts.delay)} if kind == "delay" else {}
        return fault(kind, link=link, on_message=draw(parts.on_message), **extra)
    target = draw(parts.workers if kind in WORKER_KINDS else parts.targets)
    if kind in ("trap", "err", "init-trap", "init-err"):
        if draw(parts.coin):
            # an init fault's on_call counts inits: from the 2nd, a restart (the 1st is the spawn)
            return fault(kind, target, on_call=draw(parts.on_init if kind.startswith("init-") else parts.on_call))
    extra: dict = {}
    if kind == "hang":
        extra["duration_ms"] = draw(parts.hang)
    elif kind == "slow":
        extra["delay_ms"] = draw(parts.delay)
    elif kind == "host-error":
        extra = {"interface": "runtime", "function": "log"}
    return fault(kind, target, at_ms=at_ms, **extra)


def trees_with_schedules(*, max_faults: int = 3, kinds: Sequence[str] = HEALABLE_KINDS, horizon_ms: int = 10_000,
                         **tree_options) -> st.SearchStrategy[tuple[TreeSpec, FaultSchedule]]:
    """A tree with a workload, and a fault schedule over it."""
    return (supervision_trees(**tree_options)
            .flatmap(lambda tree: workloads(tree, horizon_ms=horizon_ms))
            .flatmap(lambda tree: st.tuples(st.just(tree), fault_schedules(
                tree, max_faults=max_faults, kinds=kinds, horizon_ms=horizon_ms))))
