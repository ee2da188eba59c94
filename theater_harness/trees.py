"""Supervision trees as data: a tree of supervisors (declared policies) and workers, that
spawns itself into a runtime. Hypothesis generates them (``strategies.py``); tests and
scenarios can write them by hand.

    tree = TreeSpec(NodeSpec("root", policy=Policy("one_for_all", intensity=2), children=(
        NodeSpec("w0", manifest=COUNTER),
        NodeSpec("w1", manifest=CRASHER, restart="transient"),
    )))
    ids = tree.spawn(runtime)          # {"root": id, "w0": id, "w1": id}

A search over fault schedules that all start after a warm-up runs the warm-up once per
process and each schedule in a fork of it (``TreeSpec.check``, ``theater_harness.fork``):

    verdict = tree.check(faults=schedule, fork_at_ms=5000)
    verdict.assert_holds()
"""

from __future__ import annotations

import contextvars
import dataclasses
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

# The bundled example actors (in any install), and the component of every generated
# supervisor: a supervisor needs no code, its policy is declared.
from .examples import EXAMPLES, SUPERVISOR_COMPONENT, resolve  # noqa: F401  (EXAMPLES: re-exported)


@dataclass(frozen=True)
class Policy:
    """A supervisor's declared policy (see ``supervision.spec``)."""

    strategy: str = "one_for_one"
    intensity: int = 1
    period_ms: int = 5000
    permanent_errors: tuple[str, ...] = ()
    auto_shutdown: str = "never"  # any_significant, all_significant: see NodeSpec.significant

    def to_dict(self) -> dict:
        return {"strategy": self.strategy, "intensity": self.intensity, "period_ms": self.period_ms,
                "resolution_ms": 1000, "permanent_errors": list(self.permanent_errors),
                "auto_shutdown": self.auto_shutdown}


@dataclass(frozen=True)
class NodeSpec:
    """A supervisor (it has a ``policy``) or a worker (a ``manifest``), with how its own
    supervisor treats it (``restart``, ``recovery``, ``significant``)."""

    name: str
    manifest: str | None = None
    policy: Policy | None = None
    children: tuple["NodeSpec", ...] = ()
    restart: str = "permanent"
    recovery: str = "init"
    init_state: dict | None = None
    significant: bool = False

    @property
    def is_supervisor(self) -> bool:
        """A declarative supervisor (a policy), or a guest one (a manifest and children)."""
        return self.policy is not None or bool(self.children)

    def walk(self, depth: int = 0) -> Iterator[tuple["NodeSpec", int]]:
        yield self, depth
        for child in self.children:
            yield from child.walk(depth + 1)

    def manifest_text(self) -> str:
        """A supervisor's manifest, generated: the echo component and its policy."""
        policy = self.policy
        lines = [f'name = "{self.name}"', f"component = {json.dumps(str(SUPERVISOR_COMPONENT))}", "",
                 '[[handler]]\ntype = "runtime"', '[[handler]]\ntype = "message-server"',
                 '[[handler]]\ntype = "supervisor"', "", "[supervision]",
                 f'strategy = "{policy.strategy}"', f"intensity = {policy.intensity}",
                 f"period_ms = {policy.period_ms}",
                 f"permanent_errors = {json.dumps(list(policy.permanent_errors))}",
                 f'auto_shutdown = "{policy.auto_shutdown}"']
        for child in self.children:
            lines += ["", f'[supervision.children."{child.name}"]', f'restart = "{child.restart}"',
                      f'recovery = "{child.recovery}"', f"significant = {'true' if child.significant else 'false'}"]
        return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class TreeSpec:
    """A whole tree, from its root."""

    root: NodeSpec
    workload: tuple[tuple[int, str, str], ...] = field(default=())  # (at_ms, worker name, payload)

    def nodes(self) -> list[tuple[NodeSpec, int]]:
        """Every node with its depth, in spawn order."""
        return list(self.root.walk())

    @property
    def names(self) -> list[str]:
        return [node.name for node, _ in self.nodes()]

    def paths(self) -> dict[str, str]:
        """Each node's path of names from the root, e.g. ``root/s1/w3``."""
        out: dict[str, str] = {}

        def visit(node: NodeSpec, prefix: str) -> None:
            out[node.name] = f"{prefix}{node.name}"
            for child in node.children:
                visit(child, out[node.name] + "/")

        visit(self.root, "")
        return out

    def policies(self) -> dict[str, dict]:
        return {node.name: node.policy.to_dict() for node, _ in self.nodes() if node.policy is not None}

    def spawn(self, runtime: Any) -> dict[str, str]:
        """Spawn the tree (parents first); returns the actor id of every node by name."""
        ids: dict[str, str] = {}

        def spawn(node: NodeSpec, parent: str | None) -> None:
            source = node.manifest_text() if node.policy is not None else node.manifest
            ids[node.name] = runtime.spawn(source, name=node.name, parent=parent, init_state=node.init_state)
            for child in node.children:
                spawn(child, ids[node.name])

        spawn(self.root, None)
        return ids

    def send_workload(self, runtime: Any, ids: dict[str, str]) -> None:
        """Schedule the workload's messages (from outside) at their virtual times."""
        for at_ms, name, payload in self.workload:
            runtime.send(ids[name], payload, delay_ms=max(0, at_ms - runtime.now))

    def run(self, *, seed: int | None = None, faults: Any = None, until_ms: int | None = None,
            **options: Any) -> Any:
        """A fresh runtime with this tree, its workload and ``faults``, run to ``until_ms``
        (default: a little past the last message). Returns the runtime. Without a ``seed``,
        the runtime's default: derived from the current test's under the pytest plugin (so
        ``--theater-seed`` replays it), else 0."""
        from .runtime import Runtime

        runtime = Runtime(seed, faults=faults, **options)
        ids = self.spawn(runtime)
        self.send_workload(runtime, ids)
        runtime.run(until=self.end_ms(faults, until_ms))
        return runtime

    def end_ms(self, faults: Any = None, until_ms: int | None = None) -> int:
        """Where ``run`` stops: ``until_ms``, else 30 s past the last message or fault."""
        if until_ms is not None:
            return until_ms
        return max([at for at, _, _ in self.workload] + [f.at_ms or 0 for f in faults or ()] + [0]) + 30_000

    def check(self, *, faults: Any = None, fork_at_ms: int | None = None, seed: int | None = None,
              until_ms: int | None = None, policies: dict | None = None, only: Any = None,
              **options: Any) -> Verdict:
        """``run`` this tree with ``faults`` and check every invariant (or those in ``only``,
        with ``policies`` for guest supervisors): the ``Verdict``.

        With ``fork_at_ms``, the run before that instant (the tree spawned, its workload
        under way) is made once per process and kept (``checkpoint``), and a schedule whose
        faults are all timed at or after it runs in a fork of it: the verdict is the one the
        straight run gives. A failing verdict that will be reported (outside Hypothesis, or
        in its final replay of the shrunk example) is made again by a straight run here, so
        that it comes with its ``runtime`` (the pytest plugin's failure report reads it);
        Hypothesis's search and shrinking use the forks'. Other schedules, and a process that
        cannot fork (``fork.fork_problem``), run straight."""
        from . import fork
        from .runtime import default_seed

        seed = default_seed() if seed is None else seed
        only = None if only is None else tuple(only)
        end = self.end_ms(faults, until_ms)
        if fork_at_ms is not None and end < fork_at_ms:
            raise ValueError(f"fork_at_ms ({fork_at_ms}) is after the run's end ({end} ms)")
        if fork_at_ms is None or not fork.forkable(faults or (), fork_at_ms) or fork.fork_problem() is not None:
            return self._straight(seed, faults, until_ms, policies, only, options)
        checkpoint = self.checkpoint(fork_at_ms, seed=seed, policies=policies, only=only, **options)
        try:
            verdict = checkpoint.run(lambda rt: _finish(rt, faults, end, policies, only))
        except fork.ForkError:  # the straight run raises what the fork did, as it would without forks
            return self._straight(seed, faults, until_ms, policies, only, options)
        if verdict.ok or not _reported():
            return verdict
        straight = self._straight(seed, faults, until_ms, policies, only, options)
        if straight != verdict:
            raise fork.ForkError(f"the fork of the run at {fork_at_ms} ms and the straight run disagree "
                                 f"(seed {seed}):\n  forked:   {verdict}\n  straight: {straight}")
        return straight

    def checkpoint(self, at_ms: int, *, seed: int | None = None, policies: dict | None = None, only: Any = None,
                   **options: Any) -> Any:
        """This tree's run before ``at_ms`` as a ``fork.Checkpoint``: spawned, its workload
        sent, a fault injector counting from time 0 (a schedule added there acts as one given
        at the start), run to ``at_ms - 1`` and its invariants checked so far (each fork reads
        only the records it adds). Made once per process for a tree, seed, instant and
        options (``fork.cached``), and outside the current test (``contextvars``): it belongs
        to no test, the pytest plugin neither reports it nor counts it among a test's runs.
        ``checkpoint.ids``: the actors' ids by node name."""
        from . import fork
        from .runtime import default_seed

        if not isinstance(at_ms, int) or isinstance(at_ms, bool) or at_ms < 1:
            raise ValueError(f"at_ms must be a whole number of ms >= 1 (the checkpoint holds the run before it), "
                             f"not {at_ms!r}")
        seed = default_seed() if seed is None else seed
        only = None if only is None else tuple(only)
        key = ("tree", self, seed, at_ms, policies, only, options)
        return fork.cached(key, lambda: contextvars.Context().run(self._warmed, seed, at_ms, policies, only, options))

    def _warmed(self, seed: int, at_ms: int, policies: dict | None, only: Any, options: dict) -> Any:
        from .faults import FaultSchedule
        from .fork import Checkpoint
        from .invariants import check_all
        from .runtime import Runtime

        runtime = Runtime(seed, faults=FaultSchedule([]), **options)
        ids = self.spawn(runtime)
        self.send_workload(runtime, ids)
        runtime.run(until=at_ms - 1)
        check_all(runtime, policies=policies, only=only)
        return Checkpoint(runtime, ids)

    def _straight(self, seed: int, faults: Any, until_ms: int | None, policies: dict | None, only: Any,
                  options: dict) -> Verdict:
        runtime = self.run(seed=seed, faults=faults, until_ms=until_ms, **options)
        verdict = Verdict.of(runtime, policies, only)
        if verdict.ok:
            runtime.close()
            return verdict
        return dataclasses.replace(verdict, runtime=runtime)  # the failure report reads it

    def describe(self) -> str:
        """An indented outline, for reports."""
        lines = []
        for node, depth in self.nodes():
            policy = node.policy
            what = (f"supervisor {policy.strategy} intensity {policy.intensity}/{policy.period_ms} ms"
                    + (f" auto_shutdown {policy.auto_shutdown}" if policy.auto_shutdown != "never" else "")
                    if policy else f"{'guest supervisor' if node.children else 'worker'} {Path(node.manifest).stem}")
            how = f"{node.restart}{', significant' if node.significant else ''}, recovery {node.recovery}"
            lines.append(f"{'  ' * depth}{node.name}: {what} ({how})")
        return "\n".join(lines)


@dataclass(frozen=True)
class Verdict:
    """What a run of a tree came to (``TreeSpec.check``): every invariant's violations, how
    the run ended, when, and how many trace records it made. Picklable (a fork sends it
    back); a failing verdict made straight has its ``runtime``, for the failure report."""

    seed: int
    violations: tuple = ()  # invariants.Violation, in check_all's order
    ended: str | None = None  # the root's failure that ended the run early, if it did
    time_ms: int = 0
    records: int = 0
    forked: bool = field(default=False, compare=False)
    runtime: Any = field(default=None, compare=False, repr=False)

    @classmethod
    def of(cls, runtime: Any, policies: dict | None = None, only: Any = None, *, forked: bool = False) -> Verdict:
        from .invariants import check_all

        violations = tuple(check_all(runtime, policies=policies, only=only))
        return cls(runtime.seed, violations, None if runtime.ended is None else str(runtime.ended), runtime.now,
                   len(runtime.trace), forked)

    @property
    def ok(self) -> bool:
        return not self.violations

    def assert_holds(self) -> None:
        """Raise ``invariants.InvariantViolation`` if an invariant failed."""
        from .invariants import InvariantViolation

        if self.violations:
            raise InvariantViolation(list(self.violations))

    def __getstate__(self) -> dict:
        return {**self.__dict__, "runtime": None}  # a runtime does not leave its process


def _finish(runtime: Any, faults: Any, end: int, policies: dict | None, only: Any) -> Verdict:
    """In a fork of a tree's checkpoint: add ``faults``, run to ``end``, check."""
    if faults is not None:
        runtime.inject(faults)
    runtime.run(until=end)
    return Verdict.of(runtime, policies, only, forked=True)


def _reported() -> bool:
    """Whether a failure found now is the one reported: outside Hypothesis, or in its final
    replay of the shrunk (or explicit) example, not while it searches and shrinks."""
    control = sys.modules.get("hypothesis.control")
    if control is None:
        return True
    try:
        return control.current_build_context().is_final
    except Exception:  # InvalidArgument: no example is being run
        return True


def node_from_dict(raw: Any, *, base_dir: Path | None = None, source: str = "<tree>", where: str = "tree") -> NodeSpec:
    """A node from a plain dict (or a TOML table): ``name``; a worker's ``manifest``, or a
    supervisor's ``supervision`` policy (or a guest supervisor's manifest) and ``children``;
    ``restart``/``recovery`` for how its supervisor treats it; ``init_state``. Validated
    whole by its schema (``schema/tree.py``) before any record is made."""
    from .schema.tree import check_tree

    return _node(check_tree(raw, base_dir=base_dir, source=source, where=where))


def _node(node: dict) -> NodeSpec:
    policy = node["policy"]
    return NodeSpec(node["name"], manifest=node["manifest"], policy=None if policy is None else Policy(**policy),
                    children=tuple(_node(c) for c in node["children"]), restart=node["restart"],
                    recovery=node["recovery"], init_state=node["init_state"], significant=node["significant"])


def tree_from(spec: Any, *, base_dir: Path | None = None, source: str = "<tree>") -> TreeSpec:
    """A TreeSpec from a TreeSpec, a NodeSpec, a dict, or TOML text (see ``node_from_dict``)."""
    if isinstance(spec, TreeSpec):
        return spec
    if isinstance(spec, NodeSpec):
        return TreeSpec(spec)
    if isinstance(spec, str):
        from .errors import ScenarioError
        from .schema import _core

        spec = _core.parse_toml(spec, lambda field, message: ScenarioError(message, file=source, field=field))
    return TreeSpec(node_from_dict(spec, base_dir=base_dir, source=source))
