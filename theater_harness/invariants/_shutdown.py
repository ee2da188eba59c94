"""Shutdown (OTP ``supervisor``): stopping an actor stops its whole subtree first, its
children in reverse start order, so that no actor outlives its parent."""

from __future__ import annotations

from typing import Any, Mapping

from ._check import Pass, check
from ._records import CAUSE_PARENT_ENDED, cause
from ._violation import Violation

NO_ORPHANS = "no_orphans"
REVERSE_ORDER = "reverse_order_shutdown"


def check_no_orphans(records: Any, *, policies: Mapping[str, Mapping] | None = None) -> list[Violation]:
    """When an actor ends (its ``exit``), none of its descendants is alive; and no actor
    starts again (``restart``) under a parent that has ended."""
    return check([NoOrphans], records, policies)


def check_reverse_order_shutdown(records: Any, *, policies: Mapping[str, Mapping] | None = None) -> list[Violation]:
    """When an actor ends, the children that were alive when its ending began end before
    it (cause ``parent-ended``), last started first."""
    return check([ReverseOrderShutdown], records, policies)


class NoOrphans(Pass):
    def __init__(self, checker: Any):
        super().__init__(checker)
        self.alive: dict[str, bool] = {}
        self.latest: dict[str, dict] = {}  # actor -> its latest spawn or restart record
        self.found: list[Violation] = []

    def on_spawn(self, r: dict) -> None:
        self.alive[r["actor"]] = True
        self.latest[r["actor"]] = r

    def on_restart(self, r: dict) -> None:
        actors, actor = self.actors, r["actor"]
        parent = actors.parent(actor)
        if parent is not None and not self.alive.get(parent, False):
            self.found.append(Violation(NO_ORPHANS, r["t"], (parent, actor), (
                f"{actors.label(actor)} was restarted (incarnation {r.get('incarnation')}) while its parent "
                f"{actors.label(parent)} had ended: an actor never outlives its parent"),
                tuple(x for x in (self.latest.get(parent), r) if x is not None)))
        self.on_spawn(r)

    def on_exit(self, r: dict) -> None:
        actors, actor = self.actors, r["actor"]
        self.alive[actor] = False
        live = [d for d in actors.descendants(actor) if self.alive.get(d)]
        if live:
            self.found.append(Violation(NO_ORPHANS, r["t"], (actor, *live), (
                f"{actors.label(actor)} ended ({r['reason']['kind']}) while its descendants "
                f"{actors.labels(live)} were alive: stopping an actor stops its whole subtree first"),
                tuple(sorted([r] + [self.latest[d] for d in live], key=lambda x: x["seq"]))))

    def violations(self) -> list[Violation]:
        return list(self.found)


class ReverseOrderShutdown(Pass):
    def __init__(self, checker: Any):
        super().__init__(checker)
        self.alive: dict[str, bool] = {}
        self.were_alive: dict[str, list[str]] = {}  # parent -> its live children when its ending began
        self.ended: dict[str, list[dict]] = {}  # parent -> its children's exits since its ending began
        self.found: list[Violation] = []

    def on_spawn(self, r: dict) -> None:
        actor = r["actor"]
        self.alive[actor] = True
        self.were_alive.pop(actor, None)
        self.ended.pop(actor, None)

    on_restart = on_spawn

    def on_exit(self, r: dict) -> None:
        actors, alive, actor = self.actors, self.alive, r["actor"]
        parent = actors.parent(actor)
        if cause(r) == CAUSE_PARENT_ENDED and parent is not None and alive.get(parent):
            if parent not in self.ended:
                self.were_alive[parent] = [c for c in actors.children.get(parent, ()) if alive.get(c)]
                self.ended[parent] = []
            self.ended[parent].append(r)
        alive[actor] = False
        children = self.were_alive.pop(actor, None)
        if children is None:
            children = [c for c in actors.children.get(actor, ()) if alive.get(c)]
        exits = self.ended.pop(actor, [])
        expected = list(reversed(children))
        order = [e["actor"] for e in exits]
        still = [c for c in actors.children.get(actor, ()) if alive.get(c)]
        if order != expected or still:
            left = f"; {actors.labels(still)} had not ended" if still else ""
            self.found.append(Violation(REVERSE_ORDER, r["t"], (actor, *expected), (
                f"{actors.label(actor)} ended ({r['reason']['kind']}): its children alive when its ending began "
                f"should have ended before it, last started first, {actors.labels(expected)}; they ended in the "
                f"order {actors.labels(order)}{left}"), tuple(exits) + (r,)))

    def violations(self) -> list[Violation]:
        return list(self.found)
