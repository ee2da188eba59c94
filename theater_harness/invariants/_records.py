"""Reading a trace: its records as dicts, the tree of actors its spawn records describe,
and the few facts the invariants read out of Theater's event data."""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass, replace
from typing import Any, Iterable

from ..exit import CAUSE_PARENT_ENDED, CAUSE_SUPERVISOR, NORMAL, SHUTDOWN  # noqa: F401  (causes: re-exported)
from ._violation import Violation

NOT_ABNORMAL = (NORMAL, SHUTDOWN)  # exit kinds that are not failures (OTP: normal, shutdown)
INIT = "theater:simple/actor.init"


def records_of(source: Any) -> list[dict]:
    """The trace records, as dicts, of a ``Runtime``, a ``Trace``, the trace JSON text (or
    its parsed dict), or a list of record dicts (returned as it is)."""
    if isinstance(source, (str, bytes)):
        source = json.loads(source)
    if isinstance(source, dict):
        if not isinstance(source.get("records"), list):
            raise TypeError("a trace dict has a 'records' list; this one has none")
        return source["records"]
    if isinstance(source, list):
        if not source or (isinstance(source[0], dict) and isinstance(source[-1], dict)):
            return source
        return [r if isinstance(r, dict) else r.to_dict() for r in source]  # TraceRecords
    trace = getattr(source, "trace", source)  # a Runtime has its Trace as .trace
    if hasattr(trace, "dicts"):
        return trace.dicts()
    raise TypeError(f"cannot read trace records from a {type(source).__name__}: give a Runtime, a Trace, "
                    f"the trace JSON text or a list of record dicts")


def fault_kind(record: dict) -> str | None:
    """The kind of fault a ``fault`` record says fired (None for other records). Older
    traces wrote it as ``kind``, over the record's own kind."""
    if record["kind"] == "fault":
        return record.get("fault_kind")
    if record["kind"] == "missed":
        return None  # a fault that found no target: it did nothing
    return record["kind"] if "fault" in record and "describe" in record else None


def abnormal(exit_record: dict) -> bool:
    return exit_record["reason"]["kind"] not in NOT_ABNORMAL


def cause(exit_record: dict) -> str | None:
    return exit_record["reason"].get("cause")


@dataclass
class ActorInfo:
    """An actor as its spawn record describes it."""

    id: str
    name: str
    parent: str | None
    restart: str  # how its parent treats it: permanent, transient, temporary
    recovery: str  # init, last, replay
    init_state: str | None  # digest of the state its first init was given
    supervision: dict | None  # its declared policy, if any
    spawn: dict  # the spawn record


class Actors:
    """The actors of a trace: who they are, who supervises whom, in start order. It grows
    with the spawn records it is given (``on_spawn``), so that a check can read a trace a
    piece at a time.

    Labels name actors in messages: the actor's name, with its id's head when the name is
    not unique in the trace. Whether it is depends on spawns still to come, so ``label``
    writes a mark that ``resolve`` turns into the label once every record is in."""

    def __init__(self, records: Iterable[dict] = ()):
        self.info: dict[str, ActorInfo] = {}
        self.children: dict[str, list[str]] = {}  # parent id -> child ids, in start order
        self._names: Counter[str] = Counter()
        for r in records:
            if r["kind"] == "spawn":
                self.on_spawn(r)

    def on_spawn(self, r: dict) -> None:
        a = ActorInfo(r["actor"], r.get("name", r["actor"]), r.get("parent"), r.get("restart", "permanent"),
                      r.get("recovery", "init"), r.get("init_state"), r.get("supervision"), r)
        if a.id in self.info:
            self._names[self.info[a.id].name] -= 1
        self.info[a.id] = a
        self._names[a.name] += 1
        self.children.setdefault(a.id, [])
        if a.parent is not None:
            self.children.setdefault(a.parent, []).append(a.id)

    def __contains__(self, actor_id: str) -> bool:
        return actor_id in self.info

    def parent(self, actor_id: str) -> str | None:
        info = self.info.get(actor_id)
        return info.parent if info else None

    def descendants(self, actor_id: str) -> list[str]:
        """Every actor under ``actor_id``, depth first, in start order."""
        out: list[str] = []
        for child in self.children.get(actor_id, ()):
            out.append(child)
            out.extend(self.descendants(child))
        return out

    def label(self, actor_id: str | None) -> str:
        """A readable name for a message (a mark until ``resolve``): the actor's name, with
        its id's head when the name is not unique."""
        return "the outside" if actor_id is None else f"{_MARK}{actor_id}{_MARK}"

    def labels(self, ids: Iterable[str]) -> str:
        return "[" + ", ".join(self.label(i) for i in ids) + "]"

    def resolve(self, violation: Violation) -> Violation:
        """The violation with the labels in its message as the trace so far has them."""
        if _MARK not in violation.message:
            return violation
        return replace(violation, message=_MARKED.sub(lambda m: self._label(m[1]), violation.message))

    def _label(self, actor_id: str) -> str:
        info = self.info.get(actor_id)
        if info is None:
            return actor_id
        return info.name if self._names[info.name] == 1 else f"{info.name}#{actor_id[:8]}"


_MARK = "\x00@"  # brackets an actor id in a message until resolve() labels it (ids hold no such text)
_MARKED = re.compile(f"{_MARK}(.*?){_MARK}", re.DOTALL)


def wasm_event(record: dict) -> tuple[str, str] | None:
    """For a ``wasm`` event record: (``WasmCall`` | ``WasmResult`` | ``WasmError``, the
    function name); None for other events."""
    if record.get("event_type") != "wasm" or not isinstance(record.get("data"), str):
        return None
    head = _WASM_HEAD.match(record["data"])
    if head is not None:
        return head[1], head[2]
    body = _wasm_body(record)  # the same JSON, spelled otherwise
    return None if body is None else body[:2]


# The head of the event data the harness writes (``chain.wasm_call_data`` and its
# siblings), read without parsing the rest: a list of every byte of the call's input.
_WASM_HEAD = re.compile(r'\{"category":"Wasm","(WasmCall|WasmResult|WasmError)":\{"function_name":"([^"\\]*)"')


def _wasm_body(record: dict) -> tuple[str, str, dict] | None:
    try:
        data = json.loads(record["data"])
    except ValueError:
        return None
    for tag in ("WasmCall", "WasmResult", "WasmError"):
        if tag in data:
            return tag, data[tag].get("function_name", ""), data[tag]
    return None


def call_params(record: dict) -> Any:
    """A ``WasmCall`` event's params (JSON text as a list of byte values), decoded; None
    if not JSON."""
    body = _wasm_body(record)
    try:
        return None if body is None else json.loads(bytes(body[2].get("params", [])))
    except ValueError:
        return None
