"""Recovery modes: the state a restarted child starts from (init, last, replay)."""

from __future__ import annotations

import json

import pytest

from conftest import manifest
from test_supervision import supervisor
from theater_harness import Runtime


def policy(recovery: str) -> str:
    return f'intensity = 10\n[supervision.default]\nrecovery = "{recovery}"\n'


@pytest.mark.parametrize("recovery, seen_after", [("init", 0), ("last", 3), ("replay", 3)])
def test_each_mode_restores_the_state_it_promises(tmp_path, recovery, seen_after):
    rt = Runtime(seed=1)
    sup = rt.spawn(supervisor(tmp_path, policy(recovery)))
    crasher = rt.spawn(manifest("crasher"), parent=sup)
    for payload in ("one", "two", "three", "trap"):  # the trap's own call commits nothing
        rt.send(crasher, payload)
    rt.run_until_idle()
    view = rt.actor(crasher)
    assert view.incarnation == 2 and view.alive
    assert json.loads(view.state) == {"fail_at": 0, "mode": "trap", "seen": seen_after}


def test_replay_rebuilds_a_counter_that_survived_many_calls(tmp_path):
    rt = Runtime(seed=1)
    sup = rt.spawn(supervisor(tmp_path, policy("replay")))
    counter = rt.spawn(manifest("counter"), parent=sup, init_state={"count": 7})
    for i in range(200):
        rt.send(counter, "inc" if i % 2 else "add:3")
    rt.run_until_idle()
    before = rt.actor(counter).state
    rt.stop(counter)
    rt.run_until_idle()
    assert rt.actor(counter).incarnation == 2
    assert rt.actor(counter).state == before == b'{"count":407}'
    (record,) = rt.trace.of_kind("replay")
    assert record.fields == {"calls": 201, "of": 201, "divergences": []}
    assert rt.ask(counter, "inc") == b"408"  # and it goes on from there


def test_replay_answers_host_calls_from_the_chain_without_waiting_again(tmp_path):
    rt = Runtime(seed=1)
    sup = rt.spawn(supervisor(tmp_path, policy("replay")))
    sleeper = rt.spawn(manifest("sleeper"), parent=sup)
    user = rt.spawn(manifest("random_user"), parent=sup)
    rt.send(sleeper, "sleep:5000")
    rt.send(sleeper, "deadline:2000", delay_ms=6000)
    draws = [rt.request(user, q) for q in ("bytes:16", "uuid", "range:0:1000000")]
    rt.run_until_idle()
    states = {a: rt.actor(a).state for a in (sleeper, user)}
    assert rt.now == 8000
    rt.stop(sleeper)
    rt.stop(user)
    rt.run_until_idle()
    assert rt.now == 8000  # the replayed sleeps took no virtual time
    assert {a: rt.actor(a).state for a in (sleeper, user)} == states
    assert [r.fields["divergences"] for r in rt.trace.of_kind("replay")] == [[], []]
    assert all(d.ok for d in draws)


def test_a_replay_that_does_not_match_the_chain_is_reported_as_a_divergence(tmp_path):
    rt = Runtime(seed=1)
    sup = rt.spawn(supervisor(tmp_path, policy("replay")))
    counter = rt.spawn(manifest("counter"), parent=sup)
    for _ in range(5):
        rt.send(counter, "inc")
    rt.run_until_idle()
    journal = rt._resolve(counter).journal
    entry = journal.entries[3]  # the third "inc" (entry 0 is init)
    entry.args = (entry.args[0], (b"add:100",))  # replay drives a call the chain does not have
    rt.stop(counter)
    rt.run_until_idle()
    (record,) = rt.trace.of_kind("replay")
    (divergence,) = record.fields["divergences"]
    assert record.fields["calls"] == 3 and record.fields["of"] == 6
    assert divergence["call"] == 3
    assert divergence["chain_index"] == rt._resolve(counter).journal.entries[2].chain_end
    assert divergence["detail"] == "replayed wasm event differs from the recorded one"
    assert divergence["expected"] != divergence["actual"]
    assert rt.actor(counter).state == b'{"count":2}'  # the state the replay reached before diverging


def test_only_actors_recovered_by_replay_keep_a_journal(tmp_path):
    rt = Runtime(seed=1)
    plain = rt.spawn(manifest("counter"))
    sup = rt.spawn(supervisor(tmp_path, policy("replay")))
    replayed = rt.spawn(manifest("counter"), parent=sup)
    assert rt._resolve(plain).journal is None
    assert len(rt._resolve(replayed).journal.entries) == 1  # its init
