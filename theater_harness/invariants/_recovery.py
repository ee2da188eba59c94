"""State recovery: a restarted child starts from the state its recovery mode promises.
``init``: fresh from its manifest (the state its first init was given, as its spawn
record has it); ``last``: its last committed state (the state of its previous exit);
``replay``: the same state rebuilt by re-driving its history, every replayed event
matching its chain (a divergence is a violation in itself)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from ._records import Actors, actors_of, fault_kind, records_of
from ._violation import Violation

NAME = "state_recovery"


@dataclass
class _Restart:
    """A restart being followed until its new incarnation has started."""

    restart: dict
    previous_exit: dict | None
    start: dict | None = None
    replay: dict | None = None
    fault: dict | None = None  # a corrupt-state fault that fired on it


def check_state_recovery(records: Any, *, policies: Mapping[str, Mapping] | None = None) -> list[Violation]:
    """Each restart's new incarnation against its recovery mode (``restart.recovery``): the
    digest of the state it was given (its ``start`` record's ``state``) must be the spawn
    record's ``init_state`` (init) or the state of its previous exit (last, replay); a
    ``replay`` record with divergences is a violation of its own. A start record without
    a state digest (traces of older runtimes) cannot be judged and is passed over."""
    records = records_of(records)
    actors = actors_of(records)
    last_exit: dict[str, dict] = {}
    following: dict[str, _Restart] = {}
    found: list[Violation] = []

    def finish(actor: str) -> None:
        found.extend(_judge(following.pop(actor), actors))

    for r in records:
        kind, actor = r["kind"], r.get("actor")
        if kind in ("exit", "restart") and actor in following:
            finish(actor)  # the next exit or restart: nothing more will come of this one
        if kind == "exit":
            last_exit[actor] = r
        elif kind == "restart":
            following[actor] = _Restart(r, last_exit.get(actor))
        elif kind == "start" and actor in following:
            following[actor].start = r
            if following[actor].restart.get("recovery") != "replay":
                finish(actor)
        elif kind == "replay" and actor in following:
            following[actor].replay = r
            finish(actor)
        elif fault_kind(r) == "corrupt-state" and r.get("target") in following:
            following[r["target"]].fault = r
    for actor in list(following):
        finish(actor)
    return found


def _judge(x: _Restart, actors: Actors) -> list[Violation]:
    if x.start is None or x.restart["actor"] not in actors:
        return []  # the new incarnation never started (its instance could not be created)
    found = [_diverged(x, actors)] if x.replay is not None and x.replay.get("divergences") else []
    lost = _lost_state(x, actors)
    return found + ([lost] if lost is not None else [])


def _diverged(x: _Restart, actors: Actors) -> Violation:
    replay = x.replay
    first = replay["divergences"][0]
    return Violation(NAME, replay["t"], (x.restart["actor"],), (
        f"replaying the history of {actors.label(x.restart['actor'])} diverged from its chain after "
        f"{replay.get('calls')} of {replay.get('of')} calls: {len(replay['divergences'])} divergence(s), the first "
        f"at call {first.get('call')}, chain index {first.get('chain_index')} ({first.get('detail')})"),
        (x.restart, x.start, replay))


def _lost_state(x: _Restart, actors: Actors) -> Violation | None:
    restart, start = x.restart, x.start
    actor = restart["actor"]
    mode = restart.get("recovery") or actors.info[actor].recovery
    if "state" not in start or (mode != "init" and x.previous_exit is None):
        return None
    if mode == "init":
        expected, promise, source = actors.info[actor].init_state, "its init state (spawn record)", \
            actors.info[actor].spawn
    else:
        expected, promise, source = x.previous_exit.get("state"), "its last committed state (previous exit)", \
            x.previous_exit
    if start["state"] == expected:
        return None
    evidence = [restart, start, source]
    fault = ""
    if x.fault is not None:
        evidence.append(x.fault)
        fault = f"; fault #{x.fault.get('fault')} (corrupt-state) fired on this restart"
    return Violation(NAME, start["t"], (actor,), (
        f"{actors.label(actor)} restarted (incarnation {restart.get('incarnation')}, recovery {mode}) from state "
        f"{start['state']}, but {mode} recovery promises {promise}: {expected}{fault}"),
        tuple(sorted(evidence, key=lambda r: r["seq"])))
