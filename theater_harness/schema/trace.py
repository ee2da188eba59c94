"""The schema of saved traces (``Trace.to_json``: what ``run --trace-out`` writes, what
``show``, ``replay`` and the report functions read).

    {"format": "theater-harness-trace/1", "seed": 7, "scenario": "...", "scenario_path": "...",
     "faults": [{...}], "records": [{"seq": 0, "t": 0, "kind": "spawn", "actor": "...", ...}]}

A record is a flat object: ``t`` (virtual ms) and ``kind`` always, ``seq`` and ``actor``
usually, and its kind's fields. The schema holds every field a view reads by type (an
actor id is text, ``reason`` a table, ``msg`` and ``request`` scalars that identify a
message), so that no view meets a value it cannot show; unknown kinds and fields are kept
as they are. Spawns make a tree: an actor is spawned once, never under itself, at most
``MAX_TREE_DEPTH`` deep. Errors are TraceFileErrors (also ValueErrors) naming the file and
the field (``records[12].reason.kind``).
"""

from __future__ import annotations

from typing import Any

from ..errors import ScenarioError, TraceFileError
from ..trace import FORMAT
from . import _core
from .faults import check_faults

_SCALAR = (str, int, float, bool, type(None))
_ID_FIELDS = ("actor", "parent", "failed", "supervisor", "child", "to")  # actor ids, or null
_ID_LISTS = ("stop", "restart", "drop")  # lists of actor ids (restart-plan)
_REQUIRED = {"replay": ("calls", "of"), "escalate": ("restarts", "intensity", "period_ms"), "run-ended": ("reason",),
             "rpc": ("function", "issued_ms", "outcome"),
             "world": ("interface", "function", "outcome", "latency_ms")}
_WORLD_OUTCOMES = ("ok", "err")
_SEED_RANGE = (-(1 << 63), (1 << 64) - 1)


def _error(source: str) -> _core.Error:
    def error(field: str | None, message: str) -> TraceFileError:
        return TraceFileError(message, file=source, field=field)
    return error


def check_trace(doc: Any, source: str) -> dict[str, Any]:
    """A parsed trace, validated: its header (``seed``, ``scenario``, ``scenario_path``,
    ``faults`` as fault keyword arguments) and its records."""
    error = _error(source)
    if not isinstance(doc, dict) or "records" not in doc:
        raise error(None, "not a theater-harness trace (no 'records')")
    if doc.get("format") != FORMAT or not isinstance(doc.get("records"), list):
        raise error(None, f"not a trace: expected a dict with format {FORMAT!r} and a 'records' list, got format "
                          f"{_core.show(doc.get('format'))}")
    seed = doc.get("seed")
    if seed is not None and (not _core.is_int(seed) or not _SEED_RANGE[0] <= seed <= _SEED_RANGE[1]):
        raise error("seed", f"expected an integer of 64 bits or null, got {_core.show(seed)}")
    for key in ("scenario", "scenario_path"):
        if doc.get(key) is not None and not isinstance(doc[key], str):
            raise error(key, f"expected a string or null, got {_core.show(doc[key])}")
    if doc.get("scenario_path") is not None:
        problem = _core.path_problem(doc["scenario_path"])
        if problem is not None:
            raise error("scenario_path", problem)
    try:
        faults = check_faults(doc.get("faults", []), source=source, where="faults")
    except ScenarioError as exc:  # the fault schedule's own schema, reported as the trace's error
        raise TraceFileError(exc.reason, file=source, field=exc.field) from None
    return {"seed": seed, "scenario": doc.get("scenario"), "scenario_path": doc.get("scenario_path"),
            "faults": faults, "records": check_records(doc["records"], source)}


def check_records(records: Any, source: str) -> list[dict]:
    """A trace's records, validated (see the module's docstring); the same list."""
    error = _error(source)
    if not isinstance(records, (list, tuple)):
        raise error("records", f"expected a list of records, got {_core.show(records)}")
    depth: dict[str, int] = {}  # actor id -> its depth in the tree of spawns
    for i, r in enumerate(records):
        where = f"records[{i}]"
        if not isinstance(r, dict) or "t" not in r or "kind" not in r:
            missing = "" if not isinstance(r, dict) else f": no {'t' if 't' not in r else 'kind'}"
            raise error(where, f"record {i} is not a trace record (a dict with 't' and 'kind'){missing}, "
                               f"got {_core.show(r)}")
        t, kind = r["t"], r["kind"]
        if not _core.is_int(t) or not 0 <= t <= _core.INT64_MAX:
            raise error(f"{where}.t", f"expected a virtual time (an integer from 0 to {_core.INT64_MAX}), "
                                      f"got {_core.show(t)}")
        if not isinstance(kind, str) or not kind:
            raise error(f"{where}.kind", f"expected a record kind (a non-empty string), got {_core.show(kind)}")
        if "seq" in r and (not _core.is_int(r["seq"]) or not 0 <= r["seq"] <= _core.INT64_MAX):
            raise error(f"{where}.seq", f"expected an integer from 0 to {_core.INT64_MAX}, got {_core.show(r['seq'])}")
        for key in _ID_FIELDS:
            if r.get(key) is not None and not isinstance(r[key], str):
                raise error(f"{where}.{key}", f"expected an actor id (a string) or null, got {_core.show(r[key])}")
        for key in ("msg", "request"):
            if key in r and not isinstance(r[key], _SCALAR):
                raise error(f"{where}.{key}", f"expected a message id (a string or a number), got {_core.show(r[key])}")
        _check_kind(r, kind, where, error)
        if kind == "spawn":
            actor, parent = r.get("actor"), r.get("parent")
            if actor is None:
                raise error(f"{where}.actor", "a spawn record names the actor it spawned")
            if actor in depth:
                raise error(f"{where}.actor", f"actor {actor[:40]!r} is spawned twice")
            if parent == actor:
                raise error(f"{where}.parent", f"actor {actor[:40]!r} is spawned under itself")
            depth[actor] = depth.get(parent, -1) + 1 if parent is not None else 0
            if depth[actor] >= _core.MAX_TREE_DEPTH:
                raise error(f"{where}.parent", f"the tree of spawns is deeper than {_core.MAX_TREE_DEPTH} levels")
    return records if isinstance(records, list) else list(records)


def _check_kind(r: dict, kind: str, where: str, error: _core.Error) -> None:
    """The fields a record of this kind holds, by type, where a view reads them."""
    for key in _REQUIRED.get(kind, ()):
        if key not in r:
            raise error(f"{where}.{key}", f"missing; a {kind!r} record has {', '.join(_REQUIRED[kind])}")
    if kind == "spawn":
        for key in ("name",):
            if r.get(key) is not None and not isinstance(r[key], str):
                raise error(f"{where}.{key}", f"expected a string or null, got {_core.show(r[key])}")
        supervision = r.get("supervision")
        if supervision is not None:
            if not isinstance(supervision, dict):
                raise error(f"{where}.supervision", f"expected a table or null, got {_core.show(supervision)}")
            if supervision.get("strategy") is not None and not isinstance(supervision["strategy"], str):
                raise error(f"{where}.supervision.strategy",
                            f"expected a string or null, got {_core.show(supervision['strategy'])}")
    elif kind == "start":
        _int(r, "incarnation", where, error)
        if r.get("state") is not None and not isinstance(r["state"], str):
            raise error(f"{where}.state", f"expected a state digest (a string) or null, got {_core.show(r['state'])}")
    elif kind in ("exit", "run-ended"):
        if kind == "exit" and "status" in r and not isinstance(r["status"], str):
            raise error(f"{where}.status", f"expected a status (a string), got {_core.show(r['status'])}")
        reason = r.get("reason")
        if reason is not None or kind == "run-ended":
            if not isinstance(reason, dict):
                raise error(f"{where}.reason", f"expected an exit reason (a table), got {_core.show(reason)}")
            if kind == "run-ended":
                for key in ("kind", "message"):
                    if key not in reason:
                        raise error(f"{where}.reason.{key}", "missing; an exit reason has kind and message")
            if reason.get("kind") is not None and not isinstance(reason["kind"], str):
                raise error(f"{where}.reason.kind",
                            f"expected an exit kind (a string), got {_core.show(reason['kind'])}")
            _int(reason, "incarnation", f"{where}.reason", error)
    elif kind == "restart-plan":
        for key in _ID_LISTS:
            ids = r.get(key)
            if ids and (not isinstance(ids, list) or not all(i is None or isinstance(i, str) for i in ids)):
                raise error(f"{where}.{key}", f"expected a list of actor ids, got {_core.show(ids)}")
    elif kind == "replay":
        if r.get("divergences") is not None and not isinstance(r["divergences"], list):
            raise error(f"{where}.divergences", f"expected a list or null, got {_core.show(r['divergences'])}")
    elif kind == "world":  # a call into the outside world (host/world_calls.py)
        for key in ("interface", "function"):
            if not isinstance(r[key], str):
                raise error(f"{where}.{key}", f"expected a string, got {_core.show(r[key])}")
        if r["outcome"] not in _WORLD_OUTCOMES:
            raise error(f"{where}.outcome", f"expected one of {', '.join(_WORLD_OUTCOMES)}, got {_core.show(r['outcome'])}")
        _int(r, "latency_ms", where, error)
    elif kind in ("send", "request"):
        delay = r.get("delay_ms")
        if delay.__class__ is int and not 0 <= delay <= _core.INT64_MAX:
            raise error(f"{where}.delay_ms",
                        f"expected an integer from 0 to {_core.INT64_MAX}, got {_core.show(delay)}")


def _int(table: dict, key: str, where: str, error: _core.Error) -> None:
    if key in table and (not _core.is_int(table[key]) or not 0 <= table[key] <= _core.INT64_MAX):
        raise error(f"{where}.{key}", f"expected an integer from 0 to {_core.INT64_MAX}, got {_core.show(table[key])}")


def read_trace(path: Any) -> dict[str, Any]:
    """A trace file, read, parsed and validated: ``check_trace``'s result, and ``doc``, the
    whole document (a replay compares its own trace with it)."""
    source = str(path)
    error = _error(source)
    doc = _core.parse_json(_core.read_text(path, error, cannot="cannot read the trace file",
                                           not_found="trace file not found"), error)
    checked = check_trace(doc, source)
    checked["doc"] = doc
    return checked


def parse_trace(text: str | bytes, source: str = "<trace>") -> dict[str, Any]:
    """Trace JSON text, parsed and validated (``check_trace``'s result and ``doc``)."""
    error = _error(source)
    doc = _core.parse_json(text, lambda field, message: error(field, message.replace(
        "not valid JSON", "not a trace: the text is not JSON", 1)))
    checked = check_trace(doc, source)
    checked["doc"] = doc
    return checked
