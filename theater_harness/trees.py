"""Supervision trees as data: a tree of supervisors (declared policies) and workers, that
spawns itself into a runtime. Hypothesis generates them (``strategies.py``); tests and
scenarios can write them by hand.

    tree = TreeSpec(NodeSpec("root", policy=Policy("one_for_all", intensity=2), children=(
        NodeSpec("w0", manifest=COUNTER),
        NodeSpec("w1", manifest=CRASHER, restart="transient"),
    )))
    ids = tree.spawn(runtime)          # {"root": id, "w0": id, "w1": id}
"""

from __future__ import annotations

import json
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
        last = max([at for at, _, _ in self.workload] + [f.at_ms or 0 for f in faults or ()] + [0])
        runtime.run(until=until_ms if until_ms is not None else last + 30_000)
        return runtime

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
