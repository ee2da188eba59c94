"""Chain integrity: each actor's event chain, as the trace records it, links. Theater's
rule: event ``i`` has index ``i`` in its actor's chain, and its hash is the SHA-1 of
``{"hash":[],"parent_hash":<previous hash or null>,"event_type":...,"data":[...]}``."""

from __future__ import annotations

from typing import Any, Mapping

from ..chain import event_hash
from ._check import Pass, check
from ._violation import Violation

NAME = "chain_integrity"


def check_chain_integrity(records: Any, *, policies: Mapping[str, Mapping] | None = None) -> list[Violation]:
    """Per actor, the ``event`` records' indexes run 0, 1, 2, ... and each hash equals
    ``event_hash(previous hash, event_type, data)`` (data: the UTF-8 text, or the bytes
    of ``{"hex": ...}``). Each event is checked against the hash recorded before it, so a
    tampered event is reported at its own index only."""
    return check([ChainIntegrity], records, policies)


class ChainIntegrity(Pass):
    def __init__(self, checker: Any):
        super().__init__(checker)
        # actor -> (index, record, hash as bytes when it verified) of its last event
        self.previous: dict[str, tuple[int, dict, bytes | None]] = {}
        self.found: list[Violation] = []

    def on_event(self, r: dict) -> None:
        actors, actor, index = self.actors, r["actor"], r.get("index")
        before = self.previous.get(actor)
        want = 0 if before is None else before[0] + 1
        if index != want:
            self.found.append(Violation(NAME, r["t"], (actor,), (
                f"event {index} of {actors.label(actor)}'s chain where event {want} was next: indexes run "
                f"0, 1, 2, ... with no gap or repeat"), tuple(x for x in (before and before[1], r) if x)))
        parent = None if before is None else before[2] or bytes.fromhex(before[1]["hash"])
        data = r.get("data")
        raw = bytes.fromhex(data["hex"]) if isinstance(data, dict) else str(data).encode("utf-8")
        digest = event_hash(parent, r.get("event_type", ""), raw)
        computed = digest.hex()
        if computed != r.get("hash"):
            self.found.append(Violation(NAME, r["t"], (actor,), (
                f"event {index} ({r.get('event_type')}) of {actors.label(actor)}'s chain has hash "
                f"{r.get('hash')}, but its parent hash, type and data hash to {computed}"),
                tuple(x for x in (before and before[1], r) if x)))
        verified = digest if computed == r.get("hash") else None
        self.previous[actor] = (index if isinstance(index, int) else want, r, verified)

    def violations(self) -> list[Violation]:
        return list(self.found)
