"""Shared fixtures: the example actors and a fresh runtime."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from theater_harness import Runtime

ROOT = Path(__file__).resolve().parent.parent
ACTORS = ROOT / "scenarios" / "actors"
SCENARIOS = ROOT / "scenarios"
CHAINS = ROOT / "tests" / "data" / "theater-chains"


def manifest(name: str) -> Path:
    """The manifest of an example actor."""
    return ACTORS / f"{name}.toml"


@pytest.fixture
def rt() -> Runtime:
    return Runtime(seed=1)


@pytest.fixture(autouse=True)
def _close_packr_smoke_stores():
    """The wasmtime-py Stores of tests/packr_smoke.py's hosts, closed after each test (see
    ``packr_smoke._LIVE``)."""
    yield
    smoke = sys.modules.get("packr_smoke")
    if smoke is not None:
        smoke.close_all()


@pytest.fixture
def fork_times(monkeypatch) -> list[int]:
    """The virtual instant of every fork a test makes (``Checkpoint.run``), in order."""
    from theater_harness.fork import Checkpoint

    forks: list[int] = []
    real = Checkpoint.run

    def counting(self, fn):
        forks.append(self.time_ms)
        return real(self, fn)

    monkeypatch.setattr(Checkpoint, "run", counting)
    return forks
