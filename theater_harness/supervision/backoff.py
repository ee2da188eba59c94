"""Restart delays (Akka's backoff supervisor), drawn from the run's seeded RNG."""

from __future__ import annotations

import random

from .spec import Backoff


def delay_ms(backoff: Backoff, consecutive: int, rng: random.Random) -> int:
    """The delay before restart number ``consecutive`` (0 for the first):
    min(max, min * 2^n) * (1 + U[0,1) * random_factor), in whole ms."""
    base = min(backoff.max_ms, backoff.min_ms * (1 << min(consecutive, 62)))
    jitter = 1.0 + rng.random() * backoff.random_factor if backoff.random_factor else 1.0
    return int(base * jitter)
