"""Scenario files, read and validated: the tree, the workload, the faults, and what the
run is expected to show. Errors name the file, the table and the key.

    name = "counter keeps count"
    end_ms = 1000                      # run to this virtual time (default: until idle)
    seed = 7                           # default seed (the CLI's --seed, pytest's seed, win)
    invariants = ["all"]               # or a list of invariant names (default: all)
    xfail = "why"                      # this scenario is expected to fail (and shows its report)

    [runtime]                          # Runtime options: fuel, memory, request_timeout_ms, ...

    [[actor]]
    name = "root"
    supervision = { strategy = "one_for_all", intensity = 3 }   # a supervisor the harness makes
                                       # (also period_ms, permanent_errors, auto_shutdown)
    [[actor]]
    name = "counter"
    manifest = "actors/counter.toml"   # relative to the scenario file
    parent = "root"
    restart = "transient"              # how a generated supervisor treats it
    recovery = "last"
    significant = true                 # its end may shut the supervisor down (auto_shutdown)
    init_state = { count = 5 }         # merged over the manifest's
    expect = "running"                 # running (default), failed, stopped or any
    expect_exit = "trap"               # the exit kind when it ended
    expect_incarnation = 2             # how many incarnations it has had

    [policy.sup]                       # the policy a guest supervisor is held to
    strategy = "one_for_one"

    [[message]]                        # one message at a virtual time
    at = 10
    to = "counter"
    send = "inc"                       # or request = "get", with expect_reply / expect_error

    [[workload]]                       # many: every every_ms from from_ms to until_ms
    to = "counter"
    every_ms = 100
    faker = "word"                     # or send = "..." (Faker is seeded from the run's seed)

    [[stop]]
    at = 500
    actor = "counter"

    [[fault]]                          # a fixed fault schedule (see theater_harness.faults)
    kind = "trap"
    target = "counter"
    at_ms = 200

    [explore]                          # or: Hypothesis-generated schedules over this tree
    examples = 50                      # (explore = 50 at the top: this number, the defaults)
    max_faults = 3
    kinds = ["trap", "err", "stop"]

Strings in ``init_state`` and payloads may name another actor's id as ``${name}``.
"""

from __future__ import annotations

import functools
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ScenarioError
from ..examples import resolve
from ..exit import KINDS
from ..faults import FaultSchedule
from ..supervision.spec import AUTO_SHUTDOWN, RECOVERY_MODES, RESTART_TYPES, STRATEGIES
from ..trees import NodeSpec, Policy, TreeSpec

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

EXPECTATIONS = ("running", "failed", "stopped", "any")


@functools.lru_cache(maxsize=None)
def shared_faker() -> Any:
    """One Faker per process (making one costs milliseconds); a run re-seeds it with
    ``seed_instance`` before use, which makes its payloads the same as a fresh one's."""
    from faker import Faker

    return Faker()
SUFFIX = ".scenario.toml"
RUNTIME_OPTIONS = ("fuel", "memory", "request_timeout_ms", "message_latency_ms", "epoch_ms")


@dataclass(frozen=True)
class ActorSpec:
    name: str
    manifest: Path | None
    init_state: Any = None
    parent: str | None = None
    expect: str = "running"
    expect_exit: str | None = None
    expect_incarnation: int | None = None
    policy: Policy | None = None  # a supervisor the harness generates
    restart: str | None = None
    recovery: str | None = None
    significant: bool = False


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
class Workload:
    to: str
    every_ms: int
    from_ms: int
    until_ms: int
    send: str | None = None
    faker: str | None = None
    where: str = ""


@dataclass(frozen=True)
class Explore:
    examples: int = 50
    max_faults: int = 3
    kinds: tuple[str, ...] | None = None
    horizon_ms: int | None = None


@dataclass(frozen=True)
class Scenario:
    name: str
    path: Path
    actors: tuple[ActorSpec, ...]
    steps: tuple[Step, ...]
    end_ms: int | None = None
    seed: int | None = None
    options: dict = field(default_factory=dict)
    workloads: tuple[Workload, ...] = ()
    faults: FaultSchedule = field(default_factory=FaultSchedule)
    explore: Explore | None = None
    invariants: tuple[str, ...] = ("all",)
    policies: dict = field(default_factory=dict)
    xfail: str | None = None
    description: str = ""

    def tree(self) -> TreeSpec:
        """The scenario's actors as a TreeSpec (for exploration); several roots are grouped
        under a synthetic one only when there is a single root."""
        by_parent: dict[str | None, list[ActorSpec]] = {}
        for actor in self.actors:
            by_parent.setdefault(actor.parent, []).append(actor)

        def node(actor: ActorSpec) -> NodeSpec:
            return NodeSpec(actor.name, manifest=str(actor.manifest) if actor.manifest else None,
                            policy=actor.policy, children=tuple(node(c) for c in by_parent.get(actor.name, ())),
                            restart=actor.restart or "permanent", recovery=actor.recovery or "init",
                            init_state=actor.init_state if isinstance(actor.init_state, dict) else None,
                            significant=actor.significant)

        roots = by_parent.get(None, [])
        if len(roots) != 1:
            raise ScenarioError("exploring needs one root actor (put the others under it)", file=self.path,
                                field="explore")
        return TreeSpec(node(roots[0]))


class _Reader:
    """Typed reads of the scenario document, with errors naming file, table and key."""

    def __init__(self, path: Path):
        self.path = path

    def error(self, where: str, message: str) -> ScenarioError:
        return ScenarioError(message, file=self.path, field=where or None)

    def unknown(self, table: dict, known: tuple[str, ...], where: str) -> None:
        extra = sorted(set(table) - set(known))
        if extra:
            raise self.error(f"{where}.{extra[0]}" if where else extra[0],
                             f"unknown key {extra[0]!r}; known keys: {', '.join(known)}")

    def integer(self, table: dict, key: str, where: str, *, low: int = 0, required: bool = False) -> int | None:
        if key not in table:
            if required:
                raise self.error(f"{where}.{key}", "missing (a whole number of milliseconds)")
            return None
        value = table[key]
        if not isinstance(value, int) or isinstance(value, bool) or value < low:
            raise self.error(f"{where}.{key}" if where else key, f"expected an integer >= {low}, got {value!r}")
        return value

    def string(self, table: dict, key: str, where: str, *, required: bool = False) -> str | None:
        if key not in table:
            if required:
                raise self.error(f"{where}.{key}", "missing")
            return None
        value = table[key]
        if not isinstance(value, str):
            raise self.error(f"{where}.{key}" if where else key, f"expected a string, got {value!r}")
        return value

    def choice(self, table: dict, key: str, where: str, choices: tuple[str, ...]) -> str | None:
        value = self.string(table, key, where)
        if value is not None and value not in choices:
            raise self.error(f"{where}.{key}", f"{value!r} is not one of {', '.join(choices)}")
        return value

    def tables(self, doc: dict, key: str) -> list[dict]:
        value = doc.get(key, [])
        if not isinstance(value, list) or not all(isinstance(t, dict) for t in value):
            raise self.error(key, f"expected an array of tables ([[{key}]])")
        return value

    def policy(self, table: Any, where: str) -> Policy:
        if not isinstance(table, dict):
            raise self.error(where, "expected a table: strategy, intensity, period_ms, permanent_errors")
        self.unknown(table, ("strategy", "intensity", "period_ms", "permanent_errors", "auto_shutdown"), where)
        patterns = table.get("permanent_errors", [])
        if not isinstance(patterns, list) or not all(isinstance(p, str) for p in patterns):
            raise self.error(f"{where}.permanent_errors", "expected a list of regular expressions")
        return Policy(self.choice(table, "strategy", where, STRATEGIES) or "one_for_one",
                      self.integer(table, "intensity", where) if "intensity" in table else 1,
                      self.integer(table, "period_ms", where, low=1) if "period_ms" in table else 5000,
                      tuple(patterns), self.choice(table, "auto_shutdown", where, AUTO_SHUTDOWN) or "never")


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate a scenario file."""
    path = Path(path)
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ScenarioError("scenario file not found", file=path) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError(f"cannot read the scenario: {exc}", file=path) from None
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"not valid TOML: {exc}", file=path) from None
    r = _Reader(path)
    r.unknown(doc, ("name", "description", "seed", "end_ms", "actor", "message", "stop", "runtime", "workload",
                    "fault", "explore", "invariants", "policy", "xfail"), "")

    actors = _actors(r, doc)
    names = {a.name for a in actors}
    steps = _messages(r, doc, names) + _stops(r, doc, names)
    workloads = _workloads(r, doc, names)

    options = doc.get("runtime", {})
    if not isinstance(options, dict):
        raise r.error("runtime", "expected a table")
    r.unknown(options, RUNTIME_OPTIONS, "runtime")
    for key in options:
        r.integer(options, key, "runtime", low=1 if key not in ("message_latency_ms", "epoch_ms") else 0)

    faults = FaultSchedule.from_dicts(doc.get("fault", []), source=str(path))
    explore = None
    if "explore" in doc:
        table = doc["explore"]
        if isinstance(table, int) and not isinstance(table, bool):
            table = {"examples": table}  # explore = N: N schedules, the other settings' defaults
        if not isinstance(table, dict):
            raise r.error("explore", "expected a number of schedules (explore = 50) or a table: "
                                     "examples, max_faults, kinds, horizon_ms")
        r.unknown(table, ("examples", "max_faults", "kinds", "horizon_ms"), "explore")
        kinds = table.get("kinds")
        if kinds is not None:
            from ..faults import KINDS as FAULT_KINDS

            if not isinstance(kinds, list) or not kinds or any(k not in FAULT_KINDS for k in kinds):
                raise r.error("explore.kinds", f"expected a list of fault kinds from: {', '.join(FAULT_KINDS)}")
        explore = Explore(r.integer(table, "examples", "explore", low=1) or 50,
                          r.integer(table, "max_faults", "explore", low=1) or 3,
                          tuple(kinds) if kinds else None, r.integer(table, "horizon_ms", "explore", low=1))
        if faults:
            raise r.error("explore", "give either a fixed schedule ([[fault]]) or [explore], not both")

    invariants = doc.get("invariants", ["all"])
    if not isinstance(invariants, list) or not all(isinstance(i, str) for i in invariants):
        raise r.error("invariants", "expected a list of invariant names, or [\"all\"]")
    from ..invariants import INVARIANTS

    for i, name in enumerate(invariants):
        if name != "all" and name not in INVARIANTS:
            raise r.error(f"invariants[{i}]", f"{name!r} is not an invariant; invariants: all, {', '.join(INVARIANTS)}")

    policies_raw = doc.get("policy", {})
    if not isinstance(policies_raw, dict):
        raise r.error("policy", "expected tables [policy.<supervisor name>]")
    policies = {}
    for name, table in policies_raw.items():
        if name not in names:
            raise r.error(f"policy.{name}", f"{name!r} is not an actor of this scenario")
        policies[name] = r.policy(table, f"policy.{name}").to_dict()

    return Scenario(
        name=r.string(doc, "name", "") or path.name.removesuffix(SUFFIX),
        path=path,
        actors=tuple(actors),
        steps=tuple(sorted(steps, key=lambda s: s.at)),  # stable: file order within an instant
        end_ms=r.integer(doc, "end_ms", ""),
        seed=r.integer(doc, "seed", ""),
        options=dict(options),
        workloads=tuple(workloads),
        faults=faults,
        explore=explore,
        invariants=tuple(invariants),
        policies=policies,
        xfail=r.string(doc, "xfail", ""),
        description=r.string(doc, "description", "") or "",
    )


def _actors(r: _Reader, doc: dict) -> list[ActorSpec]:
    actors: list[ActorSpec] = []
    for i, table in enumerate(r.tables(doc, "actor")):
        where = f"actor[{i}]"
        r.unknown(table, ("name", "manifest", "supervision", "init_state", "parent", "expect", "expect_exit",
                          "expect_incarnation", "restart", "recovery", "significant"), where)
        name = r.string(table, "name", where, required=True)
        if any(a.name == name for a in actors):
            raise r.error(f"{where}.name", f"another actor is already named {name!r}")
        manifest = r.string(table, "manifest", where)
        policy = r.policy(table["supervision"], f"{where}.supervision") if "supervision" in table else None
        if (manifest is None) == (policy is None):
            raise r.error(where, "give either manifest = \"...\" or supervision = { strategy = ... } "
                                 "(a supervisor the harness generates)")
        parent = r.string(table, "parent", where)
        parent_spec = next((a for a in actors if a.name == parent), None)
        if parent is not None and parent_spec is None:
            raise r.error(f"{where}.parent", f"{parent!r} is not an actor listed before this one")
        restart = r.choice(table, "restart", where, RESTART_TYPES)
        recovery = r.choice(table, "recovery", where, RECOVERY_MODES)
        significant = table.get("significant", False)
        if not isinstance(significant, bool):
            raise r.error(f"{where}.significant", f"expected true or false, got {significant!r}")
        if (restart or recovery or significant) and (parent_spec is None or parent_spec.policy is None):
            key = "restart" if restart else "recovery" if recovery else "significant"
            raise r.error(f"{where}.{key}",
                          "restart, recovery and significant are set by a generated supervisor (parent with a "
                          "supervision table); for a supervisor's own manifest, set them in its "
                          "[supervision.children.<name>]")
        expect = r.choice(table, "expect", where, EXPECTATIONS) or "running"
        expect_exit = r.choice(table, "expect_exit", where, KINDS)
        try:
            manifest_path = resolve(manifest, r.path.parent) if manifest else None
        except ValueError as e:
            raise r.error(f"{where}.manifest", str(e)) from None
        actors.append(ActorSpec(name, manifest_path, table.get("init_state"),
                                parent, expect, expect_exit, r.integer(table, "expect_incarnation", where, low=1),
                                policy, restart, recovery, significant))
    if not actors:
        raise r.error("actor", "a scenario needs at least one [[actor]]")
    return actors


def _target(r: _Reader, table: dict, key: str, where: str, names: set[str]) -> str:
    target = r.string(table, key, where, required=True)
    if target not in names:
        raise r.error(f"{where}.{key}", f"{target!r} is not an actor of this scenario ({', '.join(sorted(names))})")
    return target


def _messages(r: _Reader, doc: dict, names: set[str]) -> list[Step]:
    steps = []
    for i, table in enumerate(r.tables(doc, "message")):
        where = f"message[{i}]"
        r.unknown(table, ("at", "to", "send", "request", "expect_reply", "expect_error"), where)
        at = r.integer(table, "at", where, required=True)
        to = _target(r, table, "to", where, names)
        kinds = [k for k in ("send", "request") if k in table]
        if len(kinds) != 1:
            raise r.error(where, "give exactly one of 'send' or 'request' (the payload text)")
        reply = r.string(table, "expect_reply", where)
        expect_error = table.get("expect_error", False)
        if not isinstance(expect_error, bool):
            raise r.error(f"{where}.expect_error", "expected true or false")
        if kinds[0] == "send" and (reply is not None or expect_error):
            raise r.error(where, "expect_reply and expect_error apply to a request, not a send")
        steps.append(Step(at, kinds[0], to, r.string(table, kinds[0], where), reply, expect_error, where))
    return steps


def _stops(r: _Reader, doc: dict, names: set[str]) -> list[Step]:
    steps = []
    for i, table in enumerate(r.tables(doc, "stop")):
        where = f"stop[{i}]"
        r.unknown(table, ("at", "actor"), where)
        steps.append(Step(r.integer(table, "at", where, required=True), "stop",
                          _target(r, table, "actor", where, names), where=where))
    return steps


def _workloads(r: _Reader, doc: dict, names: set[str]) -> list[Workload]:
    workloads = []
    end = doc.get("end_ms")
    for i, table in enumerate(r.tables(doc, "workload")):
        where = f"workload[{i}]"
        r.unknown(table, ("to", "every_ms", "from_ms", "until_ms", "send", "faker"), where)
        to = _target(r, table, "to", where, names)
        every = r.integer(table, "every_ms", where, low=1, required=True)
        start = r.integer(table, "from_ms", where) or 0
        until = r.integer(table, "until_ms", where)
        if until is None:
            if not isinstance(end, int):
                raise r.error(f"{where}.until_ms", "missing (needed when the scenario has no end_ms)")
            until = end
        send, faker = r.string(table, "send", where), r.string(table, "faker", where)
        if (send is None) == (faker is None):
            raise r.error(where, "give either send = \"payload\" or faker = \"<provider>\" (e.g. \"word\")")
        if faker is not None:
            if not callable(getattr(shared_faker(), faker, None)):
                raise r.error(f"{where}.faker", f"{faker!r} is not a Faker provider (e.g. word, sentence, name)")
        workloads.append(Workload(to, every, start, until, send, faker, where))
    return workloads


def find_scenarios(path: Path) -> list[Path]:
    """``path`` itself if it is a file, else every ``*.scenario.toml`` under it, sorted."""
    if path.is_dir():
        return sorted(p for p in path.rglob(f"*{SUFFIX}") if p.is_file())
    return [path]
