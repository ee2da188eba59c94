"""Shared fixtures: the example actors and a fresh runtime."""

from __future__ import annotations

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
