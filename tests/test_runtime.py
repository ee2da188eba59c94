"""The runtime with real wasm actors: spawning, messages, requests, state, eras, names."""

from __future__ import annotations

import json

import pytest

from conftest import manifest
from theater_harness import HarnessError, RequestFailed, Runtime, SpawnError, UnknownActorError, verify_chain


def test_a_counter_keeps_its_state_across_calls(rt):
    counter = rt.spawn(manifest("counter"))
    assert rt.actor(counter).state == b'{"count":0}'
    for _ in range(3):
        rt.send(counter, b"inc")
    rt.send(counter, "add:10")
    assert rt.actor(counter).state == b'{"count":0}'  # nothing runs until the clock does
    rt.run_until_idle()
    assert rt.actor(counter).state == b'{"count":13}'
    assert rt.ask(counter, "get") == b"13"
    assert rt.ask(counter, "inc") == b"14"
    assert rt.ask(counter, "what") == b"unknown"


def test_spawn_merges_init_state_over_the_manifest_state(rt):
    counter = rt.spawn(manifest("counter"), init_state={"count": 41})
    assert rt.ask(counter, "inc") == b"42"


def test_spawn_accepts_manifest_text_with_paths_relative_to_the_working_directory(rt, monkeypatch):
    monkeypatch.chdir(manifest("counter").parent)
    text = '''
name = "inline-counter"
component = "counter.wasm"
init_state = '{"count":7}'

[[handler]]
type = "runtime"

[[handler]]
type = "message-server"
'''
    counter = rt.spawn(text)
    assert rt.actor(counter).name == "inline-counter"
    assert rt.ask(counter, "get") == b"7"


def test_actors_are_found_by_id_or_by_unique_name(rt):
    a = rt.spawn(manifest("counter"), name="a")
    rt.spawn(manifest("counter"), name="b")
    assert rt.actor("a").id == a
    assert rt.actor(a).name == "a"
    with pytest.raises(UnknownActorError, match="no actor with id or name 'c' \\(known names: a, b\\)"):
        rt.actor("c")


def test_an_ambiguous_name_asks_for_an_id(rt):
    first = rt.spawn(manifest("counter"))
    second = rt.spawn(manifest("counter"))
    with pytest.raises(UnknownActorError, match=f"2 actors are named 'counter'; use an id: {first}, {second}"):
        rt.actor("counter")


def test_actor_ids_are_uuids_drawn_from_the_seed():
    ids = [Runtime(seed=5).spawn(manifest("counter")) for _ in range(2)]
    assert ids[0] == ids[1]
    assert Runtime(seed=6).spawn(manifest("counter")) != ids[0]
    assert len(ids[0]) == 36 and ids[0].count("-") == 4


def test_an_era_a_actor_receives_its_own_id_in_init(rt):
    old = rt.spawn(manifest("counter_a"))
    assert rt.actor(old).logs == [f"counter_a: init {old}"]
    assert rt.ask(old, "inc") == b"1"


def test_the_message_server_handler_must_be_declared_to_receive_messages(rt, tmp_path):
    text = manifest("counter").read_text().replace('[[handler]]\ntype = "message-server"\n', "")
    quiet = tmp_path / "quiet.toml"
    quiet.write_text(text.replace('component = "counter.wasm"', f'component = "{manifest("counter").parent}/counter.wasm"'))
    actor = rt.spawn(quiet)
    with pytest.raises(HarnessError, match="declares no message-server handler, so it cannot receive messages"):
        rt.send(actor, b"inc")


def test_an_import_without_its_handler_is_refused_at_spawn(tmp_path):
    text = manifest("sleeper").read_text().replace('[[handler]]\ntype = "timing"\n', "")
    bad = tmp_path / "sleeper.toml"
    bad.write_text(text.replace('component = "sleeper.wasm"', f'component = "{manifest("sleeper").parent}/sleeper.wasm"'))
    with pytest.raises(SpawnError, match=r"imports .*theater:simple/timing, but the manifest declares no 'timing' "
                                         r"handler; add \[\[handler\]\] type = \"timing\""):
        Runtime().spawn(bad)


def test_requests_from_outside_complete_as_the_run_goes(rt):
    echo = rt.spawn(manifest("echo"))
    pending = rt.request(echo, b"hello", delay_ms=50)
    assert not pending.done
    rt.run(until=49)
    assert not pending.done
    rt.run(until=50)
    assert pending.done and pending.ok and pending.reply == b"hello"


def test_ask_raises_when_the_request_fails(rt):
    crasher = rt.spawn(manifest("crasher"))
    with pytest.raises(RequestFailed, match=f"actor {crasher} ended before answering: trap"):
        rt.ask(crasher, "trap")


def test_actor_to_actor_send_and_request(rt):
    echo = rt.spawn(manifest("echo"))
    pinger = rt.spawn(manifest("pinger"), init_state={"target": echo})
    rt.send(pinger, "send:hello")
    rt.send(pinger, "request:ping")
    rt.run_until_idle()
    assert rt.actor(echo).logs == ["echo: hello"]
    assert rt.actor(pinger).logs == ["pinger: reply ping"]
    stats = json.loads(rt.ask(pinger, "stats"))
    assert (stats["sent"], stats["replies"], stats["errors"]) == (1, 1, 0)


def test_a_request_to_a_stopped_actor_fails_at_once(rt):
    echo = rt.spawn(manifest("echo"))
    pinger = rt.spawn(manifest("pinger"), init_state={"target": echo})
    rt.stop(echo)
    rt.send(pinger, "request:ping")
    rt.run_until_idle()
    assert rt.now == 0
    assert rt.actor(pinger).logs == [
        f"pinger: request failed: actor {echo} (echo) is not running: it is stopped"]


def test_a_request_to_a_busy_actor_fails_after_the_virtual_timeout():
    rt = Runtime(seed=1, request_timeout_ms=2_000)
    pinger = rt.spawn(manifest("pinger"))
    rt.send(pinger, f"target:{pinger}")
    rt.send(pinger, "request:stats")  # to itself: it is busy waiting for its own reply
    rt.run_until_idle()
    assert rt.now == 2_000
    (log,) = rt.actor(pinger).logs
    assert log.startswith("pinger: request failed: request ") and log.endswith(
        f"to {pinger} (pinger) timed out after 2000 ms")
    assert json.loads(rt.actor(pinger).state)["errors"] == 1
    # the queued request was dropped when it reached the pinger after its timeout
    drops = [r.fields for r in rt.trace.of_kind("drop")]
    (request_id,) = [r.fields["request"] for r in rt.trace.of_kind("request")]
    assert drops == [{"request": request_id, "reason": f"no longer awaited: request {request_id} to {pinger} "
                                                       f"(pinger) timed out after 2000 ms"}]


def test_send_to_an_unknown_actor_is_an_err_for_the_sender(rt):
    pinger = rt.spawn(manifest("pinger"), init_state={"target": "no-such-actor"})
    rt.send(pinger, "send:x")
    rt.run_until_idle()
    assert rt.actor(pinger).logs == ["pinger: send failed: no actor with id no-such-actor"]


def test_message_latency_delays_every_delivery():
    rt = Runtime(seed=1, message_latency_ms=25)
    echo = rt.spawn(manifest("echo"))
    pending = rt.request(echo, b"x")
    rt.run_until_idle()
    assert pending.reply == b"x"
    delivered = rt.trace.of_kind("deliver")
    assert [r.time_ms for r in delivered] == [25]


def test_sleep_blocks_the_actor_in_virtual_time_while_others_run(rt):
    sleeper = rt.spawn(manifest("sleeper"))
    echo = rt.spawn(manifest("echo"))
    rt.send(sleeper, "sleep:5000")
    pending = rt.request(echo, b"meanwhile", delay_ms=100)
    later = rt.request(sleeper, b"now", delay_ms=200)  # queued until the sleep ends
    rt.run_until_idle()
    assert pending.reply == b"meanwhile"
    reply_times = {r.fields["request"]: r.time_ms for r in rt.trace.of_kind("reply")}
    assert reply_times[pending.id] == 100
    assert reply_times[later.id] == 5000
    assert later.reply == str(rt.epoch_ms + 5000).encode()
    assert json.loads(rt.actor(sleeper).state) == {"wakes": 1, "last": rt.epoch_ms + 5000}


def test_deadline_waits_until_an_epoch_time_and_a_past_deadline_returns_at_once(rt):
    sleeper = rt.spawn(manifest("sleeper"))
    rt.send(sleeper, "deadline:300")
    rt.run_until_idle()
    assert rt.now == 300
    assert rt.actor(sleeper).logs == [f"sleeper: woke at {rt.epoch_ms + 300}"]


def test_timing_now_reads_the_virtual_clock_plus_the_epoch():
    rt = Runtime(seed=1, epoch_ms=1_000)
    sleeper = rt.spawn(manifest("sleeper"))
    rt.advance(250)
    assert rt.ask(sleeper, "now") == b"1250"


def test_concurrent_sleeps_each_wake_at_their_own_time(rt):
    """Blocking calls suspend: a short sleep that began first is not held up by a long one."""
    sleepers = [rt.spawn(manifest("sleeper"), name=f"s{i}") for i in range(40)]
    for i, sleeper in enumerate(sleepers):
        rt.send(sleeper, f"sleep:{1000 - 20 * i}")  # later starters sleep less
    rt.run_until_idle()
    for i, sleeper in enumerate(sleepers):
        assert rt.actor(sleeper).logs == [f"sleeper: woke at {rt.epoch_ms + 1000 - 20 * i}"]
    assert rt.now == 1000


def test_a_requester_waits_while_its_target_answers():
    rt = Runtime(seed=1, request_timeout_ms=500)
    a = rt.spawn(manifest("pinger"), name="a")
    b = rt.spawn(manifest("pinger"), name="b", init_state={"target": a})
    rt.send(a, f"target:{b}")
    rt.send(a, "request:stats")  # a waits for b; b is free and answers
    rt.run_until_idle()
    assert rt.actor(a).logs == [f'pinger: reply {{"target":"{a}","sent":0,"replies":0,"errors":0,"channel":"","received":0}}']


def test_random_imports_are_deterministic_per_seed():
    def draws(seed):
        rt = Runtime(seed=seed)
        user = rt.spawn(manifest("random_user"))
        return [rt.ask(user, q) for q in ("bytes:8", "range:10:20", "uuid", "float")]

    first = draws(3)
    assert first == draws(3)
    assert first != draws(4)
    assert len(first[0]) == 8
    assert 10 <= int(first[1]) < 20
    assert len(first[2]) == 36


def test_a_host_err_reaches_the_actor_which_may_fail_with_it(rt):
    user = rt.spawn(manifest("random_user"))
    with pytest.raises(RequestFailed):
        rt.ask(user, "range:5:5")
    reason = rt.actor(user).exit_reason
    assert (reason.kind, reason.message) == ("err", "random_user: random-range: min (5) must be less than max (5)")


def test_the_chain_records_calls_and_host_calls_and_verifies(rt):
    echo = rt.spawn(manifest("echo"))
    rt.send(echo, "hi")
    rt.run_until_idle()
    chain = rt.actor(echo).chain
    assert [e.event_type for e in chain] == [
        "wasm", "wasm",  # init call, result
        "wasm", "theater:simple/runtime/log", "wasm",  # handle-send, its log, its result
    ]
    assert json.loads(chain[0].data) == {
        "category": "Wasm", "WasmCall": {"function_name": "theater:simple/actor.init", "params": list(b"null")}}
    assert json.loads(chain[2].data)["WasmCall"] == {
        "function_name": "theater:simple/message-server-client.handle-send", "params": list(b"[[104,105]]")}
    log = json.loads(chain[3].data)
    assert log == {"category": "HostFunction", "interface": "theater:simple/runtime", "function": "log",
                   "input": list(b'"echo: hi"'), "output": list(b"null")}
    assert verify_chain(chain) is None
    assert [e.time_ms for e in chain] == [0, 0, 0, 0, 0]


def test_external_stop_ends_the_actor_and_records_why(rt):
    counter = rt.spawn(manifest("counter"))
    rt.stop(counter)
    view = rt.actor(counter)
    assert view.status == "stopped" and not view.alive
    assert view.exit_reason.kind == "shutdown" and not view.exit_reason.abnormal
    assert view.chain[-1].event_type == "shutdown"
    rt.send(counter, "inc")
    rt.run_until_idle()
    assert rt.trace.of_kind("drop")[0].fields["reason"] == f"actor {counter} (counter) is not running: it is stopped"


def test_stopping_an_actor_blocked_in_a_host_call_unwinds_it(rt):
    sleeper = rt.spawn(manifest("sleeper"))
    rt.send(sleeper, "sleep:10000")
    rt.scheduler.at(100, rt.stop, sleeper)
    rt.run_until_idle()
    view = rt.actor(sleeper)
    assert view.status == "stopped"
    assert view.exit_reason.time_ms == 100
    assert view.state == b'{"wakes":0,"last":0}'  # the interrupted call changed nothing
    assert rt.now == 100  # its timer was cancelled


def test_children_stop_with_their_parent_in_reverse_start_order(rt):
    parent = rt.spawn(manifest("echo"), name="parent")
    kids = [rt.spawn(manifest("counter"), name=f"kid{i}", parent=parent) for i in range(3)]
    grandkid = rt.spawn(manifest("counter"), name="grandkid", parent=kids[0])
    assert rt.actor(parent).children == kids
    rt.stop(parent)
    exits = [r.actor for r in rt.trace.of_kind("exit")]
    assert exits == [kids[2], kids[1], grandkid, kids[0], parent]
    assert all(not rt.actor(a).alive for a in kids + [grandkid])


def test_a_parent_without_handler_exports_is_skipped_and_the_skip_recorded(rt):
    parent = rt.spawn(manifest("echo"), name="parent")
    child = rt.spawn(manifest("crasher"), parent=parent)
    rt.send(child, "trap")
    rt.run_until_idle()
    assert rt.actor(child).status == "failed"
    assert rt.actor(parent).alive
    skips = rt.trace.of_kind("skip")
    assert [(s.actor, s.fields["export"]) for s in skips] == [
        (parent, "theater:simple/supervisor-handlers.handle-child-error")]


def test_the_public_api_is_what_we_mean_it_to_be():
    import theater_harness

    assert sorted(theater_harness.__all__) == sorted([
        "ActorView", "ChainEvent", "ChainFileError", "ComponentError", "EventChain", "ExitReason",
        "HarnessError", "Manifest", "ManifestError", "PendingRequest", "RequestFailed", "Runtime",
        "ScenarioError", "SimulationError", "SpawnError", "Trace", "TraceRecord", "UnknownActorError",
        "World", "WorldError", "load_chain_file", "load_manifest", "parse_manifest", "verify_chain",
    ])
    for name in theater_harness.__all__:
        assert getattr(theater_harness, name) is not None


@pytest.mark.parametrize("kwargs, message", [
    ({"fuel": 0}, "fuel must be an integer >= 1, not 0"),
    ({"memory": 1024}, "memory must be an integer >= 65536, not 1024"),
    ({"message_latency_ms": -1}, "message_latency_ms must be an integer >= 0, not -1"),
    ({"request_timeout_ms": 1.5}, "request_timeout_ms must be an integer >= 1, not 1.5"),
])
def test_runtime_options_are_validated(kwargs, message):
    with pytest.raises(HarnessError, match=message.replace("(", "\\(").replace(")", "\\)")):
        Runtime(**kwargs)
