"""Scenario files, read and validated whole by their schema (``schema/scenario.py``) into
records: the tree, the workload, the faults, and what the run is expected to show. Errors
name the file, the table and the key.

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

    [[message]]                        # or a call of any export of the actor (Runtime.call_later)
    at = 20
    to = "packr_counter"
    call = "counter.add"               # "iface.fn", or a Theater export by its full name
    args = [5]                         # TOML values, converted by the export's declared types
    expect_result = "5"                # the result's WAVE text (values.render), or expect_error = true

    [[workload]]                       # many: every every_ms from from_ms to until_ms
    to = "counter"
    every_ms = 100
    faker = "word"                     # or send = "..." (Faker is seeded from the run's seed),
                                       # or call = "counter.add" with args = [1]
                                       # (at most 100000 messages in all: schema.scenario.MAX_MESSAGES)

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
    fork_at_ms = 2000                  # faults after 2 s; the run until then once, a fork per schedule

    [world]                            # the outside world of every run (theater_harness.world)
    files_from = "world"               # a folder (relative to the scenario file) copied to the disk
    files = { "srv/app/config.txt" = "https://api.example.com/sync", "logs/" = "" }  # and files ("": a folder)
    env = { API_TOKEN = "t0k" }        # environment variables (over the manifests' vars)

    [[world.http]]                     # HTTP routes: the first that matches a request answers it
    route = "POST https://api.example.com/*"   # "METHOD URL-pattern" (* for any method; * and ? in the URL)
    status = 201                       # default 200
    body = "synced"                    # default empty
    headers = { content-type = "text/plain" }
    latency_ms = 40                    # virtual time before the answer arrives (default 0)

    [world.stores.shared]              # a store's labels and their content, before the run
    motd = "hello"

Strings in ``init_state``, payloads, ``args`` and expected replies and results may name
another actor's id as ``${name}``. A call's ``expect_result`` is compared with
``values.render(result)`` (a component actor's plain result is made a value first with
``values.to_value``: bytes show as ``[104, 105]``, no result as ``none``); a call that fails
(the actor fails in it, or is not running) meets only ``expect_error = true``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ScenarioError
from ..faults import Fault, FaultSchedule
from ..schema import scenario as _schema
from ..schema.scenario import EXPECTATIONS, shared_faker  # noqa: F401  (the run's Faker, re-exported)
from ..trees import NodeSpec, Policy, TreeSpec
from ..world import World

SUFFIX = ".scenario.toml"
RUNTIME_OPTIONS = tuple(_schema.runtime_options())  # the [runtime] keys; schema.scenario has their bounds


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
    action: str  # send, request, call or stop
    target: str
    payload: str = ""
    expect_reply: str | None = None
    expect_error: bool = False
    where: str = ""  # e.g. "message[2]", for reports
    export: str | None = None  # a call's export, e.g. "counter.add"
    args: tuple = ()  # a call's arguments (TOML values)
    expect_result: str | None = None  # a call's expected result, as WAVE text


@dataclass(frozen=True)
class Workload:
    to: str
    every_ms: int
    from_ms: int
    until_ms: int
    send: str | None = None
    faker: str | None = None
    where: str = ""
    call: str | None = None  # an export to call each time instead, with args
    args: tuple = ()


@dataclass(frozen=True)
class Explore:
    examples: int = 50
    max_faults: int = 3
    kinds: tuple[str, ...] | None = None
    horizon_ms: int | None = None
    fork_at_ms: int | None = None  # the workload until then runs once; each schedule in a fork of it


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
    world: World | None = None  # [world]: each run starts from its own copy

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


def load_scenario(path: str | Path) -> Scenario:
    """Read a scenario file and validate it whole (``schema/scenario.py``) before any
    record is made."""
    from ..schema import _core
    from ..schema.scenario import check_scenario

    def error(field: str | None, message: str) -> ScenarioError:
        return ScenarioError(message, file=path, field=field)

    text = _core.read_text(path, error, cannot="cannot read the scenario", not_found="scenario file not found")
    path = Path(path)
    doc = check_scenario(_core.parse_toml(text, error), path)
    actors = tuple(ActorSpec(a["name"], a["manifest"], a["init_state"], a["parent"], a["expect"], a["expect_exit"],
                             a["expect_incarnation"], None if a["policy"] is None else Policy(**a["policy"]),
                             a["restart"], a["recovery"], a["significant"]) for a in doc["actors"])
    explore = doc["explore"]
    return Scenario(
        name=doc["name"] or path.name.removesuffix(SUFFIX),
        path=path,
        actors=actors,
        steps=tuple(sorted((Step(**step) for step in doc["steps"]), key=lambda s: s.at)),  # stable: file order
        end_ms=doc["end_ms"],
        seed=doc["seed"],
        options=doc["options"],
        workloads=tuple(Workload(**w) for w in doc["workloads"]),
        faults=FaultSchedule(Fault(**values) for values in doc["faults"]),
        explore=None if explore is None else Explore(**explore),
        invariants=tuple(doc["invariants"]),
        policies={name: Policy(**policy).to_dict() for name, policy in doc["policies"].items()},
        xfail=doc["xfail"],
        description=doc["description"],
        world=doc["world"],
    )


def find_scenarios(path: Path) -> list[Path]:
    """``path`` itself if it is a file, else every ``*.scenario.toml`` under it, sorted."""
    if path.is_dir():
        return sorted(p for p in path.rglob(f"*{SUFFIX}") if p.is_file())
    return [path]
