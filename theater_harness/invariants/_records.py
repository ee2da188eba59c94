"""Reading a trace: its records as dicts, the tree of actors its spawn records describe,
and the few facts the invariants read out of Theater's event data."""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass
from typing import Any, Iterator, Iterable

from ..exit import CAUSE_PARENT_ENDED, CAUSE_SUPERVISOR, NORMAL, SHUTDOWN  # noqa: F401  (causes: re-exported)

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
    """The actors of a trace: who they are, who supervises whom, in start order."""

    def __init__(self, records: Iterable[dict]):
        self.info: dict[str, ActorInfo] = {}
        self.children: dict[str, list[str]] = {}  # parent id -> child ids, in start order
        for r in records:
            if r["kind"] != "spawn":
                continue
            a = ActorInfo(r["actor"], r.get("name", r["actor"]), r.get("parent"), r.get("restart", "permanent"),
                          r.get("recovery", "init"), r.get("init_state"), r.get("supervision"), r)
            self.info[a.id] = a
            self.children.setdefault(a.id, [])
            if a.parent is not None:
                self.children.setdefault(a.parent, []).append(a.id)
        names = [a.name for a in self.info.values()]
        self._unique = {n for n in names if names.count(n) == 1}

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
        """A readable name: the actor's name, with its id's head when the name is not unique."""
        if actor_id is None:
            return "the outside"
        info = self.info.get(actor_id)
        if info is None:
            return actor_id
        return info.name if info.name in self._unique else f"{info.name}#{actor_id[:8]}"

    def labels(self, ids: Iterable[str]) -> str:
        return "[" + ", ".join(self.label(i) for i in ids) + "]"


_SHARED: list = [None, None]  # while check_all runs: the records all its invariants read, their Actors


@contextlib.contextmanager
def shared_actors(records: list[dict]) -> Iterator[None]:
    """While the block runs, ``actors_of(records)`` makes ``Actors(records)`` once: the
    invariants of one ``check_all`` read the same records, unchanged."""
    previous = list(_SHARED)
    _SHARED[:] = [records, None]
    try:
        yield
    finally:
        _SHARED[:] = previous


def actors_of(records: list[dict]) -> Actors:
    """``Actors(records)``; shared by the invariants of one ``check_all`` (``shared_actors``)."""
    if _SHARED[0] is not records:
        return Actors(records)
    if _SHARED[1] is None:
        _SHARED[1] = Actors(records)
    return _SHARED[1]


def wasm_event(record: dict) -> tuple[str, str, Any] | None:
    """For a ``wasm`` event record: (``WasmCall`` | ``WasmResult`` | ``WasmError``, the
    function name, the event body); None for other events."""
    if record.get("event_type") != "wasm" or not isinstance(record.get("data"), str):
        return None
    try:
        data = json.loads(record["data"])
    except ValueError:
        return None
    for tag in ("WasmCall", "WasmResult", "WasmError"):
        if tag in data:
            return tag, data[tag].get("function_name", ""), data[tag]
    return None


def call_params(body: dict) -> Any:
    """A ``WasmCall``'s params (JSON text as a list of byte values), decoded; None if not JSON."""
    try:
        return json.loads(bytes(body.get("params", [])))
    except ValueError:
        return None
