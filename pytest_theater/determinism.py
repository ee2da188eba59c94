"""``--theater-check-determinism`` for Python tests: run a test twice with the same seed and
fail at the first trace record that differs.

Registered as a plugin only when the option is on. For each test item, ``pytest_runtest_protocol``
runs setup and call once, and tears down only the item's own (function-scoped) fixtures:
fixtures of wider scopes stay for the second run and for the items after it. If that run
passed and made a runtime of its own, it resets what a run leaves on the item (its fixture
values, its class instance, its ``user_properties``, the seeds handed out) and runs the
item again through pytest's ``runtestprotocol``, with fresh function-scoped fixtures. The
trace of every runtime the test made is snapshot at the end of each call; at the end of the
second, the two lists are compared in creation order, by each trace's seed and records
(its canonical JSON, less what describes the inputs: a ``tmp_path`` differs between the
runs), and a difference fails that call (``pytest.fail``), so that the theater report,
the saved trace and the replay command come as for any failure. Only the second run's
reports are logged; a first run that fails or skips is reported as it is, without a second.

Hypothesis tests: both runs must try the same examples, so for the two of them Hypothesis's
seed is pinned to the test's (unless the test has its own ``@seed``, ``derandomize`` or
``--hypothesis-seed``) and its example database is read only (neither run changes what the
other replays). A failure found this way is not saved in the database: its replay command
carries ``--theater-check-determinism``, which pins the same seed again.

Scenario items (``collect.py``) run their scenario twice themselves. Runtimes made by
fixtures of a wider scope than the function are shared by both runs and not compared.
Nothing forks (``theater_harness.fork.straight``): what a test would run in a fork of a
checkpoint (``TreeSpec.check(fork_at_ms=...)``, a forking state machine) runs here,
straight, and is compared.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from dataclasses import dataclass
from typing import Any, Iterator

import pytest

from ._shared import trace_dir
from .runs import RUNS_KEY


@dataclass
class _Check:
    first: list["Snapshot"] | None = None  # the first run's traces, once its call is over


_CHECK = pytest.StashKey[_Check]()
_MISSING = object()


@dataclass(frozen=True)
class Snapshot:
    """A runtime's trace at the end of a run's call: its seed and its canonical JSON. It has
    what ``report.save_trace`` reads of a runtime (``seed``, ``trace.to_json``)."""

    seed: int
    text: str

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.text.encode("ascii")).hexdigest()

    @property
    def trace(self) -> "Snapshot":
        return self

    def to_json(self, *, indent: int | None = None) -> str:
        if indent is None:
            return self.text
        return json.dumps(json.loads(self.text), sort_keys=True, separators=(",", ": "), indent=indent,
                          ensure_ascii=True, allow_nan=False)


def snapshot(runtimes: list) -> list[Snapshot]:
    return [Snapshot(runtime.seed, runtime.trace.to_json()) for runtime in runtimes]


@dataclass(frozen=True)
class Difference:
    """Where two runs' traces part: the first differing runtime (``index`` in creation
    order) and its first differing records (None: past the end of that trace)."""

    index: int
    counts: tuple[int, int]  # runtimes made by each run
    snapshots: tuple[Snapshot | None, Snapshot | None]
    records: tuple[dict | None, dict | None]


def compare(first: list[Snapshot], second: list[Snapshot]) -> Difference | None:
    """The first difference between two runs' traces, or None if each pair has the same
    seed and records. What describes a run's inputs (the trace's other keys: a scenario's
    path, a tree's outline) is not compared: a ``tmp_path`` differs from run to run."""
    counts = (len(first), len(second))
    for index in range(max(counts)):
        one = first[index] if index < counts[0] else None
        two = second[index] if index < counts[1] else None
        if one is not None and two is not None and one.text == two.text:
            continue
        records: tuple[dict | None, dict | None] = (None, None)
        if one is not None and two is not None:
            doc_a, doc_b = json.loads(one.text), json.loads(two.text)
            a, b = doc_a["records"], doc_b["records"]
            if a == b and doc_a["seed"] == doc_b["seed"]:
                continue
            for seq in range(max(len(a), len(b))):
                pair = (a[seq] if seq < len(a) else None, b[seq] if seq < len(b) else None)
                if pair[0] != pair[1]:
                    records = pair
                    break
        return Difference(index, counts, (one, two), records)
    return None


def describe(difference: Difference) -> str:
    """The failure message: which runtime, both hashes and the first differing records."""
    one, two = difference.snapshots
    index, (made_first, made_second) = difference.index, difference.counts
    a, b = difference.records
    where = f" at record seq {(a or b)['seq']}" if a is not None or b is not None else ""
    lines = [f"not deterministic: runtime {index}'s trace differs{where} between two runs with the same seed "
             "(--theater-check-determinism)"]
    if made_first != made_second:
        lines.append(f"run 1 made {made_first} runtimes, run 2 made {made_second}")
    if one is None or two is None:
        lines.append(f"runtime {index} (creation order, from 0): made only by run {1 if two is None else 2}")
        return "\n".join(lines)
    seeds = f"seed {one.seed}" if one.seed == two.seed else f"seed {one.seed} in run 1, {two.seed} in run 2"
    lines.append(f"runtime {index} of {made_second} (creation order, from 0), {seeds}: "
                 f"trace sha256 {one.sha256[:16]} in run 1, {two.sha256[:16]} in run 2")
    if a is None and b is None:
        lines.append("every record is equal; the seeds differ")
    else:
        seq = (a or b)["seq"]
        lines.append(f"first differing record: seq {seq}")
        lines.append(f"  run 1: {_show(a)}")
        lines.append(f"  run 2: {_show(b)}")
        if a is not None and b is not None:
            fields = sorted(k for k in a.keys() | b.keys() if a.get(k) != b.get(k))
            lines.append(f"  fields that differ: {', '.join(fields)}")
    return "\n".join(lines)


def _show(record: dict | None, limit: int = 600) -> str:
    if record is None:
        return "(the trace has ended)"
    rest = {k: v for k, v in record.items() if k not in ("seq", "t")}
    text = json.dumps(rest, sort_keys=True, ensure_ascii=True)
    if len(text) > limit:
        text = f"{text[:limit]}... ({len(text) - limit} more characters)"
    return f"seq {record['seq']} at {record['t']} ms: {text}"


# --- the two runs ------------------------------------------------------------------------


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> bool | None:
    config = item.config
    if hasattr(item, "scenario") or config.getoption("setuponly", False) or config.getoption("setupplan", False):
        return None  # scenario items check themselves; --setup-only runs no test
    from _pytest.runner import CallInfo, call_and_report, runtestprotocol

    runs = item.stash[RUNS_KEY]
    check = item.stash[_CHECK] = _Check()
    properties = list(item.user_properties)
    item.ihook.pytest_runtest_logstart(nodeid=item.nodeid, location=item.location)
    from theater_harness.fork import straight

    try:
        with _pinned_hypothesis(item, runs.seed), straight("--theater-check-determinism compares runs made here"):
            reports = [call_and_report(item, "setup", log=False)]
            if reports[0].passed:
                reports.append(call_and_report(item, "call", log=False))
            again = (len(reports) == 2 and all(r.passed for r in reports) and bool(check.first)
                     and not (item.session.shouldfail or item.session.shouldstop))
            # Tear down what the item set up, down to its parent (a Node, where pytest's
            # SetupState wants the next item: it keeps the nodes both descend from).
            reports.append(call_and_report(item, "teardown", log=False, nextitem=item.parent if again else nextitem))
            if again and not reports[-1].passed:  # that teardown failed: finish it for the next item
                # (the item's teardown hooks have run: only its parents' teardown is left)
                call = CallInfo.from_call(lambda: item.session._setupstate.teardown_exact(nextitem), "teardown")
                if call.excinfo is not None:
                    reports.append(item.ihook.pytest_runtest_makereport(item=item, call=call))
            if hasattr(item, "_request"):  # as runtestprotocol leaves it: a rerun starts afresh
                item._request = False
                item.funcargs = None
            if again and reports[-1].passed:
                runs.reset()
                item.user_properties[:] = properties
                if "_instance" in item.__dict__:  # a test method gets a fresh instance of its class
                    del item._instance
                    item._obj = None
                reports = runtestprotocol(item, nextitem=nextitem, log=False)
    finally:
        del item.stash[_CHECK]
    for report in reports:
        item.ihook.pytest_runtest_logreport(report=report)
    item.ihook.pytest_runtest_logfinish(nodeid=item.nodeid, location=item.location)
    return True


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item):
    result = yield
    check = item.stash.get(_CHECK, None)
    if check is None:
        return result
    runs = item.stash[RUNS_KEY]
    own = runs.own
    if check.first is None:
        check.first = snapshot(own)
        return result
    difference = compare(check.first, snapshot(own))
    if difference is None:
        return result
    message = describe(difference)
    one = difference.snapshots[0]
    if one is not None:
        from .report import save_trace

        path = save_trace(one, trace_dir(item.config), f"{item.nodeid}.run1")
        message += f"\nrun 1's trace: {path}"
    if difference.index < len(own):
        runs.focus = own[difference.index]  # the theater-harness report (and its saved trace): run 2's
        message += "\nrun 2's: in the theater-harness report below"
    pytest.fail(message, pytrace=False)


@contextlib.contextmanager
def _pinned_hypothesis(item: pytest.Item, seed: int) -> Iterator[None]:
    """For a Hypothesis test (``@given``, or a state machine's ``TestCase``): its seed
    pinned to ``seed`` and its database read only, while the block runs."""
    function = getattr(item, "function", None)
    machine = getattr(function, "_hypothesis_state_machine_class", None)
    if machine is not None:
        settings_holder, settings_name, seed_holder = item.cls, "settings", machine
    elif getattr(function, "is_hypothesis_test", False) and hasattr(function, "_hypothesis_internal_use_settings"):
        settings_holder, settings_name, seed_holder = function, "_hypothesis_internal_use_settings", function
    else:
        yield
        return
    from hypothesis import settings as Settings
    from hypothesis.database import ReadOnlyDatabase

    current = getattr(settings_holder, settings_name)
    saved = []

    def override(holder: Any, name: str, value: Any) -> None:
        saved.append((holder, name, vars(holder).get(name, _MISSING)))
        setattr(holder, name, value)

    if current.database is not None:
        override(settings_holder, settings_name, Settings(current, database=ReadOnlyDatabase(current.database)))
    if (getattr(seed_holder, "_hypothesis_internal_use_seed", None) is None and not current.derandomize
            and item.config.getoption("hypothesis_seed", None) is None):
        override(seed_holder, "_hypothesis_internal_use_seed", seed)
    try:
        yield
    finally:
        for holder, name, value in reversed(saved):
            if value is _MISSING:
                delattr(holder, name)
            else:
                setattr(holder, name, value)
