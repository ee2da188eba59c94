"""``*.scenario.toml`` files as pytest test items (pytest's non-Python test files).

A scenario with a fixed fault schedule (or none) is run once and must meet its
expectations and invariants. A scenario with ``[explore]`` is searched by Hypothesis:
that many generated fault schedules over its tree, each run checked against its
invariants; a failure is shrunk to a minimal schedule and reported with it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from . import report, shards
from ._shared import option, seed_for, trace_dir


class ScenarioFailure(Exception):
    """A scenario run that did not go as its file says."""

    def __init__(self, result: Any):
        super().__init__(f"scenario {result.scenario.name!r} failed")
        self.result = result


class ScenarioFile(pytest.File):
    def collect(self):
        from theater_harness.errors import HarnessError
        from theater_harness.scenario import load_scenario

        try:
            scenario = load_scenario(self.path)
        except HarnessError as exc:
            raise self.CollectError(str(exc)) from None
        item = ScenarioItem.from_parent(self, name=scenario.name, scenario=scenario)
        if scenario.xfail:  # on a shard, an exploration's failure may be in another shard's share
            strict = scenario.explore is None or shards.shard_text(self.config) is None
            item.add_marker(pytest.mark.xfail(reason=scenario.xfail, strict=strict))
        yield item


class ScenarioItem(pytest.Item):
    def __init__(self, *, scenario: Any, **kwargs: Any):
        super().__init__(**kwargs)
        self.scenario = scenario
        self.result: Any = None

    def seed(self) -> int:
        return self.scenario.seed if self.scenario.seed is not None else seed_for(self)

    def runtest(self) -> None:
        if self.scenario.explore is not None:
            self._explore()
            return
        from theater_harness.scenario import run_scenario

        self.result = result = run_scenario(self.scenario, self.seed())
        self.user_properties.append(("theater_seed", result.seed))
        if not result.ok:
            raise ScenarioFailure(result)
        if option(self.config, "theater_check_determinism"):
            from .determinism import compare, describe, snapshot

            again = run_scenario(self.scenario, self.seed())
            difference = compare(snapshot([result.runtime]), snapshot([again.runtime]))
            if difference is not None:
                directory = trace_dir(self.config)
                paths = [report.save_trace(run.runtime, directory, f"{self.nodeid}.run{number}")
                         for number, run in ((1, result), (2, again))]
                pytest.fail(f"{describe(difference)}\ntraces: {paths[0]} (run 1), {paths[1]} (run 2)", pytrace=False)

    def _explore(self) -> None:
        from theater_harness.scenario.explore import Shard, explore

        examples = option(self.config, "theater_examples")
        shard = Shard(*shards.shard_of(self.config))
        outcome = explore(self.scenario, self.seed(), examples=int(examples) if examples else None, shard=shard)
        self.user_properties.append(("theater_seed", self.seed()))
        self.user_properties.append(("theater_schedules_tried", outcome.runs))
        if not shard.whole:
            self.user_properties.append(("theater_shard", str(shard)))
        shards.explored(self, outcome)
        if outcome.failure is not None:
            raise ScenarioFailure(outcome.failure)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        failure = excinfo.value
        if not isinstance(failure, ScenarioFailure):
            return super().repr_failure(excinfo)
        result = failure.result
        # an expected failure (xfail) is reported only with -rx: its trace is not worth a file
        path = None if self.scenario.xfail else report.save_trace(result.runtime, trace_dir(self.config), self.nodeid)
        header = f"scenario {self.scenario.name!r} ({self.scenario.path}) failed"
        body = report.failure_report(self, result.runtime, path, violations=result.violations,
                                     policies=self.scenario.policies, problems=result.problems)
        if self.scenario.explore is not None:
            body += (f"\n\nthe schedule above was found by exploring and shrunk by Hypothesis; paste its "
                     f"[[fault]] tables into {self.scenario.path.name} (instead of [explore]) to pin it")
        return f"{header}\n{body}"

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, 0, f"scenario: {self.scenario.name}"
