"""What the plugin's modules share: its options and their lookup, the seeds (the session's,
each test's, each runtime's) and where traces go.

The one module that ``plugin``, ``collect``, ``runs``, ``determinism`` and ``report`` all
import, and which imports none of them: they form no circle.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest

SEED_KEY = pytest.StashKey[int]()  # the session's seed, resolved once in pytest_configure
SHARD_KEY = pytest.StashKey[tuple]()  # the session's shard, (K, N) of --theater-shard; (1, 1) when not split
CACHE_KEY = "theater/seed"  # the previous session's seed, in the pytest cache

OPTIONS = [  # (option, ini name, help, kind)
    ("--theater-seed", "theater_seed",
     "the session's seed: an integer, or 'last' for the previous session's (default: a fresh one)", "seed"),
    ("--theater-trace-dir", "theater_trace_dir",
     "where the traces of failing tests are saved (default: <cache dir>/theater/traces)", "path"),
    ("--theater-check-determinism", "theater_check_determinism",
     "run each test that makes a theater runtime twice with the same seed, and fail if a trace differs", "bool"),
    ("--theater-examples", "theater_examples",
     "how many fault schedules scenarios with `explore` try (overrides their own number)", "int"),
    ("--theater-hypothesis-profile", "theater_hypothesis_profile",
     "the Hypothesis settings profile to load: 'auto' (default: 'theater' unless one was chosen), "
     "'none', or a profile's name ('theater', 'theater-ci', ...)", "profile"),
    ("--theater-shard", "theater_shard",
     "run shard K of N of one campaign (give every shard the same --theater-seed): Hypothesis tests search "
     "from a seed of the shard's, explored scenarios run their K-th share of the schedules", "shard"),
    ("--theater-coverage-out", "theater_coverage_out",
     "write the fault space the explored scenarios covered, and their campaign, to this JSON file "
     "(for theater-harness coverage merge)", "file"),
]


def option(config: pytest.Config, name: str) -> Any:
    """An option's value: the command line, else its ini twin."""
    value = config.getoption(name)
    return config.getini(name) if value is None else value


def test_seed(run_seed: int, nodeid: str) -> int:
    """The seed of one test: stable for a given session seed and node id."""
    digest = hashlib.sha256(f"{run_seed}:{nodeid}".encode()).digest()
    return int.from_bytes(digest[:8], "big") >> 1


test_seed.__test__ = False  # not a test, despite its name


def seed_for(item: pytest.Item) -> int:
    """The seed of ``item``: its ``@pytest.mark.theater(seed=...)``, else derived from the
    session's seed and its node id."""
    marker = item.get_closest_marker("theater")
    if marker is not None and marker.kwargs.get("seed") is not None:
        return marker.kwargs["seed"]
    return test_seed(item.config.stash[SEED_KEY], item.nodeid)


def runtime_seed(seed: int, index: int) -> int:
    """The seed of a test's ``index``-th runtime made without one (1, 2, ...; 0 is the
    ``theater`` fixture's): derived from the test's ``seed`` and the index; ``seed``
    itself for index 0."""
    return seed if index == 0 else test_seed(seed, f"runtime {index}")


def trace_dir(config: pytest.Config) -> Path:
    """Where failing tests' traces are saved."""
    raw = option(config, "theater_trace_dir")
    if raw:
        return Path(raw)
    cache = getattr(config, "cache", None)
    base = cache.mkdir("theater") if cache is not None else Path(str(config.rootpath)) / ".theater"
    return Path(base) / "traces"
