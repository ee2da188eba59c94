"""Checkpoints and forks (``theater_harness.fork``): a forked continuation is exactly the
straight one, for component and packr actors, and leaves the original untouched."""

from __future__ import annotations

import pytest

from theater_harness import Runtime
from theater_harness.faults import Fault, FaultSchedule
from theater_harness.fork import Checkpoint, ForkError, fork_problem
from theater_harness.invariants import check_all
from theater_harness.trees import NodeSpec, Policy, TreeSpec

from conftest import ACTORS

pytestmark = pytest.mark.skipif(fork_problem() is not None, reason=f"cannot fork here: {fork_problem()}")

TREE = TreeSpec(NodeSpec("root", policy=Policy("one_for_one", intensity=20), children=(
    NodeSpec("team", policy=Policy("rest_for_one", intensity=20), children=(
        NodeSpec("pc", manifest=str(ACTORS / "packr_counter.toml"), recovery="last"),
        NodeSpec("crash", manifest=str(ACTORS / "packr_crasher.toml")),
        NodeSpec("cc", manifest=str(ACTORS / "counter.toml"), recovery="replay"),
    )),
    NodeSpec("c2", manifest=str(ACTORS / "crasher.toml")),
)))
SCHEDULE = FaultSchedule([Fault("trap", target="root/team/crash", at_ms=130),
                          Fault("kill", target="root/c2", at_ms=150),
                          Fault("trap", target="root/team/pc", at_ms=170)])


def prefix(seed: int = 3) -> Runtime:
    """A tree of both ABIs with 200 ms of workload; the empty schedule makes the fault
    injector count calls from the start, as a straight run's would."""
    rt = Runtime(seed, faults=FaultSchedule([]))
    ids = TREE.spawn(rt)
    for t in range(0, 300, 3):
        rt.send(ids["pc"], "inc", delay_ms=t)
        rt.send(ids["cc"], "inc", delay_ms=t)
        rt.send(ids["crash"], "tick", delay_ms=t)
    rt.run(until=100)
    return rt


def finish(rt: Runtime) -> tuple[str, list[str], list]:
    rt.inject(SCHEDULE)
    rt.run(until=400)
    return rt.trace.hash(), [f"{a.name} {a.status} {a.incarnation} {a.state!r}" for a in rt.actors], \
        [v.to_dict() if hasattr(v, "to_dict") else str(v) for v in check_all(rt)]


def test_a_fork_continues_exactly_as_the_straight_run():
    straight = finish(prefix())
    rt = prefix()
    cp = Checkpoint(rt)
    assert cp.run(finish) == straight
    assert cp.run(finish) == straight  # again, from the same checkpoint
    assert cp.forks == 2
    assert rt.now == 100 and all(a.incarnation == 1 for a in rt.actors)  # the original did not move
    assert finish(rt) == straight  # ... and still continues as the straight run


def test_faults_reach_the_forked_run():
    _, actors, _ = Checkpoint(prefix()).run(finish)
    assert [a.split(" TypedState")[0].split(" b'")[0] for a in actors] == [
        "root running 1 None", "team running 1 None", "pc running 2", "crash running 3", "cc running 3",
        "c2 running 2"]  # rest_for_one: crash's trap restarts crash and cc, pc's trap all three


def test_an_exception_in_the_fork_is_raised_here():
    def broken(rt):
        raise ValueError("no such thing")

    with pytest.raises(ForkError, match=r"(?s)in the fork of the run at 100 ms:\nTraceback .*ValueError: no such thing"):
        Checkpoint(prefix()).run(broken)


def test_a_checkpoint_the_runtime_moved_past_is_refused():
    rt = prefix()
    cp = Checkpoint(rt)
    rt.advance(1)
    with pytest.raises(ForkError, match=r"the runtime has moved on since this checkpoint \(100 ms -> 101 ms\)"):
        cp.run(finish)
