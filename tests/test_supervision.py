"""Declarative supervision, in virtual time: OTP's design-principles cases, one by one."""

from __future__ import annotations

import json
import textwrap

import pytest

from conftest import ACTORS, manifest
from theater_harness import ManifestError, Runtime


def supervisor(tmp_path, policy: str, name: str = "sup") -> str:
    """A supervisor manifest (the echo component, no handler code) with ``policy`` as its
    [supervision] table."""
    path = tmp_path / f"{name}.toml"
    path.write_text(textwrap.dedent(f'''\
        name = "{name}"
        component = "{ACTORS / 'echo.wasm'}"

        [[handler]]
        type = "runtime"

        [[handler]]
        type = "message-server"

        [[handler]]
        type = "supervisor"

        [supervision]
        ''') + textwrap.dedent(policy))
    return str(path)


def tree(rt: Runtime, sup_manifest: str, children: str = "abc", worker: str = "crasher") -> tuple[str, dict]:
    sup = rt.spawn(sup_manifest)
    ids = {c: rt.spawn(manifest(worker), name=c, parent=sup) for c in children}
    return sup, ids


def restarts(rt: Runtime) -> list[str]:
    names = {a.id: a.name for a in rt.actors}
    return [names[r.actor] for r in rt.trace.of_kind("restart")]


def stops(rt: Runtime) -> list[str]:
    names = {a.id: a.name for a in rt.actors}
    return [names[r.actor] for r in rt.trace.of_kind("exit") if r.fields["status"] == "stopped"]


def fail(rt: Runtime, actor: str, how: str = "trap", at: int | None = None) -> None:
    rt.send(actor, how, delay_ms=0 if at is None else at - rt.now)


@pytest.mark.parametrize("strategy, stopped, restarted", [
    ("one_for_one", [], ["b"]),
    ("one_for_all", ["c", "a"], ["a", "b", "c"]),
    ("rest_for_one", ["c"], ["b", "c"]),
])
def test_each_strategy_restarts_exactly_its_siblings_in_order(tmp_path, strategy, stopped, restarted):
    rt = Runtime(seed=1)
    sup, ids = tree(rt, supervisor(tmp_path, f'strategy = "{strategy}"\n'))
    fail(rt, ids["b"])
    rt.run_until_idle()
    assert stops(rt) == stopped
    assert restarts(rt) == restarted
    assert [rt.actor(i).incarnation for i in ids.values()] == [2 if c in restarted else 1 for c in "abc"]
    assert all(rt.actor(i).alive for i in ids.values()) and rt.actor(sup).alive


def test_the_plan_is_recorded(tmp_path):
    rt = Runtime(seed=1)
    sup, ids = tree(rt, supervisor(tmp_path, 'strategy = "rest_for_one"\n'))
    fail(rt, ids["a"])
    rt.run_until_idle()
    (plan,) = rt.trace.of_kind("restart-plan")
    assert plan.actor == sup
    assert plan.fields == {"strategy": "rest_for_one", "failed": ids["a"], "stop": [ids["c"], ids["b"]],
                           "restart": [ids["a"], ids["b"], ids["c"]], "drop": []}


def test_a_restarted_child_starts_from_its_init_state_by_default(tmp_path):
    rt = Runtime(seed=1)
    sup = rt.spawn(supervisor(tmp_path, ""))
    counter = rt.spawn(manifest("counter"), parent=sup, init_state={"count": 10})
    for _ in range(5):
        rt.send(counter, "inc")
    rt.run_until_idle()
    assert rt.ask(counter, "get") == b"15"
    rt.stop(counter)  # a permanent child stopped from outside is restarted too
    rt.run_until_idle()
    assert rt.actor(counter).incarnation == 2
    assert rt.ask(counter, "get") == b"10"


TRANSIENT = '''
[supervision.children.k]
restart = "transient"
'''


def test_a_transient_child_is_not_restarted_after_a_normal_exit(tmp_path):
    rt = Runtime(seed=1)
    sup, ids = tree(rt, supervisor(tmp_path, TRANSIENT), children="k", worker="keeper")
    rt.send(ids["k"], "shutdown:done")
    rt.run_until_idle()
    assert rt.actor(ids["k"]).status == "stopped" and restarts(rt) == []
    (skipped,) = rt.trace.of_kind("not-restarted")
    assert skipped.fields == {"supervisor": sup, "why": "transient child, normal exit"}


def test_a_transient_child_is_restarted_after_an_abnormal_exit(tmp_path, monkeypatch):
    rt = Runtime(seed=1)
    sup = rt.spawn(supervisor(tmp_path, TRANSIENT))
    k = rt.spawn(manifest("crasher"), name="k", parent=sup)
    fail(rt, k)
    rt.run_until_idle()
    assert restarts(rt) == ["k"]


TEMPORARY_B = '''
strategy = "one_for_all"
intensity = 5

[supervision.children.b]
restart = "temporary"
'''


def test_a_temporary_child_is_never_restarted(tmp_path):
    rt = Runtime(seed=1)
    sup, ids = tree(rt, supervisor(tmp_path, TEMPORARY_B))
    fail(rt, ids["b"])
    rt.run_until_idle()
    assert restarts(rt) == [] and stops(rt) == []
    assert rt.actor(ids["b"]).status == "failed"
    assert rt.trace.of_kind("not-restarted")[0].fields["why"] == "temporary child, abnormal exit"


def test_a_temporary_child_stopped_because_a_sibling_failed_stays_stopped(tmp_path):
    rt = Runtime(seed=1)
    sup, ids = tree(rt, supervisor(tmp_path, TEMPORARY_B))
    fail(rt, ids["a"])
    rt.run_until_idle()
    assert stops(rt) == ["c", "b"]
    assert restarts(rt) == ["a", "c"]
    assert rt.actor(ids["b"]).status == "stopped"


def test_the_intensity_window_is_inclusive_in_whole_seconds(tmp_path):
    """intensity 2 within 5 s: restarts at 0, 1 s and 5.999 s lie in one window: escalate."""
    rt = Runtime(seed=1)
    sup, ids = tree(rt, supervisor(tmp_path, "intensity = 2\nperiod_ms = 5000\n"), children="a")
    for t in (0, 1000, 5999):
        fail(rt, ids["a"], at=t)
    rt.run_until_idle()
    assert restarts(rt) == ["a", "a"]
    (escalation,) = rt.trace.of_kind("escalate")
    assert escalation.time_ms == 5999
    assert escalation.fields == {"restarts": 3, "intensity": 2, "period_ms": 5000}
    reason = rt.actor(sup).exit_reason
    assert (reason.kind, reason.cause) == ("shutdown", "escalated")  # OTP: a supervisor that gives up exits shutdown
    assert reason.message == "reached max restart intensity: 3 restarts within 5000 ms (intensity 2)"


def test_a_restart_that_falls_out_of_the_window_does_not_count(tmp_path):
    """The same, with the third failure at 6 s: the first restart (second 0) is 6 s old."""
    rt = Runtime(seed=1)
    sup, ids = tree(rt, supervisor(tmp_path, "intensity = 2\nperiod_ms = 5000\n"), children="a")
    for t in (0, 1000, 6000):
        fail(rt, ids["a"], at=t)
    rt.run_until_idle()
    assert restarts(rt) == ["a", "a", "a"]
    assert rt.trace.of_kind("escalate") == [] and rt.actor(sup).alive


def test_intensity_zero_escalates_on_the_first_failure(tmp_path):
    rt = Runtime(seed=1)
    sup, ids = tree(rt, supervisor(tmp_path, "intensity = 0\n"))
    fail(rt, ids["b"])
    rt.run_until_idle()
    assert restarts(rt) == []
    assert rt.actor(sup).status == "failed"
    assert stops(rt) == ["c", "a"]  # it stops its children, in reverse start order, then fails


def test_escalation_through_two_levels_ends_the_run(tmp_path):
    rt = Runtime(seed=1)
    root = rt.spawn(supervisor(tmp_path, "intensity = 0\n", name="root"))
    mid = rt.spawn(supervisor(tmp_path, "intensity = 0\n", name="mid"), parent=root)
    worker = rt.spawn(manifest("crasher"), name="worker", parent=mid)
    bystander = rt.spawn(manifest("counter"), name="bystander", parent=root)
    fail(rt, worker, at=100)
    rt.run(until=1000)
    names = {a.id: a.name for a in rt.actors}
    assert [names[r.actor] for r in rt.trace.of_kind("escalate")] == ["mid", "root"]
    assert rt.ended is not None and rt.ended.actor == root
    assert (rt.ended.kind, rt.ended.cause) == ("shutdown", "escalated")
    assert rt.now == 100  # the run ended when the root gave up
    assert not rt.actor(bystander).alive


def test_a_restarted_supervisor_restarts_the_children_its_end_stopped(tmp_path):
    rt = Runtime(seed=1)
    root = rt.spawn(supervisor(tmp_path, "intensity = 5\n", name="root"))
    mid = rt.spawn(supervisor(tmp_path, "intensity = 0\n", name="mid"), parent=root)
    workers = [rt.spawn(manifest("counter"), name=f"w{i}", parent=mid) for i in range(2)]
    broken = rt.spawn(manifest("crasher"), name="broken", parent=mid)
    fail(rt, broken)
    rt.run_until_idle()
    assert restarts(rt) == ["mid", "w0", "w1", "broken"]
    assert all(rt.actor(w).alive and rt.actor(w).incarnation == 2 for w in workers + [broken])
    assert rt.actor(mid).incarnation == 2 and rt.ended is None


def test_stopping_a_supervisor_stops_its_children_in_reverse_start_order(tmp_path):
    rt = Runtime(seed=1)
    sup, ids = tree(rt, supervisor(tmp_path, ""))
    rt.stop(sup)
    assert stops(rt) == ["c", "b", "a", "sup"]


def test_a_failing_restart_is_retried_and_counted(tmp_path):
    rt = Runtime(seed=1)
    sup = rt.spawn(supervisor(tmp_path, "intensity = 3\n"))
    doomed = rt.spawn(manifest("crasher"), name="doomed", parent=sup)
    rt._resolve(doomed).init_state = b'{"fail_init":"err"}'  # from now on, every restart's init fails
    fail(rt, doomed)
    rt.run_until_idle()
    assert restarts(rt) == ["doomed"] * 3  # the first restart and two retries of its failing init ...
    assert [r.actor for r in rt.trace.of_kind("escalate")] == [sup]  # ... then the fourth failure escalates
    assert rt.actor(doomed).incarnation == 4
    assert [r.fields["reason"]["export"] for r in rt.trace.of_kind("exit") if r.actor == doomed][1:] == \
        ["theater:simple/actor.init"] * 3


def test_a_first_init_failure_is_the_spawners_to_see_not_a_supervised_failure(tmp_path):
    rt = Runtime(seed=1)
    sup = rt.spawn(supervisor(tmp_path, "intensity = 3\n"))
    doomed = rt.spawn(manifest("crasher"), parent=sup, init_state={"fail_init": "err"})
    rt.run_until_idle()
    assert rt.actor(doomed).status == "failed" and restarts(rt) == []


def test_a_permanent_error_is_not_restarted(tmp_path):
    rt = Runtime(seed=1)
    sup = rt.spawn(supervisor(tmp_path, 'permanent_errors = ["error on request"]\nintensity = 5\n'))
    a = rt.spawn(manifest("crasher"), name="a", parent=sup)
    b = rt.spawn(manifest("crasher"), name="b", parent=sup)
    fail(rt, a, "err")   # "crasher: error on request": permanent
    fail(rt, b, "trap")  # a trap: temporary, restarted
    rt.run_until_idle()
    assert restarts(rt) == ["b"]
    assert rt.trace.of_kind("not-restarted")[0].fields["why"] == "permanent failure (matches permanent_errors)"


def test_the_parents_handler_export_is_called_before_the_restart(tmp_path):
    """sup_one also restarts in its handle-child-error: the runtime sees the child alive
    again and does not restart it twice."""
    path = tmp_path / "sup_one.toml"
    path.write_text(manifest("sup_one").read_text().replace(
        'component = "sup_one.wasm"', f'component = "{ACTORS / "sup_one.wasm"}"') + '\n[supervision]\nintensity = 5\n')
    rt = Runtime(seed=1)
    sup = rt.spawn(path)
    rt.send(sup, f"spawn:{ACTORS / 'crasher.toml'}")
    rt.run_until_idle()
    (child,) = rt.actor(sup).children
    fail(rt, child)
    rt.run_until_idle()
    assert rt.actor(child).incarnation == 2
    assert [r.fields["cause"] for r in rt.trace.of_kind("restart")] == ["restart-child"]


def test_backoff_delays_restarts_exponentially_with_seeded_jitter(tmp_path):
    policy = '''
    intensity = 10
    period_ms = 100000
    [supervision.default]
    backoff = { min_ms = 100, max_ms = 1000, random_factor = 0.5 }
    '''
    def delays(seed):
        rt = Runtime(seed=seed)
        sup, ids = tree(rt, supervisor(tmp_path, policy), children="a")
        for i in range(6):
            fail(rt, ids["a"], at=i * 10_000)
        rt.run_until_idle()
        return [r.fields["delay_ms"] for r in rt.trace.of_kind("backoff")], rt

    got, rt = delays(3)
    bases = [100, 200, 400, 800, 1000, 1000]
    assert all(b <= d < b * 1.5 for b, d in zip(bases, got)) and len(got) == 6
    assert got == delays(3)[0] and got != delays(4)[0]
    backoff_times = [r.time_ms for r in rt.trace.of_kind("backoff")]
    restart_times = [r.time_ms for r in rt.trace.of_kind("restart")]
    assert [r - b for r, b in zip(restart_times, backoff_times)] == got


def test_backoff_resets_after_healthy_running(tmp_path):
    policy = '''
    intensity = 10
    period_ms = 1000
    [supervision.default]
    backoff = { min_ms = 100, max_ms = 10000, reset_after_ms = 5000 }
    '''
    rt = Runtime(seed=1)
    sup, ids = tree(rt, supervisor(tmp_path, policy), children="a")
    for t in (0, 1000, 2000, 20_000):
        fail(rt, ids["a"], at=t)
    rt.run_until_idle()
    assert [r.fields["delay_ms"] for r in rt.trace.of_kind("backoff")] == [100, 200, 400, 100]


@pytest.mark.parametrize("policy, field, message", [
    ('strategy = "one_for_some"\n', "supervision.strategy",
     "'one_for_some' is not one of one_for_one, one_for_all, rest_for_one"),
    ("intensity = -1\n", "supervision.intensity", "expected an integer >= 0, got -1"),
    ('[supervision.children.x]\nrestart = "sometimes"\n', "supervision.children.x.restart",
     "'sometimes' is not one of permanent, transient, temporary"),
    ('[supervision.default]\nrecovery = "magic"\n', "supervision.default.recovery",
     "'magic' is not one of init, last, replay"),
    ('[supervision.default]\nbackoff = { max_ms = 5 }\n', "supervision.default.backoff.min_ms",
     "missing (the first restart delay, in ms)"),
    ('permanent_errors = ["("]\n', "supervision.permanent_errors[0]", "not a valid regular expression"),
    ('colour = "red"\n', "supervision.colour", "unknown key; known keys: strategy, intensity"),
])
def test_an_invalid_policy_names_the_file_and_the_field(tmp_path, policy, field, message):
    path = supervisor(tmp_path, policy)
    with pytest.raises(ManifestError) as info:
        Runtime().spawn(path)
    assert str(info.value).startswith(f"{path}: field '{field}': ")
    assert message in str(info.value)


def test_run_until_idle_returns_when_the_run_ended(tmp_path):
    rt = Runtime(seed=1)
    root = rt.spawn(supervisor(tmp_path, "intensity = 0\n", name="root"))
    worker = rt.spawn(manifest("crasher"), parent=root)
    sleeper = rt.spawn(manifest("sleeper"))
    rt.send(sleeper, "sleep:100000")
    fail(rt, worker, at=50)
    rt.run_until_idle()
    assert rt.now == 50 and rt.ended.cause == "escalated"
    assert json.loads(rt.actor(sleeper).state)["wakes"] == 0
