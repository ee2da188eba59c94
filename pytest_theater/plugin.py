"""The pytest plugin of theater-harness (registered through the ``pytest11`` entry point).

Fixtures: ``theater`` (a fresh, seeded runtime per test), ``sim_clock``, ``spawn_tree``,
``probe``, ``fault_schedule``, ``world`` (``world.py``). Marker: ``@pytest.mark.theater(seed=..., fuel=...,
memory=..., ...)``. Options, each with an ini twin: ``--theater-seed`` (an integer, or
``last``: the previous run's seed from the pytest cache), ``--theater-trace-dir``,
``--theater-check-determinism`` (``determinism.py``), ``--theater-examples``,
``--theater-hypothesis-profile`` (``profiles.py``), ``--theater-shard`` and
``--theater-coverage-out`` (``shards.py``). ``*.scenario.toml`` files are collected as
tests (``collect.py``); a failing test gets a report (``report.py``).

The session's seed is chosen once (on the xdist controller, and passed to the workers),
shown in the report header, and each test's seed is derived from it and the test's node
id, so that any one test reruns alone, on any worker, with the same seed. Every runtime a
test makes without a seed of its own derives one from the test's (``runs.py``), so the
replay command reproduces them all. Heavy imports happen only when they are needed (but
Hypothesis, whose profiles must exist before conftests load).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from . import report, shards
from ._shared import CACHE_KEY, OPTIONS, SEED_KEY, option, seed_for, test_seed, trace_dir
from .runs import CURRENT, RUNS_KEY, TestRuns

__all__ = ["RUNS_KEY", "SEED_KEY", "option", "seed_for", "test_seed", "trace_dir"]  # used by tests and conftests

PROFILES_KEY = pytest.StashKey[dict]()  # what pytest_configure changed in Hypothesis's profiles, to undo


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("theater", "theater-harness")
    for name, ini, help_text, kind in OPTIONS:
        if kind == "bool":
            group.addoption(name, action="store_true", default=None, help=help_text)
            parser.addini(ini, f"default for {name}", type="bool", default=False)
        else:
            group.addoption(name, action="store", default=None, help=help_text,
                            metavar={"seed": "N|last", "path": "DIR", "int": "N", "profile": "NAME", "shard": "K/N",
                                     "file": "FILE"}[kind])
            parser.addini(ini, f"default for {name}", default=None)


def _resolve_seed(config: pytest.Config) -> int:
    workerinput = getattr(config, "workerinput", None)
    if workerinput is not None and "theater_seed" in workerinput:
        return workerinput["theater_seed"]  # chosen by the xdist controller
    raw = option(config, "theater_seed")
    if raw in (None, ""):
        return int.from_bytes(os.urandom(4), "big")  # a fresh seed; the header shows it
    if str(raw).strip() == "last":
        cache = getattr(config, "cache", None)
        last = cache.get(CACHE_KEY, None) if cache is not None else None
        if last is None:
            raise pytest.UsageError("--theater-seed last: no previous session's seed in the pytest cache")
        return int(last)
    try:
        return int(raw)
    except ValueError:
        raise pytest.UsageError(f"--theater-seed / theater_seed must be an integer or 'last', not {raw!r}") from None


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config: pytest.Config) -> None:
    """Register the Hypothesis profiles before conftests (``settings.load_profile("theater")``)
    and Hypothesis's own ``--hypothesis-profile theater`` can ask for them."""
    from . import profiles

    early_config.stash[PROFILES_KEY] = profiles.register()


@pytest.hookimpl(trylast=True)  # after Hypothesis's plugin has loaded any --hypothesis-profile
def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "theater(seed=None, **runtime_options): the test's seed (instead of the derived one: the "
                   "theater runtime's, and the base of its other runtimes' seeds) and the Runtime options (fuel, "
                   "memory, request_timeout_ms, message_latency_ms, epoch_ms) of the test's theater runtime")
    seed = _resolve_seed(config)
    config.stash[SEED_KEY] = seed
    cache = getattr(config, "cache", None)  # absent with -p no:cacheprovider
    if cache is not None and getattr(config, "workerinput", None) is None:
        cache.set(CACHE_KEY, seed)
    for name in ("theater_examples",):
        raw = option(config, name)
        if raw not in (None, "") and not str(raw).isdigit():
            raise pytest.UsageError(f"--theater-examples / theater_examples must be a whole number, not {raw!r}")
    shards.configure(config)
    from . import profiles

    if PROFILES_KEY not in config.stash:  # the plugin was registered late (e.g. by a conftest)
        config.stash[PROFILES_KEY] = profiles.register()
    profiles.choose(config.stash[PROFILES_KEY], option(config, "theater_hypothesis_profile"))
    if option(config, "theater_check_determinism"):
        from . import determinism

        config.pluginmanager.register(determinism, "theater-determinism")


def pytest_unconfigure(config: pytest.Config) -> None:
    undo = config.stash.get(PROFILES_KEY, None)
    if undo is not None:
        from . import profiles

        profiles.restore(undo)


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """xdist: every worker uses the controller's seed."""
    node.workerinput["theater_seed"] = node.config.stash[SEED_KEY]


def pytest_report_header(config: pytest.Config) -> str:
    return (f"theater-harness: seed {config.stash[SEED_KEY]} (rerun with --theater-seed {config.stash[SEED_KEY]})"
            + shards.header(config))


# --- following a test's runs ----------------------------------------------------------


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None):
    """For the whole of a test (setup, call, teardown): seeds for the runtimes it makes,
    and the list of them."""
    runs = item.stash[RUNS_KEY] = TestRuns(item)
    try:
        with runs.active(), shards.pinned(item, runs.seed):
            return (yield)
    finally:
        runs.release()  # the item outlives the test (until the session ends): its runtimes need not


@pytest.hookimpl(wrapper=True)
def pytest_fixture_setup(fixturedef: Any, request: pytest.FixtureRequest):
    """Which fixture is being set up: runtimes made in one shared by several tests take
    seeds of their own, and the determinism check leaves them out."""
    runs = CURRENT.get()
    if runs is None:
        return (yield)
    with runs.fixture(fixturedef):
        return (yield)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    outcome = yield
    rep = outcome.get_result()
    if rep.when != "call" or hasattr(item, "scenario"):  # a scenario item reports for itself
        return
    runs = item.stash.get(RUNS_KEY, None)
    made = (runs.own or runs.runtimes) if runs is not None else []
    if not made:
        return
    # the last run (for Hypothesis: the replay of the shrunk example), unless one is in focus
    runtime = runs.focus if runs.focus is not None else made[-1]
    item.user_properties.append(("theater_seed", runtime.seed))
    if runtime.faults is not None:
        item.user_properties.append(("theater_schedule", report.schedule_toml(runtime)))
    if rep.failed:
        path = report.save_trace(runtime, trace_dir(item.config), item.nodeid)
        violations = getattr(call.excinfo.value, "violations", None) if call.excinfo is not None else None
        rep.sections.append(("theater-harness", report.failure_report(item, runtime, path, violations=violations)))


# --- fixtures ---------------------------------------------------------------------------


def _runtime_for(request: pytest.FixtureRequest) -> Any:
    from theater_harness import Runtime

    marker = request.node.get_closest_marker("theater")
    options = {k: v for k, v in (marker.kwargs.items() if marker else ()) if k != "seed"}
    try:
        return Runtime(seed=request.node.stash[RUNS_KEY].seed, **options)
    except TypeError as exc:
        raise pytest.UsageError(f"@pytest.mark.theater: {exc}") from None


@pytest.fixture
def theater(request: pytest.FixtureRequest) -> Any:
    """A fresh ``theater_harness.Runtime`` seeded for this test (``@pytest.mark.theater``
    sets its seed and options), closed at teardown (its actors' wasm freed at once)."""
    runtime = _runtime_for(request)
    yield runtime
    runtime.close()


class SimClock:
    """The virtual clock of the test's runtime: read it, and move it."""

    def __init__(self, runtime: Any):
        self._runtime = runtime

    @property
    def now(self) -> int:
        return self._runtime.now

    def advance(self, ms: int) -> int:
        return self._runtime.advance(ms)

    def run(self, until: int) -> int:
        return self._runtime.run(until=until)

    def run_until_idle(self) -> int:
        return self._runtime.run_until_idle()

    def __repr__(self) -> str:
        return f"SimClock(now={self.now} ms)"


@pytest.fixture
def sim_clock(theater: Any) -> SimClock:
    """The ``theater`` runtime's virtual clock."""
    return SimClock(theater)


class Tree(dict):
    """The actors of a spawned tree by name (live ``ActorView``s); ``.ids`` by name."""

    def __init__(self, runtime: Any, spec: Any, ids: dict[str, str]):
        super().__init__({name: runtime.actor(actor_id) for name, actor_id in ids.items()})
        self.spec = spec
        self.ids = ids


@pytest.fixture
def spawn_tree(theater: Any, request: pytest.FixtureRequest):
    """``spawn_tree(spec)``: spawn a supervision tree into ``theater`` from a dict, TOML
    text or a ``TreeSpec`` (manifest paths relative to the test file); returns the actors
    by name."""
    from theater_harness.trees import tree_from

    base = Path(str(request.node.fspath)).parent

    def spawn(spec: Any) -> Tree:
        tree = tree_from(spec, base_dir=base, source=f"spawn_tree in {request.node.nodeid}")
        spawned = Tree(theater, tree, tree.spawn(theater))
        theater.trace.meta["tree"] = tree.describe()
        return spawned

    return spawn


@pytest.fixture
def probe(theater: Any) -> Any:
    """A Python-side actor in ``theater`` (``expect_msg``, ``expect_no_msg``, ``reply``)."""
    return theater.probe("probe")


class FaultScheduleFixture:
    """Faults for the test's runtime: ``add(kind, target, ...)`` or ``inject(schedule)``;
    what was injected shows in the failure report, as a TOML snippet."""

    def __init__(self, runtime: Any):
        self._runtime = runtime

    def add(self, kind: str, target: str | None = None, **options: Any) -> Any:
        from theater_harness.faults import fault

        injected = fault(kind, target, **options)
        self._runtime.inject(injected)
        return injected

    def inject(self, schedule: Any) -> None:
        self._runtime.inject(schedule)

    @property
    def schedule(self) -> Any:
        return report.injected(self._runtime)


@pytest.fixture
def fault_schedule(theater: Any) -> FaultScheduleFixture:
    """Inject faults into ``theater``."""
    return FaultScheduleFixture(theater)


@pytest.fixture
def world(theater: Any) -> Any:
    """The outside world of ``theater`` (files, environment, HTTP routes, stores), live:
    a change applies to the world calls made from then on (``world.py``)."""
    from .world import WorldFixture

    return WorldFixture(theater)


# --- scenario files -------------------------------------------------------------------


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    """The fault space the explored scenarios exercised (under xdist: every worker's)."""
    total = shards.session_space(config)
    if total is None:
        return
    terminalreporter.section("theater-harness fault space")
    terminalreporter.write_line(total.table())


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    """xdist: a worker is done; its explorations' fault space joins the session's."""
    shards.node_down(node.config, node)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """A worker hands its explorations over; the session writes --theater-coverage-out."""
    shards.worker_finished(session.config)
    problem = shards.write_coverage(session.config)
    if problem is not None:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_line(f"theater-harness: {problem}", red=True)
        if session.exitstatus == pytest.ExitCode.OK:
            session.exitstatus = pytest.ExitCode.USAGE_ERROR


def pytest_collect_file(parent: pytest.Collector, file_path: Path):
    if file_path.name.endswith(".scenario.toml"):
        from .collect import ScenarioFile

        return ScenarioFile.from_parent(parent, path=file_path)
    return None
