"""The differential test against real Erlang/OTP: supervision schedules, run through the
harness and through OTP's own ``supervisor`` (``otp_supervisors.escript``), compared as
lifecycles.

A schedule is a supervision tree (a top ``one_for_one`` supervisor over the supervisor
under test, whose children are workers or sub-supervisors), and faults at chosen
instants: a worker crashes (``crash``), exits normally (``normal``), or any node is
killed (``kill``, OTP's ``exit(Pid, kill)``); two sibling workers may be killed at one
instant. Both sides report one lifecycle: ``start
NAME``, ``down NAME normal|shutdown|killed|abnormal``, ``fault I`` (fault I's instant) and
``missed NAME`` (a fault whose target was not running then).

On the harness side a worker is the ``keeper`` example actor: ``crash`` is a ``trap``
fault at that instant plus a message that makes the call it traps in; ``normal`` is the
message ``shutdown:normal`` (the keeper calls ``runtime.shutdown``), missed when it finds
no running keeper; ``kill`` is the ``kill`` fault.

What the comparison leaves to chance, because OTP does: the direct children of a killed
supervisor all receive its exit signal at once, so the order in which that subtree goes
down (and whether the first restarts of the next generation are stamped before the last
of those downs) is a race in OTP. Each side's downs of a killed node's subtree are
compared as one sorted block. Everything else is compared in order.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

from hypothesis import strategies as st

from theater_harness.faults import FaultSchedule, fault
from theater_harness.runtime import Runtime
from theater_harness.trees import EXAMPLES, NodeSpec, Policy, TreeSpec

HERE = Path(__file__).resolve().parent
ESCRIPT = HERE / "otp_supervisors.escript"
GOLDEN = HERE / "golden.jsonl"
WORKER = str(EXAMPLES / "keeper.toml")
NORMAL_MESSAGE = "shutdown:normal"  # what a keeper does on it: runtime.shutdown, a normal exit
CRASH_MESSAGE = "crash"  # any call traps while a trap fault is armed
END_MS = 10_000
STRATEGIES = ("one_for_one", "one_for_all", "rest_for_one")
RESTART_TYPES = ("permanent", "transient", "temporary")
AUTO_SHUTDOWN = ("never", "any_significant", "all_significant")
FAULT_KINDS = ("crash", "normal", "kill")


@dataclass(frozen=True)
class OtpNode:
    """A supervisor (``strategy`` set) or a worker, with how its parent treats it."""

    name: str
    restart: str = "permanent"
    significant: bool = False
    strategy: str | None = None
    intensity: int = 1
    period_s: int = 5
    auto_shutdown: str = "never"
    children: tuple["OtpNode", ...] = ()

    @property
    def is_supervisor(self) -> bool:
        return self.strategy is not None

    def walk(self) -> Iterable["OtpNode"]:
        yield self
        for child in self.children:
            yield from child.walk()

    def to_dict(self) -> dict:
        out: dict = {"name": self.name, "restart": self.restart}
        if self.significant:
            out["significant"] = True
        if self.is_supervisor:
            out.update({"strategy": self.strategy, "intensity": self.intensity, "period_s": self.period_s,
                        "auto_shutdown": self.auto_shutdown, "children": [c.to_dict() for c in self.children]})
        return out

    @classmethod
    def from_dict(cls, raw: dict) -> "OtpNode":
        children = tuple(cls.from_dict(c) for c in raw.get("children", ()))
        return cls(raw["name"], raw.get("restart", "permanent"), raw.get("significant", False),
                   raw.get("strategy"), raw.get("intensity", 1), raw.get("period_s", 5),
                   raw.get("auto_shutdown", "never"), children)

    def to_erlang(self) -> str:
        name = json.dumps(self.name)
        significant = "true" if self.significant else "false"
        if not self.is_supervisor:
            return f"{{worker, {name}, {self.restart}, {significant}}}"
        flags = (f"#{{strategy => {self.strategy}, intensity => {self.intensity}, period => {self.period_s}, "
                 f"auto_shutdown => {self.auto_shutdown}}}")
        children = ", ".join(c.to_erlang() for c in self.children)
        return f"{{sup, {name}, {flags}, {self.restart}, {significant}, [{children}]}}"

    def to_node_spec(self) -> NodeSpec:
        if not self.is_supervisor:
            return NodeSpec(self.name, manifest=WORKER, restart=self.restart, significant=self.significant)
        return NodeSpec(self.name, policy=Policy(self.strategy, self.intensity, self.period_s * 1000,
                                                 auto_shutdown=self.auto_shutdown),
                        children=tuple(c.to_node_spec() for c in self.children), restart=self.restart,
                        significant=self.significant)


@dataclass(frozen=True)
class OtpSchedule:
    """A tree and its faults ``(at_ms, kind, target name)``, sorted by time."""

    id: str
    root: OtpNode
    faults: tuple[tuple[int, str, str], ...]
    end_ms: int = END_MS

    def to_dict(self) -> dict:
        return {"id": self.id, "end_ms": self.end_ms, "tree": self.root.to_dict(),
                "faults": [list(f) for f in self.faults]}

    @classmethod
    def from_dict(cls, raw: dict) -> "OtpSchedule":
        return cls(raw["id"], OtpNode.from_dict(raw["tree"]), tuple(tuple(f) for f in raw["faults"]),
                   raw.get("end_ms", END_MS))

    def to_erlang(self) -> str:
        faults = ", ".join(f"{{{at}, {kind}, {json.dumps(name)}}}" for at, kind, name in self.faults)
        return f"{{schedule, {json.dumps(self.id)}, {self.end_ms}, {self.root.to_erlang()}, [{faults}]}}.\n"

    def with_id(self, new_id: str) -> "OtpSchedule":
        return OtpSchedule(new_id, self.root, self.faults, self.end_ms)

    def nodes(self) -> dict[str, OtpNode]:
        return {n.name: n for n in self.root.walk()}

    def describe(self) -> str:
        def line(node: OtpNode, depth: int) -> list[str]:
            what = (f"{node.strategy} intensity {node.intensity}/{node.period_s}s auto_shutdown {node.auto_shutdown}"
                    if node.is_supervisor else "worker")
            head = [f"{'  ' * depth}{node.name}: {what} ({node.restart}{', significant' if node.significant else ''})"]
            return head + [x for c in node.children for x in line(c, depth + 1)]

        faults = [f"  #{i} {kind} {name} at {at} ms" for i, (at, kind, name) in enumerate(self.faults)]
        return "\n".join(line(self.root, 0) + ["faults:"] + (faults or ["  (none)"]))


# --- generating schedules ------------------------------------------------------------------


@st.composite
def otp_schedules(draw: st.DrawFn, *, max_depth: int = 2, max_faults: int = 8) -> OtpSchedule:
    """A top ``one_for_one`` supervisor over the supervisor under test ``s``; ``s`` has 1-4
    children, workers or (below ``max_depth`` 2) sub-supervisors of 1-3 workers. Fault times
    lie on a 250 ms grid offset by 125 ms: distinct instants are 250 ms apart and every
    fault is 125 ms from a whole second, where OTP's restart periods (whole seconds) turn
    over. Now and then two sibling workers are killed at one instant (OTP's side suspends
    their supervisor meanwhile, so that it finds both exits in its mailbox)."""
    names = iter(f"w{i}" for i in range(100))
    sub_names = iter(f"s{i}" for i in range(1, 100))

    def child_of(auto_shutdown: str, depth: int) -> OtpNode:
        restart = draw(st.sampled_from(RESTART_TYPES))
        significant = restart != "permanent" and auto_shutdown != "never" and draw(st.booleans())
        if depth < max_depth and draw(st.integers(0, 3)) == 0:
            return supervisor(next(sub_names), restart, significant, depth + 1, 1, 3, 3)
        return OtpNode(next(names), restart, significant)

    def supervisor(name: str, restart: str, significant: bool, depth: int, low: int, high: int,
                   max_intensity: int) -> OtpNode:
        auto_shutdown = draw(st.sampled_from(AUTO_SHUTDOWN))
        node = OtpNode(name, restart, significant, draw(st.sampled_from(STRATEGIES)),
                       draw(st.integers(0, max_intensity)), draw(st.integers(2, 5)), auto_shutdown)
        children = tuple(child_of(auto_shutdown, depth) for _ in range(draw(st.integers(low, high))))
        return OtpNode(node.name, node.restart, node.significant, node.strategy, node.intensity, node.period_s,
                       node.auto_shutdown, children)

    under_test = supervisor("s", draw(st.sampled_from(RESTART_TYPES)), False, 1, 1, 4, 5)
    top = OtpNode("top", "permanent", False, "one_for_one", draw(st.integers(0, 3)), draw(st.integers(2, 5)),
                  "never", (under_test,))
    workers = [n.name for n in top.walk() if not n.is_supervisor]
    killable = [n.name for n in top.walk() if n.name != "top"]
    siblings = [ws for n in top.walk() if len(ws := [c.name for c in n.children if not c.is_supervisor]) >= 2]
    slots = draw(st.lists(st.integers(0, END_MS // 250 - 2), min_size=1, max_size=max_faults, unique=True))
    faults = []
    for slot in sorted(slots):
        at = slot * 250 + 125
        if siblings and draw(st.integers(0, 4)) == 0:  # two sibling workers killed at one instant
            pair = draw(st.lists(st.sampled_from(draw(st.sampled_from(siblings))), min_size=2, max_size=2,
                                 unique=True))
            faults += [(at, "kill", name) for name in pair]
            continue
        kind = draw(st.sampled_from(FAULT_KINDS))
        faults.append((at, kind, draw(st.sampled_from(killable if kind == "kill" else workers))))
    return OtpSchedule("", top, tuple(faults))


def draw_schedules(count: int, seed: int, prefix: str = "g") -> list[OtpSchedule]:
    """``count`` schedules from ``otp_schedules()``, the same for the same seed, numbered
    ``<prefix>0000``... (Hypothesis draws them; duplicates are dropped)."""
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import seed as hypothesis_seed

    found: dict[str, OtpSchedule] = {}

    @hypothesis_seed(seed)
    @settings(max_examples=count * 3, database=None, deadline=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(otp_schedules())
    def collect(schedule: OtpSchedule) -> None:
        if len(found) < count:
            found.setdefault(json.dumps(schedule.to_dict(), sort_keys=True), schedule)

    collect()
    return [s.with_id(f"{prefix}{i:04d}") for i, s in enumerate(found.values())]


# --- the harness side ----------------------------------------------------------------------


def harness_run(schedule: OtpSchedule, seed: int = 0) -> tuple[Runtime, set[int]]:
    """The schedule through the harness: its tree spawned, its faults injected. Returns the
    runtime and the numbers of the ``normal`` faults' messages."""
    faults = [fault("kill" if kind == "kill" else "trap", name, at_ms=at)
              for at, kind, name in schedule.faults if kind != "normal"]
    rt = Runtime(seed, faults=FaultSchedule(faults))
    ids = TreeSpec(schedule.root.to_node_spec()).spawn(rt)
    normal = set()
    for at, kind, name in schedule.faults:
        if kind == "crash":
            rt.send(ids[name], CRASH_MESSAGE, delay_ms=at)
        elif kind == "normal":
            normal.add(rt.send(ids[name], NORMAL_MESSAGE, delay_ms=at))
    rt.run(until=schedule.end_ms)
    return rt, normal


DOWN = {"normal": "normal", "shutdown": "shutdown", "killed": "killed"}


def harness_events(schedule: OtpSchedule, seed: int = 0) -> list[str]:
    """The harness's lifecycle of ``schedule``, in OTP's vocabulary (not yet normalized)."""
    rt, normal = harness_run(schedule, seed)
    names = {a.id: a.name for a in rt.actors}
    times = [at for at, _, _ in schedule.faults]
    mine = [i for i, (_, kind, _) in enumerate(schedule.faults) if kind != "normal"]  # the harness's faults
    out: list[str] = []
    next_fault = 0
    for r in rt.trace.dicts():
        while next_fault < len(times) and r["t"] >= times[next_fault]:
            out.append(f"fault {next_fault}")
            next_fault += 1
        kind = r["kind"]
        if kind == "start":
            out.append(f"start {names[r['actor']]}")
        elif kind == "exit":
            out.append(f"down {names[r['actor']]} {DOWN.get(r['reason']['kind'], 'abnormal')}")
        elif kind == "missed":
            out.append(f"missed {schedule.faults[mine[r['fault']]][2]}")
        elif kind == "drop" and r.get("item") == "send" and r.get("msg") in normal:
            out.append(f"missed {names[r['actor']]}")
    # The run ends when its root supervisor gives up: nothing runs after that, so every
    # later fault finds no target (OTP's side goes on and reports each as missed).
    rest = range(next_fault, len(times))
    for at in sorted({times[i] for i in rest}):  # the faults of one instant: their markers first
        out += [f"fault {i}" for i in rest if times[i] == at]
        out += [f"missed {schedule.faults[i][2]}" for i in rest if times[i] == at]
    return out


# --- comparing -----------------------------------------------------------------------------


def normalize(schedule: OtpSchedule, events: Sequence[str]) -> list[str]:
    """Events with each kill cascade as one sorted block: after ``fault I`` of a kill that
    hit a running supervisor, the first ``down`` of that node and of each of its
    descendants in that fault's segment are taken out and put, sorted, where the first of
    them was."""
    out = list(events)
    nodes = schedule.nodes()
    for index, (_, kind, target) in enumerate(schedule.faults):
        if kind != "kill" or not nodes[target].is_supervisor or f"fault {index}" not in out:
            continue
        start = out.index(f"fault {index}")
        end = out.index(f"fault {index + 1}") if f"fault {index + 1}" in out else len(out)
        subtree = {node.name for node in nodes[target].walk()}
        taken: list[int] = []
        seen: set[str] = set()
        for i in range(start + 1, end):
            word = out[i].split()
            if word[0] == "down" and word[1] in subtree and word[1] not in seen:
                seen.add(word[1])
                taken.append(i)
        if not taken:
            continue
        block = sorted(out[i] for i in taken)
        taken_at = set(taken)
        rest = [e for i, e in enumerate(out[start + 1:end], start + 1) if i not in taken_at]
        first = taken[0] - (start + 1)
        out[start + 1:end] = rest[:first] + block + rest[first:]
    return out


# --- the OTP side --------------------------------------------------------------------------


def escript() -> str | None:
    """The ``escript`` command, or None when Erlang/OTP is not installed."""
    return shutil.which("escript")


NO_ESCRIPT = ("needs Erlang/OTP's escript to run the real OTP supervisors "
              "(Debian: apt-get install -y erlang-nox; .ci/run installs it)")


def run_otp(schedules: Sequence[OtpSchedule], *, timeout_s: float | None = None) -> dict[str, list[str]]:
    """Run every schedule through real OTP supervisors at once (in real time: about
    ``END_MS`` plus start-up, however many schedules); each schedule's events, up to
    (not including) its ``end`` marker."""
    command = escript()
    if command is None:
        raise RuntimeError(NO_ESCRIPT)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "schedules.terms")
        with open(path, "w", encoding="utf-8") as f:
            f.writelines(s.to_erlang() for s in schedules)
        longest = max((s.end_ms for s in schedules), default=0)
        done = subprocess.run([command, str(ESCRIPT), path], capture_output=True, text=True,
                              timeout=timeout_s or longest / 1000 + 120)
    if done.returncode != 0:
        raise RuntimeError(f"{ESCRIPT.name} failed ({done.returncode}): {done.stderr.strip()[-2000:]}")
    late = [line for line in done.stderr.splitlines() if line.endswith(" ms late")]
    if late:  # past 125 ms late a fault could land in another whole second than the harness's
        raise RuntimeError(f"real OTP ran too late to compare with (an overloaded machine?): {late[:3]}")
    events: dict[str, list[str]] = {s.id: [] for s in schedules}
    for line in done.stdout.splitlines():
        parts = line.split()
        if not parts or parts[0] == "done":
            continue
        schedule_id, words = parts[0], parts[2:]
        if words != ["end"]:
            events[schedule_id].append(" ".join(words))
    return events


# --- goldens -------------------------------------------------------------------------------


def load_goldens(path: Path = GOLDEN) -> list[tuple[OtpSchedule, list[str]]]:
    """The committed OTP results: each schedule with the events real OTP reported."""
    out = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                raw = json.loads(line)
                out.append((OtpSchedule.from_dict(raw["schedule"]), raw["otp"]))
    return out


def write_goldens(results: Iterable[tuple[OtpSchedule, list[str]]], path: Path = GOLDEN) -> None:
    with open(path, "w", encoding="utf-8") as f:
        for schedule, events in results:
            f.write(json.dumps({"schedule": schedule.to_dict(), "otp": events}, sort_keys=True,
                               separators=(",", ":")) + "\n")


def disagreement(schedule: OtpSchedule, otp_events: Sequence[str], seed: int = 0) -> str | None:
    """None when the harness's lifecycle of ``schedule`` equals OTP's (both normalized);
    else the schedule and a diff of the two, for a failure message."""
    import difflib

    ours = normalize(schedule, harness_events(schedule, seed))
    theirs = normalize(schedule, otp_events)
    if ours == theirs:
        return None
    diff = difflib.unified_diff(theirs, ours, "real OTP", "theater-harness", lineterm="", n=3)
    return f"schedule {schedule.id}:\n{schedule.describe()}\n" + "\n".join(diff)
