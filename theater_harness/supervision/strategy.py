"""Restart strategies as plans: which siblings to stop (in order) and which children to
start again (in order). One pure function per strategy, executed by one executor
(``supervisor.py``), as in OTP's ``supervisor``."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Child:
    """What a plan needs to know of a child."""

    id: str
    restart: str  # permanent, transient, temporary
    alive: bool


@dataclass(frozen=True)
class Plan:
    """Stop ``stop`` (in that order), then restart ``restart`` (in that order). ``drop``:
    temporary children of the group, gone for good (never restarted): those that run are
    stopped, and an end not yet handled of one that ended is flushed with its spec."""

    stop: tuple[str, ...]
    restart: tuple[str, ...]
    drop: tuple[str, ...] = ()


def one_for_one(children: list[Child], failed: str) -> Plan:
    return Plan(stop=(), restart=(failed,))


def one_for_all(children: list[Child], failed: str) -> Plan:
    others = [c for c in children if c.id != failed]
    return _siblings_too(children, failed, others)


def rest_for_one(children: list[Child], failed: str) -> Plan:
    index = next(i for i, c in enumerate(children) if c.id == failed)
    return _siblings_too(children, failed, children[index + 1:])


def _siblings_too(children: list[Child], failed: str, affected: list[Child]) -> Plan:
    """Stop the affected siblings that run, last started first; restart the failed child
    and the affected siblings in start order, except temporary ones, which are dropped
    (OTP ``terminate_children``). ``children`` are the supervisor's child specs: those
    running, and those that ended but keep a spec."""
    affected_ids = {c.id for c in affected}
    stop = tuple(c.id for c in reversed(affected) if c.alive)
    restart = tuple(c.id for c in children
                    if c.id == failed or (c.id in affected_ids and c.restart != "temporary"))
    drop = tuple(c.id for c in affected if c.restart == "temporary")
    return Plan(stop=stop, restart=restart, drop=drop)


STRATEGIES = {"one_for_one": one_for_one, "one_for_all": one_for_all, "rest_for_one": rest_for_one}


def plan(strategy: str, children: list[Child], failed: str) -> Plan:
    """The plan of ``strategy`` for the failure of ``failed`` among ``children`` (start order)."""
    return STRATEGIES[strategy](children, failed)


def should_restart(restart: str, abnormal: bool) -> bool:
    """Restart types: permanent always, transient after an abnormal exit, temporary never."""
    return restart == "permanent" or (restart == "transient" and abnormal)
