"""OTP's supervisor rules that the differential test against real OTP checks in bulk
(tests/test_otp.py), here one rule per test, each named after its supervisor.erl function."""

from __future__ import annotations

import pytest

from conftest import ACTORS, manifest
from test_supervision import restarts, stops, supervisor
from theater_harness import ManifestError, Runtime
from theater_harness.faults import FaultSchedule, fault
from theater_harness.host import supervisor as host_supervisor
from theater_harness.invariants import check_all
from theater_harness.supervision.intensity import add_restart


def names(rt: Runtime, records) -> list[str]:
    by_id = {a.id: a.name for a in rt.actors}
    return [by_id[r.actor] for r in records]


def exits(rt: Runtime) -> list[tuple[str, str, str | None]]:
    by_id = {a.id: a.name for a in rt.actors}
    return [(by_id[r.actor], r.fields["reason"]["kind"], r.fields["reason"].get("cause"))
            for r in rt.trace.of_kind("exit")]


def spawn_team(rt: Runtime, tmp_path, policy: str, *workers: tuple[str, str], parent: str | None = None,
               name: str = "team") -> tuple[str, dict[str, str]]:
    """A declarative supervisor ``name`` with keeper workers ``(name, restart type)``."""
    specs = "".join(f'\n[supervision.children.{w}]\nrestart = "{restart}"\n' for w, restart in workers)
    sup = rt.spawn(supervisor(tmp_path, policy + specs, name=name), parent=parent)
    return sup, {w: rt.spawn(manifest("keeper"), name=w, parent=sup) for w, _ in workers}


def crash(rt: Runtime, actor: str, at: int | None = None) -> None:
    """An abnormal exit, with no call needed (a kill, as OTP's exit(Pid, kill))."""
    rt.inject(fault("kill", actor, at_ms=rt.now if at is None else at))


# --- init / init_children: a restarted supervisor starts every child spec ---------------------


def test_a_restarted_supervisor_starts_its_temporary_children_again(tmp_path):
    rt = Runtime(seed=1)
    root = rt.spawn(supervisor(tmp_path, "intensity = 5\n", name="root"))
    team, kids = spawn_team(rt, tmp_path, "intensity = 0\n", ("t", "temporary"), ("p", "permanent"), parent=root)
    crash(rt, kids["p"])  # intensity 0: the team gives up, root restarts it
    rt.run_until_idle()
    assert names(rt, rt.trace.of_kind("restart")) == ["team", "t", "p"]
    assert [rt.actor(kids[w]).incarnation for w in "tp"] == [2, 2]
    assert {r.fields["cause"] for r in rt.trace.of_kind("restart")[1:]} == {f"supervisor-restarted:{team}"}
    assert check_all(rt) == []


def test_a_restarted_supervisor_whose_child_cannot_start_fails_to_start(tmp_path):
    rt = Runtime(seed=1, faults=FaultSchedule([fault("init-err", "doomed", on_call=2)]))  # its first restart fails
    root = rt.spawn(supervisor(tmp_path, "intensity = 1\n", name="root"))
    team = rt.spawn(supervisor(tmp_path, "intensity = 0\n", name="team"), parent=root)
    doomed = rt.spawn(manifest("crasher"), name="doomed", parent=team)
    rt.spawn(manifest("counter"), name="after", parent=team)
    crash(rt, doomed)
    rt.run_until_idle()
    team_exits = [(kind, cause) for name, kind, cause in exits(rt) if name == "team"]
    assert team_exits[:2] == [("shutdown", "escalated"), ("spawn-error", None)]  # gave up, then failed to start
    assert "after" not in names(rt, rt.trace.of_kind("restart"))  # it never got to its next child
    assert rt.actor(team).exit_reason.message.startswith("failed to start child doomed: err in ")
    assert check_all(rt) == []


# --- restart_multiple_children: a group restart covers every child spec ------------------------


@pytest.mark.parametrize("strategy, ended, failing, restarted", [
    ("one_for_all", "a", "c", ["a", "b", "c"]),   # the ended transient a is started again
    ("rest_for_one", "b", "a", ["a", "b", "c"]),  # ended b lies after the failed a: started again
    ("rest_for_one", "a", "b", ["b", "c"]),       # ended a lies before the failed b: stays down
])
def test_a_group_restart_starts_an_ended_transient_sibling_again(tmp_path, strategy, ended, failing, restarted):
    rt = Runtime(seed=1)
    _, kids = spawn_team(rt, tmp_path, f'strategy = "{strategy}"\nintensity = 5\n',
                         ("a", "transient"), ("b", "transient"), ("c", "transient"))
    rt.send(kids[ended], "shutdown:done")  # a normal exit: a transient child is not restarted for it ...
    rt.run_until_idle()
    assert restarts(rt) == []
    crash(rt, kids[failing])  # ... but it keeps its child spec, and the group restart starts it
    rt.run_until_idle()
    assert restarts(rt) == restarted
    assert check_all(rt) == []


@pytest.mark.parametrize("second, restarted, plans", [
    ("permanent", ["a", "b", "c"], 1),  # b's end is flushed: the group restart started it anyway
    ("temporary", ["a", "c"], 1),       # b's end is flushed with its spec: no second plan, no not-restarted
])
def test_an_end_a_group_restart_flushed_is_never_handled(tmp_path, second, restarted, plans):
    """a and b end at one instant: handling a's end, rest_for_one terminates the group, b
    included, and flushes the 'EXIT' b left in the supervisor's mailbox (OTP's
    terminate_children -> unlink_flush): b's end is never handled on its own."""
    rt = Runtime(seed=1, faults=FaultSchedule([fault("kill", "a", at_ms=0), fault("kill", "b", at_ms=0)]))
    spawn_team(rt, tmp_path, 'strategy = "rest_for_one"\nintensity = 5\n',
               ("a", "permanent"), ("b", second), ("c", "permanent"))
    rt.run_until_idle()
    assert restarts(rt) == restarted
    assert len(rt.trace.of_kind("restart-plan")) == plans and rt.trace.of_kind("not-restarted") == []
    assert check_all(rt) == []


def test_a_temporary_child_stopped_by_a_group_restart_is_dropped_for_good(tmp_path):
    rt = Runtime(seed=1)
    _, kids = spawn_team(rt, tmp_path, 'strategy = "one_for_all"\nintensity = 5\n',
                         ("t", "temporary"), ("p", "permanent"))
    crash(rt, kids["p"])
    rt.run_until_idle()
    crash(rt, kids["p"], at=1000)
    rt.run_until_idle()
    assert stops(rt) == ["t"] and restarts(rt) == ["p", "p"]  # terminate_children removes its spec


def test_a_group_restart_stops_at_a_child_that_cannot_start_and_retries_from_it(tmp_path):
    rt = Runtime(seed=1, faults=FaultSchedule([fault("init-err", "b", on_call=2)]))  # b's first restart fails
    sup = rt.spawn(supervisor(tmp_path, 'strategy = "rest_for_one"\nintensity = 5\n'))
    a = rt.spawn(manifest("crasher"), name="a", parent=sup)
    rt.spawn(manifest("crasher"), name="b", parent=sup)
    rt.spawn(manifest("counter"), name="c", parent=sup)
    crash(rt, a)
    rt.run_until_idle()
    plans = [(names(rt, [p])[0], [rt.actor(i).name for i in p.fields["restart"]])
             for p in rt.trace.of_kind("restart-plan")]
    # a's plan starts a, then b fails to start: c is not started; b's failure comes back
    # as a new end and its plan (b and the rest) starts b and c.
    assert restarts(rt) == ["a", "b", "b", "c"]
    assert plans == [("sup", ["a", "b", "c"]), ("sup", ["b", "c"])]
    assert check_all(rt) == []


# --- restart/2 and do_restart: a supervisor that gives up exits shutdown ----------------------


@pytest.mark.parametrize("restart_type, restarted", [("permanent", True), ("transient", False),
                                                     ("temporary", False)])
def test_a_supervisor_that_gives_up_exits_shutdown_and_its_parent_treats_it_by_restart_type(
        tmp_path, restart_type, restarted):
    rt = Runtime(seed=1)
    root = rt.spawn(supervisor(tmp_path, f'intensity = 5\n[supervision.children.team]\nrestart = "{restart_type}"\n',
                               name="root"))
    team, kids = spawn_team(rt, tmp_path, "intensity = 0\n", ("w", "permanent"), parent=root)
    crash(rt, kids["w"])
    rt.run_until_idle()
    assert [(kind, cause) for name, kind, cause in exits(rt) if name == "team"] == [("shutdown", "escalated")]
    assert ("team" in restarts(rt)) is restarted
    assert rt.actor(root).restarts == 0 and rt.actor(root).alive
    assert check_all(rt) == []


# --- do_auto_shutdown: significant children (OTP 24+) ------------------------------------------


def significant_team(tmp_path, rt, auto_shutdown: str, root: str | None = None):
    policy = f'auto_shutdown = "{auto_shutdown}"\nintensity = 5\n'
    specs = ('[supervision.children.s1]\nrestart = "transient"\nsignificant = true\n'
             '[supervision.children.s2]\nrestart = "temporary"\nsignificant = true\n')
    team = rt.spawn(supervisor(tmp_path, policy + specs, name="team"), parent=root)
    kids = {w: rt.spawn(manifest("keeper"), name=w, parent=team) for w in ("s1", "s2", "other")}
    return team, kids


def test_any_significant_shuts_the_supervisor_down_when_one_significant_child_ends(tmp_path):
    rt = Runtime(seed=1)
    team, kids = significant_team(tmp_path, rt, "any_significant")
    rt.send(kids["s1"], "shutdown:done")
    rt.run_until_idle()
    assert exits(rt) == [("s1", "normal", None), ("other", "shutdown", "parent-ended"),
                         ("s2", "shutdown", "parent-ended"), ("team", "shutdown", "auto-shutdown")]
    (record,) = rt.trace.of_kind("auto-shutdown")
    assert record.fields == {"mode": "any_significant", "child": kids["s1"]}
    assert check_all(rt) == []


def test_all_significant_waits_for_the_last_significant_child(tmp_path):
    rt = Runtime(seed=1)
    team, kids = significant_team(tmp_path, rt, "all_significant")
    crash(rt, kids["s2"])  # temporary: not restarted, but s1 still runs
    rt.run_until_idle()
    assert rt.actor(team).alive
    rt.send(kids["s1"], "shutdown:done")
    rt.run_until_idle()
    assert rt.actor(team).exit_reason.cause == "auto-shutdown"
    assert check_all(rt) == []


def test_a_significant_child_that_is_restarted_shuts_nothing_down(tmp_path):
    rt = Runtime(seed=1)
    team, kids = significant_team(tmp_path, rt, "any_significant")
    crash(rt, kids["s1"])  # transient, abnormal exit: restarted
    rt.run_until_idle()
    assert restarts(rt) == ["s1"] and rt.actor(team).alive and rt.trace.of_kind("auto-shutdown") == []


def test_a_transient_supervisor_that_shut_itself_down_stays_down(tmp_path):
    rt = Runtime(seed=1)
    root = rt.spawn(supervisor(tmp_path, 'intensity = 5\n[supervision.children.team]\nrestart = "transient"\n',
                               name="root"))
    team, kids = significant_team(tmp_path, rt, "any_significant", root=root)
    rt.send(kids["s1"], "shutdown:done")
    rt.run_until_idle()
    assert not rt.actor(team).alive and restarts(rt) == [] and rt.actor(root).alive
    assert check_all(rt) == []


@pytest.mark.parametrize("policy, message", [
    ('auto_shutdown = "any_significant"\n[supervision.children.x]\nsignificant = true\n',
     "a permanent child cannot be significant"),
    ('[supervision.children.x]\nrestart = "transient"\nsignificant = true\n',
     'significant children need supervision.auto_shutdown = "any_significant" or "all_significant"'),
    ('auto_shutdown = "sometimes"\n', "'sometimes' is not one of never, any_significant, all_significant"),
    ('auto_shutdown = "any_significant"\n[supervision.children.x]\nrestart = "transient"\nsignificant = "yes"\n',
     "expected true or false, got 'yes'"),
])
def test_significant_children_are_validated_as_otp_does(tmp_path, policy, message):
    path = supervisor(tmp_path, policy)
    with pytest.raises(ManifestError) as info:
        Runtime().spawn(path)
    assert message in str(info.value)


# --- terminate_child and restart_child, for guest supervisors ----------------------------------


def test_stop_child_of_a_child_that_already_ended_succeeds(rt):
    sup = rt.spawn(manifest("sup_never"))  # it never restarts: its failed child stays failed
    rt.send(sup, f"spawn:{ACTORS / 'crasher.toml'}")
    rt.run_until_idle()
    (child,) = rt.actor(sup).children
    rt.send(child, "trap")
    rt.run_until_idle()
    assert host_supervisor.stop_child(rt, rt._resolve(sup), child) == (True, None)
    rt.send(sup, f"stop:{child}")
    rt.run_until_idle()
    assert not any("stop-child" in line for line in rt.actor(sup).logs) and rt.actor(sup).alive


def test_restart_child_of_a_running_child_is_an_error_naming_it(rt):
    sup = rt.spawn(manifest("sup_never"))
    rt.send(sup, f"spawn:{ACTORS / 'counter.toml'}")
    rt.run_until_idle()
    (child,) = rt.actor(sup).children
    assert host_supervisor.restart_child(rt, rt._resolve(sup), child) == (
        False, f"child {child} (counter) is running (incarnation 1): stop it with stop-child before restarting it")
    assert rt.actor(child).incarnation == 1


# --- the exit signal of a killed supervisor ----------------------------------------------------


def test_the_children_of_a_killed_supervisor_are_killed_and_its_grandchildren_shut_down(tmp_path):
    rt = Runtime(seed=1)
    root = rt.spawn(supervisor(tmp_path, "intensity = 5\n", name="root"))
    team, kids = spawn_team(rt, tmp_path, "intensity = 5\n", ("w", "permanent"), parent=root)
    sub, grandkids = spawn_team(rt, tmp_path, "intensity = 5\n", ("g", "permanent"), parent=team, name="sub")
    crash(rt, team)
    rt.run(until=1)
    assert exits(rt) == [("g", "shutdown", "parent-ended"), ("sub", "killed", "parent-ended"),
                         ("w", "killed", "parent-ended"), ("team", "killed", "outside")]
    assert restarts(rt) == ["team", "w", "sub", "g"]
    assert check_all(rt) == []


# --- add_restart: bounded ------------------------------------------------------------------------


def test_the_restart_history_never_holds_more_than_intensity_plus_one_times():
    history: tuple[int, ...] = ()
    for now in range(0, 3000, 2):
        history, exceeded = add_restart(history, now, intensity=10, period_ms=5000)
        assert len(history) <= 11
    assert exceeded and history == tuple(range(2998, 2976, -2))
    history, exceeded = add_restart((9000, 1000, 500), 9500, intensity=5, period_ms=5000)
    assert history == (9500, 9000) and not exceeded  # times out of the window are cut from the old end
