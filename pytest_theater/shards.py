"""``--theater-shard K/N``: one campaign split between N pytest sessions (a CI matrix, or any
job scheduler), and ``--theater-coverage-out FILE``: a session's fault-space coverage
file, for ``theater-harness coverage merge``.

What shard K of N does differently (shard 1/1, the default, changes nothing):

- A Hypothesis test (``@given``, with ``fault_schedules`` or any strategy; a state
  machine's ``TestCase``) searches from a seed of the shard's own, derived from the test's
  base seed and K/N, and pinned for the test: its base is its ``@seed(...)``, else
  ``--hypothesis-seed``, else the test's theater seed. The pin wins over ``derandomize``
  (``theater-ci``), which would give every shard the same examples. So each shard runs
  its own pseudo-random search and the N searches differ: disjoint as far as seeds make
  them, not example by example. Two shards meet the same example only by chance, where
  every Hypothesis search starts (the simplest example first), or when they replay the
  same example database (a failure saved by one shard is tried first by every shard
  that shares the database: a known bug stays found). Rerun a shard's test with the same
  ``--theater-seed`` and ``--theater-shard`` to get its examples again.
- An explored ``*.scenario.toml`` runs its K-th share of the schedules of one search
  (``theater_harness.scenario.explore``): disjoint schedule by schedule, the N shards
  together run exactly the unsharded search's schedules (when it finds no failure).
  An explored scenario marked ``xfail`` is not strict on a shard: its failure may be in
  another shard's share.

Every shard must use the same session seed (``--theater-seed N`` or ``theater_seed``):
without one, each session would draw its own, and the shards would not split one campaign.

The coverage file holds the explored scenarios' fault space and their campaign (what
``theater_harness.fault_space.campaign`` records: each scenario's file digest, seed and
examples) with the shard, so that ``theater-harness coverage merge`` can add up the
shards' files and say whether all of them are there. Under xdist each worker sends its
share to the controller, which writes the file (and prints the table) for the session.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
from pathlib import Path
from typing import Any, Iterator

import pytest

from ._shared import SEED_KEY, SHARD_KEY, option

EXPLORED_KEY = pytest.StashKey[list]()  # (FaultSpace, exploration record) of every explored scenario
WORKER_OUTPUT = "theater_coverage"  # the key of a worker's share in its xdist workeroutput
OPTION = "--theater-shard / theater_shard"
MAX_SHARDS = 1_000_000  # as theater_harness.scenario.explore's
_SHARD = re.compile(r"\s*(\d{1,20})\s*/\s*(\d{1,20})\s*")  # as explore.parse_shard's
_MISSING = object()


def parse(text: str) -> tuple[int, int]:
    """``K/N`` as (K, N): ``theater_harness.scenario.explore.parse_shard`` without importing
    the harness (the plugin imports it only when a test needs it)."""
    match = _SHARD.fullmatch(text)
    if match is not None:
        index, count = int(match[1]), int(match[2])
        if 1 <= index <= count <= MAX_SHARDS:
            return index, count
        if 1 <= index <= count:
            raise pytest.UsageError(f"{OPTION} takes K/N with N at most {MAX_SHARDS}, got {_show(text)}")
    raise pytest.UsageError(f"{OPTION} takes K/N with 1 <= K <= N, got {_show(text)}")


def _show(value: str) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "...'"


def configure(config: pytest.Config) -> tuple[int, int]:
    """Read ``--theater-shard`` (1/1 without it) and ``--theater-coverage-out``; a usage
    error naming the option and the value when either is bad."""
    raw = option(config, "theater_shard")
    shard = (1, 1) if raw in (None, "") else parse(str(raw))
    if shard[1] > 1 and getattr(config, "workerinput", None) is None and option(config, "theater_seed") in (None, ""):
        raise pytest.UsageError(
            f"--theater-shard {shard[0]}/{shard[1]}: give every shard the same session seed (--theater-seed N, or "
            "theater_seed), so that the shards split one campaign; each session would draw a seed of its own")
    out = option(config, "theater_coverage_out")
    if out not in (None, ""):
        text = str(out)
        problem = ("the path is empty" if not text.strip() else
                   "the path holds a NUL byte (\\0), which no file name can hold" if "\0" in text else None)
        if problem is not None:
            raise pytest.UsageError(f"--theater-coverage-out / theater_coverage_out: {problem}")
    config.stash[SHARD_KEY] = shard
    return shard


def shard_of(config: pytest.Config) -> tuple[int, int]:
    """The session's shard, (K, N); (1, 1) when it is not split."""
    return config.stash.get(SHARD_KEY, (1, 1))


def shard_text(config: pytest.Config) -> str | None:
    """``K/N`` of a split session, None for 1/1."""
    index, count = shard_of(config)
    return None if count == 1 else f"{index}/{count}"


def shard_seed(base: Any, shard: tuple[int, int]) -> int:
    """The Hypothesis seed of a test on ``shard``, from the test's base seed (as
    ``theater_harness.scenario.explore.derived_seed`` derives seeds)."""
    digest = hashlib.sha256(f"{base}:shard {shard[0]} of {shard[1]}".encode()).digest()
    return int.from_bytes(digest[:8], "big") >> 1


def _seed_holder(item: pytest.Item) -> Any:
    """Where a Hypothesis test keeps its seed (``@seed`` sets it): the function of a
    ``@given`` test, the machine class of a state machine's ``TestCase``; None for any
    other item."""
    function = getattr(item, "function", None)
    machine = getattr(function, "_hypothesis_state_machine_class", None)
    if machine is not None:
        return machine
    if getattr(function, "is_hypothesis_test", False) and hasattr(function, "_hypothesis_internal_use_settings"):
        return function
    return None


@contextlib.contextmanager
def pinned(item: pytest.Item, test_seed: int) -> Iterator[int | None]:
    """While the block runs, a Hypothesis test of a sharded session searches from its
    shard's seed (see the module's docstring); yields that seed (None: nothing pinned)."""
    shard = shard_of(item.config)
    holder = None if shard[1] == 1 else _seed_holder(item)
    if holder is None:
        yield None
        return
    saved = vars(holder).get("_hypothesis_internal_use_seed", _MISSING)
    own = getattr(holder, "_hypothesis_internal_use_seed", None)
    forced = item.config.getoption("hypothesis_seed", None)
    base = own if own is not None else forced if forced is not None else test_seed
    seed = shard_seed(base, shard)
    holder._hypothesis_internal_use_seed = seed
    item.user_properties.append(("theater_shard", shard_text(item.config)))
    item.user_properties.append(("theater_hypothesis_seed", seed))
    try:
        yield seed
    finally:
        if saved is _MISSING:
            delattr(holder, "_hypothesis_internal_use_seed")
        else:
            holder._hypothesis_internal_use_seed = saved


# --- fault-space coverage of the explored scenarios ------------------------------------------


def explored(item: Any, outcome: Any) -> None:
    """Keep what a scenario item's exploration covered, and the record of it for the campaign."""
    from theater_harness.fault_space import exploration, file_sha256

    path = Path(item.path)
    try:
        shown = path.relative_to(Path(str(item.config.rootpath))).as_posix()
    except ValueError:
        shown = str(path)
    record = exploration(item.scenario.name, shown, file_sha256(path), item.seed(), outcome.examples,
                         outcome.rounds)
    item.config.stash.setdefault(EXPLORED_KEY, []).append((outcome.coverage, record))


def session_space(config: pytest.Config) -> Any:
    """The fault space of every exploration of the session (all xdist workers'), or None."""
    entries = config.stash.get(EXPLORED_KEY, None)
    if not entries:
        return None
    from theater_harness.fault_space import FaultSpace

    total = FaultSpace()
    for space, _ in entries:
        total.add(space)
    return total


def worker_finished(config: pytest.Config) -> None:
    """On an xdist worker: hand this worker's explorations to the controller."""
    from theater_harness.fault_space import Coverage

    entries = config.stash.get(EXPLORED_KEY, None)
    if entries and hasattr(config, "workeroutput"):
        config.workeroutput[WORKER_OUTPUT] = [
            {"coverage": Coverage(space).to_dict(), "exploration": record} for space, record in entries]


def node_down(config: pytest.Config, node: Any) -> None:
    """On the xdist controller: take a finished worker's explorations in."""
    entries = (getattr(node, "workeroutput", None) or {}).get(WORKER_OUTPUT, ())
    if not entries:
        return
    from theater_harness.fault_space import coverage_from_json

    for entry in entries:
        space = coverage_from_json(json.dumps(entry["coverage"]), "an xdist worker's coverage").space
        config.stash.setdefault(EXPLORED_KEY, []).append((space, entry["exploration"]))


def write_coverage(config: pytest.Config) -> str | None:
    """Write ``--theater-coverage-out`` (on the controller, or without xdist); returns a
    problem to report, or None."""
    out = option(config, "theater_coverage_out")
    if out in (None, "") or hasattr(config, "workerinput"):
        return None
    from theater_harness.fault_space import Coverage, FaultSpace, campaign

    entries = config.stash.get(EXPLORED_KEY, [])
    coverage = Coverage(session_space(config) or FaultSpace(),
                        [campaign([record for _, record in entries], shard_of(config))])
    path = Path(str(out))
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(coverage.to_json(), encoding="utf-8")
    except OSError as exc:
        return f"--theater-coverage-out: cannot write the coverage file {out}: {exc}"
    return None


def header(config: pytest.Config) -> str:
    text = shard_text(config)
    return "" if text is None else f", shard {text} (--theater-seed {config.stash[SEED_KEY]} on every shard)"
