"""Scenario files: a tree, a workload, faults (fixed, or explored by Hypothesis), and
what the run must show. Run by pytest (``pytest_theater``) and the ``theater-harness``
command."""

from .load import SUFFIX, Explore, Scenario, Step, Workload, find_scenarios, load_scenario
from .run import ScenarioResult, check, run_scenario

__all__ = ["SUFFIX", "Explore", "Scenario", "ScenarioResult", "Step", "Workload", "check", "find_scenarios",
           "load_scenario", "run_scenario"]
