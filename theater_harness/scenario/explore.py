"""Exploring a scenario: Hypothesis generates fault schedules over its tree and looks for
one that breaks an expectation or an invariant, then shrinks it to a minimal one.

Deterministic for a given seed (Hypothesis is driven by a ``random.Random(seed)``, and
leaves out what the process happens to have imported: ``_seed_only``), so that the same
command, or pytest on any worker, finds and shrinks to the same schedule again.

A campaign (a scenario, its seed, its number of examples) can be split between machines
with ``shard=Shard(K, N)``, and into ``rounds``: independent Hypothesis searches, round 1
seeded with the seed itself (one round, the default, is one search, as before),
round r with a seed derived from the seed and r, the examples shared out between them.
Shard K of N runs:

- whole rounds when there are at least N: round r (from 1) is shard ``(r - 1) % N + 1``'s;
- otherwise a share of one round: the shards on round r (those with ``(K - 1) % R == r - 1``)
  all generate its schedules (Hypothesis's search goes the same way in each, since each
  sees every schedule pass), and each runs only every m-th of them, m the number of shards
  on the round. A schedule that fails is shrunk by the shard that ran it, running every
  candidate.

So the shards of a campaign run, between them, exactly the schedules the unsharded
campaign runs when it finds no failure (the same fault-space coverage, run for run), and
when it finds one, the shard that owns the first failing schedule finds and shrinks the
same failure (the others may go on to find more). Which schedules a shard runs depends
only on the seed, the examples, the rounds and K/N: never on the wall clock, nor on what
the process imported before (see ``_seed_only``).
"""

from __future__ import annotations

import contextlib
import hashlib
import random
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, NamedTuple

from ..fault_space import FaultSpace
from .load import Scenario
from .run import ScenarioResult, check, finish_scenario, run_scenario, start_scenario

MAX_SHARDS = 1_000_000
_SHARD = re.compile(r"\s*(\d{1,20})\s*/\s*(\d{1,20})\s*")


@dataclass(frozen=True)
class Shard:
    """Shard ``index`` (from 1) of ``count``: which part of a campaign one machine runs."""

    index: int = 1
    count: int = 1

    def __post_init__(self) -> None:
        if not 1 <= self.index <= self.count <= MAX_SHARDS:
            raise ValueError(f"a shard is K/N with 1 <= K <= N <= {MAX_SHARDS}, not {self.index}/{self.count}")

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"

    @property
    def whole(self) -> bool:
        """The one shard of an unsplit campaign (1/1): everything, as without sharding."""
        return self.count == 1


WHOLE = Shard(1, 1)


def parse_shard(text: Any, option: str = "--shard") -> Shard:
    """``"K/N"`` as a Shard; a ValueError naming ``option`` and the value otherwise."""
    match = _SHARD.fullmatch(text) if isinstance(text, str) else None
    if match is not None:
        index, count = int(match[1]), int(match[2])
        if 1 <= index <= count <= MAX_SHARDS:
            return Shard(index, count)
        if 1 <= index <= count:
            raise ValueError(f"{option} takes K/N with N at most {MAX_SHARDS}, got {_show(text)}")
    raise ValueError(f"{option} takes K/N with 1 <= K <= N, got {_show(text)}")


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "...'"


def derived_seed(seed: int, label: str) -> int:
    """A 63-bit seed derived from ``seed`` and ``label`` (stable across runs and machines)."""
    digest = hashlib.sha256(f"{seed}:{label}".encode()).digest()
    return int.from_bytes(digest[:8], "big") >> 1


def round_seed(seed: int, number: int) -> int:
    """The seed of round ``number`` (from 1) of a campaign: ``seed`` itself for round 1."""
    return seed if number == 1 else derived_seed(seed, f"round {number}")


class Part(NamedTuple):
    """What a shard runs of one round: the schedules of call index ``i`` (from 0) with
    ``i % stride == offset``, of the ``examples`` the round's search generates."""

    round: int  # from 1
    examples: int
    stride: int
    offset: int

    @property
    def share(self) -> int:
        """How many of the round's generated schedules are this shard's to run."""
        return len(range(self.offset, self.examples, self.stride))


def round_sizes(examples: int, rounds: int) -> list[int]:
    """The examples of each round: ``examples`` shared out as evenly as can be, the first
    rounds taking one more; never more rounds than examples."""
    count = max(1, min(rounds, examples))
    return [examples // count + (r < examples % count) for r in range(count)]


def plan(examples: int, rounds: int = 1, shard: Shard = WHOLE) -> list[Part]:
    """The parts of a campaign of ``examples`` in ``rounds`` that ``shard`` runs, in order
    (see the module's docstring); over K = 1..N they cover every schedule exactly once."""
    sizes = round_sizes(examples, rounds)
    k, n, r = shard.index - 1, shard.count, len(sizes)
    if r >= n:
        return [Part(i + 1, sizes[i], 1, 0) for i in range(k, r, n)]
    mine = k % r
    return [Part(mine + 1, sizes[mine], len(range(mine, n, r)), k // r)]


@contextlib.contextmanager
def _seed_only() -> Iterator[None]:
    """While the block runs, Hypothesis's schedules depend on the seed alone.

    Hypothesis (6.131 and later) sometimes draws a constant found in the source of the
    local modules imported so far (``sys.modules``), so what it generates from one seed
    would depend on the process: the CLI or pytest, which test modules, which xdist
    worker, or a shard that skipped the run which imported a module. Exploring leaves
    those constants out (Hypothesis's own built-in constants stay): the same seed gives
    the same schedules in any process, and a shard the same as the unsharded run. A
    Hypothesis without this machinery is left as it is."""
    try:
        from hypothesis.internal.conjecture import providers

        empty, original, cache = providers.Constants(), providers._get_local_constants, providers.CONSTANTS_CACHE.cache
    except (ImportError, AttributeError):  # pragma: no cover - another Hypothesis
        yield
        return
    providers._get_local_constants = lambda: empty
    cache.clear()  # drawable constants computed with the local ones
    try:
        yield
    finally:
        providers._get_local_constants = original
        providers.CONSTANTS_CACHE.cache.clear()


@dataclass
class ExploreOutcome:
    """What exploring found: the shrunk failing run, if any; how many schedules ran; which
    cells of the fault space they exercised; and which part of which campaign it was."""

    failure: ScenarioResult | None
    runs: int
    coverage: FaultSpace = field(default_factory=FaultSpace)
    examples: int = 0  # the campaign's, all shards together
    rounds: int = 1
    shard: Shard = WHOLE
    share: int = 0  # of the campaign's schedules, how many were this shard's to run


def explore(scenario: Scenario, seed: int, *, examples: int | None = None,
            progress: Callable[[int, int], None] | None = None, shard: Shard = WHOLE,
            rounds: int = 1) -> ExploreOutcome:
    """Search ``scenario``'s fault space with up to ``examples`` generated schedules, in
    ``rounds`` searches, running ``shard``'s part of them (see the module's docstring)."""
    from hypothesis import HealthCheck, Phase, find, settings
    from hypothesis.errors import NoSuchExample

    from ..strategies import HEALABLE_KINDS, fault_schedules

    options = scenario.explore
    budget = examples or options.examples
    tree = scenario.tree()
    horizon = options.horizon_ms or scenario.end_ms or 10_000
    fork_at = options.fork_at_ms
    strategy = fault_schedules(tree, max_faults=options.max_faults, kinds=options.kinds or HEALABLE_KINDS,
                               horizon_ms=horizon, from_ms=fork_at or 0)
    run = Runner(scenario, seed, fork_at)
    parts = plan(budget, rounds, shard)
    share = sum(part.share for part in parts)
    outcome = ExploreOutcome(None, 0, FaultSpace(), budget, len(round_sizes(budget, rounds)), shard, share)

    for part in parts:
        calls = 0
        failed = False

        def breaks(schedule: Any) -> bool:
            nonlocal calls, failed
            index, calls = calls, calls + 1
            if not failed and index % part.stride != part.offset:
                return False  # another shard's to run: it passes here, so the search goes on as in that shard
            outcome.runs += 1
            ok = run.verdict(schedule, outcome.coverage)
            if progress is not None:
                progress(outcome.runs, share)
            failed = failed or not ok  # from here on, Hypothesis shrinks: every candidate runs
            return not ok

        try:
            with _seed_only():
                minimal = find(strategy, breaks, random=random.Random(round_seed(seed, part.round)),
                               settings=settings(max_examples=part.examples, deadline=None, database=None,
                                                 phases=[Phase.generate, Phase.shrink],
                                                 suppress_health_check=list(HealthCheck)))
        except NoSuchExample:
            continue
        outcome.failure = run.result(minimal)
        break
    return outcome


class Runner:
    """Runs an exploration's schedules. With ``fork_at`` (``[explore] fork_at_ms``, >= 1),
    the scenario runs once to just before that instant, with a fault injector from time 0
    (it counts calls and messages from the start), and a schedule whose faults all fall at
    or after it (by time: none counts calls or messages) is added there and run in a fork
    of that run (``theater_harness.fork``); the others, and every run where forking is not
    possible, run as ``run_scenario`` runs them. A forked run, the same schedule added to a
    straight run there (``result`` builds it, to report a failure with its runtime) and the
    schedule given to ``run_scenario`` from the start (what a replay runs) give the same
    trace."""

    def __init__(self, scenario: Scenario, seed: int, fork_at: int | None):
        self.scenario, self.seed, self.fork_at = scenario, seed, fork_at
        self._checkpoint: Any = None
        self._started: Any = None

    def forkable(self, schedule: Any) -> bool:
        from ..fork import forkable

        return bool(self.fork_at) and forkable(schedule, self.fork_at)

    def _prefix(self) -> Any:
        """The run before ``fork_at``: to ``fork_at - 1`` (a fault at ``fork_at`` added
        there acts before anything else of that instant, as one given at the start does)."""
        from ..faults import FaultSchedule

        started = start_scenario(self.scenario, self.seed, FaultSchedule([]), injector=True)
        started.runtime.run(until=self.fork_at - 1)
        return started

    def checkpoint(self) -> Any:
        if self._checkpoint is None:
            from ..fork import Checkpoint

            self._started = self._prefix()
            # The prefix's invariants, checked once here: each fork checks only what it adds
            # (a policy for an actor still to come is judged there).
            with contextlib.suppress(ValueError):
                check(self.scenario, self._started.runtime)
            self._checkpoint = Checkpoint(self._started.runtime)
        return self._checkpoint

    def verdict(self, schedule: Any, coverage: FaultSpace) -> bool:
        """Whether the schedule's run passes; its fault-space cells go into ``coverage``."""
        from ..fork import fork_problem

        if not self.forkable(schedule) or fork_problem() is not None:
            result = self.result(schedule)  # straight: the same run as a fork's, without the fork
            coverage.record(result.runtime)
            return result.ok
        checkpoint = self.checkpoint()
        started = self._started

        def in_fork(rt: Any) -> tuple[bool, FaultSpace]:
            result = _finish_added(started, schedule)
            space = FaultSpace()
            space.record(result.runtime)
            return result.ok, space

        ok, space = checkpoint.run(in_fork)
        coverage.add(space)
        return ok

    def result(self, schedule: Any) -> ScenarioResult:
        """The run of ``schedule``, kept (with its runtime) to report it."""
        if not self.forkable(schedule):
            return run_scenario(self.scenario, self.seed, faults=schedule)
        return _finish_added(self._prefix(), schedule)


def _finish_added(started: Any, schedule: Any) -> ScenarioResult:
    """Add ``schedule`` to a started run (at its current instant) and finish it."""
    started.runtime.inject(schedule)
    started.runtime.trace.meta["faults"] = schedule.to_dicts()
    return finish_scenario(started, schedule)
