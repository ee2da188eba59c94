"""The schema of scenario files (``*.scenario.toml``; the format is in ``scenario/load.py``).

``check_scenario`` validates a parsed scenario whole (every table, every reference from one
table to another, every manifest it names, the fault schedule, the budgets: at most ``MAX_MESSAGES`` messages, at
most ``MAX_EXAMPLES`` explored schedules) and gives it back normalised: defaults filled in,
manifests resolved, faults as the keyword arguments of their records. Errors are
ScenarioErrors naming the file, the table and the key (``workload[0].until_ms``).

A ``call`` (in ``[[message]]`` or ``[[workload]]``) names an export of its target's module,
checked now against the module itself (``"counter.add"``, or a Theater export by its full
name, ``"theater:simple/message-server-client.handle-send"``); its ``args`` are TOML values
that have a typed form (no dates or times, integers within 64 bits), converted by the
runtime by the types the actor declares (``Runtime.call_later``).

``[world]`` gives the run its outside world (``theater_harness.world``), checked now and
given back as a ``World`` (a ``files_from`` folder read once, here): each file, variable,
route and label by ``World``'s own rules, the error naming its key
(``world.http[1].status``, ``world.files."app/config.json"``).
"""

from __future__ import annotations

import functools
import inspect
import json
import re
from pathlib import Path
from typing import Any

from ..errors import ScenarioError
from ..examples import resolve
from ..exit import KINDS as EXIT_KINDS
from ..faults.model import KINDS as FAULT_KINDS
from ..supervision.spec import RECOVERY_MODES, RESTART_TYPES
from . import _core
from .faults import check_faults
from .tree import check_child_rules, check_policy

EXPECTATIONS = ("running", "failed", "stopped", "any")
TOP_KEYS = ("name", "description", "seed", "end_ms", "actor", "message", "stop", "runtime", "workload", "fault",
            "explore", "invariants", "policy", "xfail", "world")
ACTOR_KEYS = ("name", "manifest", "supervision", "init_state", "parent", "expect", "expect_exit",
              "expect_incarnation", "restart", "recovery", "significant")
# [runtime]: each option's lowest value (the highest is INT64_MAX), as Runtime(...) checks them.
RUNTIME_OPTIONS = {"fuel": 1, "memory": 65536, "request_timeout_ms": 1, "message_latency_ms": 0, "epoch_ms": 0}


def runtime_options() -> dict[str, int]:
    """Every key a ``[runtime]`` table may hold, with its lowest value: ``RUNTIME_OPTIONS``
    and the run's bounds (``limits.LIMIT_OPTIONS``, each an integer >= 1)."""
    try:
        from ..limits import LIMIT_OPTIONS
    except ModuleNotFoundError as exc:  # pragma: no cover - a build without resource bounds
        if exc.name != f"{__package__.rpartition('.')[0]}.limits":
            raise
        LIMIT_OPTIONS = ()
    return {**RUNTIME_OPTIONS, **{name: 1 for name in LIMIT_OPTIONS}}


MAX_MESSAGES = 100_000  # [[message]]s and every [[workload]]'s: ~12 s and ~400 MB of run
MAX_EXAMPLES = 1_000_000  # [explore] examples (a run each)
MAX_FAULTS = 1_000  # [explore] max_faults


@functools.lru_cache(maxsize=None)
def shared_faker() -> Any:
    """One Faker per process (making one costs milliseconds); a run re-seeds it with
    ``seed_instance`` before use, which makes its payloads the same as a fresh one's."""
    from faker import Faker

    return Faker()


def faker_problem(name: str) -> str | None:
    """Why ``name`` is not a Faker provider a workload can call with no arguments, or None."""
    from faker.providers import BaseProvider

    fake = shared_faker()
    hint = "e.g. word, sentence, name"
    method = getattr(fake, name, None) if name.isidentifier() and not name.startswith("_") else None
    if not callable(method) or not isinstance(getattr(method, "__self__", None), BaseProvider):
        return f"{name!r} is not a Faker provider ({hint})"
    try:
        required = [p.name for p in inspect.signature(method).parameters.values()
                    if p.default is p.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
    except (TypeError, ValueError):  # pragma: no cover - a provider without a signature
        required = []
    if required:
        return (f"the Faker provider {name!r} needs arguments ({', '.join(required)}); a workload calls it with "
                f"none: pick one that needs none ({hint})")
    try:
        method()
    except Exception as exc:  # an optional dependency missing, ...: refuse it now, not mid-run
        return f"the Faker provider {name!r} fails when called: {type(exc).__name__}: {str(exc)[:120]}"
    return None


def check_scenario(doc: dict, path: Path) -> dict[str, Any]:
    """Validate a parsed scenario file (see the module's docstring)."""
    def error(field: str | None, message: str) -> ScenarioError:
        return ScenarioError(message, file=path, field=field)

    f = _core.Fields(error)
    f.unknown(doc, TOP_KEYS, "")
    out: dict[str, Any] = {
        "name": f.string(doc, "name", ""),
        "description": f.string(doc, "description", "") or "",
        "xfail": f.string(doc, "xfail", ""),
        "seed": f.integer(doc, "seed", ""),
        "end_ms": f.integer(doc, "end_ms", ""),
    }
    actors = _actors(f, doc, path)
    _manifests(f, actors)
    names = {a["name"] for a in actors}
    out["actors"] = actors
    out["steps"] = _messages(f, doc, names) + _stops(f, doc, names)
    out["workloads"] = _workloads(f, doc, names, out["end_ms"])
    _exports(f, actors, [(s["where"], s["target"], s["export"]) for s in out["steps"] if s["action"] == "call"]
             + [(w["where"], w["to"], w["call"]) for w in out["workloads"] if w["call"] is not None])
    sends = len(out["steps"]) + sum(max(0, (w["until_ms"] - w["from_ms"]) // w["every_ms"] + 1)
                                    for w in out["workloads"])
    if sends > MAX_MESSAGES:
        heaviest = max(out["workloads"], key=lambda w: (w["until_ms"] - w["from_ms"]) // w["every_ms"],
                       default={"where": "message"})
        raise error(heaviest["where"], f"the scenario would send {sends} messages; at most {MAX_MESSAGES} "
                                       f"(a run holds them all): raise every_ms or lower until_ms")
    options = f.table(doc.get("runtime", {}), "runtime", "expected a table")
    known = runtime_options()
    f.unknown(options, tuple(known), "runtime")
    for key, low in known.items():
        f.integer(options, key, "runtime", low=low)
    out["options"] = dict(options)
    out["faults"] = check_faults(doc.get("fault", []), source=str(path))
    out["explore"] = _explore(f, doc, actors, out["faults"])
    out["invariants"] = _invariants(f, doc)
    policies = f.table(doc.get("policy", {}), "policy", "expected tables [policy.<supervisor name>]")
    for name in policies:
        if name not in names:
            raise error(f"policy.{name}", f"{name!r} is not an actor of this scenario")
    out["policies"] = {name: check_policy(f, table, f"policy.{name}", min_period_ms=1)
                       for name, table in policies.items()}
    out["world"] = _world(f, doc["world"], path) if "world" in doc else None
    return out


def _tables(f: _core.Fields, doc: dict, key: str) -> list[dict]:
    value = doc.get(key, [])
    if not isinstance(value, list) or not all(isinstance(t, dict) for t in value):
        raise f.error(key, f"expected an array of tables ([[{key}]])")
    return value


def _actors(f: _core.Fields, doc: dict, path: Path) -> list[dict[str, Any]]:
    actors: list[dict[str, Any]] = []
    by_name: dict[str, dict[str, Any]] = {}
    for i, table in enumerate(_tables(f, doc, "actor")):
        where = f"actor[{i}]"
        f.unknown(table, ACTOR_KEYS, where)
        name = f.string(table, "name", where, required=True)
        problem = _core.name_problem(name)
        if problem is not None:
            raise f.error(f"{where}.name", problem)
        if name in by_name:
            raise f.error(f"{where}.name", f"another actor is already named {name!r}")
        manifest = f.path(table, "manifest", where, "expected a path to a manifest, relative to the scenario file")
        policy = check_policy(f, table["supervision"], f"{where}.supervision") if "supervision" in table else None
        if (manifest is None) == (policy is None):
            raise f.error(where, "give either manifest = \"...\" or supervision = { strategy = ... } "
                                 "(a supervisor the harness generates)")
        parent = f.string(table, "parent", where)
        parent_spec = by_name.get(parent) if parent is not None else None
        if parent is not None and parent_spec is None:
            raise f.error(f"{where}.parent", f"{parent!r} is not an actor listed before this one")
        depth = 0 if parent_spec is None else parent_spec["depth"] + 1
        if depth >= _core.MAX_TREE_DEPTH:
            raise f.error(f"{where}.parent", f"the tree is deeper than {_core.MAX_TREE_DEPTH} levels")
        restart = f.choice(table, "restart", where, RESTART_TYPES)
        recovery = f.choice(table, "recovery", where, RECOVERY_MODES)
        significant = f.boolean(table, "significant", where)
        if (restart or recovery or significant) and (parent_spec is None or parent_spec["policy"] is None):
            key = "restart" if restart else "recovery" if recovery else "significant"
            raise f.error(f"{where}.{key}",
                          "restart, recovery and significant are set by a generated supervisor (parent with a "
                          "supervision table); for a supervisor's own manifest, set them in its "
                          "[supervision.children.<name>]")
        check_child_rules(f, f"{where}.significant", restart or "permanent", significant,
                          parent_spec["policy"] if parent_spec else None)
        init_state = table.get("init_state")
        if init_state is not None:
            if not isinstance(init_state, (dict, list, str)):
                raise f.error(f"{where}.init_state", "expected a table or an array (sent as JSON, merged over the "
                                                     "manifest's state) or a string (sent as it is), "
                                                     f"got {_core.show(init_state)}")
            problem = _core.json_problem(init_state, f"{where}.init_state")
            if problem is not None:
                raise f.error(*problem)
        try:
            manifest_path = resolve(manifest, path.parent) if manifest else None
        except ValueError as e:
            raise f.error(f"{where}.manifest", str(e)) from None
        actor = {"name": name, "manifest": manifest_path, "init_state": init_state, "parent": parent,
                 "expect": f.choice(table, "expect", where, EXPECTATIONS, "running"),
                 "expect_exit": f.choice(table, "expect_exit", where, EXIT_KINDS),
                 "expect_incarnation": f.integer(table, "expect_incarnation", where, low=1),
                 "policy": policy, "restart": restart, "recovery": recovery, "significant": significant,
                 "depth": depth}
        actors.append(actor)
        by_name[name] = actor
    if not actors:
        raise f.error("actor", "a scenario needs at least one [[actor]]")
    return actors


def _manifests(f: _core.Fields, actors: list[dict[str, Any]]) -> None:
    """Every manifest the scenario names, read and validated now (its own schema, its
    [supervision] included), so that no run starts with a bad one."""
    from ..errors import HarnessError
    from ..manifest import load_manifest

    for i, actor in enumerate(actors):
        if actor["manifest"] is not None:
            try:
                load_manifest(actor["manifest"])
            except HarnessError as exc:
                raise f.error(f"actor[{i}].manifest", str(exc)) from None


def _target(f: _core.Fields, table: dict, key: str, where: str, names: set[str]) -> str:
    target = f.string(table, key, where, required=True)
    if target not in names:
        raise f.error(f"{where}.{key}", f"{target!r} is not an actor of this scenario ({', '.join(sorted(names))})")
    return target


MESSAGE_KEYS = ("at", "to", "send", "request", "call", "args", "expect_reply", "expect_result", "expect_error")
CALL_HINT = 'call = "iface.fn" (an export, e.g. "counter.add")'


def _messages(f: _core.Fields, doc: dict, names: set[str]) -> list[dict[str, Any]]:
    steps = []
    for i, table in enumerate(_tables(f, doc, "message")):
        where = f"message[{i}]"
        f.unknown(table, MESSAGE_KEYS, where)
        at = f.integer(table, "at", where, required=True)
        to = _target(f, table, "to", where, names)
        kinds = [k for k in ("send", "request", "call") if k in table]
        if len(kinds) != 1:
            raise f.error(where, "give exactly one of 'send' or 'request' (the payload text) or 'call' (an export, "
                                 "e.g. call = \"counter.add\")")
        kind = kinds[0]
        if not isinstance(table.get("expect_error", False), bool):
            raise f.error(f"{where}.expect_error", "expected true or false")
        expect_error = table.get("expect_error", False)
        if kind == "call":
            if "expect_reply" in table:
                raise f.error(f"{where}.expect_reply", "expect_reply applies to a request; a call's result is "
                                                       "checked with expect_result (its WAVE text, e.g. \"6\")")
            export = f.string(table, "call", where, nonempty=True)
            args = _args(f, table, where)
            result = _expect_result(f, table, where)
            if result is not None and expect_error:
                raise f.error(where, "give expect_result or expect_error = true, not both")
            steps.append({"at": at, "action": "call", "target": to, "export": export, "args": args,
                          "expect_result": result, "expect_error": expect_error, "where": where})
            continue
        for key in ("args", "expect_result"):
            if key in table:
                raise f.error(f"{where}.{key}", f"{key} applies to a call ({CALL_HINT}), not a {kind}")
        reply = f.string(table, "expect_reply", where)
        if kind == "send" and (reply is not None or expect_error):
            raise f.error(where, "expect_reply and expect_error apply to a request, not a send")
        steps.append({"at": at, "action": kind, "target": to, "payload": f.string(table, kind, where),
                      "expect_reply": reply, "expect_error": expect_error, "where": where})
    return steps


def _args(f: _core.Fields, table: dict, where: str) -> tuple:
    """A call's ``args``: an array of TOML values that have a typed form."""
    args = table.get("args", [])
    if not isinstance(args, list):
        raise f.error(f"{where}.args", "expected an array of the call's arguments (args = [5]; [] for none), "
                                       f"got {_core.show(args)}")
    problem = _value_problem(args, f"{where}.args")
    if problem is not None:
        raise f.error(*problem)
    return tuple(args)


def _value_problem(value: Any, where: str) -> tuple[str, str] | None:
    """(field, what is wrong) for the first part of a call's arguments that has no typed
    value (a TOML date or time, an integer beyond 64 bits), or None."""
    stack = [(value, where)]
    while stack:
        item, at = stack.pop()
        if isinstance(item, (str, bool, float)):
            continue
        if _core.is_int(item):
            if not -(1 << 63) <= item <= (1 << 64) - 1:
                return at, f"the integer {_core.show(item)} does not fit in 64 bits (s64 or u64)"
        elif isinstance(item, dict):
            stack.extend((v, f"{at}.{k}") for k, v in item.items())
        elif isinstance(item, list):
            stack.extend((v, f"{at}[{i}]") for i, v in enumerate(item))
        else:
            return at, f"{_core.show(item)} has no typed value; write it as a string"
    return None


def _expect_result(f: _core.Fields, table: dict, where: str) -> str | None:
    if "expect_result" not in table:
        return None
    value = table["expect_result"]
    if not isinstance(value, str):
        raise f.error(f"{where}.expect_result", "expected a string, the result's WAVE text "
                                                f"(expect_result = \"6\"), got {_core.show(value)}")
    return value


def _exports(f: _core.Fields, actors: list[dict[str, Any]], calls: list[tuple[str, str, str]]) -> None:
    """Every export a call names (``calls``: where, target, export), looked up in its
    target's module now (loaded once per process; the run loads the same), so that no run
    starts with a call that cannot be made."""
    from ..errors import HarnessError
    from ..manifest import load_manifest
    from ..wasm import load_component

    by_name = {a["name"]: a for a in actors}
    for where, target, export in calls:
        actor = by_name[target]
        if actor["manifest"] is None:
            raise f.error(f"{where}.call", f"{target!r} is a supervisor the harness generates: it has no exports of "
                                           "its own to call (call a child, or give the supervisor a manifest)")
        try:
            module = load_component(load_manifest(actor["manifest"]).component)
        except HarnessError as exc:
            raise f.error(f"{where}.call", f"cannot read the actor of {target!r} to check its exports: {exc}") from None
        if module.callable(export) is None:
            raise f.error(f"{where}.call", f"{target!r} ({actor['manifest'].name}) has no export {export!r}; "
                                           f"it exports {', '.join(module.callable_names())}")


def _stops(f: _core.Fields, doc: dict, names: set[str]) -> list[dict[str, Any]]:
    steps = []
    for i, table in enumerate(_tables(f, doc, "stop")):
        where = f"stop[{i}]"
        f.unknown(table, ("at", "actor"), where)
        steps.append({"at": f.integer(table, "at", where, required=True), "action": "stop",
                      "target": _target(f, table, "actor", where, names), "where": where})
    return steps


def _workloads(f: _core.Fields, doc: dict, names: set[str], end_ms: int | None) -> list[dict[str, Any]]:
    workloads = []
    for i, table in enumerate(_tables(f, doc, "workload")):
        where = f"workload[{i}]"
        f.unknown(table, ("to", "every_ms", "from_ms", "until_ms", "send", "faker", "call", "args"), where)
        to = _target(f, table, "to", where, names)
        every = f.integer(table, "every_ms", where, low=1, required=True)
        start = f.integer(table, "from_ms", where) or 0
        until = f.integer(table, "until_ms", where)
        if until is None:
            if end_ms is None:
                raise f.error(f"{where}.until_ms", "missing (needed when the scenario has no end_ms)")
            until = end_ms
        send, faker = f.string(table, "send", where), f.string(table, "faker", where)
        call = f.string(table, "call", where, nonempty=True)
        if sum(x is not None for x in (send, faker, call)) != 1:
            raise f.error(where, "give one of send = \"payload\", faker = \"<provider>\" (e.g. \"word\") or "
                                 f"{CALL_HINT} with args")
        if faker is not None:
            problem = faker_problem(faker)
            if problem is not None:
                raise f.error(f"{where}.faker", problem)
        if call is None and "args" in table:
            raise f.error(f"{where}.args", f"args apply to a call ({CALL_HINT})")
        workloads.append({"to": to, "every_ms": every, "from_ms": start, "until_ms": until, "send": send,
                          "faker": faker, "call": call, "args": _args(f, table, where) if call else (),
                          "where": where})
    return workloads


def _explore(f: _core.Fields, doc: dict, actors: list[dict], faults: list) -> dict[str, Any] | None:
    if "explore" not in doc:
        return None
    table = doc["explore"]
    if _core.is_int(table):
        table = {"examples": table}  # explore = N: N schedules, the other settings' defaults
    if not isinstance(table, dict):
        raise f.error("explore", "expected a number of schedules (explore = 50) or a table: "
                                 "examples, max_faults, kinds, horizon_ms, fork_at_ms")
    f.unknown(table, ("examples", "max_faults", "kinds", "horizon_ms", "fork_at_ms"), "explore")
    kinds = table.get("kinds")
    if kinds is not None and (not isinstance(kinds, list) or not kinds
                              or any(not isinstance(k, str) or k not in FAULT_KINDS for k in kinds)):
        raise f.error("explore.kinds", f"expected a list of fault kinds from: {', '.join(FAULT_KINDS)}")
    examples = f.integer(table, "examples", "explore", low=1, high=MAX_EXAMPLES)
    max_faults = f.integer(table, "max_faults", "explore", low=1, high=MAX_FAULTS)
    explore = {"examples": examples or 50, "max_faults": max_faults or 3, "kinds": tuple(kinds) if kinds else None,
               "horizon_ms": f.integer(table, "horizon_ms", "explore", low=1),
               "fork_at_ms": f.integer(table, "fork_at_ms", "explore", low=0)}
    horizon = explore["horizon_ms"] or _core_end(doc)
    if explore["fork_at_ms"] is not None and horizon is not None and explore["fork_at_ms"] > horizon:
        raise f.error("explore.fork_at_ms", f"{explore['fork_at_ms']} is after the faults' horizon ({horizon} ms): "
                                            "faults fall from fork_at_ms to horizon_ms (or end_ms)")
    if faults:
        raise f.error("explore", "give either a fixed schedule ([[fault]]) or [explore], not both")
    if sum(1 for a in actors if a["parent"] is None) != 1:
        raise f.error("explore", "exploring needs one root actor (put the others under it)")
    return explore


def _core_end(doc: dict) -> int | None:
    end = doc.get("end_ms")
    return end if _core.is_int(end) else None


def _invariants(f: _core.Fields, doc: dict) -> list[str]:
    invariants = doc.get("invariants", ["all"])
    if not isinstance(invariants, list) or not all(isinstance(i, str) for i in invariants):
        raise f.error("invariants", "expected a list of invariant names, or [\"all\"]")
    from ..invariants import INVARIANTS

    for i, name in enumerate(invariants):
        if name != "all" and name not in INVARIANTS:
            raise f.error(f"invariants[{i}]", f"{name!r} is not an invariant; invariants: all, {', '.join(INVARIANTS)}")
    return invariants


WORLD_KEYS = ("files", "files_from", "env", "http", "stores")
ROUTE_KEYS = ("route", "status", "headers", "body", "latency_ms")
_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


def _key(name: str) -> str:
    """``name`` as a TOML key in a field: bare when it may be, else quoted."""
    return name if _BARE_KEY.fullmatch(name) else json.dumps(name, ensure_ascii=False)


def _world(f: _core.Fields, table: Any, path: Path) -> Any:
    """``[world]`` as a ``World``: every entry checked alone first, so that an error names
    its key; then the whole (a file where a folder must be; the folder to copy)."""
    from ..world import World, WorldError

    def checked(where: str, prefix: str, make: Any, *args: Any, whole: str = "", **kwargs: Any) -> Any:
        """``make(*args, **kwargs)``; a WorldError it raises as this file's error at ``where``,
        followed by what the World's field has after ``prefix`` (the entry's part:
        ``.status``), or by ``whole`` when the World's field is not the entry's."""
        try:
            return make(*args, **kwargs)
        except WorldError as exc:
            field = exc.field or ""
            raise f.error(where + (field[len(prefix):] if field.startswith(prefix) else whole), exc.reason) from None

    f.table(table, "world", "expected a table [world] (files, files_from, env, [[world.http]], [world.stores.<id>])")
    f.unknown(table, WORLD_KEYS, "world")
    files: dict = {}
    for name, content in f.table(table.get("files", {}), "world.files", "expected a table of paths to text").items():
        where = f"world.files.{_key(name)}"
        if not isinstance(content, str):
            raise f.error(where, "expected the file's text (a string; \"\" with a key ending in / for an empty "
                                 f"folder), got {_core.show(content)}")
        content = None if name.endswith("/") and not content else content
        files.update(checked(where, f"files[{name!r}]", World, files={name: content}).files)
    env = f.table(table.get("env", {}), "world.env", "expected a table of variable names to strings")
    for name, value in env.items():
        checked(f"world.env.{_key(name)}", f"env[{name!r}]", World, env={name: value})
    http: dict = {}
    for i, route in enumerate(_tables(f, table, "http")):
        where = f"world.http[{i}]"
        f.unknown(route, ROUTE_KEYS, where)
        key = f.string(route, "route", where, required=True,
                       missing='missing: the requests it answers, "METHOD URL-pattern" (e.g. "GET https://x/*")')
        if key in http:
            raise f.error(f"{where}.route", f"{key!r} is the route of an earlier [[world.http]]: the first route "
                                            "that matches a request answers it, so this one never would")
        response = {k: v for k, v in route.items() if k != "route"}
        (checked_route,) = checked(where, f"http[{key!r}]", World, whole=".route", http={key: response}).routes
        http[key] = checked_route.response
    stores = f.table(table.get("stores", {}), "world.stores", "expected tables [world.stores.<store id>]")
    for store_id, labels in stores.items():
        where = f"world.stores.{_key(store_id)}"
        for label, content in f.table(labels, where, "expected a table of labels to content (strings)").items():
            if not isinstance(content, str):
                raise f.error(f"{where}.{_key(label)}", f"expected the content (a string), got {_core.show(content)}")
        checked(where, f"stores[{store_id!r}]", World, stores={store_id: labels})
    given = {"files": files, "env": env, "http": http, "stores": stores}
    folder = f.path(table, "files_from", "world", "expected a folder, relative to the scenario file")
    if folder is None:
        return checked("world.files", "files", World, **given)
    return checked("world.files_from", "from_folder", World.from_folder, path.parent / folder, **given)
