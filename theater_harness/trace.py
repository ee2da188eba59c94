"""The run's trace: every event, in the order it happened, with its virtual time.

Records are appended cheaply as tuples while the run goes; chain events are kept as
references into the actors' chains and materialized on export. The JSON export is
canonical (sorted keys, no floats, no addresses, no wall time), so its SHA-256 is a
fingerprint of the run: the same seed and inputs give the same hash.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any, Iterator

FORMAT = "theater-harness-trace/1"


def state_digest(state: bytes | None) -> str | None:
    """A short fingerprint of an actor state for the trace (SHA-256, 16 hex digits);
    None for no state. The last small one is remembered: an actor's start and its exit,
    or the incarnations of an actor that keeps failing, record the same state again and
    again."""
    global _last_digest
    if state is None:
        return None
    if state.__class__ is not bytes or len(state) > _REMEMBER_MAX:
        return hashlib.sha256(state).hexdigest()[:16]
    last = _last_digest
    if last[0] == state:
        return last[1]
    digest = hashlib.sha256(state).hexdigest()[:16]
    _last_digest = (state, digest)
    return digest


_REMEMBER_MAX = 4096  # bytes: a larger state is hashed every time (and not kept alive here)
_last_digest: tuple[bytes | None, str | None] = (None, None)  # (state, its digest)


@dataclass(frozen=True, slots=True)
class TraceRecord:
    """One trace record: when, what kind, which actor, and the details."""

    seq: int
    time_ms: int
    kind: str
    actor: str | None
    fields: dict

    def to_dict(self) -> dict:
        """The record as one flat dict (its fields never use the keys seq, t, kind, actor)."""
        out = {"seq": self.seq, "t": self.time_ms, "kind": self.kind}
        if self.actor is not None:
            out["actor"] = self.actor
        out.update(self.fields)
        return out


def _event_fields(chain: Any, index: int) -> dict:
    event = chain[index]
    try:
        data: Any = event.data.decode("utf-8")
    except UnicodeDecodeError:
        data = {"hex": event.data.hex()}
    return {"index": index, "event_type": event.event_type, "hash": event.hash.hex(), "data": data}


class Trace:
    """An append-only log of a run's records."""

    __slots__ = ("_raw", "seed", "meta", "_chain_of", "_dicts", "derived")

    def __init__(self, seed: int | None = None, chain_of: Any = None):
        self._raw: list[tuple] = []  # (time, kind, actor, fields | chain index)
        self.seed = seed
        self.meta: dict[str, Any] = {}
        self._chain_of = chain_of  # actor id -> its EventChain
        self._dicts: list[dict] = []  # dicts() so far: the log only grows, so they stay valid
        # What readers of the records made of them so far (the invariants' checkers), by the
        # reader's key: it stays valid too, and goes on from there (also in a fork).
        self.derived: dict[Any, Any] = {}

    def add(self, time_ms: int, kind: str, actor: str | None, fields: dict | tuple = ()) -> None:
        """Append a record. ``fields`` is a dict, or (cheaper on hot paths) a flat tuple
        ``(key, value, key, value, ...)`` of immutable values: such a record holds no
        container the garbage collector must keep tracking."""
        self._raw.append((time_ms, kind, actor, fields))

    def add_event(self, time_ms: int, actor: str, index: int) -> None:
        """Reference event ``index`` of ``actor``'s chain (read, and hashed, on export)."""
        self._raw.append((time_ms, "event", actor, index))

    def __len__(self) -> int:
        return len(self._raw)

    def _materialize(self, seq: int, raw: tuple) -> TraceRecord:
        t, kind, actor, fields = raw
        return TraceRecord(seq, t, kind, actor, self._fields(kind, actor, fields))

    def _fields(self, kind: str, actor: str | None, fields: Any) -> dict:
        if kind == "event":
            return _event_fields(self._chain_of(actor), fields)
        if fields.__class__ is tuple:
            return dict(zip(fields[0::2], fields[1::2]))
        return fields

    def __iter__(self) -> Iterator[TraceRecord]:
        for seq, raw in enumerate(self._raw):
            yield self._materialize(seq, raw)

    @property
    def records(self) -> list[TraceRecord]:
        return list(self)

    def dicts(self, start: int = 0) -> list[dict]:
        """Every record (from number ``start`` on) as a flat dict (``TraceRecord.to_dict``),
        made once: the invariant checks, the fault-space count and the reports all read the
        same dicts, so treat them as read-only. Records added later are materialized on the
        next call."""
        raw, dicts = self._raw, self._dicts
        for seq in range(len(dicts), len(raw)):
            dicts.append(self._record_dict(seq, raw[seq]))
        return dicts[start:]

    def _record_dict(self, seq: int, raw: tuple) -> dict:
        """``self._materialize(seq, raw).to_dict()``, without the record in between."""
        t, kind, actor, fields = raw
        out = {"seq": seq, "t": t, "kind": kind}
        if actor is not None:
            out["actor"] = actor
        out.update(self._fields(kind, actor, fields))
        return out

    def of_kind(self, *kinds: str) -> list[TraceRecord]:
        """Records of the given kinds, in order."""
        wanted = set(kinds)  # filtered before materializing: a chain event costs its hash
        return [self._materialize(seq, raw) for seq, raw in enumerate(self._raw) if raw[1] in wanted]

    def kinds(self) -> list[str]:
        return [raw[1] for raw in self._raw]

    def to_dict(self) -> dict:
        return {"format": FORMAT, "seed": self.seed, **self.meta, "records": self.dicts()}

    def to_json(self, *, indent: int | None = None) -> str:
        """Canonical JSON: sorted keys, ASCII only; compact unless ``indent`` is given."""
        separators = (",", ":") if indent is None else (",", ": ")
        return json.dumps(self.to_dict(), sort_keys=True, separators=separators, indent=indent,
                          ensure_ascii=True, allow_nan=False)

    def hash(self) -> str:
        """SHA-256 of the compact canonical JSON: the run's fingerprint."""
        return hashlib.sha256(self.to_json().encode("ascii")).hexdigest()
