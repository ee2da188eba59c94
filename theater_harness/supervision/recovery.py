"""Recovery modes: the state a restarted child starts from.

- ``init``: fresh, from its manifest's ``init_state`` (merged with its spawn bytes);
- ``last``: the state its last successful call returned;
- ``replay``: a fresh instance re-driven with every successful call of its history, its
  host imports answered from what they answered then, and every replayed event hashed
  and checked against the recorded one; a mismatch is reported as a divergence.

Replay needs the calls' arguments and host results, so an actor whose recovery mode is
``replay`` keeps a journal of them as it runs (the others pay nothing).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..chain import HOST_CALL, WASM_CALL, WASM_RESULT, _materialize, event_hash

INIT = ("actor", "init")


@dataclass
class JournalEntry:
    """One successful call: which export, its arguments (the state it was given, then its
    params), what its host calls returned, and where its events are in the actor's chain."""

    key: tuple[str, str]
    args: tuple
    chain_start: int
    host: list = field(default_factory=list)  # (interface short name, function, args, result)
    chain_end: int = 0


class Journal:
    """An actor's history of successful calls, across incarnations."""

    __slots__ = ("entries", "current")

    def __init__(self) -> None:
        self.entries: list[JournalEntry] = []
        self.current: JournalEntry | None = None

    def begin(self, key: tuple[str, str], args: tuple, chain_start: int) -> None:
        self.current = JournalEntry(key, args, chain_start)

    def host_result(self, interface: str, function: str, args: tuple, result: Any) -> None:
        if self.current is not None:
            self.current.host.append((interface, function, args, result))

    def commit(self, chain_end: int) -> None:
        if self.current is not None:
            self.current.chain_end = chain_end
            self.entries.append(self.current)
            self.current = None

    def abort(self) -> None:
        self.current = None


@dataclass(frozen=True)
class Divergence:
    """A replayed event that does not hash like the recorded one."""

    call: int  # index of the journal entry
    chain_index: int  # index of the recorded event
    expected: str  # hex hashes
    actual: str
    detail: str

    def to_dict(self) -> dict:
        return {"call": self.call, "chain_index": self.chain_index, "expected": self.expected,
                "actual": self.actual, "detail": self.detail}


class ReplayDispatch:
    """Serves a replaying incarnation's host calls from the journal, and records the
    events the replay produces, for checking."""

    def __init__(self, interfaces: dict[str, str], redo: Any = None):
        self.interfaces = interfaces  # short name -> full interface name
        # redo(incarnation, import, args): runs again the host calls that give an incarnation
        # resources of its own (a timer, a registration), which a replayed one must hold too
        self.redo = redo
        self.entry: JournalEntry | None = None
        self.next_host = 0
        self.events: list[tuple[str, tuple]] = []  # (event type, data recipe)
        self.mismatch: str | None = None

    def start(self, entry: JournalEntry) -> None:
        self.entry, self.next_host, self.events, self.mismatch = entry, 0, [], None

    def __call__(self, incarnation: Any, imp: Any, args: list) -> Any:
        entry = self.entry
        args = tuple(args)
        if entry is None or self.next_host >= len(entry.host):
            self.mismatch = self.mismatch or f"an extra host call {imp.interface}.{imp.function}{args!r}"
            return _neutral(imp)
        interface, function, recorded_args, result = entry.host[self.next_host]
        self.next_host += 1
        if (interface, function, recorded_args) != (imp.interface, imp.function, args):
            self.mismatch = self.mismatch or (
                f"host call {imp.interface}.{imp.function}{args!r} where the chain has "
                f"{interface}.{function}{recorded_args!r}")
        full = self.interfaces[imp.interface]
        self.events.append((f"{full}/{imp.function}", (HOST_CALL, full, imp.function, args, result)))
        if self.redo is not None:
            self.redo(incarnation, imp, args)
        return result


def _neutral(imp: Any) -> Any:
    """An answer for a host call the journal does not have (the replay has diverged)."""
    return (False, "replay: no recorded answer for this host call")


def replay(incarnation: Any, dispatch: ReplayDispatch, journal: Journal, chain: Any,
           exports: dict) -> tuple[Any, list[Divergence], int]:
    """Re-drive ``incarnation`` with the journal's calls; returns (state, divergences,
    calls replayed). Stops at the first call that fails or diverges."""
    state: Any = None
    divergences: list[Divergence] = []
    for number, entry in enumerate(journal.entries):
        export = exports[entry.key] if entry.key.__class__ is tuple else entry.key  # a test's call: the export
        dispatch.start(entry)
        # init is given its recorded state; every later call the state the replay reached
        args = entry.args if entry.key == INIT else (state,) + entry.args[1:]
        ok, value = incarnation.call(export, args)
        params = entry.args[1] if len(entry.args) > 1 else ()
        events = [("wasm", (WASM_CALL, export.full_name, params))] + dispatch.events
        if ok and value[0]:
            payload = value[1]
            rest = payload[1] if len(payload) > 1 else ()
            events.append(("wasm", (WASM_RESULT, export.full_name, payload[0], rest)))
        found = _check(number, entry, events, chain)
        if dispatch.mismatch and not found:
            found = [Divergence(number, entry.chain_start, "", "", dispatch.mismatch)]
        if not (ok and value[0]):
            found = found or [Divergence(number, entry.chain_start, "", "",
                                         f"the replayed call failed: {value if not ok else value[1]}")]
        if found:
            divergences.extend(found)
            return state, divergences, number
        state = payload[0]
    return state, divergences, len(journal.entries)


def _check(number: int, entry: JournalEntry, events: list, chain: Any) -> list[Divergence]:
    recorded = [chain[i] for i in range(entry.chain_start, entry.chain_end)]
    if len(recorded) != len(events):
        return [Divergence(number, entry.chain_start, "", "",
                           f"the replay produced {len(events)} events where the chain has {len(recorded)}")]
    for i, ((event_type, recipe), expected) in enumerate(zip(events, recorded)):
        actual = event_hash(expected.parent_hash, event_type, _materialize(recipe))
        if actual != expected.hash:
            return [Divergence(number, entry.chain_start + i, expected.hash.hex(), actual.hex(),
                               f"replayed {event_type} event differs from the recorded one")]
    return []
