"""The run's randomness: one seeded generator, and named streams derived from it.

Nothing in the runtime touches the ``random`` module's global generator, ``uuid4`` or
the OS. Separate streams (actor ids, each actor's ``random`` imports, ...) keep one
consumer's draws from shifting another's: an actor that asks for one more random
number does not change the ids of actors spawned after it.
"""

from __future__ import annotations

import hashlib
import random
import uuid


class RunRandom(random.Random):
    """A seeded ``random.Random`` (so Hypothesis can register it) with id helpers."""

    def __init__(self, seed: int):
        if not isinstance(seed, int) or isinstance(seed, bool):
            raise TypeError(f"the seed must be an integer, not {seed!r}")
        self.root_seed = seed
        super().__init__(seed)

    def reseed(self, seed: int) -> "RunRandom":
        """Start over from ``seed`` (one long-lived generator, e.g. registered with
        Hypothesis, can serve run after run)."""
        if not isinstance(seed, int) or isinstance(seed, bool):
            raise TypeError(f"the seed must be an integer, not {seed!r}")
        self.root_seed = seed
        self.seed(seed)
        return self

    def uuid(self) -> str:
        """A version-4 UUID string drawn from this generator."""
        return str(uuid.UUID(int=self.getrandbits(128), version=4))

    def stream(self, label: str) -> "RunRandom":
        """An independent generator for ``label``, determined by the root seed alone."""
        digest = hashlib.sha256(f"{self.root_seed}/{label}".encode()).digest()
        return RunRandom(int.from_bytes(digest[:8], "big"))
