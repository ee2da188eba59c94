"""The actors of a trace, replayed from its records: names, tree, status, incarnations."""

from __future__ import annotations

from dataclasses import dataclass, field

OUTSIDE = "(outside)"  # the sender of a record without an actor: a test or a tool


@dataclass(slots=True)
class ActorInfo:
    """One actor as the records tell it, up to some time."""

    id: str
    name: str
    parent: str | None = None
    manifest: str | None = None
    strategy: str | None = None  # the declared [supervision] strategy, if any
    status: str = "starting"
    exit_kind: str | None = None  # the kind of its last exit reason, while it is ended
    incarnations: int = 0
    children: list[str] = field(default_factory=list)  # in spawn order

    @property
    def short_id(self) -> str:
        return self.id[:8]

    @property
    def supervision(self) -> str | None:
        """How it supervises: its declared strategy, "guest" for a parent without one, else None."""
        return self.strategy or ("guest" if self.children else None)

    @property
    def status_text(self) -> str:
        """running, starting, or the exit status with the exit kind ("failed: trap")."""
        return f"{self.status}: {self.exit_kind}" if self.exit_kind else self.status


def actors_of(records: list[dict], at_ms: int | None = None) -> dict[str, ActorInfo]:
    """Every actor spawned by ``at_ms`` (default: the end), in spawn order, with its status then."""
    actors: dict[str, ActorInfo] = {}
    for r in records:
        if at_ms is not None and r["t"] > at_ms:
            continue
        kind, actor_id = r["kind"], r.get("actor")
        if kind == "spawn":
            info = actors[actor_id] = ActorInfo(actor_id, r.get("name") or actor_id[:8], r.get("parent"),
                                                r.get("manifest"), (r.get("supervision") or {}).get("strategy"))
            if info.parent in actors:
                actors[info.parent].children.append(actor_id)
        elif kind in ("start", "exit") and actor_id is not None:
            info = actors.get(actor_id) or actors.setdefault(actor_id, ActorInfo(actor_id, actor_id[:8]))
            if kind == "start":
                info.status, info.exit_kind = "running", None
                info.incarnations = max(info.incarnations, r.get("incarnation", 0))
            else:  # an incarnation that failed to be created has an exit but no start
                reason = r.get("reason") or {}
                info.status, info.exit_kind = r.get("status", "stopped"), reason.get("kind")
                info.incarnations = max(info.incarnations, reason.get("incarnation", 0))
    return actors


def tree_rows(actors: dict[str, ActorInfo]) -> list[tuple[int, ActorInfo]]:
    """(depth, actor) depth-first, children in spawn order; an actor whose parent is not in
    the trace is a root."""
    rows: list[tuple[int, ActorInfo]] = []

    def visit(info: ActorInfo, depth: int) -> None:
        rows.append((depth, info))
        for child in info.children:
            visit(actors[child], depth + 1)

    for info in actors.values():
        if info.parent not in actors:
            visit(info, 0)
    return rows


# Records drawn on lanes of their own, not on their caller's: calls into the outside world
# (a lane per interface: filesystem, environment, http-client, store) and rpc calls.
WORLD, RPC = "world", "rpc"
Lane = str | tuple[str, str] | None  # an actor's id; (WORLD, interface) or (RPC, ""); None: outside


def lane_of(record: dict) -> Lane:
    """The lane a record belongs to: its actor's, or the world's or rpc's."""
    kind = record["kind"]
    if kind == WORLD:
        return (WORLD, str(record.get("interface")))
    if kind == RPC:
        return (RPC, "")
    return record.get("actor")


def lane_name(names: dict[str, str], lane: Lane) -> str:
    """A lane's name: an actor's (``label``), ``world: <interface>`` or ``rpc``."""
    if isinstance(lane, tuple):
        return f"{WORLD}: {lane[1]}" if lane[0] == WORLD else RPC
    return label(names, lane)


def label(names: dict[str, str], actor_id: str | None) -> str:
    """An actor's name for a line of text: its name, else its short id, else (outside)."""
    if actor_id is None:
        return OUTSIDE
    return names.get(actor_id, actor_id[:8])
