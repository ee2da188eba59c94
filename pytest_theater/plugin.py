"""The pytest plugin of theater-harness (registered through the ``pytest11`` entry point).

Fixtures: ``theater`` (a fresh, seeded runtime per test), ``sim_clock``, ``spawn_tree``,
``probe``, ``fault_schedule``. Marker: ``@pytest.mark.theater(seed=..., fuel=...,
memory=..., ...)``. Options, each with an ini twin: ``--theater-seed`` (an integer, or
``last``: the previous run's seed from the pytest cache), ``--theater-trace-dir``,
``--theater-check-determinism``, ``--theater-examples``. ``*.scenario.toml`` files are
collected as tests (``collect.py``); a failing test gets a report (``report.py``).

The session's seed is chosen once (on the xdist controller, and passed to the workers),
shown in the report header, and each test's seed is derived from it and the test's node
id, so that any one test reruns alone, on any worker, with the same seed. Heavy imports
happen only when they are needed.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import pytest

from . import report

SEED_KEY = pytest.StashKey[int]()
RUNS_KEY = pytest.StashKey[list]()  # the Runtimes a test created, in order
CACHE_KEY = "theater/seed"

_OPTIONS = [  # (option, ini name, help, kind)
    ("--theater-seed", "theater_seed",
     "the session's seed: an integer, or 'last' for the previous session's (default: a fresh one)", "seed"),
    ("--theater-trace-dir", "theater_trace_dir",
     "where the traces of failing tests are saved (default: <cache dir>/theater/traces)", "path"),
    ("--theater-check-determinism", "theater_check_determinism",
     "run each theater test twice and fail if the two traces differ", "bool"),
    ("--theater-examples", "theater_examples",
     "how many fault schedules scenarios with `explore` try (overrides their own number)", "int"),
]


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("theater", "theater-harness")
    for option, ini, help_text, kind in _OPTIONS:
        if kind == "bool":
            group.addoption(option, action="store_true", default=None, help=help_text)
            parser.addini(ini, f"default for {option}", type="bool", default=False)
        else:
            group.addoption(option, action="store", default=None, help=help_text,
                            metavar={"seed": "N|last", "path": "DIR", "int": "N"}[kind])
            parser.addini(ini, f"default for {option}", default=None)


def option(config: pytest.Config, name: str) -> Any:
    """An option's value: the command line, else its ini twin."""
    value = config.getoption(name)
    return config.getini(name) if value is None else value


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


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "theater(seed=None, **runtime_options): the seed (instead of the derived one) and the "
                   "Runtime options (fuel, memory, request_timeout_ms, message_latency_ms, epoch_ms) of the "
                   "test's theater runtime")
    seed = _resolve_seed(config)
    config.stash[SEED_KEY] = seed
    cache = getattr(config, "cache", None)  # absent with -p no:cacheprovider
    if cache is not None and getattr(config, "workerinput", None) is None:
        cache.set(CACHE_KEY, seed)
    for name in ("theater_examples",):
        raw = option(config, name)
        if raw not in (None, "") and not str(raw).isdigit():
            raise pytest.UsageError(f"--theater-examples / theater_examples must be a whole number, not {raw!r}")


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """xdist: every worker uses the controller's seed."""
    node.workerinput["theater_seed"] = node.config.stash[SEED_KEY]


def pytest_report_header(config: pytest.Config) -> str:
    return f"theater-harness: seed {config.stash[SEED_KEY]} (rerun with --theater-seed {config.stash[SEED_KEY]})"


def test_seed(run_seed: int, nodeid: str) -> int:
    """The seed of one test: stable for a given session seed and node id."""
    digest = hashlib.sha256(f"{run_seed}:{nodeid}".encode()).digest()
    return int.from_bytes(digest[:8], "big") >> 1


test_seed.__test__ = False  # not a test, despite its name


def seed_for(item: pytest.Item) -> int:
    marker = item.get_closest_marker("theater")
    if marker is not None and marker.kwargs.get("seed") is not None:
        return marker.kwargs["seed"]
    return test_seed(item.config.stash[SEED_KEY], item.nodeid)


def trace_dir(config: pytest.Config) -> Path:
    raw = option(config, "theater_trace_dir")
    if raw:
        return Path(raw)
    cache = getattr(config, "cache", None)
    base = cache.mkdir("theater") if cache is not None else Path(str(config.rootpath)) / ".theater"
    return Path(base) / "traces"


# --- following a test's runs ----------------------------------------------------------


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item: pytest.Item):
    from theater_harness import runtime as runtime_module

    runs: list = []
    item.stash[RUNS_KEY] = runs
    hook = runs.append
    runtime_module.CREATED_HOOKS.append(hook)
    try:
        yield
    finally:
        runtime_module.CREATED_HOOKS.remove(hook)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    outcome = yield
    rep = outcome.get_result()
    if rep.when != "call" or hasattr(item, "scenario"):  # a scenario item reports for itself
        return
    runs = list(item.stash.get(RUNS_KEY, []))
    fixture_runtime = getattr(item, "funcargs", {}).get("theater")
    if fixture_runtime is not None and fixture_runtime not in runs:
        runs.insert(0, fixture_runtime)
    if not runs:
        return
    runtime = runs[-1]  # the last run: for Hypothesis, the replay of the shrunk example
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
        return Runtime(seed=seed_for(request.node), **options)
    except TypeError as exc:
        raise pytest.UsageError(f"@pytest.mark.theater: {exc}") from None


@pytest.fixture
def theater(request: pytest.FixtureRequest) -> Any:
    """A fresh ``theater_harness.Runtime`` seeded for this test (``@pytest.mark.theater``
    sets its seed and options)."""
    return _runtime_for(request)


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


# --- scenario files -------------------------------------------------------------------


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    """The fault space the explored scenarios exercised (this process's share under xdist)."""
    from .collect import COVERAGE_KEY

    spaces = config.stash.get(COVERAGE_KEY, None)
    if not spaces:
        return
    from theater_harness.fault_space import FaultSpace

    total = FaultSpace()
    for space in spaces:
        total.add(space)
    terminalreporter.section("theater-harness fault space")
    terminalreporter.write_line(total.table())


def pytest_collect_file(parent: pytest.Collector, file_path: Path):
    if file_path.name.endswith(".scenario.toml"):
        from .collect import ScenarioFile

        return ScenarioFile.from_parent(parent, path=file_path)
    return None
