"""Shutdown (OTP ``supervisor``): stopping an actor stops its whole subtree first, its
children in reverse start order, so that no actor outlives its parent."""

from __future__ import annotations

from typing import Any, Mapping

from ._records import CAUSE_PARENT_ENDED, actors_of, cause, records_of
from ._violation import Violation

NO_ORPHANS = "no_orphans"
REVERSE_ORDER = "reverse_order_shutdown"


def check_no_orphans(records: Any, *, policies: Mapping[str, Mapping] | None = None) -> list[Violation]:
    """When an actor ends (its ``exit``), none of its descendants is alive; and no actor
    starts again (``restart``) under a parent that has ended."""
    records = records_of(records)
    actors = actors_of(records)
    alive: dict[str, bool] = {}
    latest: dict[str, dict] = {}  # actor -> its latest spawn or restart record
    found = []
    for r in records:
        kind, actor = r["kind"], r.get("actor")
        if kind in ("spawn", "restart"):
            parent = actors.parent(actor)
            if kind == "restart" and parent is not None and not alive.get(parent, False):
                found.append(Violation(NO_ORPHANS, r["t"], (parent, actor), (
                    f"{actors.label(actor)} was restarted (incarnation {r.get('incarnation')}) while its parent "
                    f"{actors.label(parent)} had ended: an actor never outlives its parent"),
                    tuple(x for x in (latest.get(parent), r) if x is not None)))
            alive[actor] = True
            latest[actor] = r
        elif kind == "exit":
            alive[actor] = False
            live = [d for d in actors.descendants(actor) if alive.get(d)]
            if live:
                found.append(Violation(NO_ORPHANS, r["t"], (actor, *live), (
                    f"{actors.label(actor)} ended ({r['reason']['kind']}) while its descendants "
                    f"{actors.labels(live)} were alive: stopping an actor stops its whole subtree first"),
                    tuple(sorted([r] + [latest[d] for d in live], key=lambda x: x["seq"]))))
    return found


def check_reverse_order_shutdown(records: Any, *, policies: Mapping[str, Mapping] | None = None) -> list[Violation]:
    """When an actor ends, the children that were alive when its ending began end before
    it (cause ``parent-ended``), last started first."""
    records = records_of(records)
    actors = actors_of(records)
    alive: dict[str, bool] = {}
    were_alive: dict[str, list[str]] = {}  # parent -> its live children when its ending began
    ended: dict[str, list[dict]] = {}  # parent -> its children's exits since its ending began
    found = []
    for r in records:
        kind, actor = r["kind"], r.get("actor")
        if kind in ("spawn", "restart"):
            alive[actor] = True
            were_alive.pop(actor, None)
            ended.pop(actor, None)
        if kind != "exit":
            continue
        parent = actors.parent(actor)
        if cause(r) == CAUSE_PARENT_ENDED and parent is not None and alive.get(parent):
            if parent not in ended:
                were_alive[parent] = [c for c in actors.children.get(parent, ()) if alive.get(c)]
                ended[parent] = []
            ended[parent].append(r)
        alive[actor] = False
        children = were_alive.pop(actor, None)
        if children is None:
            children = [c for c in actors.children.get(actor, ()) if alive.get(c)]
        exits = ended.pop(actor, [])
        expected = list(reversed(children))
        order = [e["actor"] for e in exits]
        still = [c for c in actors.children.get(actor, ()) if alive.get(c)]
        if order != expected or still:
            left = f"; {actors.labels(still)} had not ended" if still else ""
            found.append(Violation(REVERSE_ORDER, r["t"], (actor, *expected), (
                f"{actors.label(actor)} ended ({r['reason']['kind']}): its children alive when its ending began "
                f"should have ended before it, last started first, {actors.labels(expected)}; they ended in the "
                f"order {actors.labels(order)}{left}"), tuple(exits) + (r,)))
    return found
