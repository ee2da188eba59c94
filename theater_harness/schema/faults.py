"""The schema of fault schedules: ``[[fault]]`` tables in scenarios, schedule files (TOML
``[[fault]]``, JSON ``{"fault": [...]}`` or a bare list) and a saved trace's ``faults``.

What each kind takes is the fault model's ``KINDS`` (``faults/model.py``); errors are
ScenarioErrors naming the source, the table (``fault[2]``) and the key.
"""

from __future__ import annotations

from typing import Any

from ..errors import ScenarioError
from ..faults.model import (ACTOR, KINDS, LINK, ON_CALL_KINDS, ON_MESSAGE_KINDS, OUTSIDE, WORLD_HITS,
                            WORLD_KINDS)
from . import _core
from ._core import INT64_MAX, show

TRIGGERS = ("at_ms", "on_call", "on_message")


def _error(source: str, where: str) -> _core.Error:
    def error(key: str | None, message: str) -> ScenarioError:
        return ScenarioError(message, file=source, field=f"{where}.{key}" if key else where)
    return error


def check_fault(raw: Any, *, source: str = "<faults>", where: str = "fault") -> dict[str, Any]:
    """One fault table, validated: the keyword arguments of its ``Fault`` record."""
    error = _error(source, where)
    if not isinstance(raw, dict):
        raise error(None, f"expected a table, got {show(raw)}")
    kind = raw.get("kind")
    if not isinstance(kind, str) or kind not in KINDS:
        raise error("kind", f"{show(kind)} is not a fault kind; kinds: {', '.join(KINDS)}")
    applies, param_types = KINDS[kind]
    known = {"kind", applies if applies != ACTOR else "target", *TRIGGERS, *param_types}
    for key in raw:
        if key not in known:
            raise error(str(key), f"not a key of a {kind!r} fault; its keys: {', '.join(sorted(known))}")
    values: dict[str, Any] = {"kind": kind}
    if applies == ACTOR:
        if not isinstance(raw.get("target"), str) or not raw.get("target"):
            raise error("target", f"a {kind!r} fault needs target = an actor's id, name or path")
        values["target"] = raw["target"]
    elif applies == LINK:
        link = raw.get("link")
        if not (isinstance(link, list) and len(link) == 2 and all(isinstance(x, str) and x for x in link)):
            raise error("link", f"a {kind!r} fault needs link = [from, to] (actor refs, or \"{OUTSIDE}\")")
        values["link"] = (link[0], link[1])
    else:
        groups = raw.get("groups")
        if kind == "heal" and groups is None:
            groups = []
        if not (isinstance(groups, list) and all(isinstance(g, list) and g and all(isinstance(x, str) for x in g)
                                                 for g in groups)) or (kind == "partition" and len(groups) < 2):
            raise error("groups", "expected groups = [[actor, ...], [actor, ...], ...] (at least two for a partition)")
        values["groups"] = tuple(tuple(g) for g in groups)
    triggers = [k for k in TRIGGERS if k in raw]
    if len(triggers) > 1:
        raise error(triggers[1], "give one trigger: at_ms, on_call or on_message")
    for key in triggers:
        value = raw[key]
        low = 0 if key == "at_ms" else 1
        if not _core.is_int(value) or value < low:
            raise error(key, f"expected an integer >= {low}, got {show(value)}")
        if value > INT64_MAX:
            raise error(key, f"expected an integer from {low} to {INT64_MAX}, got {show(value)}")
        if key == "on_call" and kind not in ON_CALL_KINDS:
            raise error(key, f"a {kind!r} fault is not applied to a call; use at_ms")
        if key == "on_message" and kind not in ON_MESSAGE_KINDS:
            raise error(key, f"a {kind!r} fault is not applied to a message; use at_ms")
        values[key] = value
    params = []
    for name, kind_type in param_types.items():
        if name in raw:
            value = raw[name]
            if not isinstance(value, kind_type) or isinstance(value, bool):
                raise error(name, f"expected {'an integer' if kind_type is int else 'a string'}, got {show(value)}")
            if kind_type is int and not 0 <= value <= INT64_MAX:
                raise error(name, f"expected an integer from 0 to {INT64_MAX}, got {show(value)}")
            params.append((name, value))
    if kind in WORLD_KINDS:
        _check_world(kind, dict(params), error)
    values["params"] = tuple(params)
    return values


def _check_world(kind: str, params: dict[str, Any], error: _core.Error) -> None:
    """A world fault's parameters beyond their types: what it hits, and how often."""
    for name in ("count", "duration_ms"):
        if params.get(name) == 0:
            raise error(name, f"expected an integer >= 1 (a {kind!r} fault with {name} = 0 would hit nothing)")
    status = params.get("status")
    if status is not None and not 500 <= status <= 599:
        raise error("status", f"expected a 5xx HTTP status (500 to 599), got {show(status)}")
    if params.get("route") == "":
        raise error("route", "expected a URL pattern (fnmatch: * and ?), e.g. \"https://api.example.com/*\"")
    function = params.get("function")
    if function is not None and function not in WORLD_HITS[kind]:
        raise error("function", f"{show(function)} is not a function of {WORLD_KINDS[kind]} that a {kind!r} fault "
                                f"hits; those: {', '.join(WORLD_HITS[kind])}")


def check_faults(raw: Any, *, source: str = "<faults>", where: str = "fault") -> list[dict[str, Any]]:
    """A list of fault tables (``[[fault]]``), each validated (see ``check_fault``)."""
    if not isinstance(raw, list):
        form = " ([[fault]])" if where == "fault" else ""
        raise ScenarioError(f"expected an array of fault tables{form}, got {show(raw)}", file=source, field=where)
    return [check_fault(item, source=source, where=f"{where}[{i}]") for i, item in enumerate(raw)]


def check_schedule(doc: Any, source: str) -> list[dict[str, Any]]:
    """A schedule document: ``{"fault": [...]}``, a bare list of faults, or a saved trace
    (its ``faults``)."""
    if not isinstance(doc, dict):
        return check_faults(doc, source=source)
    if "records" in doc and "faults" in doc:
        return check_faults(doc["faults"], source=source, where="faults")
    unknown = sorted((k for k in doc if k != "fault"), key=str)
    if unknown:
        raise ScenarioError(f"unknown key {unknown[0]!r}; a fault schedule holds only 'fault' "
                            f"(an array of fault tables, [[fault]] in TOML)", file=source, field=str(unknown[0]))
    return check_faults(doc.get("fault", []), source=source)


def parse_schedule(text: str, source: str, *, json_text: bool) -> list[dict[str, Any]]:
    """A schedule file's text (JSON or TOML), parsed and validated."""
    def error(field: str | None, message: str) -> ScenarioError:
        return ScenarioError(message, file=source, field=field)

    doc = _core.parse_json(text, error) if json_text else _core.parse_toml(text, error)
    return check_schedule(doc, source)
