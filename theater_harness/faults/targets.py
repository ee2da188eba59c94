"""Which actors a fault names: an actor ref (an id, a path of names from a root, or a
name), a link ``[from, to]``, or the groups of a partition. ``actors`` is the runtime's
table of every actor ever spawned (id -> actor), in spawn order.

A name or path that several actors share names the one of them alive at that instant, as
``Runtime.actor`` resolves it; if more than one is alive it is *ambiguous*
(``ambiguous``): the fault acts on none of them and the error lists each candidate with
its id and path. In a partition's groups, a name stands for every actor of that name.
"""

from __future__ import annotations

from typing import Any

from ..errors import UnknownActorError
from .model import OUTSIDE


class AmbiguousTargetError(UnknownActorError):
    """A fault's target (or a link's end) names more than one running actor."""

    def __init__(self, fault: int, describe: str, why: str, *, ref: str, candidates: list[tuple[str, str]]):
        super().__init__(f"fault #{fault} ({describe}): {why}")
        self.fault = fault  # the fault's index in the run's schedule
        self.why = why  # the message, without the fault
        self.ref = ref
        self.candidates = candidates  # (id, path) of each actor it could mean


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


def path_of(actors: dict[str, Any], actor: Any) -> str:
    """``actor``'s path of names from its root, e.g. ``root/team/worker``."""
    names = [actor.name]
    while actor.parent is not None:
        actor = actors[actor.parent]
        names.append(actor.name)
    return "/".join(reversed(names))


def ambiguous(actors: dict[str, Any], ref: str, matched: Any = None) -> list[Any]:
    """The actors ``ref`` could mean right now, if more than one (else []): those it names
    that are alive, and ``matched``, the actor a choke point found it naming (an init or a
    restart may come before that actor counts as alive)."""
    if ref in actors or ref == OUTSIDE:
        return []
    found = [actor for actor in named(actors, ref) if actor.alive or actor is matched]
    return found if len(found) > 1 else []


def ambiguity(actors: dict[str, Any], index: int, fault: Any, ref: str, candidates: list[Any]) -> AmbiguousTargetError:
    """The error for fault ``index`` whose ``ref`` names all of ``candidates``: each with
    its id and path, and how to name just one."""
    listed = [(actor.id, path_of(actors, actor)) for actor in candidates]
    paths = [path for _, path in listed]
    by_path = len(set(paths)) == len(paths) and ref not in paths
    where = "its target" if ref == fault.target else "its link's end"
    why = (f"{where} {ref!r} is ambiguous: {len(candidates)} running actors have that "
           f"{'path' if '/' in ref else 'name'}: " + ", ".join(f"{i} ({p})" for i, p in listed)
           + f"; name one by its id{' or its path' if by_path else ''}")
    return AmbiguousTargetError(index, fault.describe(), why, ref=ref, candidates=listed)
