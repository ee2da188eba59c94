"""Deferred replies, request cancellation, channels, runtime.shutdown and get-chain."""

from __future__ import annotations

import json

import pytest

from conftest import manifest
from theater_harness import RequestFailed, Runtime


def state(rt: Runtime, actor: str) -> dict:
    return json.loads(rt.actor(actor).state)


def test_a_deferred_request_is_answered_later_with_respond_to_request(rt):
    keeper = rt.spawn(manifest("keeper"))
    first = rt.request(keeper, "a")
    second = rt.request(keeper, "b", delay_ms=5)
    rt.run(until=100)
    assert not first.done and not second.done  # the handler returned none: deferred
    assert rt.ask(keeper, "count") == b"2"
    rt.send(keeper, "answer:done")
    rt.run_until_idle()
    assert (first.reply, second.reply) == (b"done", b"done")
    assert rt.ask(keeper, "count") == b"0"


def test_list_outstanding_requests_lists_them_in_arrival_order(rt):
    keeper = rt.spawn(manifest("keeper"))
    pending = [rt.request(keeper, f"r{i}", delay_ms=i) for i in range(3)]
    rt.run(until=10)
    assert list(rt._resolve(keeper).outstanding) == [p.id for p in pending]


def test_cancel_request_fails_the_waiting_request(rt):
    keeper = rt.spawn(manifest("keeper"))
    pending = rt.request(keeper, "wait for me")
    rt.send(keeper, "cancel", delay_ms=10)
    rt.run_until_idle()
    assert pending.done and not pending.ok
    assert pending.error == f"request {pending.id} was cancelled by {keeper} (keeper)"


def test_an_unanswered_deferred_request_times_out():
    rt = Runtime(seed=1, request_timeout_ms=700)
    keeper = rt.spawn(manifest("keeper"))
    pending = rt.request(keeper, "never answered")
    rt.run_until_idle()
    assert rt.now == 700
    assert pending.error == f"request {pending.id} to {keeper} (keeper) timed out after 700 ms"
    rt.send(keeper, "answer:too late")  # the id is no longer outstanding: nothing to answer
    rt.run_until_idle()
    assert rt.actor(keeper).logs == []


def test_an_actor_waiting_for_a_deferred_reply_resumes_when_it_comes(rt):
    keeper = rt.spawn(manifest("keeper"))
    pinger = rt.spawn(manifest("pinger"), init_state={"target": keeper})
    rt.send(pinger, "request:hold")
    rt.send(keeper, "answer:released", delay_ms=250)
    rt.run_until_idle()
    assert rt.actor(pinger).logs == ["pinger: reply released"]
    reply = rt.trace.of_kind("reply")[0]
    assert reply.time_ms == 250


def test_runtime_shutdown_stops_the_actor_normally_after_its_call(rt):
    parent = rt.spawn(manifest("echo"), name="parent")
    keeper = rt.spawn(manifest("keeper"), parent=parent)
    rt.send(keeper, "shutdown:bye")
    rt.run_until_idle()
    view = rt.actor(keeper)
    assert view.status == "stopped"
    assert (view.exit_reason.kind, view.exit_reason.abnormal) == ("normal", False)
    # Theater's semantics: the parent is told with handle-child-exit (echo lacks it: skipped)
    assert [r.fields["export"] for r in rt.trace.of_kind("skip")] == [
        "theater:simple/supervisor-handlers.handle-child-exit"]


def test_get_chain_returns_the_actors_own_chain(rt):
    keeper = rt.spawn(manifest("keeper"))
    # init call + result, then this request's call: three events before get-chain runs
    assert rt.ask(keeper, "chain") == b"3"
    assert rt.ask(keeper, "chain") == b"6"  # + the get-chain host call, the result, the new call


def test_a_channel_carries_messages_both_ways_until_closed(rt):
    echo = rt.spawn(manifest("echo"))
    pinger = rt.spawn(manifest("pinger"), init_state={"target": echo})
    rt.send(pinger, "open:hello")
    rt.run_until_idle()
    channel = state(rt, pinger)["channel"]
    assert len(channel) == 36
    assert state(rt, pinger)["received"] == 1  # echo accepted with the initial message
    rt.send(pinger, "chan:ping")
    rt.run_until_idle()
    assert state(rt, pinger)["received"] == 2  # echo sent it back on the channel
    assert rt.actor(pinger).logs == ["pinger: channel message hello", "pinger: channel message ping"]
    rt.send(pinger, "close")
    rt.run_until_idle()
    assert state(rt, pinger)["channel"] == ""
    assert rt.actor(echo).logs == ["echo: channel closed"]
    kinds = [r.kind for r in rt.trace if r.kind.startswith("channel")]
    assert kinds == ["channel-open", "channel-accepted", "channel-send", "channel-send", "channel-close"]
    assert [r.actor for r in rt.trace.of_kind("channel-send")] == [pinger, echo]


def test_opening_a_channel_to_a_stopped_actor_fails(rt):
    echo = rt.spawn(manifest("echo"))
    pinger = rt.spawn(manifest("pinger"), init_state={"target": echo})
    rt.stop(echo)
    rt.send(pinger, "open:x")
    rt.run_until_idle()
    assert state(rt, pinger)["errors"] == 1
    assert rt.actor(pinger).logs == [f"pinger: open failed: actor {echo} (echo) is not running: it is stopped"]


def test_a_channel_is_closed_for_the_other_side_when_one_side_ends(rt):
    echo = rt.spawn(manifest("echo"))
    pinger = rt.spawn(manifest("pinger"), init_state={"target": echo})
    rt.send(pinger, "open:hi")
    rt.run_until_idle()
    rt.stop(echo)
    rt.run_until_idle()
    assert state(rt, pinger)["channel"] == ""
    assert rt.actor(pinger).logs[-1] == "pinger: channel closed"
    rt.send(pinger, "chan:anyone?")
    rt.run_until_idle()
    assert state(rt, pinger)["errors"] == 1


def test_stopping_an_actor_waiting_on_a_request_abandons_the_request(rt):
    keeper = rt.spawn(manifest("keeper"))
    pinger = rt.spawn(manifest("pinger"), init_state={"target": keeper})
    rt.send(pinger, "request:hold")
    rt.run(until=10)
    rt.stop(pinger)
    rt.send(keeper, "answer:late")
    rt.run_until_idle()
    (failed,) = rt.trace.of_kind("request-failed")
    assert failed.fields["error"] == f"the requester {pinger} (pinger) ended"
    assert rt.now == 10  # the request's timeout was cancelled with it


def test_ask_raises_when_the_target_is_gone(rt):
    echo = rt.spawn(manifest("echo"))
    rt.stop(echo)
    with pytest.raises(RequestFailed, match="is not running: it is stopped"):
        rt.ask(echo, "x")
