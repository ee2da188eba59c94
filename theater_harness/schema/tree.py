"""The schema of supervision trees written as data (``trees.tree_from``: a dict, a TOML
table, the pytest plugin's ``spawn_tree``):

    name = "root"                                   # unique in the tree
    supervision = { strategy = "one_for_all", intensity = 3, period_ms = 5000,
                    permanent_errors = ["fatal"], auto_shutdown = "never" }
    manifest = "examples:counter.toml"              # a worker, or a guest supervisor with children
    children = [ { name = "w", manifest = "...", restart = "transient", recovery = "last",
                   significant = false, init_state = { count = 1 } } ]

``check_tree`` gives the tree as plain nested dicts with every default filled in and each
manifest resolved, for ``trees`` to build its records from. Errors are ScenarioErrors
naming the source and the node (``tree.children[1].restart``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..errors import ScenarioError
from ..examples import resolve
from ..supervision.spec import AUTO_SHUTDOWN, RECOVERY_MODES, RESTART_TYPES, STRATEGIES
from . import _core

NODE_KEYS = ("name", "manifest", "supervision", "children", "restart", "recovery", "init_state", "significant")
POLICY_KEYS = ("strategy", "intensity", "period_ms", "permanent_errors", "auto_shutdown")
# A generated supervisor's manifest does not set resolution_ms: restart periods are whole seconds.
MIN_PERIOD_MS = 1000


def check_policy(f: _core.Fields, table: Any, where: str, *, min_period_ms: int = MIN_PERIOD_MS) -> dict[str, Any]:
    """A policy table (a generated supervisor's, or one a guest supervisor is held to):
    strategy, intensity, period_ms, permanent_errors, auto_shutdown, with their defaults."""
    t = f.table(table, where, "expected a table: strategy, intensity, period_ms, permanent_errors")
    f.unknown(t, POLICY_KEYS, where)
    f.regexes(t, "permanent_errors", where, "expected a list of regular expressions")
    intensity = f.integer(t, "intensity", where)
    period = f.integer(t, "period_ms", where, low=min_period_ms)
    return {"strategy": f.choice(t, "strategy", where, STRATEGIES, "one_for_one"),
            "intensity": 1 if intensity is None else intensity,
            "period_ms": 5000 if period is None else period,
            "permanent_errors": tuple(t.get("permanent_errors", ())),
            "auto_shutdown": f.choice(t, "auto_shutdown", where, AUTO_SHUTDOWN, "never")}


def check_child_rules(f: _core.Fields, field: str, restart: str, significant: bool, parent_policy: dict | None
                      ) -> None:
    """The rules a generated supervisor's manifest would break: a significant child must not
    be permanent, and its supervisor must have an auto_shutdown."""
    if not significant or parent_policy is None:
        return
    if restart == "permanent":
        raise f.error(field, "a permanent child cannot be significant (it is always restarted); "
                             "make it transient or temporary, or set significant = false")
    if parent_policy["auto_shutdown"] == "never":
        raise f.error(field, "significant children need their supervisor's auto_shutdown = "
                             "\"any_significant\" or \"all_significant\" (it is \"never\")")


def check_tree(raw: Any, *, base_dir: Path | None = None, source: str = "<tree>", where: str = "tree"
               ) -> dict[str, Any]:
    """A whole tree from its root node, validated and normalised (see the module's docstring)."""
    def error(field: str | None, message: str) -> ScenarioError:
        return ScenarioError(message, file=source, field=field)

    f = _core.Fields(error)
    _core.check_depth(raw, error)
    names: dict[str, str] = {}
    return _node(f, raw, base_dir, where, names, None, 0)


def _node(f: _core.Fields, raw: Any, base_dir: Path | None, where: str, names: dict[str, str],
          parent_policy: dict | None, depth: int) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise f.error(where, f"expected a table, got {_core.show(raw)}")
    f.unknown(raw, NODE_KEYS, where, name_it=False)
    name = raw.get("name")
    if not isinstance(name, str) or not name:
        raise f.error(f"{where}.name", "every node needs a name")
    problem = _core.name_problem(name)
    if problem is not None:
        raise f.error(f"{where}.name", problem)
    if name in names:
        raise f.error("tree", f"two nodes are named {name!r}; names must be unique")
    names[name] = where
    if depth >= _core.MAX_TREE_DEPTH:
        raise f.error(where, f"the tree is deeper than {_core.MAX_TREE_DEPTH} levels")
    policy = check_policy(f, raw["supervision"], f"{where}.supervision") if "supervision" in raw else None
    manifest = f.path(raw, "manifest", where, "expected a path to a manifest")
    if manifest is not None:
        try:
            manifest = str(resolve(manifest, base_dir))
        except ValueError as e:
            raise f.error(f"{where}.manifest", str(e)) from None
    if policy is None and manifest is None:
        raise f.error(where, f"node {name!r} needs a manifest (a worker or a guest supervisor) or a supervision table")
    if policy is not None and manifest is not None:
        raise f.error(f"{where}.manifest",
                      "a node with a supervision table is generated by the harness: drop the manifest")
    restart = f.choice(raw, "restart", where, RESTART_TYPES, "permanent")
    recovery = f.choice(raw, "recovery", where, RECOVERY_MODES, "init")
    significant = f.boolean(raw, "significant", where)
    check_child_rules(f, f"{where}.significant", restart, significant, parent_policy)
    init_state = raw.get("init_state")
    if init_state is not None:
        if not isinstance(init_state, (dict, list)):
            raise f.error(f"{where}.init_state", f"expected a table (merged over the manifest's state) or an array, "
                                                 f"got {_core.show(init_state)}")
        problem = _core.json_problem(init_state, f"{where}.init_state")
        if problem is not None:
            raise f.error(*problem)
    children_raw = raw.get("children", [])
    if not isinstance(children_raw, list):
        raise f.error(f"{where}.children", "expected a list of nodes")
    children = [_node(f, c, base_dir, f"{where}.children[{i}]", names, policy, depth + 1)
                for i, c in enumerate(children_raw)]
    return {"name": name, "manifest": manifest, "policy": policy, "children": children, "restart": restart,
            "recovery": recovery, "init_state": init_state, "significant": significant}
