"""Checkpoints and forks (``theater_harness.fork``): a forked continuation is exactly the
straight one, for component and packr actors, and leaves the original untouched."""

from __future__ import annotations

import pytest

from theater_harness import Runtime
from theater_harness.faults import Fault, FaultSchedule
from theater_harness.fork import Checkpoint, ForkError, fork_problem
from theater_harness.invariants import check_all
from theater_harness.trees import NodeSpec, Policy, TreeSpec

from conftest import ACTORS, ROOT

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


# --- sessions: a fork that stays, for calls one after another ------------------------------

def _step(rt: Runtime, faults: list, until: int) -> int:
    """Module-level (a session call is pickled): inject, run on, report how far the trace got."""
    rt.inject(FaultSchedule(faults))
    rt.run(until=until)
    return len(rt.trace)


def _outcome(rt: Runtime) -> tuple[str, list[str], list]:
    return rt.trace.hash(), [f"{a.name} {a.status} {a.incarnation} {a.state!r}" for a in rt.actors], \
        [v.to_dict() for v in check_all(rt)]


def _fail(rt: Runtime, message: str) -> None:
    raise ValueError(message)


def _die(rt: Runtime) -> None:
    import os

    os._exit(3)


def test_a_session_goes_on_call_after_call_exactly_as_the_straight_run():
    straight = prefix()
    straight.inject(FaultSchedule(SCHEDULE.faults[:1]))
    straight.run(until=160)
    straight.inject(FaultSchedule(SCHEDULE.faults[1:]))
    straight.run(until=400)
    rt = prefix()
    with Checkpoint(rt).session() as session:
        first = session.call(_step, SCHEDULE.faults[:1], 160)
        assert session.call(_step, SCHEDULE.faults[1:], 400) > first
        assert session.call(_outcome) == _outcome(straight)
        assert session.calls == 3
    assert rt.now == 100 and all(a.incarnation == 1 for a in rt.actors)  # the original did not move


def test_sessions_of_one_checkpoint_are_independent():
    checkpoint = Checkpoint(prefix())
    with checkpoint.session() as one, checkpoint.session() as two:
        one.call(_step, SCHEDULE.faults, 400)
        two.call(_step, [], 400)
        faulted, calm = one.call(_outcome)[1], two.call(_outcome)[1]
        assert [a.split()[2] for a in faulted] == ["1", "1", "2", "3", "3", "2"]  # as in a straight run
        assert [a.split()[2] for a in calm] == ["1"] * 6
    assert checkpoint.forks == 2


def test_an_exception_in_a_session_call_is_raised_here_and_the_session_goes_on():
    with Checkpoint(prefix()).session() as session:
        with pytest.raises(ForkError, match=r"(?s)in the session's fork of the run at 100 ms, call 1:\n"
                                            r"Traceback .*ValueError: no such thing"):
            session.call(_fail, "no such thing")
        assert session.call(_step, [], 150) > 0


def test_a_session_whose_fork_dies_is_a_clear_error_and_its_fork_is_reaped():
    import os

    session = Checkpoint(prefix()).session()
    with pytest.raises(ForkError, match=r"the session's fork \(pid \d+\) of the run at 100 ms died during call 1 "
                                        r"\(_die\): exit status 3"):
        session.call(_die)
    assert session.closed
    with pytest.raises(ChildProcessError):
        os.waitpid(session.pid, os.WNOHANG)  # reaped already
    with pytest.raises(ForkError, match=r"this session \(pid \d+\) is closed"):
        session.call(_step, [], 150)


def test_closing_a_session_ends_and_reaps_its_fork():
    import os

    session = Checkpoint(prefix()).session()
    session.call(_step, [], 150)
    session.close()
    session.close()  # idempotent
    with pytest.raises(ChildProcessError):
        os.waitpid(session.pid, os.WNOHANG)


def test_a_session_call_must_pickle():
    with Checkpoint(prefix()).session() as session:
        with pytest.raises(ForkError, match=r"a session call must pickle \(a module-level function, plain values\)"):
            session.call(lambda rt: rt.now)
        assert session.call(_step, [], 150) > 0


def test_a_session_does_not_outlive_its_process(tmp_path):
    """A process that ends without closing its session: the session's fork sees its pipe
    close and leaves. It holds the process's stdout, so reading that to its end waits for it."""
    import subprocess
    import sys

    script = tmp_path / "leave.py"
    script.write_text(f"""
import os, sys
sys.path[:0] = [{str(ROOT / "tests")!r}, {str(ROOT)!r}]
from test_fork import prefix
from theater_harness.fork import Checkpoint
session = Checkpoint(prefix()).session()
print(session.pid, flush=True)
os._exit(0)  # no close, no exit handlers
""")
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.strip().isdigit(), done.stderr


# --- a process's checkpoints, and turning forks off -----------------------------------------

class _Closable:
    def __init__(self):
        self.closed = False

    def close(self):
        self.closed = True


def test_cached_makes_once_per_key_by_content_and_closes_what_it_pushes_out(monkeypatch):
    from theater_harness import fork

    monkeypatch.setattr(fork, "_CACHE", type(fork._CACHE)())
    made = [fork.cached(("k", {"a": [1]}), _Closable)]
    assert fork.cached(("k", {"a": [1]}), _Closable) is made[0]  # equal content: the same
    made += [fork.cached(("k", i), _Closable) for i in range(fork.CACHED)]
    assert made[0].closed and not any(m.closed for m in made[1:])
    fork.clear_cache()
    assert all(m.closed for m in made)


def test_straight_turns_forks_off_and_says_why():
    from theater_harness.fork import straight

    checkpoint = Checkpoint(prefix())
    with straight("compared runs"):
        assert fork_problem() == "compared runs"
        with pytest.raises(ForkError, match="cannot fork the runtime: compared runs"):
            checkpoint.run(finish)
    assert fork_problem() is None


# --- TreeSpec.check: a verdict from a fork of the tree's warm-up ----------------------------

NEVER = TreeSpec(NodeSpec("sup", manifest=str(ACTORS / "sup_never.toml"), children=(
    NodeSpec("w0", manifest=str(ACTORS / "counter.toml")), NodeSpec("w1", manifest=str(ACTORS / "crasher.toml")))),
    workload=tuple((t, "w0", "inc") for t in range(0, 2000, 10)))
ONE_FOR_ONE = {"sup": {"strategy": "one_for_one", "intensity": 10}}


def test_a_check_forks_and_gives_the_straight_verdict():
    from theater_harness.fork import straight

    calm = FaultSchedule([])
    forked = NEVER.check(faults=calm, fork_at_ms=1000, seed=4, policies=ONE_FOR_ONE)
    with straight("compared"):
        assert NEVER.check(faults=calm, fork_at_ms=1000, seed=4, policies=ONE_FOR_ONE) == forked
    assert forked.ok and forked.forked and forked.runtime is None and forked.time_ms == 31_990


def test_a_failing_check_outside_hypothesis_comes_with_its_straight_runtime():
    stop = FaultSchedule([Fault("stop", target="w0", at_ms=1000)])
    verdict = NEVER.check(faults=stop, fork_at_ms=1000, seed=4, policies=ONE_FOR_ONE)
    assert [v.invariant for v in verdict.violations] == ["strategy_conformance"]
    assert not verdict.forked and verdict.runtime.seed == 4 and len(verdict.runtime.trace) == verdict.records
    with pytest.raises(AssertionError, match="strategy_conformance at 1000 ms"):
        verdict.assert_holds()


def test_a_check_runs_straight_what_cannot_fork_and_refuses_a_fork_after_the_end():
    counted = FaultSchedule([Fault("trap", target="w0", on_call=3)])
    assert not NEVER.check(faults=counted, fork_at_ms=1000, seed=4).forked
    early = FaultSchedule([Fault("stop", target="w0", at_ms=999)])
    assert not NEVER.check(faults=early, fork_at_ms=1000, seed=4, policies=ONE_FOR_ONE).forked
    with pytest.raises(ValueError, match=r"fork_at_ms \(1000\) is after the run's end \(500 ms\)"):
        NEVER.check(fork_at_ms=1000, until_ms=500)
