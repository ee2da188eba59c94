"""A test's runtimes: the seeds it hands out, and the runtimes it made, in order.

While a test runs (setup, call and teardown), every ``Runtime`` made without a seed of its
own takes the next one from here, through ``theater_harness.runtime.SEED_SOURCE`` (a
context variable: nothing is left behind for the next test):

- the test's seed itself is the ``theater`` fixture's (``@pytest.mark.theater(seed=...)``
  sets it); the k-th other runtime of the test gets ``runtime_seed(test seed, k)``, k = 1,
  2, ..., in the order they are made;
- in a Hypothesis example the count starts again at each example, from where the test
  was when its examples began: a shrunk example replayed (at the end of the search, or
  from the database in a later session) gets the seeds it failed with;
- in a fixture of a wider scope than the function, whichever test happens to set it up,
  the seed derives from the session's seed and the fixture (its id, name and count): a
  test rerun alone gets the same shared runtime.

Runtimes made in such shared fixtures are kept apart (``own`` leaves them out): they
outlive the test, so the determinism check does not compare them.

The list holds runtimes, so it keeps only what is read: the failure report reads the
test's last runtime (its own, else a shared fixture's), so only the last of each is
kept, except under ``--theater-check-determinism``, which compares them all; and the
list is dropped when the test is over. A runtime the test no longer refers to can then
be freed, with its actors' wasm: a test that made many runtimes (a long Hypothesis run)
kept them all alive, and ran out of memory mappings (issue 11, D5).
"""

from __future__ import annotations

import contextlib
import contextvars
import sys
from typing import Any, Iterator

import pytest

from ._shared import SEED_KEY, runtime_seed, seed_for, test_seed

RUNS_KEY = pytest.StashKey["TestRuns"]()
CURRENT: contextvars.ContextVar["TestRuns | None"] = contextvars.ContextVar("pytest_theater_runs", default=None)


class TestRuns:
    """The per-test state: seeds handed out and runtimes made (``reset`` starts over,
    e.g. for the determinism check's second run)."""

    __test__ = False  # not a test class, despite its name

    def __init__(self, item: pytest.Item):
        self.item = item
        self.seed = seed_for(item)
        self.fixtures: list[list] = []  # fixtures being set up, innermost last: [fixturedef, count]
        # every runtime is kept only for the determinism check, which compares them all
        self.keep_all = item.config.pluginmanager.has_plugin("theater-determinism")
        self.reset()

    def reset(self) -> None:
        self.made: list[tuple[Any, bool]] = []  # (runtime, made by a shared fixture), in creation order
        self.focus: Any = None  # the runtime a failure report should show, if not the last
        self._count = 1  # 0, the test's seed itself, is the theater fixture's
        self._example: Any = None  # the Hypothesis example (its BuildContext) being run
        self._example_count = 0

    @property
    def runtimes(self) -> list:
        """The runtimes kept of those made during the test, in creation order: the last one
        (and the last a shared fixture made), or all of them under the determinism check."""
        return [runtime for runtime, _ in self.made]

    @property
    def own(self) -> list:
        """The runtimes the test made itself (not in a fixture shared with other tests)."""
        return [runtime for runtime, shared in self.made if not shared]

    def next_seed(self) -> int:
        """The seed of the next runtime made without one (see the module's docstring)."""
        shared = self._shared_fixture()
        if shared is not None:
            fixturedef, count = shared[0], shared[1]
            shared[1] += 1
            fixture_id = f"{fixturedef.baseid}::{fixturedef.argname}"
            return runtime_seed(test_seed(self.item.config.stash[SEED_KEY], fixture_id), count)
        example = _hypothesis_example()
        if example is None:
            index, self._count = self._count, self._count + 1
            return runtime_seed(self.seed, index)
        if example is not self._example:
            self._example, self._example_count = example, self._count
        index, self._example_count = self._example_count, self._example_count + 1
        return runtime_seed(self.seed, index)

    def created(self, runtime: Any) -> None:
        if CURRENT.get() is not self:  # a test of a pytest session run inside this one (pytester)
            return
        shared = self._shared_fixture() is not None
        if not self.keep_all:  # the report reads the last one: let go of the one before, if alike
            self.made = [entry for entry in self.made if entry[1] != shared]
        self.made.append((runtime, shared))

    def release(self) -> None:
        """The test is over: forget its runtimes (those it dropped can then be freed)."""
        self.made = []
        self.focus = None

    def _shared_fixture(self) -> list | None:
        if self.fixtures and self.fixtures[-1][0].scope != "function":
            return self.fixtures[-1]
        return None

    @contextlib.contextmanager
    def fixture(self, fixturedef: Any) -> Iterator[None]:
        """While ``fixturedef``'s function runs."""
        self.fixtures.append([fixturedef, 0])
        try:
            yield
        finally:
            self.fixtures.pop()

    @contextlib.contextmanager
    def active(self) -> Iterator["TestRuns"]:
        """Hand out seeds and follow the runtimes made, for as long as the block runs."""
        from theater_harness import runtime as runtime_module

        tokens = CURRENT.set(self), runtime_module.SEED_SOURCE.set(self.next_seed)
        runtime_module.CREATED_HOOKS.append(self.created)
        try:
            yield self
        finally:
            runtime_module.CREATED_HOOKS.remove(self.created)
            runtime_module.SEED_SOURCE.reset(tokens[1])
            CURRENT.reset(tokens[0])


def _hypothesis_example() -> Any:
    """The Hypothesis example being run (its build context), or None. Hypothesis is not
    imported for this: a test that never imported it runs no examples."""
    control = sys.modules.get("hypothesis.control")
    if control is None:
        return None
    try:
        return control.current_build_context()
    except Exception:  # InvalidArgument: no example is being run
        return None
