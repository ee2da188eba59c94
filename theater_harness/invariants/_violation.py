"""A broken invariant, as a value: which rule, when, which actors, what was expected and
what happened, and the trace records that show it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Violation:
    """One place where a trace breaks an invariant."""

    invariant: str  # the rule's name, as in ``INVARIANTS``
    time_ms: int  # virtual time of the offending record
    actors: tuple[str, ...]  # ids of the actors involved, the most responsible first
    message: str  # what was expected and what happened
    evidence: tuple[dict, ...] = ()  # the trace records that show it

    def to_dict(self) -> dict:
        return {"invariant": self.invariant, "time_ms": self.time_ms, "actors": list(self.actors),
                "message": self.message, "evidence": [dict(r) for r in self.evidence]}

    def __str__(self) -> str:
        seqs = ", ".join(str(r["seq"]) for r in self.evidence if "seq" in r)
        shown = f" (records {seqs})" if seqs else ""
        return f"{self.invariant} at {self.time_ms} ms: {self.message}{shown}"
