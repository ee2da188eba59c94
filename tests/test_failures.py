"""A misbehaving actor ends with an exit reason; the runtime and every other actor go on."""

from __future__ import annotations

import pytest

from conftest import manifest
from theater_harness import Runtime
from theater_harness.host import runtime as runtime_host
from theater_harness.trace import state_digest

SEND = "theater:simple/message-server-client.handle-send"
INIT = "theater:simple/actor.init"


def _fail(rt: Runtime, name: str, payload: str, **spawn) -> tuple:
    """Spawn ``name``, send it ``payload``, run; returns (reason, a healthy echo's reply after)."""
    victim = rt.spawn(manifest(name), **spawn)
    echo = rt.spawn(manifest("echo"))
    rt.send(victim, payload)
    rt.run_until_idle()
    return rt.actor(victim).exit_reason, rt.ask(echo, "still alive")


def test_an_err_return_ends_the_incarnation_with_the_message(rt):
    reason, after = _fail(rt, "crasher", "err")
    assert (reason.kind, reason.export, reason.message) == ("err", SEND, "crasher: error on request")
    assert reason.abnormal and reason.incarnation == 1
    assert after == b"still alive"


def test_a_trap_ends_the_incarnation_with_wasmtimes_reason(rt):
    reason, after = _fail(rt, "crasher", "trap")
    assert (reason.kind, reason.export) == ("trap", SEND)
    assert reason.message == "wasm trap: wasm `unreachable` instruction executed"
    assert after == b"still alive"


def test_an_infinite_loop_ends_by_fuel():
    rt = Runtime(seed=1, fuel=2_000_000)
    reason, after = _fail(rt, "looper", "loop")
    assert (reason.kind, reason.export) == ("out-of-fuel", SEND)
    assert reason.message == "wasm trap: all fuel consumed by WebAssembly"
    assert after == b"still alive"


def test_fuel_is_a_budget_per_call_not_per_actor():
    rt = Runtime(seed=1, fuel=200_000)
    counter = rt.spawn(manifest("counter"))
    for _ in range(500):  # far more than 200,000 fuel in total
        rt.send(counter, "inc")
    rt.run_until_idle()
    assert rt.actor(counter).state == b'{"count":500}'


def test_a_failing_host_import_ends_the_caller_with_a_host_error(rt, monkeypatch):
    def broken_log(rt, actor, msg):
        raise RuntimeError("disk on fire")

    monkeypatch.setitem(runtime_host.FUNCTIONS, "log", broken_log)
    reason, _ = _fail(rt, "echo", "anything")
    assert (reason.kind, reason.export, reason.host_import) == ("host-error", SEND, "theater:simple/runtime.log")
    assert reason.message == "RuntimeError: disk on fire"


@pytest.mark.parametrize("mode, kind, message", [
    ("err", "err", "crasher: init failed on request"),
    ("trap", "trap", "wasm trap: wasm `unreachable` instruction executed"),
])
def test_a_failing_init_is_a_failure_of_the_new_incarnation(rt, mode, kind, message):
    crasher = rt.spawn(manifest("crasher"), init_state={"fail_init": mode})
    view = rt.actor(crasher)
    assert view.status == "failed" and view.incarnation == 1
    assert (view.exit_reason.kind, view.exit_reason.export, view.exit_reason.message) == (kind, INIT, message)


def test_the_failure_is_recorded_in_the_chain_and_the_trace(rt):
    crasher = rt.spawn(manifest("crasher"), init_state={"fail_at": 2, "mode": "err"})
    rt.send(crasher, "one")
    rt.send(crasher, "two", delay_ms=5)
    rt.run_until_idle()
    chain = rt.actor(crasher).chain
    assert [e.event_type for e in chain][-2:] == ["wasm", "shutdown"]
    assert b'"WasmError"' in chain[-2].data and b"crasher: failed on message 2" in chain[-2].data
    (exit_record,) = rt.trace.of_kind("exit")
    assert exit_record.time_ms == 5
    assert exit_record.fields == {"status": "failed", "reason": {
        "kind": "err", "message": "crasher: failed on message 2", "actor": crasher, "incarnation": 1,
        "time_ms": 5, "export": SEND}, "state": state_digest(b'{"fail_at":2,"mode":"err","seen":1}')}


def test_a_failed_actor_gets_no_more_calls_and_its_mail_is_dropped(rt):
    crasher = rt.spawn(manifest("crasher"))
    rt.send(crasher, "trap")
    rt.send(crasher, "after", delay_ms=1)
    rt.run_until_idle()
    drops = rt.trace.of_kind("drop")
    assert [d.fields["msg"] for d in drops] == [2]
    assert len(rt.actor(crasher).chain) == 6  # init call+result, send call, log, error, shutdown


def test_many_failures_in_a_row_leave_the_runtime_working(rt):
    victims = [rt.spawn(manifest("crasher")) for _ in range(50)]
    for i, victim in enumerate(victims):
        rt.send(victim, "trap" if i % 2 else "err")
    rt.run_until_idle()
    assert {rt.actor(v).exit_reason.kind for v in victims} == {"trap", "err"}
    counter = rt.spawn(manifest("counter"))
    assert rt.ask(counter, "inc") == b"1"


def test_instantiating_big_data_segments_is_not_charged_to_the_call_budget():
    rt = Runtime(seed=1, fuel=10_000)  # far less fuel than the 1 MiB of data instantiation copies
    ballast = rt.spawn(manifest("ballast"))
    assert rt.actor(ballast).alive
    assert rt.ask(ballast, "abc") == b"ZZZ"


def test_a_failure_while_instantiating_says_so():
    rt = Runtime(seed=1, memory=512 * 1024)  # under the ballast's initial memory
    ballast = rt.spawn(manifest("ballast"))
    reason = rt.actor(ballast).exit_reason
    assert str(reason) == ("memory in instantiate: memory limit exceeded: the actor's initial linear memory "
                           "needs 1179648 bytes, over its memory cap of 524288 bytes")
    assert (reason.kind, reason.export, reason.incarnation) == ("memory", "instantiate", 1)
