"""Exploring a scenario: Hypothesis generates fault schedules over its tree and looks for
one that breaks an expectation or an invariant, then shrinks it to a minimal one.

Deterministic for a given seed (Hypothesis is driven by a ``random.Random(seed)``), so
that the same command finds, and shrinks to, the same schedule again.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any, Callable

from ..fault_space import FaultSpace
from .load import Scenario
from .run import ScenarioResult, run_scenario


@dataclass
class ExploreOutcome:
    """What exploring found: the shrunk failing run, if any; how many schedules ran; which
    cells of the fault space they exercised."""

    failure: ScenarioResult | None
    runs: int
    coverage: FaultSpace = field(default_factory=FaultSpace)


def explore(scenario: Scenario, seed: int, *, examples: int | None = None,
            progress: Callable[[int, int], None] | None = None) -> ExploreOutcome:
    """Search ``scenario``'s fault space with up to ``examples`` generated schedules."""
    from hypothesis import HealthCheck, Phase, find, settings
    from hypothesis.errors import NoSuchExample

    from ..strategies import HEALABLE_KINDS, fault_schedules

    options = scenario.explore
    budget = examples or options.examples
    tree = scenario.tree()
    horizon = options.horizon_ms or scenario.end_ms or 10_000
    strategy = fault_schedules(tree, max_faults=options.max_faults, kinds=options.kinds or HEALABLE_KINDS,
                               horizon_ms=horizon)
    coverage = FaultSpace()
    runs = 0

    def breaks(schedule: Any) -> bool:
        nonlocal runs
        runs += 1
        result = run_scenario(scenario, seed, faults=schedule)
        coverage.record(result.runtime)
        if progress is not None:
            progress(runs, budget)
        return not result.ok

    try:
        minimal = find(strategy, breaks, random=random.Random(seed),
                       settings=settings(max_examples=budget, deadline=None, database=None,
                                         phases=[Phase.generate, Phase.shrink],
                                         suppress_health_check=list(HealthCheck)))
    except NoSuchExample:
        return ExploreOutcome(None, runs, coverage)
    return ExploreOutcome(run_scenario(scenario, seed, faults=minimal), runs, coverage)
