"""The outside world, in Jepsen's spirit: what the world acknowledged stays, unless a fault
of the schedule explains otherwise; every HTTP request has its outcome in the trace.

``store_durability`` replays the trace's store calls (``world`` records, interface
``store``) in order as a model of each store: the content refs acknowledged (an ``ok``
store, store-at-label or replace-content-at-label) and where each label was last
acknowledged to point (label, replace-at-label, remove-label, remove-from-label, and the
writes that store at a label). Every read must agree with it: ``get`` returns content
whose SHA-1 is the ref asked for (the store is content-addressed) and finds acknowledged
content; ``exists`` is true for it; ``get-by-label`` returns the ref the label was last
acknowledged at (none once removed); ``list-labels`` and ``list-all-content`` hold what
was acknowledged (and no removed label). A read a world fault acted on (the record's
``fault``: a store that was unavailable, a corrupted read) is explained, and so is every
read of what a ``store-lost-write`` fault made the world forget, until the next write
the world keeps. What the trace does not say in full is not judged: a store id, label or
ref cut short in its record (over ``world_calls.MAX_TEXT`` characters), a listing cut
short; ``store_durability_notes`` says which. Content a test put in the world before the
run (``World(stores=...)``) is not in the model: only reads of what the run wrote are held
to it.

``http_outcomes``: every ``http-client`` request in the trace has one outcome, a response
with a status or an error text; a request whose response a ``http-lost-response`` fault
lost says so (its record names the fault, and its outcome is the error); every request in
an actor's chain (its ``send-http`` events) has its ``world`` record; no request is
recorded for an actor that was not running.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

from ..host.world_calls import MAX_ITEMS, MAX_TEXT
from ._check import Pass, check
from ._violation import Violation

DURABILITY, HTTP = "store_durability", "http_outcomes"
LOST_WRITE, LOST_RESPONSE, SLOW = "store-lost-write", "http-lost-response", "store-slow"
SEND_HTTP_EVENT = "/http-client/send-http"  # the end of a request's event type in its actor's chain


def check_store_durability(records: Any, *, policies: Mapping[str, Mapping] | None = None) -> list[Violation]:
    """Reads of each store against what the run's writes were acknowledged (see the module)."""
    return check([StoreDurability], records, policies)


def check_http_outcomes(records: Any, *, policies: Mapping[str, Mapping] | None = None) -> list[Violation]:
    """Every HTTP request with one outcome, in the trace and in its actor's chain."""
    return check([HttpOutcomes], records, policies)


def store_durability_notes(records: Any) -> list[str]:
    """What ``store_durability`` could not judge in ``records`` (cut labels, refs, listings)."""
    from ._check import Checker
    from ._records import records_of

    checker = Checker([StoreDurability])
    checker.feed(records_of(records))
    return list(checker.passes[0].notes)


@dataclass
class _Ack:
    """A write the world acknowledged: its record, and whether a fault made the world lose it."""

    record: dict
    lost: bool


@dataclass
class _Store:
    content: dict[str, _Ack] = field(default_factory=dict)  # ref -> its (first kept) acknowledgement
    labels: dict[str, tuple[str | None, _Ack]] = field(default_factory=dict)  # label -> (ref or None: removed)


class StoreDurability(Pass):
    """The model of every store, grown one store call at a time; a read that disagrees
    is a violation at once (later records cannot explain it)."""

    def __init__(self, checker: Any):
        super().__init__(checker)
        self.fault_kinds: dict[int, str] = {}  # fault index -> kind, from the fault records
        self.stores: dict[str, _Store] = {}
        self.found: list[Violation] = []
        self.notes: list[str] = []  # what could not be judged, in words

    def on_fault(self, r: dict) -> None:
        self.fault_kinds[r.get("fault")] = r.get("fault_kind")

    def on_world(self, r: dict) -> None:
        if r["interface"] != "store" or (r["outcome"] != "ok" and r["function"] not in _READS):
            return  # a write the world refused acknowledged nothing
        args = r.get("args") or []
        store_id = args[0] if args else None
        if not _whole(store_id):
            return self._note(r, f"store id {store_id!r}" if store_id is not None else "no store id")
        handle = _WRITES.get(r["function"]) or _READS.get(r["function"])
        if handle is not None:
            handle(self, self.stores.setdefault(store_id, _Store()), store_id, r)

    def violations(self) -> list[Violation]:
        return list(self.found)

    # --- writes ----------------------------------------------------------------------

    def _ack(self, r: dict) -> _Ack:
        return _Ack(r, self.fault_kinds.get(r.get("fault")) == LOST_WRITE)

    def _content(self, store: _Store, ref: Any, ack: _Ack) -> None:
        known = store.content.get(ref)
        if known is None or known.lost:  # content once kept stays: a store never deletes content
            store.content[ref] = ack

    def _point(self, store: _Store, store_id: str, label: Any, ref: Any, r: dict) -> None:
        if not _whole(label):
            return self._note(r, f"label {label!r} of store {store_id!r}")
        store.labels[label] = (ref, self._ack(r))

    def _store(self, store: _Store, store_id: str, r: dict) -> None:
        ref = _ref(r.get("result"))
        if _whole(ref):
            self._content(store, ref, self._ack(r))

    def _store_at(self, store: _Store, store_id: str, r: dict) -> None:
        self._store(store, store_id, r)
        self._point(store, store_id, r["args"][1], _ref(r.get("result")), r)

    def _label(self, store: _Store, store_id: str, r: dict) -> None:
        self._point(store, store_id, r["args"][1], _ref(r["args"][2]), r)

    def _remove(self, store: _Store, store_id: str, r: dict) -> None:
        self._point(store, store_id, r["args"][1], None, r)

    def _remove_from(self, store: _Store, store_id: str, r: dict) -> None:
        label, ref = r["args"][1], _ref(r["args"][2])
        known = store.labels.get(label)
        if known is None:
            return  # a label the model never saw written: whether it pointed there is unknown
        if known[1].lost:
            del store.labels[label]  # where it pointed was unknown, so is whether it is gone
        elif known[0] == ref:
            self._point(store, store_id, label, None, r)

    # --- reads -----------------------------------------------------------------------

    def _explained(self, r: dict) -> bool:
        """A read a world fault acted on (other than by slowing it) is what the fault made it."""
        return r.get("fault") is not None and self.fault_kinds.get(r.get("fault")) != SLOW

    def _get(self, store: _Store, store_id: str, r: dict) -> None:
        ref = _ref(r["args"][1])
        if not _whole(ref) or self._explained(r):
            return
        if r["outcome"] == "ok":
            if r.get("sha1") is not None and r["sha1"] != ref:
                self._violation(r, None, f"store {store_id!r}: get of {ref} at {r['t']} ms by "
                                         f"{self.actors.label(r.get('actor'))} returned content whose SHA-1 is "
                                         f"{r['sha1']}")
            return
        ack = store.content.get(ref)
        if ack is not None and not ack.lost:
            self._violation(r, ack, f"store {store_id!r}: get of {ref} at {r['t']} ms by "
                                    f"{self.actors.label(r.get('actor'))} found nothing ({r.get('result')}), but "
                                    f"{self._write(ack)} stored that content")

    def _exists(self, store: _Store, store_id: str, r: dict) -> None:
        ref = _ref(r["args"][1])
        ack = store.content.get(ref) if _whole(ref) else None
        if r["outcome"] == "ok" and r.get("result") is False and ack is not None and not ack.lost \
                and not self._explained(r):
            self._violation(r, ack, f"store {store_id!r}: exists of {ref} at {r['t']} ms by "
                                    f"{self.actors.label(r.get('actor'))} was false, but {self._write(ack)} "
                                    f"stored that content")

    def _get_by_label(self, store: _Store, store_id: str, r: dict) -> None:
        label = r["args"][1]
        known = store.labels.get(label) if _whole(label) else None
        if r["outcome"] != "ok" or known is None or known[1].lost or self._explained(r):
            return
        got = _ref(r.get("result"))
        if got != known[0]:
            self._violation(r, known[1], f"store {store_id!r}, label {label!r}: get-by-label at {r['t']} ms by "
                                         f"{self.actors.label(r.get('actor'))} returned {_shown(got)}, but "
                                         f"{self._write(known[1])} left it at {_shown(known[0])}")

    def _list_labels(self, store: _Store, store_id: str, r: dict) -> None:
        listed = r.get("result")
        if r["outcome"] != "ok" or self._explained(r) or not isinstance(listed, list):
            return
        if _shortened(listed):
            return self._note(r, f"the labels of store {store_id!r} (a listing of more than {MAX_ITEMS})")
        for label, (ref, ack) in store.labels.items():
            if not ack.lost and (ref is not None) != (label in listed):
                self._violation(r, ack, f"store {store_id!r}: list-labels at {r['t']} ms by "
                                        f"{self.actors.label(r.get('actor'))} {'lacks' if ref else 'holds'} "
                                        f"label {label!r}, but {self._write(ack)} "
                                        f"{'pointed it at ' + ref if ref else 'removed it'}")

    def _list_content(self, store: _Store, store_id: str, r: dict) -> None:
        listed = r.get("result")
        if r["outcome"] != "ok" or self._explained(r) or not isinstance(listed, list):
            return
        if _shortened(listed):
            return self._note(r, f"the content of store {store_id!r} (a listing of more than {MAX_ITEMS})")
        refs = {_ref(item) for item in listed}
        for ref, ack in store.content.items():
            if not ack.lost and ref not in refs:
                self._violation(r, ack, f"store {store_id!r}: list-all-content at {r['t']} ms by "
                                        f"{self.actors.label(r.get('actor'))} lacks {ref}, but "
                                        f"{self._write(ack)} stored that content")

    # --- words -----------------------------------------------------------------------

    def _write(self, ack: _Ack) -> str:
        w = ack.record
        return f"the acknowledged {w['function']} at {w['t']} ms by {self.actors.label(w.get('actor'))}"

    def _violation(self, r: dict, ack: _Ack | None, text: str) -> None:
        evidence = (r,) if ack is None else (ack.record, r)
        actors = tuple(dict.fromkeys(a for a in (r.get("actor"), ack and ack.record.get("actor")) if a))
        self.found.append(Violation(DURABILITY, r["t"], actors, text + "; no fault in the schedule explains it",
                                    evidence))

    def _note(self, r: dict, what: str) -> None:
        self.notes.append(f"record {r.get('seq')} ({r['function']} at {r['t']} ms): {what} is cut short in the "
                          f"trace, so store_durability skipped it")


_WRITES = {
    "store": StoreDurability._store,
    "store-at-label": StoreDurability._store_at,
    "replace-content-at-label": StoreDurability._store_at,
    "label": StoreDurability._label,
    "replace-at-label": StoreDurability._label,
    "remove-label": StoreDurability._remove,
    "remove-from-label": StoreDurability._remove_from,
}
_READS = {
    "get": StoreDurability._get,
    "exists": StoreDurability._exists,
    "get-by-label": StoreDurability._get_by_label,
    "list-labels": StoreDurability._list_labels,
    "list-all-content": StoreDurability._list_content,
}


def _ref(value: Any) -> Any:
    """A content ref as a record holds it: a string (packr era) or ``{"hash": ...}``."""
    return value.get("hash") if isinstance(value, dict) else value


def _whole(text: Any) -> bool:
    """Whether a string reached the record whole (``world_calls.summary`` cuts longer ones)."""
    return isinstance(text, str) and len(text) <= MAX_TEXT


def _shortened(listed: list) -> bool:
    return len(listed) > MAX_ITEMS


def _shown(ref: Any) -> str:
    return "none" if ref is None else str(ref)


class HttpOutcomes(Pass):
    """Each HTTP request as the trace tells it, judged when its records come."""

    def __init__(self, checker: Any):
        super().__init__(checker)
        self.running: set[str] = set()  # actors between a start and their exit
        self.lost: dict[str, dict] = {}  # actor -> an http-lost-response fault that fired in its request
        self.requests: dict[str, int] = {}  # actor -> world records of its requests
        self.events: dict[str, int] = {}  # actor -> send-http events of its chain
        self.found: list[Violation] = []

    def on_start(self, r: dict) -> None:
        self.running.add(r["actor"])

    def on_exit(self, r: dict) -> None:
        self.running.discard(r["actor"])

    def on_fault(self, r: dict) -> None:
        if r.get("fault_kind") == LOST_RESPONSE and r.get("actor") is not None:
            self.lost[r["actor"]] = r

    def on_world(self, r: dict) -> None:
        if r["interface"] != "http-client" or r.get("actor") is None:
            return
        actor, who = r["actor"], self.actors.label(r["actor"])
        self.requests[actor] = self.requests.get(actor, 0) + 1
        evidence: tuple[dict, ...] = (r,)
        if actor not in self.running:
            self._violation(r, evidence, f"{who} sent an HTTP request at {r['t']} ms while it was not running")
        result = r.get("result")
        if not (r["outcome"] == "ok" and isinstance(result, dict) and isinstance(result.get("status"), int)
                or r["outcome"] == "err" and isinstance(result, str)):
            self._violation(r, evidence, f"{who}'s HTTP request at {r['t']} ms has no outcome: neither a response "
                                         f"with a status nor an error (outcome {r['outcome']!r}, result {result!r})")
        lost = self.lost.pop(actor, None)
        if lost is not None and (r.get("fault") != lost.get("fault") or r["outcome"] != "err"):
            self._violation(r, (lost, r), f"{who}'s HTTP request at {r['t']} ms lost its response to fault "
                                          f"#{lost.get('fault')}, but its record does not say so (fault "
                                          f"{r.get('fault')!r}, outcome {r['outcome']!r})")

    def on_event(self, r: dict) -> None:
        event_type = r.get("event_type")
        if not isinstance(event_type, str) or not event_type.endswith(SEND_HTTP_EVENT):
            return
        actor = r["actor"]
        self.events[actor] = self.events.get(actor, 0) + 1
        if self.events[actor] > self.requests.get(actor, 0):
            self._violation(r, (r,), f"{self.actors.label(actor)}'s chain records HTTP request number "
                                     f"{self.events[actor]} (event {r.get('index')}) at {r['t']} ms, but the trace "
                                     f"has {self.requests.get(actor, 0)} world record(s) of its requests")

    def violations(self) -> list[Violation]:
        return list(self.found)

    def _violation(self, r: dict, evidence: tuple[dict, ...], text: str) -> None:
        self.found.append(Violation(HTTP, r["t"], (r["actor"],), text, evidence))
