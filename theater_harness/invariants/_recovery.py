"""State recovery: a restarted child starts from the state its recovery mode promises.
``init``: fresh from its manifest (the state its first init was given, as its spawn
record has it); ``last``: its last committed state (the state of its previous exit);
``replay``: the same state rebuilt by re-driving its history, every replayed event
matching its chain (a divergence is a violation in itself)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from ._check import Pass, check
from ._records import Actors, fault_kind
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
    return check([StateRecovery], records, policies)


class StateRecovery(Pass):
    def __init__(self, checker: Any):
        super().__init__(checker)
        self.last_exit: dict[str, dict] = {}
        self.following: dict[str, _Restart] = {}  # actor -> its restart, until its incarnation started
        self.found: list[Violation] = []

    def finish(self, actor: str) -> None:
        self.found.extend(_judge(self.following.pop(actor), self.actors))

    def on_exit(self, r: dict) -> None:
        if r["actor"] in self.following:
            self.finish(r["actor"])  # nothing more will come of that restart
        self.last_exit[r["actor"]] = r

    def on_restart(self, r: dict) -> None:
        if r["actor"] in self.following:
            self.finish(r["actor"])
        self.following[r["actor"]] = _Restart(r, self.last_exit.get(r["actor"]))

    def on_start(self, r: dict) -> None:
        x = self.following.get(r.get("actor"))
        if x is not None:
            x.start = r
            if x.restart.get("recovery") != "replay":
                self.finish(r["actor"])

    def on_replay(self, r: dict) -> None:
        x = self.following.get(r.get("actor"))
        if x is not None:
            x.replay = r
            self.finish(r["actor"])

    def on_fault(self, r: dict) -> None:
        if fault_kind(r) == "corrupt-state" and r.get("target") in self.following:
            self.following[r["target"]].fault = r

    on_corrupt_state = on_fault  # older traces: the record's kind is the fault's

    def violations(self) -> list[Violation]:
        """What was found, and the restarts still followed as they stand."""
        return self.found + [v for x in self.following.values() for v in _judge(x, self.actors)]


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
