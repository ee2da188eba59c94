"""Hypothesis strategies: supervision trees, workloads, and fault schedules over them.

Built so that shrinking heads for the simplest counterexample: fewer and smaller
subtrees, one_for_one before the others, permanent children before transient and
temporary ones, init recovery first, no auto_shutdown and no significant children; fewer faults, earlier times, simpler kinds
(``KIND_ORDER``), smaller targets (leaves first, the root last: ``fault_targets``). Fault
kinds are chosen by swarm testing: each example first picks which kinds it may use, so
that rare combinations get their turn.

    from hypothesis import given
    from theater_harness.strategies import trees_with_schedules

    @given(trees_with_schedules(max_faults=3))
    def test_the_tree_heals(case):
        tree, schedule = case
        ...

World faults (``WORLD_KINDS``: a store that loses a write, a full disk, an HTTP request
that times out, an rpc call dropped, ...) are drawn only when asked for: they hit the
calls of actors whose manifests declare the matching handler (``world_targets``), which
most trees have none of. ``world_kinds(tree)`` are those its actors can take:

    fault_schedules(tree, kinds=HEALABLE_KINDS + world_kinds(tree))
"""

from __future__ import annotations

import bisect
import functools
import itertools
from dataclasses import dataclass
from typing import Callable, Iterable, Mapping, Sequence, Union

from hypothesis import strategies as st

from .errors import HarnessError
from .faults import Fault, FaultSchedule, fault
from .faults.model import KINDS, WORLD_KINDS as _WORLD_INTERFACES
from .manifest import load_manifest
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
# The world faults come after all of those (store-*, fs-*, http-*, rpc-*: in the fault
# model's order); KIND_ORDER stays the supervision kinds, the rows of every coverage table.
WORLD_KINDS = tuple(_WORLD_INTERFACES)
DRAW_ORDER = KIND_ORDER + WORLD_KINDS  # every kind fault_schedules draws, the simplest first
LINK_KINDS = ("drop", "delay", "duplicate", "reorder")  # on a link from outside to a worker
ACTOR_KINDS = tuple(k for k in KIND_ORDER if k not in LINK_KINDS + ("partition",))
# The faults correct supervision heals: every actor fault but corrupt-state, which breaks
# the state-recovery promise by design (it is there to check that the state_recovery
# invariant, or the actor's own validation of its state, catches it). The default of the
# strategies, so that "correct supervision violates nothing" holds; pass kinds= to add it.
HEALABLE_KINDS = tuple(k for k in ACTOR_KINDS if k != "corrupt-state")
# Kinds that need an actor running wasm (not a generated supervisor): they target workers.
WORKER_KINDS = ("slow", "hang", "host-error", "memory")
# Messages from outside that a JSON actor parses: JSON objects. The example actors take any
# payload (the counter counts each as 1, the crasher fails only on "trap" and "err").
JSON_PAYLOADS = ('{}', '{"n":1}', '{"text":"hello"}')
# Which nodes faults may hit: node names, or a predicate over a NodeSpec (None: every node).
Targets = Union[Iterable[str], Callable[[NodeSpec], bool], None]


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
              payloads: Sequence[str | bytes] = JSON_PAYLOADS) -> TreeSpec:
    """The tree with messages from outside to its workers at virtual times, each one of
    ``payloads`` (default ``JSON_PAYLOADS``: JSON objects)."""
    payloads = check_payloads(payloads, "workloads")
    workers = [n.name for n, _ in tree.nodes() if not n.is_supervisor]
    count = draw(st.integers(0, max_messages))
    messages = sorted((draw(st.integers(0, horizon_ms)), draw(st.sampled_from(workers)),
                       draw(st.sampled_from(payloads))) for _ in range(count))
    return TreeSpec(tree.root, tuple(messages))


def check_payloads(payloads: Sequence[str | bytes], where: str) -> list[str | bytes]:
    """``payloads`` as a list, or an error that says what a payload is."""
    if isinstance(payloads, (str, bytes)) or not payloads or not all(isinstance(p, (str, bytes)) for p in payloads):
        raise HarnessError(f"{where}: payloads must be a non-empty list of messages (str or bytes), e.g. "
                           f"{list(JSON_PAYLOADS)!r}; got {payloads!r}")
    return list(payloads)


def fault_targets(tree: TreeSpec, targets: Targets = None) -> list[tuple[NodeSpec, int]]:
    """The nodes of ``tree`` that faults may hit, each with its weight, simplest first.

    ``targets`` picks them: None (every node), node names, or a predicate over a NodeSpec
    (``lambda node: not node.is_supervisor``: the workers). Simplest first: leaves first,
    then supervisors by the size of their subtree, the root last (ties in spawn order), so
    that a failing schedule shrinks to the fault with the smallest blast radius. A node's
    weight is inverse to its subtree's size (N*N/size in a tree of N nodes: a leaf N*N),
    so that every node's faults disturb as many actors in all; but the root weighs 1, the
    least: its failure ends the run (nothing restarts it, and every later fault misses)."""
    nodes = tree.nodes()
    if targets is None:
        chosen = [node for node, _ in nodes]
    elif callable(targets):
        chosen = [node for node, _ in nodes if targets(node)]
    else:
        if isinstance(targets, (str, bytes)):
            raise HarnessError(f"targets: expected node names or a predicate over NodeSpec, got the string "
                               f"{targets!r}; write targets=[{targets!r}]")
        wanted = list(targets)
        unknown = [name for name in wanted if name not in tree.names]
        if unknown:
            raise HarnessError(f"targets: {unknown[0]!r} is not a node of the tree; its nodes: {', '.join(tree.names)}")
        chosen = [node for node, _ in nodes if node.name in wanted]
    if not chosen:
        raise HarnessError(f"targets: selects none of the tree's nodes ({', '.join(tree.names)})")
    size = {id(node): sum(1 for _ in node.walk()) for node, _ in nodes}
    order = {id(node): i for i, (node, _) in enumerate(nodes)}
    chosen.sort(key=lambda node: (size[id(node)], order[id(node)]))
    n = len(nodes)
    return [(node, 1 if node is tree.root else max(1, round(n * n / size[id(node)]))) for node in chosen]


def fault_schedules(tree: TreeSpec, *, max_faults: int = 3, kinds: Sequence[str] = HEALABLE_KINDS,
                    horizon_ms: int = 10_000, targets: Targets = None,
                    weights: Mapping[str, int] | None = None, from_ms: int = 0) -> st.SearchStrategy[FaultSchedule]:
    """Up to ``max_faults`` faults on ``tree``'s actors, of ``kinds``, on ``targets``
    (``fault_targets``: by default every node, the root the most rarely; links
    from outside to the target workers; partitions between groups of targets).

    Swarm testing: each example enables some of the kinds (one drawn by weight, each other
    one with a coin), then draws each fault's kind among those by weight. ``weights``
    (``{"trap": 3, "kill": 1}``; a kind left out weighs 1) make a kind's share of all the
    faults drawn about its weight over the total. Shrinking heads for fewer faults (the
    faults are a Hypothesis list, one element per fault, so any one can go; the empty
    schedule is where it ends when no fault is needed, and is rarely drawn), the simplest
    kinds alone (``DRAW_ORDER``), earlier times and smaller targets. Timed faults fall from
    ``from_ms`` to ``horizon_ms``. A later ``from_ms`` (faults after a warm-up, which a
    search can run once and fork: ``TreeSpec.check``, ``theater_harness.fork``) makes every
    fault timed: a fault on the Nth call or message, counted from time 0, would fire in
    the warm-up."""
    if not 0 <= from_ms <= horizon_ms:
        raise ValueError(f"fault_schedules: from_ms must be from 0 to horizon_ms ({horizon_ms}), not {from_ms}")
    chosen = fault_targets(tree, targets)
    names = [node.name for node, _ in chosen]
    workers = [node.name for node, _ in chosen if not node.is_supervisor]
    world = _world_targets(chosen)
    ordered = _usable_kinds(kinds, weights, names, workers, world)
    kind_weights = [(weights or {}).get(kind, 1) for kind in ordered]
    total = sum(kind_weights)
    # Every strategy is built once, here: building (and validating) strategies inside each
    # draw cost more than the draws themselves.
    enabled: list[str] = []  # the kinds the example being drawn may use (set before its faults)
    by_weight: list[_RoundRobin] = []  # ... and how a value picks one of them

    @st.composite
    def one_fault(draw: st.DrawFn) -> Fault:
        # scaled onto the enabled kinds: it shrinks towards the simplest one enabled
        pick = draw(parts.kind) * by_weight[0].total // total
        return _one_fault(draw, enabled[by_weight[0](pick)], names, parts)

    parts = _FaultParts(
        empty=st.integers(0, 4), lead=_weighted(kind_weights), others=_coins(len(ordered)),
        kind=st.integers(0, total - 1), faults=st.lists(one_fault(), min_size=1, max_size=max(1, max_faults)),
        at_ms=st.integers(from_ms, horizon_ms), targets=_weighted([w for _, w in chosen]).map(names.__getitem__),
        workers=st.sampled_from(workers) if workers else st.nothing(),
        side=st.lists(st.sampled_from(names), min_size=1, max_size=max(1, len(names) - 1), unique=True),
        duration=st.integers(1, horizon_ms), delay=st.integers(1, 2000), on_message=st.integers(1, 5),
        on_call=st.integers(1, 6), on_init=st.integers(2, 6), hang=st.integers(0, 1000), coin=st.booleans(),
        world={interface: st.sampled_from(hit) for interface, hit in world.items() if hit},
        count=st.integers(1, 3), status=st.sampled_from((503, 500, 502, 504)), counted=from_ms == 0,
    )

    @st.composite
    def schedules(draw: st.DrawFn) -> FaultSchedule:
        # Empty only when two draws are 0 (a single draw's 0, which Hypothesis favours, came
        # up in 1 example in 5); shrinking, which tries 0 first, still gets there.
        if max_faults == 0 or draw(parts.empty) + draw(parts.empty) == 0:
            return FaultSchedule()
        # The lead kind by weight, each other one by a coin: a set of kinds comes with a chance
        # in proportion to its total weight, so that a kind's overall share is its weight's.
        mask = draw(parts.others) | 1 << draw(parts.lead)
        enabled[:] = [kind for i, kind in enumerate(ordered) if mask >> i & 1]
        by_weight[:] = [_RoundRobin([w for i, w in enumerate(kind_weights) if mask >> i & 1])]
        return FaultSchedule(sorted(draw(parts.faults), key=_fault_time))

    return schedules()


def _coins(n: int) -> st.SearchStrategy[int]:
    """``n`` fair coins as the bits of an int (bit i: coin i), each with even odds. One
    integer of ``n`` bits would not do: Hypothesis draws wide integers small more often
    than not, so the high bits (the kinds last in the order) would come up a few times in
    a hundred, not one in two. Bytes are drawn evenly; they shrink towards 0 (no coin)."""
    chunks = (n + 7) // 8
    return st.tuples(*[st.integers(0, 255)] * chunks).map(
        lambda parts: sum(part << 8 * i for i, part in enumerate(parts)) & ((1 << n) - 1))


def _weighted(weights: Sequence[int]) -> st.SearchStrategy[int]:
    """An index into ``weights``, drawn in proportion to them; it shrinks towards 0, through
    the indices in order (``_RoundRobin``)."""
    pick = _RoundRobin(weights)
    return st.integers(0, pick.total - 1).map(pick)


class _RoundRobin:
    """Indices into ``weights`` (integers >= 1), each as many times as its weight, in
    rounds: round k lists, in order, every index whose weight is more than k. Value v of
    ``range(total)`` is the vth of them. So index i is drawn in proportion to its weight,
    and its smallest value is i: shrinking a value goes through the indices in order, as
    over a ``sampled_from``, and lowering one value while raising another (one of
    Hypothesis's shrink passes) reaches the next index, not more copies of the same."""

    def __init__(self, weights: Sequence[int]):
        self.blocks: list[tuple[int, list[int]]] = []  # (first value, indices of each of its rounds)
        self.total = low = 0
        for level in sorted(set(weights)):  # rounds low..level-1 list the same indices
            members = [i for i, w in enumerate(weights) if w > low]
            self.blocks.append((self.total, members))
            self.total += (level - low) * len(members)
            low = level
        self.starts = [start for start, _ in self.blocks]

    def __call__(self, value: int) -> int:
        start, members = self.blocks[bisect.bisect_right(self.starts, value) - 1]
        return members[(value - start) % len(members)]


def world_kinds(tree: TreeSpec, targets: Targets = None) -> tuple[str, ...]:
    """The world kinds (``WORLD_KINDS``) that can hit some of ``tree``'s ``targets``: those
    of the interfaces their manifests declare handlers for (store, filesystem, http-client,
    rpc)."""
    world = _world_targets(fault_targets(tree, targets))
    return tuple(kind for kind in WORLD_KINDS if world[_WORLD_INTERFACES[kind]])


def _world_targets(chosen: list[tuple[NodeSpec, int]]) -> dict[str, list[str]]:
    """World interface -> the names of the chosen nodes whose manifests declare its handler."""
    world: dict[str, list[str]] = {interface: [] for interface in dict.fromkeys(_WORLD_INTERFACES.values())}
    for node, _ in chosen:
        declared = _handler_types(node.manifest) if node.manifest is not None else ()
        for interface, hit in world.items():
            if interface in declared:
                hit.append(node.name)
    return world


@functools.lru_cache(maxsize=256)
def _handler_types(manifest: str) -> tuple[str, ...]:
    return load_manifest(manifest).handler_types


def _usable_kinds(kinds: Sequence[str], weights: Mapping[str, int] | None, names: list[str],
                  workers: list[str], world: Mapping[str, list[str]] | None = None) -> list[str]:
    """``kinds`` in ``DRAW_ORDER``, validated with their ``weights``, less those the targets
    cannot take: worker kinds and link faults with no worker among them, partitions with
    fewer than two, world kinds with no target that declares their handler."""
    if isinstance(kinds, str):
        raise HarnessError(f"kinds: expected a list of fault kinds, got the string {kinds!r}; write kinds=[{kinds!r}]")
    for kind in kinds:
        if kind not in DRAW_ORDER:
            raise HarnessError(f"kinds: {kind!r} is not a kind fault_schedules draws; "
                               f"its kinds: {', '.join(DRAW_ORDER)}")
    for kind, weight in (weights or {}).items():
        if kind not in kinds:
            raise HarnessError(f"weights: {kind!r} is not among kinds ({', '.join(kinds)}); add it to kinds or drop it")
        if not isinstance(weight, int) or isinstance(weight, bool) or weight < 1:
            raise HarnessError(f"weights: the weight of {kind!r} must be an integer >= 1, not {weight!r} "
                               f"(to never draw a kind, leave it out of kinds)")
    usable = [kind for kind in DRAW_ORDER if kind in kinds
              and (workers or kind not in WORKER_KINDS + LINK_KINDS) and (len(names) > 1 or kind != "partition")
              and (kind not in _WORLD_INTERFACES or (world or {}).get(_WORLD_INTERFACES[kind]))]
    if not usable:
        raise HarnessError(f"kinds: none of {', '.join(kinds)} can hit the targets ({', '.join(names)}): "
                           f"{', '.join(WORKER_KINDS + LINK_KINDS)} need a worker among them, partition two targets, "
                           f"a world kind a target whose manifest declares its handler (store-*: store, fs-*: "
                           f"filesystem, http-*: http-client, rpc-*: rpc)")
    return usable


@dataclass(frozen=True)
class _FaultParts:
    empty: st.SearchStrategy[int]  # 0: the empty schedule
    lead: st.SearchStrategy[int]  # the kind an example surely enables
    others: st.SearchStrategy[int]  # a bit per kind: the others it enables
    kind: st.SearchStrategy[int]
    faults: st.SearchStrategy[list]
    at_ms: st.SearchStrategy[int]
    targets: st.SearchStrategy[str]  # by weight, the simplest first (fault_targets)
    workers: st.SearchStrategy[str]
    side: st.SearchStrategy[list]
    duration: st.SearchStrategy[int]
    delay: st.SearchStrategy[int]
    on_message: st.SearchStrategy[int]
    on_call: st.SearchStrategy[int]
    on_init: st.SearchStrategy[int]
    hang: st.SearchStrategy[int]
    coin: st.SearchStrategy[bool]
    world: Mapping[str, st.SearchStrategy[str]]  # world interface -> the targets that declare its handler
    count: st.SearchStrategy[int]
    status: st.SearchStrategy[int]
    counted: bool  # faults may count calls and messages from time 0 (not after a warm-up: from_ms)


def _fault_time(f: Fault) -> int:
    return f.at_ms if f.at_ms is not None else 0


def _one_fault(draw: st.DrawFn, kind: str, names: list[str], parts: _FaultParts) -> Fault:
    at_ms = draw(parts.at_ms)
    if kind == "partition":
        side = draw(parts.side)
        rest = [name for name in names if name not in side]
        return fault("partition", groups=[side, rest], at_ms=at_ms, duration_ms=draw(parts.duration))
    if kind in LINK_KINDS:
        link = ("outside", draw(parts.workers))
        extra = {"delay_ms": draw(parts.delay)} if kind == "delay" else {}
        if not parts.counted:
            return fault(kind, link=link, at_ms=at_ms, **extra)
        return fault(kind, link=link, on_message=draw(parts.on_message), **extra)
    if kind in _WORLD_INTERFACES:
        return _world_fault(draw, kind, at_ms, parts)
    target = draw(parts.workers if kind in WORKER_KINDS else parts.targets)
    if kind in ("trap", "err", "init-trap", "init-err") and parts.counted:
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


def _world_fault(draw: st.DrawFn, kind: str, at_ms: int, parts: _FaultParts) -> Fault:
    """A world fault: its parameters drawn (an http-timeout waits the documented default)."""
    takes = KINDS[kind][1]
    extra: dict = {}
    if "duration_ms" in takes:
        extra["duration_ms"] = draw(parts.duration)
    if "count" in takes:
        extra["count"] = draw(parts.count)
    if "delay_ms" in takes and kind != "http-timeout":
        extra["delay_ms"] = draw(parts.delay)
    if "status" in takes:
        extra["status"] = draw(parts.status)
    return fault(kind, draw(parts.world[_WORLD_INTERFACES[kind]]), at_ms=at_ms, **extra)


def trees_with_schedules(*, max_faults: int = 3, kinds: Sequence[str] = HEALABLE_KINDS, horizon_ms: int = 10_000,
                         targets: Targets = None, weights: Mapping[str, int] | None = None,
                         payloads: Sequence[str | bytes] = JSON_PAYLOADS,
                         **tree_options) -> st.SearchStrategy[tuple[TreeSpec, FaultSchedule]]:
    """A tree with a workload, and a fault schedule over it (``targets``: a predicate over
    NodeSpec, since the names are generated)."""
    return (supervision_trees(**tree_options)
            .flatmap(lambda tree: workloads(tree, horizon_ms=horizon_ms, payloads=payloads))
            .flatmap(lambda tree: st.tuples(st.just(tree), fault_schedules(
                tree, max_faults=max_faults, kinds=kinds, horizon_ms=horizon_ms, targets=targets, weights=weights))))
