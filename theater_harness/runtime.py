"""The runtime: real wasm actors on a simulated clock, deterministic from a seed.

A ``Runtime`` spawns actors from Theater manifests, delivers their messages through
per-actor mailboxes (one call at a time per actor), runs the virtual clock, and records
every call, host call and lifecycle event in the actors' chains and in the run's trace.
"""

from __future__ import annotations

import contextvars
import functools
import itertools
import json
import os
from pathlib import Path
from typing import Any, Callable

from . import _scheduler
from ._clock import VirtualClock
from ._rng import RunRandom
from ._scheduler import Scheduler
from .actor import FAILED, RUNNING, STARTING, STOPPED, Actor, ActorView
from .chain import HOST_CALL, WASM_CALL, WASM_RESULT, recorded_result, wasm_call_data, wasm_error_data
from .errors import CallFailed, ComponentError, HarnessError, SpawnError, UnknownActorError, UnknownExportError
from .exit import (CAUSE_OUTSIDE, CAUSE_PARENT_ENDED, ERR, HOST_ERROR, KILLED, LIMIT, MEMORY, NORMAL, OUT_OF_FUEL,
                   SHUTDOWN, SKIPPED, SPAWN_ERROR, SYSTEM_LIMIT, TRAP, ExitReason)
from .host import HOST_FUNCTIONS, ITEMS, REPLAYED_EFFECTS, close_channels_of, undeliverable
from .host.calls import PendingCall
from .host.timer import cancel_timers_of
from .host.message_server import RequestFailed, external_request, external_send
from .manifest import Manifest, load_manifest, merge_init_state, parse_manifest
from .values import TypedState, Value, to_value
from .faults import Fault, FaultSchedule
from .probe import Probe, make_probe_actor
from .faults.injector import FaultInjector
from .limits import LimitExceeded, Limits, chain_over, os_exhausted, over, system_limit
from .supervision import supervision_of
from .supervision.recovery import Journal, ReplayDispatch, replay
from .trace import Trace, state_digest
from .wasm import (INSTANTIATE, SUSPENDED, ActorComponent, Failure, Incarnation, Suspension, WasmtimeError,
                   load_component)
from .wasm import short_error as _short

DEFAULT_FUEL = 10_000_000  # per call; a hang ends in "out-of-fuel" after ~10-50 ms of wall time
DEFAULT_MEMORY = 32 * 1024 * 1024  # bytes of linear memory per incarnation
DEFAULT_REQUEST_TIMEOUT_MS = 30_000
DEFAULT_EPOCH_MS = 1_767_225_600_000  # what timing.now() reads at virtual time 0: 2026-01-01T00:00Z

INIT = ("actor", "init")
_os_exhausted = functools.lru_cache(maxsize=256)(os_exhausted)  # a pure test of a trap's message, remembered
_FAILURE_KINDS = {"trap": TRAP, "out-of-fuel": OUT_OF_FUEL, "memory": MEMORY, "host-error": HOST_ERROR,
                  SYSTEM_LIMIT: SYSTEM_LIMIT}


class Runtime:
    """A simulated Theater runtime. Same seed and inputs, byte-identical trace."""

    def __init__(
        self,
        seed: int | None = None,
        *,
        fuel: int = DEFAULT_FUEL,
        memory: int | None = DEFAULT_MEMORY,
        request_timeout_ms: int = DEFAULT_REQUEST_TIMEOUT_MS,
        message_latency_ms: int = 0,
        epoch_ms: int = DEFAULT_EPOCH_MS,
        use_cache: bool = True,
        faults: FaultSchedule | None = None,
        rng: RunRandom | None = None,
        host_functions: dict[str, Callable[..., Any]] | None = None,
        world: Any = None,
        **limits: int | None,
    ):
        for label, value, low in (("fuel", fuel, 1), ("request_timeout_ms", request_timeout_ms, 1),
                                  ("message_latency_ms", message_latency_ms, 0), ("epoch_ms", epoch_ms, 0)):
            _check_int(label, value, low)
        if memory is not None:
            _check_int("memory", memory, 65536)
        if seed is None:
            seed = default_seed()
        self.seed = seed
        self.rng = rng.reseed(seed) if rng is not None else RunRandom(seed)
        self._ids = self.rng.stream("actor-ids")
        self.message_ids = self.rng.stream("message-ids")  # request and channel ids
        self.clock = VirtualClock()
        self.scheduler = Scheduler(self.clock)
        self.trace = Trace(seed, chain_of=lambda actor_id: self._actors[actor_id].chain)
        self._trace_raw = self.trace._raw  # the hot path appends event references directly
        self.arrive = self._arrive  # bound once: every queued message would otherwise hold its own
        self.fuel = fuel
        self.memory = memory
        self.request_timeout_ms = request_timeout_ms
        self.message_latency_ms = message_latency_ms
        self.epoch_ms = epoch_ms
        self.use_cache = use_cache
        self.host_functions = _check_host_functions(host_functions)
        self.limits = Limits.from_options(limits)  # bounds of what actors make the host hold (limits.py)
        self._caps = self.limits.caps()
        self._max_calls_per_instant = self._caps["max_calls_per_instant"]
        self._instances = 0  # live incarnations (each a Store), for max_live_actors
        self.scheduler.max_events_per_instant = self._caps["max_events_per_instant"]
        self.scheduler.on_instant_limit = self._too_many_events
        self.scheduler.on_memory_error = self._out_of_memory
        self._actors: dict[str, Actor] = {}
        self._spawn_seq = itertools.count()
        self.msg_seq = itertools.count(1)
        self.requests: dict[str, Any] = {}  # request id -> PendingRequest
        self.channels: dict[str, Any] = {}  # channel id -> Channel
        self.random_streams: dict[str, RunRandom] = {}  # actor id -> its `random` import's stream
        self.backoff_rng = self.rng.stream("backoff")  # restart delays' jitter
        self.ended: ExitReason | None = None  # set when the root supervisor fails: the run is over
        from .world import RunWorld, World  # the outside world: the run's own copy of it (world.py)
        if world is not None and not isinstance(world, World):
            raise TypeError(f"world must be a theater_harness.world.World, not {type(world).__name__}")
        self.world = RunWorld(world if world is not None else World(), self)
        self.faults: FaultInjector | None = None
        if faults is not None:
            self.inject(faults)
        for hook in CREATED_HOOKS:  # e.g. the pytest plugin, to report on a failing test's runs
            hook(self)
        self._dispatch_host = self._host_call

    # --- time ------------------------------------------------------------------------

    @property
    def now(self) -> int:
        """Virtual time in milliseconds since the start of the run."""
        return self.clock._now

    def run_until_idle(self, max_events: int = _scheduler.DEFAULT_MAX_EVENTS) -> int:
        """Run until nothing is scheduled; virtual time jumps between events."""
        return self.scheduler.run_until_idle(max_events)

    def run(self, until: int, max_events: int = _scheduler.DEFAULT_MAX_EVENTS) -> int:
        """Run every event due at or before ``until`` ms, then set the clock to ``until``."""
        _check_int("until", until, 0)
        return self.scheduler.run(until, max_events)

    def advance(self, ms: int) -> int:
        """Run for ``ms`` more milliseconds of virtual time."""
        _check_int("ms", ms, 0)
        return self.scheduler.run(self.now + ms)

    # --- actors ----------------------------------------------------------------------

    def spawn(
        self,
        manifest: str | Path | Manifest,
        *,
        init_state: bytes | dict | list | None = None,
        name: str | None = None,
        parent: str | None = None,
        fuel: int | None = None,
        memory: int | None = None,
    ) -> str:
        """Spawn an actor and run its ``init``; returns its id.

        ``manifest`` is a path to a manifest file, manifest TOML text, or a ``Manifest``.
        ``init_state`` is merged with the manifest's (SPEC: spawn keys win). A failing
        init is not an exception: the actor ends ``failed`` with its exit reason.
        """
        manifest = self._manifest(manifest, base_dir=None)
        parent_actor = self._resolve(parent) if parent is not None else None
        if parent_actor is not None and not parent_actor.alive:
            raise SpawnError(f"cannot spawn {manifest.name!r} under {parent_actor.name} ({parent_actor.id}): "
                             f"the parent is not running, it is {parent_actor.status}")
        return self._spawn(manifest, _init_bytes(init_state), name=name, parent=parent_actor,
                           fuel=fuel, memory=memory).id

    def _manifest(self, manifest: str | Path | Manifest, base_dir: Path | None) -> Manifest:
        if isinstance(manifest, Manifest):
            return manifest
        if isinstance(manifest, Path) or ("\n" not in manifest and "=" not in manifest):
            path = os.fspath(manifest)  # strings, not Paths: big trees spawn the same few files
            if base_dir is not None and not os.path.isabs(path):
                path = os.path.join(base_dir, path)
            return _load_manifest_cached(path)
        return _parse_manifest_cached(manifest, base_dir)

    def _spawn(self, manifest: Manifest, init_bytes: bytes | None, *, name: str | None,
               parent: Actor | None, fuel: int | None = None, memory: int | None = None,
               state_override: bool = False, start: bool = True, by_parent: bool = False) -> Actor:
        """Create the actor (and, unless ``start`` is False, its first incarnation).
        ``by_parent``: the parent spawned it itself (its ``supervisor.spawn``), as opposed to
        a test or tree declaring it under the parent."""
        component = self._component(manifest)
        missing = [h for h in component.required_handlers if h not in manifest.handler_types]
        if missing:
            imports = ", ".join(f"theater:simple/{i}" for i in component.imports)
            raise SpawnError(
                f"{manifest.source}: the component imports {imports}, but the manifest declares no "
                f"{' or '.join(repr(m) for m in missing)} handler; add "
                + " and ".join(f'[[handler]] type = "{m}"' for m in missing)
            )
        if not component.has_export(*INIT):
            raise SpawnError(f"{manifest.source}: {component.source} does not export theater:simple/actor.init, "
                             f"which every Theater actor does (it exports {', '.join(component.callable_names())})")
        unsupplied = [f"{imp.full_interface}.{imp.function}" for imp in component.supplied_imports
                      if f"{imp.full_interface}.{imp.function}" not in self.host_functions]
        if unsupplied:
            raise SpawnError(
                f"{manifest.source}: the actor imports {', '.join(unsupplied)}, which no Theater handler provides; "
                f"supply {'it' if len(unsupplied) == 1 else 'them'} with Runtime(host_functions="
                f"{{{unsupplied[0]!r}: function, ...}})")
        spec = _supervision_cached(manifest)  # validated before anything is created
        actor_id = self._ids.uuid()
        state = init_bytes if state_override else initial_state(manifest, init_bytes)
        actor = Actor(actor_id, name or manifest.name, manifest, component,
                      parent.id if parent is not None else None,
                      fuel=fuel if fuel is not None else self.fuel,
                      memory=memory if memory is not None else self.memory,
                      spawn_order=next(self._spawn_seq), init_state=state)
        actor.spec = spec
        actor.by_parent = by_parent
        if parent is not None and parent.spec is not None:  # otherwise the default ChildSpec
            actor.child_spec = parent.spec.child_spec(actor.name, manifest.name)
        if actor.child_spec.recovery == "replay":
            actor.journal = Journal()
        self._actors[actor_id] = actor
        if parent is not None:
            parent.children.append(actor_id)
            actor.depth = parent.depth + 1
        spawn_fields = {
            "name": actor.name, "manifest": manifest.name, "parent": actor.parent,
            "component": component.sha256[:16], "init_state": state_digest(state),
            "restart": actor.child_spec.restart, "recovery": actor.child_spec.recovery,
        }
        if actor.child_spec.significant:
            spawn_fields["significant"] = True
        if by_parent:
            spawn_fields["by_parent"] = True
        if spec is not None:
            spawn_fields["supervision"] = {"strategy": spec.strategy, "intensity": spec.intensity,
                                           "period_ms": spec.period_ms, "resolution_ms": spec.resolution_ms,
                                           "permanent_errors": [p.pattern for p in spec.permanent_errors]}
            if spec.auto_shutdown != "never":
                spawn_fields["supervision"]["auto_shutdown"] = spec.auto_shutdown
        self.trace.add(self.now, "spawn", actor_id, spawn_fields)
        if start:
            self._start(actor, state)
        return actor

    def _component(self, manifest: Manifest) -> ActorComponent:
        try:
            return load_component(manifest.component, use_cache=self.use_cache)
        except ComponentError as exc:
            raise SpawnError(f"{manifest.source}: field '{manifest.component_key}': {exc}") from None

    def _start(self, actor: Actor, state: bytes | None, then: Callable[[Any], None] = None) -> None:
        """Create a new incarnation and call ``init`` with ``state``. ``then(payload)`` runs
        when init has finished: its ok payload, or None if the incarnation failed (init
        may suspend in a blocking host call, so this can be later)."""
        actor.state = state
        instance = self._new_incarnation(actor, self._dispatch_host, then)
        if instance is None:
            return
        actor.instance = instance
        self.trace.add(self.now, "start", actor.id, ("incarnation", actor.incarnation, "state", state_digest(state)))

        def started(payload: Any) -> None:
            if payload and actor.status == STARTING:
                actor.status = RUNNING
                self._after_call(actor)  # mail that came during init
            if then is not None:
                then(payload)

        args = (state, (actor.id,)) if actor.component.era == "A" else (state,)
        self._call(actor, INIT, args, started)

    def _new_incarnation(self, actor: Actor, dispatch: Any, then: Callable[[Any], None] | None) -> Incarnation | None:
        """Begin the actor's next incarnation: a fresh instance in a Store of its own. None
        when it cannot be instantiated: the actor has then ended as failed, and ``then(None)``
        has run."""
        actor.incarnation += 1
        actor.status = STARTING
        actor.exit_reason = actor.stop_requested = actor.shutdown_data = None
        actor.restart_times = ()  # a new incarnation supervises with no restart history (as OTP)
        actor.deleted_specs.clear()  # ... and holds a spec for every child again (OTP init)
        actor.instant_calls = actor.chain_bytes = 0
        actor.registered = False
        reason = None
        if self._instances >= self._caps["max_live_actors"]:  # a run-wide bound: it ends the run
            reason = ExitReason(LIMIT, over(f"{actor.name} ({actor.id})", self._instances + 1, "live actors",
                                            "max_live_actors", self._caps["max_live_actors"]),
                                actor.id, actor.incarnation, INSTANTIATE, time_ms=self.now)
        else:
            try:
                instance = actor.component.incarnate(actor, dispatch, fuel=actor.fuel, memory_cap=actor.memory)
                self._instances += 1
                return instance
            except WasmtimeError as exc:
                kind, message = getattr(exc, "kind", SPAWN_ERROR), _short(str(exc))  # the memory layer marks a cap hit
                if kind == SPAWN_ERROR and os_exhausted(message):
                    kind, message = SYSTEM_LIMIT, system_limit(message)
                reason = ExitReason(kind, message, actor.id, actor.incarnation, INSTANTIATE, time_ms=self.now)
            except MemoryError as exc:  # the OS refused Python or wasmtime memory or a memory map
                reason = ExitReason(SYSTEM_LIMIT, system_limit(f"MemoryError: {exc}".rstrip(": ")), actor.id,
                                    actor.incarnation, INSTANTIATE, time_ms=self.now)
        self._end(actor, FAILED, reason)
        if reason.kind == LIMIT:
            self._end_run(reason)
        if then is not None:
            then(None)
        return None

    # --- calls -----------------------------------------------------------------------

    def _call(self, actor: Actor, key: tuple[str, str], state_and_params: tuple,
              then: Callable[[Any], None] = None) -> None:
        """Call an export with ``(state, params)``; when it completes, ``then(result)`` runs
        with its ok payload, None if the actor failed, or ``SKIPPED`` when the actor lacks
        the export (the skip is recorded). A call that suspends in a blocking host call
        completes later, when ``_resume`` continues it.

        The chain gets the call, then its result or error, in Theater's formats; their
        bytes are built lazily, only if the chain is ever read.
        """
        export = actor.component.exports.get(key) if key.__class__ is tuple else key  # or an export itself
        if export is None:
            self.trace.add(self.now, "skip", actor.id, {"export": f"theater:simple/{key[0]}.{key[1]}"})
            if then is not None:
                then(SKIPPED)
            return
        name = export.full_name
        params = state_and_params[1] if len(state_and_params) > 1 else ()
        if actor.journal is not None:
            actor.journal.begin(key, state_and_params, len(actor.chain))
        now = self.clock._now  # _record, inlined: every call starts here
        self._trace_raw.append((now, "event", actor.id,
                                actor.chain.append("wasm", (WASM_CALL, name, params), None, now)))
        actor.busy = True
        actor.call_usage = None  # what this call hands the host (limits.call_usage)
        if actor.instant_ms != now:
            actor.instant_ms, actor.instant_calls = now, 1
        else:
            actor.instant_calls += 1
            if actor.instant_calls > self._max_calls_per_instant:
                self._call_failed(actor, export, ExitReason(
                    LIMIT, f"{actor.instant_calls} calls at {now} ms, more than max_calls_per_instant "
                    f"{self._max_calls_per_instant}: the actor keeps itself busy without letting virtual time pass",
                    actor.id, actor.incarnation, name, time_ms=now), then)
                return
        if self.faults is not None:
            injected = self.faults.on_call(actor, key)
            if injected is not None:
                self._inject_call(actor, export, state_and_params, then, *injected)
                return
        try:
            outcome = actor.instance.call(export, state_and_params)  # _invoke, inlined: every call
        except MemoryError as exc:
            outcome = (False, Failure(SYSTEM_LIMIT, system_limit(f"MemoryError: {exc}".rstrip(": "))))
        if outcome is SUSPENDED:
            actor.suspended = (export, then)
            return
        self._complete(actor, export, outcome, then)

    def _invoke(self, actor: Actor, export: Any, state_and_params: tuple, then: Callable[[Any], None] | None) -> None:
        try:
            outcome = actor.instance.call(export, state_and_params)
        except MemoryError as exc:
            outcome = (False, Failure(SYSTEM_LIMIT, system_limit(f"MemoryError: {exc}".rstrip(": "))))
        if outcome is SUSPENDED:
            actor.suspended = (export, then)
            return
        self._complete(actor, export, outcome, then)

    def _inject_call(self, actor: Actor, export: Any, args: tuple, then: Callable[[Any], None] | None,
                     index: int, fault: Any) -> None:
        """A fault takes over this call: it fails as the fault says, or it is held for a
        while (a slow call, a hang) like a call parked in a blocking host call, so that
        stopping the actor meanwhile abandons it."""
        kind = fault.kind
        where = f"injected by fault #{index}"
        if kind in ("slow", "hang"):
            if kind == "slow":
                delay, go_on = fault.param("delay_ms", 1000), lambda: self._invoke(actor, export, args, then)
            else:
                reason = ExitReason(OUT_OF_FUEL, f"wasm trap: all fuel consumed by WebAssembly ({where}: a hang)",
                                    actor.id, actor.incarnation, export.full_name, time_ms=self.now)
                delay, go_on = fault.param("duration_ms", 0), lambda: self._call_failed(actor, export, reason, then)
            held = self.wait(actor)
            timer = self.scheduler.after(delay, self._release_held, actor, held, go_on)
            held.on_abandon.append(lambda: self.scheduler.cancel(timer))
            actor.suspended, actor.wait = (export, then), held
            return
        if kind in ("trap", "init-trap"):
            reason = ExitReason(TRAP, f"wasm trap: {where}", actor.id, actor.incarnation, export.full_name,
                                time_ms=self.now)
        else:
            reason = ExitReason(ERR, fault.param("message", f"error {where}"), actor.id, actor.incarnation,
                                export.full_name, time_ms=self.now)
        self._call_failed(actor, export, reason, then)

    def _release_held(self, actor: Actor, held: Any, go_on: Callable[[], None]) -> None:
        """The end of a slow call's delay, or of a hang: the held call goes on."""
        if actor.wait is held:
            actor.suspended = actor.wait = None
            go_on()

    def _resume(self, actor: Actor, wait: Any) -> None:
        """Continue ``actor``'s suspended call: what it waited for (``wait``) happened."""
        if actor.wait is not wait or actor.suspended is None:
            return  # a stale wake-up: the call ended or waits on something newer
        actor.wait = None
        try:
            outcome = actor.instance.resume()
        except MemoryError as exc:
            outcome = (False, Failure(SYSTEM_LIMIT, system_limit(f"MemoryError: {exc}".rstrip(": "))))
        if outcome is SUSPENDED:
            return
        export, then = actor.suspended
        actor.suspended = None
        self._complete(actor, export, outcome, then)

    def _complete(self, actor: Actor, export: Any, outcome: tuple, then: Callable[[Any], None] | None) -> None:
        actor.busy = False
        name = export.full_name
        ok, value = outcome
        if ok:
            is_ok, payload = value
            if is_ok:
                state = payload[0]
                rest = payload[1] if len(payload) > 1 else ()
                too_much = False
                if state is not None:  # the chain keeps every state and reply returned (limits.py)
                    actor.chain_bytes += len(state)
                    too_much = len(state) > self._caps["max_state_bytes"]
                if rest:
                    reply = _reply_size(rest)
                    actor.chain_bytes += reply
                    too_much = too_much or reply > self._caps["max_message_bytes"]
                if too_much or actor.chain_bytes > self._caps["max_chain_bytes"]:
                    self._call_failed(actor, export, self._returned_too_much(actor, name, state, rest), then)
                    return
                actor.state = state
                now = self.clock._now  # _record, inlined: every call ends here
                self._trace_raw.append((now, "event", actor.id,
                                        actor.chain.append("wasm", (WASM_RESULT, name, state, rest), None, now)))
                if actor.journal is not None:
                    actor.journal.commit(len(actor.chain))
                if then is not None:
                    then(payload)
                if not actor.busy and (actor.mailbox or actor.stop_requested is not None
                                       or actor.shutdown_data is not None):  # _after_call's own test
                    self._after_call(actor)
                return
            reason = ExitReason(ERR, payload, actor.id, actor.incarnation, name, time_ms=self.now)
        else:
            message = value.message
            kind = _FAILURE_KINDS[value.kind]
            if kind == TRAP and _os_exhausted(message):  # e.g. no memory map left for a call's fiber stack
                kind, message = SYSTEM_LIMIT, system_limit(message)
            host_import = None
            if value.exception is not None:
                host_import = getattr(value.exception, "host_import", None)
                message = str(value.exception)
                kind = getattr(value.exception, "exit_kind", kind)
            reason = ExitReason(kind, message, actor.id, actor.incarnation, name, host_import, self.now)
        self._call_failed(actor, export, reason, then)

    def _returned_too_much(self, actor: Actor, export: str, state: bytes | None, rest: tuple) -> ExitReason:
        """The exit reason of a call that returned a state or a reply over its bound."""
        caps = self._caps
        reply = _reply_size(rest) if rest else 0
        if state is not None and len(state) > caps["max_state_bytes"]:
            message = over(export, len(state), "bytes of state returned", "max_state_bytes", caps["max_state_bytes"])
        elif reply > caps["max_message_bytes"]:
            message = over(export, reply, "bytes in one reply", "max_message_bytes", caps["max_message_bytes"])
        else:
            message = chain_over(self, actor, export)
        return ExitReason(LIMIT, message, actor.id, actor.incarnation, export, time_ms=self.now)

    def _end_run(self, reason: ExitReason) -> None:
        """End the run (a run-wide bound, the OS out of memory): ``ended`` is ``reason``,
        the trace says so, and every run loop stops (``run``, ``advance``, ... return)."""
        if self.ended is None:
            self.ended = reason
            self.trace.add(self.now, "run-ended", reason.actor or None, {"reason": reason.to_dict()})
        self.scheduler.halt(f"the run ended: {reason}")

    def _too_many_events(self, count: int) -> None:
        self._end_run(ExitReason(LIMIT, over("the run", count, f"events at {self.now} ms", "max_events_per_instant",
                                            self._caps["max_events_per_instant"]) + ": something keeps itself "
                                "busy without letting virtual time pass", time_ms=self.now))

    def _out_of_memory(self, exc: MemoryError) -> None:
        """A MemoryError outside any call or instantiation (the trace is kept; the run ends)."""
        self._end_run(ExitReason(SYSTEM_LIMIT, system_limit(f"MemoryError: {exc}".rstrip(": ")), time_ms=self.now))

    def _call_failed(self, actor: Actor, export: Any, reason: ExitReason,
                     then: Callable[[Any], None] | None) -> None:
        """The call ended the incarnation: record the error, end the actor, tell the caller."""
        actor.busy = False
        self._record(actor, "wasm", wasm_error_data(export.full_name, reason.message))
        if actor.journal is not None:
            actor.journal.abort()
        self._end(actor, FAILED, reason)
        if then is not None:
            then(None)

    def _after_call(self, actor: Actor) -> None:
        """Finish what a call left pending: a requested stop or shutdown, queued mail."""
        if actor.busy:
            return
        if actor.stop_requested is None and actor.shutdown_data is None and not actor.mailbox:
            return  # the common case: nothing left to do
        if actor.stop_requested is not None:
            (reason, notify), actor.stop_requested = actor.stop_requested, None
            self._end(actor, STOPPED, reason, notify=notify)
        elif actor.shutdown_data is not None:
            self._end(actor, STOPPED, ExitReason(NORMAL, "the actor called runtime.shutdown", actor.id,
                                                 actor.incarnation, time_ms=self.now))
        elif actor.mailbox and not actor.dispatch_pending and actor.status == RUNNING:
            actor.dispatch_pending = True
            self.scheduler.after(0, self._dispatch, actor)

    def _record(self, actor: Actor, event_type: str, data: bytes | tuple) -> None:
        """Append an event to the actor's chain (``data`` may be a recipe, see chain.py)
        and reference it from the trace."""
        now = self.clock._now
        self._trace_raw.append((now, "event", actor.id, actor.chain.append(event_type, data, None, now)))

    def _host_call(self, incarnation: Incarnation, imp: Any, args: list) -> Any:
        """Every host import lands here: run it, record it in the caller's chain. A
        blocking import may return a ``Wait``: it is recorded when it finishes."""
        actor: Actor = incarnation.owner
        interface = incarnation.component.imports[imp.interface]
        function = imp.function
        if self.faults is not None and (index := self.faults.on_host(actor, imp.interface, function)) is not None:
            if not imp.returns_result:  # nothing to return an err in: the import itself fails
                raise HostCallError(f"{interface}.{function}", RuntimeError(f"injected by fault #{index}"))
            result: Any = (False, f"host error injected by fault #{index}")
        else:
            try:
                table = HOST_FUNCTIONS.get(imp.interface) if imp.theater else None
                if table is not None:
                    result = table[imp.host_function](self, actor, *args)
                else:  # an import the test supplies (Runtime(host_functions=...))
                    result = self.host_functions[f"{interface}.{function}"](*args)
            except LimitExceeded as exc:  # the actor crossed a bound: it ends with kind "limit"
                exc.host_import = f"{interface}.{function}"
                raise
            except Exception as exc:  # a bug under the actor: a host error (MemoryError: system-limit)
                raise HostCallError(f"{interface}.{function}", exc) from exc

        def record(value: Any) -> None:
            self._record(actor, f"{interface}/{function}",
                         (HOST_CALL, interface, function, tuple(args), recorded_result(function, value)))
            if actor.journal is not None:
                actor.journal.host_result(imp.interface, function, tuple(args), value)

        if isinstance(result, Wait):
            result.on_result = record
            actor.wait = result
        else:
            record(result)
        return result

    def _redo_host(self, incarnation: Any, imp: Any, args: tuple) -> None:
        """During a replay: run again a host call that gives the incarnation a resource of
        its own (``host.REPLAYED_EFFECTS``: a timer, a registration); its answer is the
        recorded one, and nothing more is recorded."""
        if imp.theater and (imp.interface, imp.host_function) in REPLAYED_EFFECTS:
            HOST_FUNCTIONS[imp.interface][imp.host_function](self, incarnation.owner, *args)

    def wait(self, actor: Actor) -> "Wait":
        """A wait for a blocking host function of ``actor`` to return: finish it with the
        host function's value, and the actor's call resumes."""
        return Wait(self, actor)

    # --- mailboxes -------------------------------------------------------------------

    def post(self, actor: Actor, item: tuple, *, delay: int | None = None,
             priority: int = _scheduler.NORMAL) -> None:
        """Deliver ``item`` to ``actor``'s mailbox after the link's latency."""
        self.scheduler.after(self.message_latency_ms if delay is None else delay,
                             self.arrive, actor, item, priority=priority)

    def _arrive(self, actor: Actor, item: tuple) -> None:
        status = actor.status
        if actor.probe is not None and status == RUNNING:
            actor.probe.receive(item)
        elif status != RUNNING and status != STARTING:
            undeliverable(self, actor, item)
        elif actor.busy or actor.mailbox or status != RUNNING:
            actor.mailbox.append(item)  # handled in turn, once the actor is free
        else:
            ITEMS[item[0]](self, actor, item)  # the common case: an idle actor, no queue

    def _dispatch(self, actor: Actor) -> None:
        actor.dispatch_pending = False
        if actor.busy or actor.status != RUNNING or not actor.mailbox:
            return
        item = actor.mailbox.popleft()
        ITEMS[item[0]](self, actor, item)

    # --- ending ----------------------------------------------------------------------

    def _end(self, actor: Actor, status: str, reason: ExitReason, *, notify: bool = True) -> None:
        """End the actor's current incarnation: stop its subtree (reverse start order),
        fail what waited on it, close its channels, tell its parent (unless ``notify`` is
        False: the parent itself is ending)."""
        if not actor.alive:
            return
        # A first incarnation that never finished its init was never "started": whoever
        # spawned it learns of the failure from the spawn itself, not as a child's failure.
        never_started = actor.incarnation == 1 and actor.status == STARTING
        if never_started:
            actor.spawn_failed = True
        actor.status = status  # from here on it accepts nothing
        actor.exit_reason = reason
        interrupted = actor.suspended
        if interrupted is not None:  # abandon the call parked in a blocking host call
            if actor.wait is not None:
                actor.wait.abandon()
            actor.suspended = actor.wait = None
            actor.busy = False
            actor.instance.cancel()
            self._record(actor, "wasm", wasm_error_data(interrupted[0].full_name,
                                                        f"interrupted: the actor ended ({reason.kind})"))
        # The subtree first, last started first, as an OTP supervisor terminates its children.
        # Those of an actor killed outright die with it, killed (OTP: the 'kill' leaves it no
        # terminate, so its children get its exit signal, killed); the others are shut down.
        killed = reason.kind == KILLED and reason.cause != CAUSE_PARENT_ENDED
        for child_id in reversed(actor.children):
            child = self._actors[child_id]
            if child.alive:
                self.stop_actor(child, ExitReason(KILLED if killed else SHUTDOWN, f"its parent {actor.name} ended",
                                                  child.id, child.incarnation, time_ms=self.now,
                                                  cause=CAUSE_PARENT_ENDED),
                                notify=False)
        if actor.instance is not None:
            actor.instance.close()
            self._instances -= 1
        actor.instance = None  # drops the Store
        self._record(actor, "shutdown", wasm_call_data("shutdown", b""))
        self.trace.add(self.now, "exit", actor.id, {"status": status, "reason": reason.to_dict(),
                                                    "state": state_digest(actor.state)})
        if self.faults is not None:
            self.faults.ended(actor)  # a fault bound to this incarnation is missed now
        pending = list(actor.mailbox)
        actor.mailbox.clear()
        for item in pending:
            undeliverable(self, actor, item)
        for request in list(actor.outstanding.values()):
            request.fail(self, f"actor {actor.id} ended before answering: {reason}")
        actor.outstanding.clear()
        close_channels_of(self, actor)
        cancel_timers_of(self, actor)
        waiters, actor.exit_waiters = actor.exit_waiters, []
        for waiter in waiters:  # e.g. a parent in supervisor.spawn-and-wait
            waiter(reason)
        if notify and actor.parent is not None and not never_started:
            self._notify_parent(actor, reason)
        elif actor.parent is None and status == FAILED and _supervises(actor):
            self.ended = reason  # the root supervisor gave up: the run is over
            self.trace.add(self.now, "run-ended", actor.id, {"reason": reason.to_dict()})
            self.scheduler.halt(f"the root supervisor {actor.name} failed: {reason}")
        if interrupted is not None and interrupted[1] is not None:
            interrupted[1](None)

    def fail_actor(self, actor: Actor, reason: ExitReason) -> None:
        """End ``actor`` as failed with ``reason`` (escalation, injected failures)."""
        self._end(actor, FAILED, reason)

    def restart_actor(self, actor: Actor, then: Callable[[Any], None] | None = None) -> None:
        """A new incarnation of an ended actor, same id, its state per its recovery mode
        (init: fresh from its manifest; last: its last committed state; replay: its history
        re-driven on a fresh instance and checked against its chain)."""
        if actor.alive:
            raise HarnessError(f"actor {actor.name} ({actor.id}) is running: stop it before restarting it")
        recovery = actor.child_spec.recovery
        if recovery == "replay" and actor.journal is not None and actor.journal.entries:
            self._replay(actor, then)
            return
        state = actor.state if recovery == "last" else actor.init_state
        if self.faults is not None:
            state = self.faults.on_restart(actor, state)
        self._start(actor, state, then)

    def _replay(self, actor: Actor, then: Callable[[Any], None] | None) -> None:
        dispatch = ReplayDispatch(actor.component.imports, redo=self._redo_host)
        instance = self._new_incarnation(actor, dispatch, then)
        if instance is None:
            return
        state, divergences, calls = replay(instance, dispatch, actor.journal, actor.chain, actor.component.exports)
        instance.dispatch = self._dispatch_host
        actor.instance, actor.state = instance, state
        self.trace.add(self.now, "start", actor.id, ("incarnation", actor.incarnation, "state", state_digest(state)))
        self.trace.add(self.now, "replay", actor.id, {
            "calls": calls, "of": len(actor.journal.entries), "divergences": [d.to_dict() for d in divergences]})
        if divergences:
            del actor.journal.entries[calls:]  # the history from here on is this incarnation's
        actor.status = RUNNING
        if then is not None:
            then((state,))
        self._after_call(actor)

    def _notify_parent(self, actor: Actor, reason: ExitReason) -> None:
        """Tell the parent (Theater's handle-child-* exports, then its declared policy)."""
        parent = self._actors[actor.parent]
        if parent.alive:
            actor.end_posted = actor.incarnation
            self.post(parent, ("child-ended", actor.id, reason), priority=_scheduler.URGENT)

    def stop_actor(self, actor: Actor, reason: ExitReason, *, notify: bool = True) -> None:
        """Stop ``actor`` and its subtree. A call suspended in a blocking host call is
        abandoned; a call running right now (the stop comes from inside it) ends first."""
        if not actor.alive:
            return
        if actor.busy and actor.suspended is None:
            actor.stop_requested = (reason, notify)
            return
        self._end(actor, STOPPED, reason, notify=notify)

    # --- the public API for tests ------------------------------------------------------

    def probe(self, name: str = "probe") -> Probe:
        """A Python-side actor for tests: it has an id, receives sends and requests, and
        lets the test assert on them in virtual time (see ``theater_harness.probe``)."""
        actor = make_probe_actor(self._ids.uuid(), name, next(self._spawn_seq))
        actor.probe = Probe(self, actor)
        self._actors[actor.id] = actor
        self.trace.add(self.now, "spawn", actor.id, {"name": name, "manifest": "probe", "parent": None,
                                                     "component": None, "init_state": None,
                                                     "restart": "permanent", "recovery": "init"})
        return actor.probe

    def inject(self, faults: FaultSchedule | Fault) -> None:
        """Apply a fault schedule (or one fault) to this run from now on."""
        schedule = FaultSchedule([faults]) if isinstance(faults, Fault) else faults
        if self.faults is None:
            self.faults = FaultInjector(self, schedule)
        else:
            self.faults.add(schedule)

    def transmit(self, sender: Actor | None, target: Actor, item: tuple, delay: int) -> None:
        """Every message between actors (and from outside) passes here: the link's faults
        may drop, delay, duplicate or reorder it."""
        if self.faults is None:
            self.scheduler.after(delay, self.arrive, target, item)
            return
        for late, delivered in self.faults.on_message(sender, target, item, delay):
            self.scheduler.after(late, self.arrive, target, delivered)

    def stop_from_fault(self, actor: Actor, index: int) -> None:
        """An injected external stop."""
        self.stop_actor(actor, ExitReason(SHUTDOWN, f"stopped from outside (fault #{index})", actor.id,
                                          actor.incarnation, time_ms=self.now, cause=CAUSE_OUTSIDE))

    def kill_from_fault(self, actor: Actor, index: int, incarnation: int | None = None) -> None:
        """An injected kill, OTP's ``exit(Pid, kill)``: the actor's incarnation ends at once
        as failed, reason ``killed``, with no call needed (idle, starting, or parked in a
        blocking host call, which is abandoned). A call running right now (the kill comes
        from inside it) unwinds first: the kill is then retried as the next urgent event of
        this instant, and hits only the same ``incarnation``."""
        if incarnation is None:
            incarnation = actor.incarnation
        if not actor.alive or actor.incarnation != incarnation:
            return
        if actor.busy and actor.suspended is None:
            self.scheduler.after(0, self.kill_from_fault, actor, index, incarnation, priority=_scheduler.URGENT)
            return
        self.fail_actor(actor, ExitReason(KILLED, f"killed (fault #{index})", actor.id, incarnation,
                                          time_ms=self.now, cause=CAUSE_OUTSIDE))

    def actor(self, ref: str) -> ActorView:
        """The actor with this id, or with this name if the name is unique."""
        return ActorView(self._resolve(ref), self)

    @property
    def actors(self) -> list[ActorView]:
        """Every actor ever spawned, in spawn order."""
        return [ActorView(a, self) for a in self._actors.values()]

    def _resolve(self, ref: str) -> Actor:
        if isinstance(ref, ActorView):
            return ref._actor
        actor = self._actors.get(ref)
        if actor is not None:
            return actor
        named = [a for a in self._actors.values() if a.name == ref]
        if len(named) == 1:
            return named[0]
        if not named:
            known = ", ".join(sorted({a.name for a in self._actors.values()})) or "none yet"
            raise UnknownActorError(f"no actor with id or name {ref!r} (known names: {known})")
        live = [a for a in named if a.alive]
        if len(live) == 1:
            return live[0]
        raise UnknownActorError(f"{len(named)} actors are named {ref!r}; use an id: "
                                + ", ".join(a.id for a in named))

    def send(self, to: str, payload: bytes | str, *, delay_ms: int = 0) -> int:
        """Send ``payload`` to an actor's ``handle-send`` from outside; returns the message number."""
        if delay_ms.__class__ is not int or delay_ms < 0:
            _check_int("delay_ms", delay_ms, 0)
        actor = self._actors.get(to) or self._resolve(to)
        return external_send(self, actor, payload if payload.__class__ is bytes else _payload(payload), delay_ms)

    def request(self, to: str, payload: bytes | str, *, delay_ms: int = 0) -> Any:
        """Send a request from outside; returns a ``PendingRequest`` that completes as the
        run goes (``.done``, ``.ok``, ``.reply``, ``.error``)."""
        _check_int("delay_ms", delay_ms, 0)
        return external_request(self, self._resolve(to), _payload(payload), delay_ms)

    def ask(self, to: str, payload: bytes | str) -> bytes:
        """Request and run until the reply; returns it, or raises ``RequestFailed``."""
        pending = self.request(to, payload)
        self.scheduler.run_while(lambda: not pending.done)
        if not pending.done:
            raise RequestFailed(f"no reply from {to}: the run ended first")
        if not pending.ok:
            raise RequestFailed(pending.error)
        return pending.reply

    def open_channel(self, to: str, initial: bytes | str = b"", *, delay_ms: int = 0) -> Any:
        """Open a channel from outside to an actor (its ``handle-channel-open`` accepts or
        rejects it); returns the test's end (``probe.ChannelEnd``), whose handshake ends as
        the run goes (``.accepted``): ``send``, ``close``, ``expect_msg``, ``expect_no_msg``."""
        from .probe import open_outside_channel

        _check_int("delay_ms", delay_ms, 0)
        return open_outside_channel(self, self._resolve(to), _payload(initial), delay_ms)

    def call(self, to: str, export: str, *args: Any) -> Any:
        """Call any export of an actor (``"iface.fn"``, e.g. ``"counter.add"``) with
        ``args`` and run until it returns; its result, a typed value (packr), or raises
        ``CallFailed``. The call is an actor call like any other: it waits its turn in the
        mailbox, gets the actor's state and leaves the new one, goes into the chain, and
        faults apply to it. Arguments are converted by the types the actor declares, or
        from plain Python (``theater_harness.values.to_value``)."""
        pending = self.call_later(to, export, *args)
        self.scheduler.run_while(lambda: not pending.done)
        if not pending.done:
            raise CallFailed(f"{export} of {to} did not return: the run ended first")
        if not pending.ok:
            raise CallFailed(pending.error)
        return pending.result

    def call_later(self, to: str, export: str, *args: Any, delay_ms: int = 0) -> "PendingCall":
        """Like ``call``, but returns a ``PendingCall`` at once, that completes as the run
        goes (``.done``, ``.ok``, ``.result``, ``.error``)."""
        _check_int("delay_ms", delay_ms, 0)
        actor = self._resolve(to)
        module = actor.component
        found = module.callable(export) if module is not None else None
        if found is None:
            names = module.callable_names() if module is not None else []
            raise UnknownExportError(f"actor {actor.name} ({actor.id}) has no export {export!r}; it exports "
                                     + (", ".join(names) or "nothing callable (a probe)"))
        try:
            params = found.prepare(tuple(args))
        except (TypeError, ValueError, OverflowError) as exc:
            raise HarnessError(f"cannot call {export} of {actor.name} ({actor.id}) with {args!r}: {exc}") from None
        pending = PendingCall(actor.id, export, self.now)
        self.trace.add(self.now, "call", actor.id, {"export": export})
        self.scheduler.after(delay_ms, self.arrive, actor, ("call", found, params, pending))
        return pending

    def stop(self, ref: str) -> None:
        """Stop an actor from outside (its parent is told with handle-child-external-stop)."""
        actor = self._resolve(ref)
        self.trace.add(self.now, "external-stop", actor.id)
        self.stop_actor(actor, ExitReason(SHUTDOWN, "stopped from outside", actor.id, actor.incarnation,
                                          time_ms=self.now, cause=CAUSE_OUTSIDE))

    # --- freeing (issue 11, D5) ----------------------------------------------------------

    closed = False  # set by close()

    def close(self) -> None:
        """Free every actor's wasm now (its Store: the instance, its linear memories, the
        fiber of a call parked in a blocking host call), whatever the actors were doing, and
        end the run: the scheduler is halted, so nothing runs any more. What happened stays
        readable (actors, statuses, chains, the trace); nothing is recorded, and statuses
        are left as they were. Idempotent. ``with Runtime(...) as rt:`` closes at the end.

        A runtime that is dropped without ``close()`` frees the same when the garbage
        collector reclaims it (its objects refer to one another, so at the collector's next
        pass rather than at once)."""
        if self.closed:
            return
        self.closed = True
        self.scheduler.halt("the runtime was closed")
        for actor in self._actors.values():
            instance = actor.instance
            if instance is not None:
                actor.instance = None
                instance.close()

    def __enter__(self) -> "Runtime":
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()


INIT_NAME = "theater:simple/actor.init"

# Called with every new Runtime. The pytest plugin uses it to find the runs of a test.
CREATED_HOOKS: list[Callable[["Runtime"], None]] = []

# Where a Runtime made without a seed takes one. The pytest plugin sets it for each test,
# so that such runtimes derive their seeds from the test's (and --theater-seed replays them).
SEED_SOURCE: contextvars.ContextVar[Callable[[], int] | None] = contextvars.ContextVar(
    "theater_harness_seed_source", default=None)


def default_seed() -> int:
    """The seed of a runtime made without one: the current test's (see ``SEED_SOURCE``),
    else 0."""
    source = SEED_SOURCE.get()
    return 0 if source is None else source()


_MANIFESTS: dict[tuple[int, int, int, int], Manifest] = {}


def _supervises(actor: Actor) -> bool:
    """Whether an actor is a supervisor: it declares a policy or the supervisor handler."""
    return actor.spec is not None or "supervisor" in actor.manifest.handler_types


def _load_manifest_cached(path: str) -> Manifest:
    """``load_manifest``, once per process while the file is unchanged (manifests are
    immutable records; restarts and big trees spawn the same few manifests many times).
    Keyed by the file's identity, so that any spelling of its path is one entry."""
    try:
        st = os.stat(path)
    except OSError:
        return load_manifest(path)  # raises the clear error
    key = (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)
    manifest = _MANIFESTS.get(key)
    if manifest is None:
        manifest = _MANIFESTS[key] = load_manifest(path)
    return manifest


def _supervision_cached(manifest: Manifest) -> Any:
    """``supervision_of``, once per manifest record (records are immutable, and the caches
    above give each spawn of a manifest the same one; invalid tables raise every time)."""
    entry = _SPECS.get(id(manifest))
    if entry is None or entry[0] is not manifest:
        if len(_SPECS) >= 4096:
            _SPECS.clear()
        entry = _SPECS[id(manifest)] = (manifest, supervision_of(manifest))
    return entry[1]


_SPECS: dict[int, tuple[Manifest, Any]] = {}  # id(manifest) -> (it, kept alive for its id; its policy)


@functools.lru_cache(maxsize=1024)
def _parse_manifest_cached(text: str, base_dir: Path | None) -> Manifest:
    """``parse_manifest`` of manifest text, once per process (generated trees spawn the same
    supervisor manifests in every run). Errors are not cached: they raise every time."""
    return parse_manifest(text, base_dir=base_dir)


class Wait(Suspension):
    """A blocking host call's wait: the host function returns it, something later
    finishes it with the function's value, and the caller's call resumes then."""

    __slots__ = ("runtime", "actor", "done", "value", "on_result", "on_abandon")

    def __init__(self, runtime: "Runtime", actor: Actor):
        self.runtime = runtime
        self.actor = actor
        self.done = False
        self.value: Any = None
        self.on_result: Callable[[Any], None] | None = None
        self.on_abandon: list[Callable[[], None]] = []  # undo what waits for us (timers, requests)

    def abandon(self) -> None:
        """The caller ended while waiting: cancel what would have finished the wait."""
        self.done = True
        for undo in self.on_abandon:
            undo()
        self.on_abandon.clear()

    def finish(self, value: Any) -> None:
        """The host function's value is known: resume the caller (as a new event, so that
        no actor's call ever runs inside another's)."""
        if self.done:
            return
        self.done, self.value = True, value
        self.runtime.scheduler.after(0, self.runtime._resume, self.actor, self, priority=_scheduler.URGENT)

    def ready(self) -> bool:
        return self.done

    def result(self) -> Any:
        if self.on_result is not None:
            self.on_result(self.value)
        return self.value


class HostCallError(Exception):
    """A host import that raised: the calling actor's incarnation ends with a host error."""

    exit_kind = HOST_ERROR

    def __init__(self, host_import: str, cause: BaseException):
        super().__init__(f"{type(cause).__name__}: {cause}")
        self.host_import = host_import
        self.cause = cause
        if isinstance(cause, MemoryError):  # the OS refused memory in the middle of a host call
            self.exit_kind = SYSTEM_LIMIT
            self.args = (system_limit(f"MemoryError: {cause}".rstrip(": ")),)


def _reply_size(rest: tuple) -> int:
    """The size of the reply (or of the channel-accept message) among a call's other results."""
    first = rest[0]
    reply = first.get("message") if isinstance(first, dict) else first
    return len(reply) if isinstance(reply, (bytes, bytearray)) else 0


def _payload(payload: bytes | str) -> bytes:
    if isinstance(payload, str):
        return payload.encode("utf-8")
    if isinstance(payload, (bytes, bytearray, memoryview)):
        return bytes(payload)
    raise TypeError(f"a message payload is bytes or str, not {type(payload).__name__}")


def _init_bytes(init_state: Any) -> Any:
    """A spawn's initial state: bytes (JSON for a dict or list) or a typed packr value."""
    if init_state is None or isinstance(init_state, bytes):
        return init_state
    if isinstance(init_state, Value):
        return TypedState.of(init_state)
    if isinstance(init_state, (dict, list)):
        return json.dumps(init_state, sort_keys=True, separators=(",", ":")).encode()
    if isinstance(init_state, str):
        return init_state.encode("utf-8")
    raise TypeError(f"init_state is bytes, a JSON-able dict or list, or None; not {type(init_state).__name__}")


def initial_state(manifest: Manifest, init: Any) -> Any:
    """The state ``init`` gets at spawn: the spawn's typed value as it is; otherwise the
    manifest's ``initial_state`` string (Theater makes it a string value; a component
    actor gets its UTF-8), else its JSON ``init_state`` merged with the spawn's bytes."""
    if isinstance(init, TypedState):
        return init
    if manifest.initial_state is not None and init is None:
        return TypedState.of(to_value(manifest.initial_state))
    return merge_init_state(manifest.init_state, init)


def _check_host_functions(functions: Any) -> dict[str, Callable[..., Any]]:
    """``host_functions``: imports outside Theater's interfaces that tests supply, by
    "interface.function" (e.g. ``{"math.double": lambda n: n * 2}``)."""
    if functions is None:
        return {}
    if not isinstance(functions, dict):
        raise HarnessError(f"host_functions is a dict of 'interface.function' -> callable, not {functions!r}")
    for name, fn in functions.items():
        if not isinstance(name, str) or "." not in name or not callable(fn):
            raise HarnessError(f"host_functions: {name!r} -> {fn!r} is not 'interface.function' -> a callable")
        if name.startswith("theater:simple/"):
            raise HarnessError(f"host_functions: {name!r} is one of Theater's interfaces, which theater-harness "
                               "implements itself (inject faults into it instead)")
    return dict(functions)


def _check_int(label: str, value: Any, low: int, high: int = (1 << 63) - 1) -> None:
    """An integer option from ``low`` to ``high`` (default: what 64 bits hold, as wasmtime's
    fuel and the scheduler's times do: more would wrap, e.g. fuel 2**64 to 0)."""
    if not isinstance(value, int) or isinstance(value, bool) or value < low:
        raise HarnessError(f"{label} must be an integer >= {low}, not {value!r}")
    if value > high:
        shown = value if value.bit_length() <= 128 else f"an integer of {value.bit_length()} bits"
        raise HarnessError(f"{label} must be an integer from {low} to {high}, not {shown}")
