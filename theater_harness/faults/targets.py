"""Which actors a fault names: an actor ref (an id, a path of names from a root, or a
name), a link ``[from, to]``, or the groups of a partition. ``actors`` is the runtime's
table of every actor ever spawned (id -> actor), in spawn order."""

from __future__ import annotations

from typing import Any

from .model import OUTSIDE


def named(actors: dict[str, Any], ref: str) -> list[Any]:
    """Actors ``ref`` names, whatever their status: an id, a path of names from a root,
    or a name."""
    if ref in actors:
        return [actors[ref]]
    if "/" in ref:
        level = [a for a in actors.values() if a.parent is None]
        found: list[Any] = []
        for part in ref.split("/"):
            found = [a for a in level if a.name == part]
            level = [actors[c] for a in found for c in a.children]
        return found
    return [a for a in actors.values() if a.name == ref]


def matches(actors: dict[str, Any], ref: str, actor: Any) -> bool:
    """Whether ``ref`` names ``actor``."""
    if ref == actor.id:
        return True
    if "/" in ref:
        return actor in named(actors, ref)
    return ref == actor.name


def link_matches(actors: dict[str, Any], link: tuple[str, str], sender: Any, target: Any) -> bool:
    """Whether a message from ``sender`` (None: from outside) to ``target`` is on ``link``."""
    src, dst = link
    sender_ok = (sender is None and src == OUTSIDE) or (sender is not None and matches(actors, src, sender))
    return sender_ok and matches(actors, dst, target)


def separated(groups: tuple[tuple[str, ...], ...], sender: Any, target: Any) -> bool:
    """Whether a partition's groups put sender and target on different sides."""
    if sender is None:
        return False

    def side(actor: Any) -> int | None:
        for i, group in enumerate(groups):
            if actor.id in group or actor.name in group:
                return i
        return None

    a, b = side(sender), side(target)
    return a is not None and b is not None and a != b
