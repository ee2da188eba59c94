"""`theater:simple/random` from the run's seeded generator (one stream per actor)."""

from __future__ import annotations

from typing import Any

from ..limits import charge_chain

MAX_BYTES = 1024 * 1024


def _rng(rt: Any, actor: Any):
    streams = rt.random_streams
    rng = streams.get(actor.id)
    if rng is None:
        rng = streams[actor.id] = rt.rng.stream(f"random/{actor.id}")
    return rng


def random_bytes(rt: Any, actor: Any, length: int) -> tuple[bool, Any]:
    if length > MAX_BYTES:
        return (False, f"random-bytes: at most {MAX_BYTES} bytes per call, asked for {length}")
    charge_chain(rt, actor, "random.random-bytes", length)  # the chain records them
    return (True, _rng(rt, actor).randbytes(length))


def random_range(rt: Any, actor: Any, low: int, high: int) -> tuple[bool, Any]:
    if low >= high:
        return (False, f"random-range: min ({low}) must be less than max ({high})")
    return (True, _rng(rt, actor).randrange(low, high))


def random_float(rt: Any, actor: Any) -> tuple[bool, Any]:
    return (True, _rng(rt, actor).random())


def generate_uuid(rt: Any, actor: Any) -> tuple[bool, Any]:
    return (True, _rng(rt, actor).uuid())


FUNCTIONS = {
    "random-bytes": random_bytes,
    "random-range": random_range,
    "random-float": random_float,
    "generate-uuid": generate_uuid,
}
