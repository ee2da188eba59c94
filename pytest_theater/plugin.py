"""The pytest plugin: a seeded ``theater`` runtime per test.

The run's seed comes from ``--theater-seed`` (or the ``theater_seed`` ini option; default
0) and is shown in the report header. Each test's seed is derived from it and the test's
node id, so that any one test reruns alone, or on any pytest-xdist worker, with the same
seed. Heavy imports happen only when a fixture is used.
"""

from __future__ import annotations

import hashlib

import pytest

SEED_KEY = pytest.StashKey[int]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("theater", "theater-harness")
    group.addoption("--theater-seed", action="store", default=None, type=int, metavar="N",
                    help="the seed of every theater runtime (per test: derived from it and the node id)")
    parser.addini("theater_seed", "default for --theater-seed", default="0")


def pytest_configure(config: pytest.Config) -> None:
    seed = config.getoption("theater_seed")
    if seed is None:
        raw = config.getini("theater_seed")
        try:
            seed = int(raw)
        except ValueError:
            raise pytest.UsageError(f"theater_seed (ini) must be an integer, not {raw!r}") from None
    config.stash[SEED_KEY] = seed


def pytest_report_header(config: pytest.Config) -> str:
    return f"theater-harness: seed {config.stash[SEED_KEY]} (--theater-seed)"


def test_seed(run_seed: int, nodeid: str) -> int:
    """The seed of one test: stable for a given run seed and node id."""
    digest = hashlib.sha256(f"{run_seed}:{nodeid}".encode()).digest()
    return int.from_bytes(digest[:8], "big") >> 1


test_seed.__test__ = False  # not a test, despite its name


@pytest.fixture
def theater(request: pytest.FixtureRequest):
    """A fresh ``theater_harness.Runtime`` seeded for this test."""
    from theater_harness import Runtime

    return Runtime(seed=test_seed(request.config.stash[SEED_KEY], request.node.nodeid))
