"""Scenario files: actors to spawn, messages to deliver at virtual times, an end time,
and what the run is expected to show.

    name = "counter counts"
    end_ms = 1000                      # optional: run to this virtual time (default: until idle)
    seed = 7                           # optional default seed (the CLI's --seed wins)

    [[actor]]
    name = "counter"                   # the scenario's name for it (unique)
    manifest = "actors/counter.toml"   # relative to the scenario file
    init_state = { count = 5 }         # optional, merged over the manifest's
    parent = "sup"                     # optional: an actor listed earlier
    expect = "running"                 # running (default), failed, stopped or any
    expect_exit = "trap"               # optional: the exit kind when it ended
    expect_incarnation = 2             # optional: how many incarnations it has had

    [[message]]
    at = 10                            # virtual ms
    to = "counter"
    send = "inc"                       # or: request = "get", with expect_reply = "6"

    [[stop]]
    at = 500
    actor = "counter"

Strings in ``init_state`` and payloads may name another actor's id as ``${name}``.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import HarnessError, ScenarioError
from .exit import KINDS
from .runtime import Runtime

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

EXPECTATIONS = ("running", "failed", "stopped", "any")
SUFFIX = ".scenario.toml"
_REF = re.compile(r"\$\{([^}]*)\}")


@dataclass(frozen=True)
class ActorSpec:
    name: str
    manifest: Path
    init_state: Any = None
    parent: str | None = None
    expect: str = "running"
    expect_exit: str | None = None
    expect_incarnation: int | None = None


@dataclass(frozen=True)
class Step:
    at: int
    action: str  # send, request or stop
    target: str
    payload: str = ""
    expect_reply: str | None = None
    expect_error: bool = False
    where: str = ""  # e.g. "message[2]", for reports


@dataclass(frozen=True)
class Scenario:
    name: str
    path: Path
    actors: tuple[ActorSpec, ...]
    steps: tuple[Step, ...]
    end_ms: int | None = None
    seed: int | None = None
    options: dict = field(default_factory=dict)


@dataclass
class ScenarioResult:
    scenario: Scenario
    runtime: Runtime
    seed: int
    ids: dict[str, str]
    problems: list[str]

    @property
    def ok(self) -> bool:
        return not self.problems


def _int(table: dict, key: str, where: str, file: Path, *, low: int = 0, required: bool = False) -> int | None:
    if key not in table:
        if required:
            raise ScenarioError("missing (a whole number of milliseconds)", file=file, field=f"{where}.{key}")
        return None
    value = table[key]
    if not isinstance(value, int) or isinstance(value, bool) or value < low:
        raise ScenarioError(f"expected an integer >= {low}, got {value!r}", file=file, field=f"{where}.{key}")
    return value


def _str(table: dict, key: str, where: str, file: Path, *, required: bool = False) -> str | None:
    if key not in table:
        if required:
            raise ScenarioError("missing", file=file, field=f"{where}.{key}")
        return None
    value = table[key]
    if not isinstance(value, str):
        raise ScenarioError(f"expected a string, got {value!r}", file=file, field=f"{where}.{key}")
    return value


def _unknown(table: dict, known: tuple[str, ...], where: str, file: Path) -> None:
    extra = sorted(set(table) - set(known))
    if extra:
        raise ScenarioError(f"unknown key {extra[0]!r}; known keys: {', '.join(known)}", file=file,
                            field=f"{where}.{extra[0]}" if where else extra[0])


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate a scenario file; errors name the file, the table and the key."""
    path = Path(path)
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ScenarioError("scenario file not found", file=path) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError(f"cannot read the scenario: {exc}", file=path) from None
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"not valid TOML: {exc}", file=path) from None
    _unknown(doc, ("name", "description", "seed", "end_ms", "actor", "message", "stop", "runtime"), "", path)

    actors: list[ActorSpec] = []
    for i, table in enumerate(_tables(doc, "actor", path)):
        where = f"actor[{i}]"
        _unknown(table, ("name", "manifest", "init_state", "parent", "expect", "expect_exit",
                         "expect_incarnation"), where, path)
        name = _str(table, "name", where, path, required=True)
        if any(a.name == name for a in actors):
            raise ScenarioError(f"another actor is already named {name!r}", file=path, field=f"{where}.name")
        manifest = _str(table, "manifest", where, path, required=True)
        parent = _str(table, "parent", where, path)
        if parent is not None and not any(a.name == parent for a in actors):
            raise ScenarioError(f"{parent!r} is not an actor listed before this one", file=path,
                                field=f"{where}.parent")
        expect = _str(table, "expect", where, path) or "running"
        if expect not in EXPECTATIONS:
            raise ScenarioError(f"{expect!r} is not one of {', '.join(EXPECTATIONS)}", file=path,
                                field=f"{where}.expect")
        expect_exit = _str(table, "expect_exit", where, path)
        if expect_exit is not None and expect_exit not in KINDS:
            raise ScenarioError(f"{expect_exit!r} is not an exit kind; kinds: {', '.join(KINDS)}", file=path,
                                field=f"{where}.expect_exit")
        actors.append(ActorSpec(name, (path.parent / manifest), table.get("init_state"), parent, expect,
                                expect_exit, _int(table, "expect_incarnation", where, path, low=1)))
    if not actors:
        raise ScenarioError("a scenario needs at least one [[actor]]", file=path, field="actor")
    names = {a.name for a in actors}

    steps: list[Step] = []
    for i, table in enumerate(_tables(doc, "message", path)):
        where = f"message[{i}]"
        _unknown(table, ("at", "to", "send", "request", "expect_reply", "expect_error"), where, path)
        at = _int(table, "at", where, path, required=True)
        to = _target(table, "to", where, path, names)
        kinds = [k for k in ("send", "request") if k in table]
        if len(kinds) != 1:
            raise ScenarioError("give exactly one of 'send' or 'request' (the payload text)", file=path,
                                field=where)
        payload = _str(table, kinds[0], where, path)
        reply = _str(table, "expect_reply", where, path)
        expect_error = table.get("expect_error", False)
        if not isinstance(expect_error, bool):
            raise ScenarioError("expected true or false", file=path, field=f"{where}.expect_error")
        if kinds[0] == "send" and (reply is not None or expect_error):
            raise ScenarioError("expect_reply and expect_error apply to a request, not a send", file=path,
                                field=where)
        steps.append(Step(at, kinds[0], to, payload, reply, expect_error, where))
    for i, table in enumerate(_tables(doc, "stop", path)):
        where = f"stop[{i}]"
        _unknown(table, ("at", "actor"), where, path)
        steps.append(Step(_int(table, "at", where, path, required=True), "stop",
                          _target(table, "actor", where, path, names), where=where))

    options = doc.get("runtime", {})
    if not isinstance(options, dict):
        raise ScenarioError("expected a table", file=path, field="runtime")
    known = ("fuel", "memory", "request_timeout_ms", "message_latency_ms")
    _unknown(options, known, "runtime", path)
    for key in options:
        _int(options, key, "runtime", path, low=1 if key != "message_latency_ms" else 0)

    return Scenario(
        name=_str(doc, "name", "", path) or path.name.removesuffix(SUFFIX),
        path=path,
        actors=tuple(actors),
        steps=tuple(sorted(steps, key=lambda s: s.at)),  # stable: file order within an instant
        end_ms=_int(doc, "end_ms", "", path),
        seed=_int(doc, "seed", "", path),
        options=dict(options),
    )


def _tables(doc: dict, key: str, path: Path) -> list[dict]:
    value = doc.get(key, [])
    if not isinstance(value, list) or not all(isinstance(t, dict) for t in value):
        raise ScenarioError(f"expected an array of tables ([[{key}]])", file=path, field=key)
    return value


def _target(table: dict, key: str, where: str, path: Path, names: set[str]) -> str:
    target = _str(table, key, where, path, required=True)
    if target not in names:
        raise ScenarioError(f"{target!r} is not an actor of this scenario ({', '.join(sorted(names))})",
                            file=path, field=f"{where}.{key}")
    return target


def _substitute(value: Any, ids: dict[str, str], path: Path, where: str) -> Any:
    """Replace ``${name}`` with that actor's id, in strings nested anywhere in ``value``."""
    if isinstance(value, str):
        def ref(match: re.Match) -> str:
            if match[1] not in ids:
                raise ScenarioError(f"${{{match[1]}}} names no actor spawned before this point "
                                    f"(spawned so far: {', '.join(ids) or 'none'})", file=path, field=where)
            return ids[match[1]]
        return _REF.sub(ref, value)
    if isinstance(value, dict):
        return {k: _substitute(v, ids, path, f"{where}.{k}") for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute(v, ids, path, f"{where}[{i}]") for i, v in enumerate(value)]
    return value


def run_scenario(scenario: Scenario, seed: int | None = None) -> ScenarioResult:
    """Run a scenario in a fresh runtime and check its expectations."""
    seed = seed if seed is not None else (scenario.seed if scenario.seed is not None else 0)
    rt = Runtime(seed, **scenario.options)
    rt.trace.meta["scenario"] = scenario.name
    ids: dict[str, str] = {}
    for i, spec in enumerate(scenario.actors):
        init_state = _substitute(spec.init_state, ids, scenario.path, f"actor[{i}].init_state")
        if isinstance(init_state, str):
            init_state = init_state.encode("utf-8")
        try:
            ids[spec.name] = rt.spawn(spec.manifest, init_state=init_state, name=spec.name,
                                      parent=ids[spec.parent] if spec.parent else None)
        except HarnessError as exc:
            raise ScenarioError(str(exc), file=scenario.path, field=f"actor[{i}]") from None
    pending = []
    for step in scenario.steps:
        target = ids[step.target]
        delay = step.at - rt.now
        if delay < 0:
            raise ScenarioError(f"at = {step.at} ms is before the actors finished spawning ({rt.now} ms)",
                                file=scenario.path, field=f"{step.where}.at")
        payload = _substitute(step.payload, ids, scenario.path, step.where)
        if step.action == "send":
            rt.send(target, payload, delay_ms=delay)
        elif step.action == "request":
            pending.append((step, rt.request(target, payload, delay_ms=delay)))
        else:
            rt.scheduler.at(step.at, rt.stop, target)
    if scenario.end_ms is not None:
        rt.run(until=max(scenario.end_ms, rt.now))
    else:
        rt.run_until_idle()
    return ScenarioResult(scenario, rt, seed, ids, _check(scenario, rt, ids, pending))


def _check(scenario: Scenario, rt: Runtime, ids: dict[str, str], pending: list) -> list[str]:
    problems = []
    for spec in scenario.actors:
        view = rt.actor(ids[spec.name])
        status = "running" if view.alive else view.status
        if spec.expect != "any" and status != spec.expect:
            why = f" ({view.exit_reason})" if view.exit_reason else ""
            problems.append(f"actor {spec.name}: expected {spec.expect}, but it is {status}{why}")
        elif spec.expect_exit and (view.exit_reason is None or view.exit_reason.kind != spec.expect_exit):
            got = view.exit_reason.kind if view.exit_reason else "no exit"
            problems.append(f"actor {spec.name}: expected exit {spec.expect_exit}, got {got}")
        if spec.expect_incarnation is not None and view.incarnation != spec.expect_incarnation:
            problems.append(f"actor {spec.name}: expected incarnation {spec.expect_incarnation}, "
                            f"it is at {view.incarnation}")
    for step, req in pending:
        label = f"{step.where} (request {step.payload!r} to {step.target} at {step.at} ms)"
        expected = None
        if step.expect_reply is not None:
            expected = _substitute(step.expect_reply, ids, scenario.path, f"{step.where}.expect_reply").encode()
        if not req.done:
            problems.append(f"{label}: no reply by the end of the run")
        elif step.expect_error and req.ok:
            problems.append(f"{label}: expected an error, got reply {req.reply!r}")
        elif not step.expect_error and not req.ok:
            problems.append(f"{label}: failed: {req.error}")
        elif expected is not None and req.reply != expected:
            problems.append(f"{label}: expected reply {expected!r}, got {req.reply!r}")
    return problems


def find_scenarios(path: Path) -> list[Path]:
    """``path`` itself if it is a file, else every ``*.scenario.toml`` under it, sorted."""
    if path.is_dir():
        return sorted(p for p in path.rglob(f"*{SUFFIX}") if p.is_file())
    return [path]
