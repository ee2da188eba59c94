"""Hypothesis strategies: supervision trees, workloads, and fault schedules over them.

Built so that shrinking heads for the simplest counterexample: fewer and smaller
subtrees, one_for_one before the others, permanent children before transient and
temporary ones, init recovery first; fewer faults, earlier times, simpler kinds
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
# From the simplest to the most involved: shrinking moves toward the front.
KIND_ORDER = ("stop", "trap", "err", "init-trap", "init-err", "hang", "slow", "host-error",
              "memory", "corrupt-state", "drop", "delay", "duplicate", "reorder", "partition")
ACTOR_KINDS = tuple(k for k in KIND_ORDER if k not in ("drop", "delay", "duplicate", "reorder", "partition"))
# The faults correct supervision heals: every actor fault but corrupt-state, which breaks
# the state-recovery promise by design (it is there to check that the state_recovery
# invariant, or the actor's own validation of its state, catches it). The default of the
# strategies, so that "correct supervision violates nothing" holds; pass kinds= to add it.
HEALABLE_KINDS = tuple(k for k in ACTOR_KINDS if k != "corrupt-state")


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
) -> TreeSpec:
    """A tree whose root is a supervisor; supervisors nest up to ``max_depth`` levels,
    each with 1..``max_children`` children; workers come from ``workers`` (manifests)."""
    names = itertools.count()

    def node(depth: int) -> NodeSpec:
        # a subtree only where depth allows, and workers first (the simpler choice)
        is_supervisor = depth == 0 or (depth < max_depth and draw(st.booleans()))
        restart = draw(st.sampled_from(list(restart_types))) if depth else "permanent"
        recovery = draw(st.sampled_from(list(recovery_modes))) if depth else "init"
        if not is_supervisor:
            return NodeSpec(f"w{next(names)}", manifest=draw(st.sampled_from(list(workers))), restart=restart,
                            recovery=recovery)
        name = f"s{next(names)}"
        policy = Policy(draw(st.sampled_from(list(strategies))), draw(intensities), draw(period_ms))
        count = draw(st.integers(1, max_children))
        return NodeSpec(name, policy=policy, children=tuple(node(depth + 1) for _ in range(count)),
                        restart=restart, recovery=recovery)

    return TreeSpec(node(0))


@st.composite
def workloads(draw: st.DrawFn, tree: TreeSpec, *, horizon_ms: int = 10_000, max_messages: int = 12,
              payloads: Sequence[str] = ("inc", "add:2", "hello")) -> TreeSpec:
    """The tree with messages from outside to its workers at virtual times."""
    workers = [n.name for n, _ in tree.nodes() if not n.is_supervisor]
    count = draw(st.integers(0, max_messages))
    messages = sorted((draw(st.integers(0, horizon_ms)), draw(st.sampled_from(workers)),
                       draw(st.sampled_from(list(payloads)))) for _ in range(count))
    return TreeSpec(tree.root, tuple(messages))


@st.composite
def fault_schedules(draw: st.DrawFn, tree: TreeSpec, *, max_faults: int = 3,
                    kinds: Sequence[str] = HEALABLE_KINDS, horizon_ms: int = 10_000) -> FaultSchedule:
    """Up to ``max_faults`` faults on ``tree``'s actors (swarm-selected kinds)."""
    kinds = [k for k in KIND_ORDER if k in kinds]
    enabled = draw(st.lists(st.sampled_from(kinds), min_size=1, max_size=len(kinds), unique=True)
                   .map(lambda chosen: [k for k in kinds if k in chosen]))
    by_depth = [n.name for n, depth in sorted(tree.nodes(), key=lambda nd: nd[1])]
    workers = [n for n, _ in tree.nodes() if not n.is_supervisor]
    faults = []
    for _ in range(draw(st.integers(0, max_faults))):
        faults.append(draw(_one_fault(enabled, by_depth, [w.name for w in workers], horizon_ms)))
    return FaultSchedule(sorted(faults, key=_fault_time))


def _fault_time(f: Fault) -> int:
    return f.at_ms if f.at_ms is not None else 0


@st.composite
def _one_fault(draw: st.DrawFn, kinds: list[str], targets: list[str], workers: list[str], horizon_ms: int) -> Fault:
    kind = draw(st.sampled_from(kinds))
    at_ms = draw(st.integers(0, horizon_ms))
    if kind == "partition":
        side = draw(st.lists(st.sampled_from(targets), min_size=1, max_size=max(1, len(targets) - 1), unique=True))
        rest = [t for t in targets if t not in side]
        if not rest:
            return fault("stop", targets[-1], at_ms=at_ms)
        return fault("partition", groups=[side, rest], at_ms=at_ms,
                     duration_ms=draw(st.integers(1, horizon_ms)))
    if kind in ("drop", "delay", "duplicate", "reorder"):
        link = ("outside", draw(st.sampled_from(workers)))
        extra = {"delay_ms": draw(st.integers(1, 2000))} if kind == "delay" else {}
        return fault(kind, link=link, on_message=draw(st.integers(1, 5)), **extra)
    target = draw(st.sampled_from(workers if kind in ("slow", "hang", "host-error", "memory") else targets))
    if kind in ("trap", "err", "init-trap", "init-err"):
        if draw(st.booleans()):
            # an init fault's on_call counts inits: from the 2nd, a restart (the 1st is the spawn)
            first = 2 if kind.startswith("init-") else 1
            return fault(kind, target, on_call=draw(st.integers(first, 6)))
    extra: dict = {}
    if kind == "hang":
        extra["duration_ms"] = draw(st.integers(0, 1000))
    elif kind == "slow":
        extra["delay_ms"] = draw(st.integers(1, 2000))
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
