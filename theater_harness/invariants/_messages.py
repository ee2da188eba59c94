"""Messages: no acknowledged message lost or duplicated. A request that got a reply was
delivered, exactly once (twice only when a ``duplicate`` fault fired on its link for
it); no reply without a delivery, and at most one outcome per request; a send is
delivered at most once (twice when duplicated); a dropped message is never delivered
(with a duplicate, the two copies together are delivered or dropped at most twice)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

from ._check import Pass, check
from ._records import Actors, fault_kind
from ._violation import Violation

NAME = "messages"
OUTSIDE = "outside"


@dataclass
class _Message:
    """One send or request and what became of it."""

    number: int  # its place among the messages, in the order the trace first names them
    sent: dict | None = None
    duplicated: dict | None = None  # the duplicate fault that fired for it
    deliveries: list[dict] = field(default_factory=list)
    drops: list[dict] = field(default_factory=list)
    outcomes: list[dict] = field(default_factory=list)  # reply and request-failed records

    @property
    def copies(self) -> int:
        return 2 if self.duplicated is not None else 1

    def evidence(self) -> tuple[dict, ...]:
        found = [self.sent, self.duplicated, *self.deliveries, *self.drops, *self.outcomes]
        unique = {r["seq"]: r for r in found if r is not None}
        return tuple(unique[s] for s in sorted(unique))


def check_messages(records: Any, *, policies: Mapping[str, Mapping] | None = None) -> list[Violation]:
    """Every send (by its message number) and request (by its id), from what the trace
    records of it: ``send``/``request``, ``deliver``, ``drop``, ``reply``, ``request-failed``,
    and a ``fault`` of kind ``duplicate`` right after the send on the same link."""
    return check([Messages], records, policies)


class Messages(Pass):
    """Each message's story, judged again when it goes on: a run sends many, and a check
    of a trace that grew reads only the stories of the messages its new records name."""

    def __init__(self, checker: Any):
        super().__init__(checker)
        self.messages: dict[tuple[str, Any], _Message] = {}  # ("message" | "request", number or id) -> its story
        self.sent: tuple[int, _Message, dict] | None = None  # the last send: (its place, its message, its record)
        self.verdicts: dict[tuple[str, Any], list[Violation]] = {}  # the broken ones, as last judged
        self.changed: set[tuple[str, Any]] = set()  # those whose story went on since

    def story(self, key: tuple[str, Any]) -> _Message:
        message = self.messages.get(key)
        if message is None:
            message = self.messages[key] = _Message(len(self.messages))
        self.changed.add(key)
        return message

    def on_send(self, r: dict) -> None:
        message = self.story(_key(r))
        message.sent = r
        self.sent = (self.checker.at, message, r)

    on_request = on_send

    def on_fault(self, r: dict) -> None:
        """A duplicate fault fires right after the send it copies (the very next record)."""
        if self.sent is not None and self.sent[0] + 1 == self.checker.at and _duplicates(r, self.sent[2]):
            self.sent[1].duplicated = r

    on_duplicate = on_fault  # older traces: the record's kind is the fault's

    def on_deliver(self, r: dict) -> None:
        if "msg" in r or "request" in r:  # not a channel's
            self.story(_key(r)).deliveries.append(r)

    def on_drop(self, r: dict) -> None:
        if "msg" in r or "request" in r:
            self.story(_key(r)).drops.append(r)

    def on_reply(self, r: dict) -> None:
        self.story(("request", r.get("request"))).outcomes.append(r)

    on_request_failed = on_reply

    def violations(self) -> list[Violation]:
        for key in self.changed:
            found = _judge(f"{key[0]} {key[1]}", self.messages[key], self.actors)
            if found:
                self.verdicts[key] = found
            else:
                self.verdicts.pop(key, None)
        self.changed.clear()  # a cache of what judging every story again would give
        found = [(v, self.messages[key].number) for key, vs in self.verdicts.items() for v in vs]
        return [v for v, _ in sorted(found, key=lambda x: (x[0].evidence[-1]["seq"], x[1]))]


def _key(record: dict) -> tuple[str, Any]:
    if "msg" in record:
        return "message", record["msg"]
    return "request", record.get("request")


def _judge(name: str, message: _Message, actors: Actors) -> list[Violation]:
    found = []
    deliveries, drops, copies = message.deliveries, message.drops, message.copies
    if deliveries and message.sent is None:
        found.append(_violation(deliveries[0], actors, message, f"{name} was delivered to "
                                f"{actors.label(deliveries[0]['actor'])} but never sent"))
    if len(deliveries) > copies:
        found.append(_violation(deliveries[copies], actors, message, f"{name} was delivered {len(deliveries)} times "
                                f"to {actors.label(deliveries[0]['actor'])}; {_allowed(message)}"))
    elif deliveries and drops and len(deliveries) + len(drops) > copies:
        last = max(deliveries[-1], drops[-1], key=lambda r: r["seq"])
        found.append(_violation(last, actors, message, f"{name} was dropped ({drops[0].get('reason')}) and still "
                                f"delivered to {actors.label(deliveries[0]['actor'])}; {_allowed(message)}"))
    replies = [o for o in message.outcomes if o["kind"] == "reply"]
    if replies and not any(d["seq"] < replies[0]["seq"] for d in deliveries):
        found.append(_violation(replies[0], actors, message, f"{name} got a reply from "
                                f"{actors.label(replies[0].get('actor'))} but was never delivered"))
    if len(message.outcomes) > 1:
        outcomes = ", ".join(o["kind"] for o in message.outcomes)
        found.append(_violation(message.outcomes[1], actors, message, f"{name} was answered "
                                f"{len(message.outcomes)} times ({outcomes}); a request has one outcome"))
    return found


def _duplicates(record: dict, sent: dict) -> bool:
    """Whether ``record`` is a duplicate fault that fired for ``sent``: the runtime records
    it right after the send, with the send's link (sender or "outside", receiver)."""
    return fault_kind(record) == "duplicate" and record.get("link") == [sent.get("actor") or OUTSIDE, sent.get("to")]


def _allowed(message: _Message) -> str:
    if message.duplicated is not None:
        return f"a duplicate fault (#{message.duplicated.get('fault')}) allows two copies at most"
    return "it was sent once, so it may arrive once"


def _violation(r: dict, actors: Actors, message: _Message, text: str) -> Violation:
    """A violation at record ``r`` (the last of its evidence), naming the sender and ``r``'s actor."""
    involved = [x for x in ((message.sent or {}).get("actor"), r.get("actor")) if x]
    evidence = tuple(e for e in message.evidence() if e["seq"] <= r["seq"])
    return Violation(NAME, r["t"], tuple(dict.fromkeys(involved)), text, evidence)
