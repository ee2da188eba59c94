"""An actor across its incarnations: identity, mailbox, state, status, children, chain."""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING, Any

from .chain import EventChain
from .supervision.spec import ChildSpec

DEFAULT_CHILD_SPEC = ChildSpec()

if TYPE_CHECKING:
    from .exit import ExitReason
    from .manifest import Manifest
    from .wasm import ActorComponent, Incarnation

STARTING = "starting"
RUNNING = "running"
STOPPED = "stopped"
FAILED = "failed"


class Actor:
    """The runtime's record of one actor. Users see it through ``ActorView``."""

    __slots__ = (
        "id", "name", "manifest", "component", "parent", "children", "status", "incarnation",
        "instance", "state", "chain", "mailbox", "busy", "exit_reason", "logs", "outstanding",
        "stop_requested", "shutdown_data", "dispatch_pending", "fuel", "memory", "spawn_order",
        "init_state", "accepts_messages", "suspended", "wait", "spec", "child_spec", "restart_times",
        "consecutive_restarts", "last_restart_ms", "journal", "probe", "spawn_failed", "deleted_specs",
        "end_posted", "end_settled", "by_parent", "depth", "instant_ms", "instant_calls", "call_usage",
        "chain_bytes", "registered", "exit_waiters",
    )

    def __init__(self, actor_id: str, name: str, manifest: "Manifest", component: "ActorComponent",
                 parent: str | None, *, fuel: int, memory: int | None, spawn_order: int,
                 init_state: bytes | None):
        self.id = actor_id
        self.name = name
        self.manifest = manifest
        self.component = component
        self.parent = parent
        self.children: list[str] = []  # in start order
        self.status = STARTING
        self.incarnation = 0
        self.instance: "Incarnation | None" = None
        self.state: bytes | None = None
        self.chain = EventChain()
        self.mailbox: deque[tuple] = deque()
        self.busy = False  # inside a wasm call, running or suspended
        self.suspended: tuple | None = None  # (export, then) of a call parked in a blocking host call
        self.wait = None  # the Wait that call is parked on
        self.spec = None  # its [supervision] policy, when it supervises declaratively
        self.child_spec = DEFAULT_CHILD_SPEC  # how its parent treats it
        self.restart_times: tuple[int, ...] = ()  # its own restarts of children, for intensity
        # ids of children whose specs it deleted in this incarnation (OTP del_child): beyond
        # ended temporary children, which have none, those that ended with a permanent error
        self.deleted_specs: set[str] = set()
        self.spawn_failed = False  # its first init failed: it never ran (OTP saves no spec for it)
        # Its ends its parent has been told of, and has dealt with: the incarnation of the
        # last end posted to the parent, and the one through which the parent handled them
        # (or a group restart flushed them, as OTP's terminate_children does with an 'EXIT'
        # still in the supervisor's mailbox). An end is pending while posted > settled.
        self.end_posted = 0
        self.end_settled = 0
        self.by_parent = False  # spawned by its parent's own supervisor.spawn, not declared from outside
        self.consecutive_restarts = 0  # for backoff
        self.last_restart_ms = 0
        self.journal = None  # its history of calls, kept when its recovery mode is replay
        self.probe = None  # a Probe when this is a Python-side actor for tests
        self.exit_reason: "ExitReason | None" = None
        self.logs: list[tuple[int, str]] = []
        self.outstanding: dict[str, Any] = {}  # request id -> pending request it must answer
        # a stop (reason, notify parent?) that waits for the current call to unwind
        self.stop_requested: "tuple[ExitReason, bool] | None" = None
        self.shutdown_data: tuple[bytes | None] | None = None  # set by runtime.shutdown
        self.dispatch_pending = False
        self.fuel = fuel
        self.memory = memory
        self.spawn_order = spawn_order
        self.init_state = init_state  # the merged state passed to init
        self.accepts_messages = "message-server" in manifest.handler_types
        self.registered = False  # the incarnation called message-server-host.register (packr)
        self.exit_waiters: list = []  # callbacks for when the current incarnation ends (spawn-and-wait)
        # For the runtime's bounds (limits.py): how deep it is under its root (0 for a root),
        # the virtual instant of its last call and its calls then, and what its current
        # call has handed the host ([log bytes, log lines, message bytes]; None: nothing yet),
        # and the bytes its current incarnation added to its chain.
        self.depth = 0
        self.instant_ms = -1
        self.instant_calls = 0
        self.call_usage: list[int] | None = None
        self.chain_bytes = 0

    @property
    def alive(self) -> bool:
        return self.status in (STARTING, RUNNING)

    def __repr__(self) -> str:
        return f"<Actor {self.name} {self.id[:8]} {self.status} #{self.incarnation}>"


class ActorView:
    """A read-only, live view of an actor for tests and tools."""

    __slots__ = ("_actor", "_runtime")

    def __init__(self, actor: Actor, runtime: Any):
        self._actor = actor
        self._runtime = runtime

    id = property(lambda self: self._actor.id, doc="The actor's id (a UUID string).")
    name = property(lambda self: self._actor.name, doc="The name given at spawn, or the manifest's name.")
    status = property(lambda self: self._actor.status, doc="starting, running, stopped or failed.")
    incarnation = property(lambda self: self._actor.incarnation, doc="1 for the first instance, +1 per restart.")
    state = property(lambda self: self._actor.state, doc="The state returned by the last successful call.")
    exit_reason = property(lambda self: self._actor.exit_reason, doc="Why it ended, or None while alive.")
    parent = property(lambda self: self._actor.parent, doc="The parent's id, or None for a root actor.")
    restarts = property(lambda self: self._actor.incarnation - 1, doc="How many times it was restarted.")
    manifest = property(lambda self: self._actor.manifest)
    logs = property(lambda self: [msg for _, msg in self._actor.logs], doc="Messages passed to runtime.log.")

    @property
    def alive(self) -> bool:
        return self._actor.alive

    @property
    def children(self) -> list[str]:
        """Ids of the live children, in start order."""
        actors = self._runtime._actors
        return [c for c in self._actor.children if actors[c].alive]

    @property
    def chain(self) -> list:
        """The actor's event chain (ChainEvent records, hashes computed on demand)."""
        return self._actor.chain.events

    def __repr__(self) -> str:
        a = self._actor
        return f"ActorView(name={a.name!r}, id={a.id!r}, status={a.status!r}, incarnation={a.incarnation})"
