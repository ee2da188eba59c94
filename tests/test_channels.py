"""Channels with the test on one end: opened from outside (``Runtime.open_channel``) or
by a probe, or opened by an actor to a probe that accepts or rejects them; in virtual
time, and in the trace."""

from __future__ import annotations

import json

import pytest
from conftest import manifest

from theater_harness import HarnessError, Runtime
from theater_harness.faults import fault


def state(rt: Runtime, actor: str) -> dict:
    return json.loads(rt.actor(actor).state)


# --- from outside ------------------------------------------------------------------------

def test_a_test_opens_a_channel_and_the_handshake_ends_as_the_clock_runs(rt):
    echo = rt.spawn(manifest("echo"))
    chan = rt.open_channel(echo, "hello", delay_ms=30)
    assert (chan.accepted, chan.open, chan.peer) == (None, False, echo)
    rt.run_until_idle()
    assert (chan.accepted, chan.open, chan.error) == (True, True, None)


def test_what_the_actor_answers_the_opening_with_is_the_first_message(rt):
    echo = rt.spawn(manifest("echo"))  # it accepts, answering with the initial message
    chan = rt.open_channel(echo, "hello", delay_ms=30)
    msg = chan.expect_msg(within=100)
    assert (msg.kind, msg.payload, msg.time_ms, msg.sender, msg.channel) == ("channel", b"hello", 30, echo, chan)
    assert rt.now == 30  # the clock ran only until it came


def test_a_test_sends_on_its_channel_and_the_actor_answers_on_it(rt):
    echo = rt.spawn(manifest("echo"))
    chan = rt.open_channel(echo, "")
    chan.expect_msg(within=10)
    chan.send("ping")
    assert chan.expect_msg(within=10).payload == b"ping"
    chan.expect_no_msg(within=1000)


def test_a_channel_message_reaches_handle_channel_message(rt):
    counter = rt.spawn(manifest("counter"))  # counts a channel message like a send
    chan = rt.open_channel(counter)
    rt.run_until_idle()
    chan.send("add:5")
    assert rt.ask(counter, "get") == b"5"


def test_closing_a_channel_tells_the_actor(rt):
    echo = rt.spawn(manifest("echo"))
    chan = rt.open_channel(echo, "")
    rt.run_until_idle()
    chan.close()
    rt.run_until_idle()
    assert rt.actor(echo).logs == ["echo: channel closed"] and not chan.open


def test_sending_on_a_closed_channel_is_an_error(rt):
    echo = rt.spawn(manifest("echo"))
    chan = rt.open_channel(echo, "")
    rt.run_until_idle()
    chan.close()
    with pytest.raises(HarnessError, match=f"cannot send on channel {chan.id}: it is closed"):
        chan.send("late")


def test_sending_before_the_handshake_ends_is_an_error(rt):
    echo = rt.spawn(manifest("echo"))
    chan = rt.open_channel(echo, "")
    with pytest.raises(HarnessError, match=f"cannot send on channel {chan.id} yet: its handshake with {echo} "
                                           "is under way; run the clock first"):
        chan.send("too soon")


def test_the_test_end_gets_a_close_when_the_actor_ends(rt):
    echo = rt.spawn(manifest("echo"))
    chan = rt.open_channel(echo, "hi")
    chan.expect_msg(within=10)
    rt.stop(echo)
    msg = chan.expect_msg(within=10)
    assert (msg.kind, msg.payload, msg.sender) == ("channel-close", b"", echo)
    assert not chan.open


def test_a_channel_to_a_stopped_actor_is_not_accepted_and_expect_msg_says_why(rt):
    echo = rt.spawn(manifest("echo"))
    rt.stop(echo)
    chan = rt.open_channel(echo, "hi")
    with pytest.raises(AssertionError) as failure:
        chan.expect_msg(within=1000)
    assert str(failure.value) == (f"channel {chan.id} to {echo} was not accepted: actor {echo} (echo) is not "
                                  f"running: it is stopped")
    assert (chan.accepted, rt.now) == (False, 0)  # it failed at once: the clock did not run on


def test_a_channel_whose_opening_call_fails_is_not_accepted(rt):
    rt.inject(fault("trap", "counter", on_call=1))  # handle-channel-open is its first call
    counter = rt.spawn(manifest("counter"))
    chan = rt.open_channel(counter)
    rt.run_until_idle()
    assert (chan.accepted, chan.error) == (False, f"actor {counter} ended before accepting the channel")


def test_an_opening_from_a_test_to_an_actor_without_a_message_server_handler_is_an_error(rt):
    quiet = rt.spawn(f'name = "quiet"\ncomponent = "{manifest("counter").with_suffix(".wasm")}"\n'
                     '[[handler]]\ntype = "runtime"\n')
    with pytest.raises(HarnessError, match="declares no message-server handler"):
        rt.open_channel(quiet)


def test_link_faults_from_outside_apply_to_channel_messages(rt):
    rt.inject(fault("drop", link=("outside", "echo"), on_message=2))  # message 1 is the opening
    echo = rt.spawn(manifest("echo"))
    chan = rt.open_channel(echo, "hi")
    chan.expect_msg(within=10)
    chan.send("lost")
    chan.send("kept")
    assert chan.expect_msg(within=10).payload == b"kept"
    chan.expect_no_msg(within=100)


def test_a_test_channel_is_in_the_trace(rt):
    echo = rt.spawn(manifest("echo"))
    chan = rt.open_channel(echo, "hi", delay_ms=5)
    chan.expect_msg(within=10)
    chan.send("ping")
    chan.expect_msg(within=10)
    chan.close()
    records = [(r.time_ms, r.kind, r.actor, r.fields) for r in rt.trace if r.kind.startswith("channel")]
    assert records == [
        (0, "channel-open", None, {"channel": chan.id, "to": echo, "delay_ms": 5}),
        (5, "channel-accepted", echo, {"channel": chan.id}),
        (5, "channel-receive", None, {"channel": chan.id, "size": 2}),
        (5, "channel-send", None, {"channel": chan.id, "size": 4}),
        (5, "channel-send", echo, {"channel": chan.id, "size": 4}),
        (5, "channel-receive", None, {"channel": chan.id, "size": 4}),
        (5, "channel-close", None, {"channel": chan.id}),
    ]


def test_messages_take_the_runtimes_latency_both_ways():
    rt = Runtime(seed=1, message_latency_ms=7)
    echo = rt.spawn(manifest("echo"))
    chan = rt.open_channel(echo, "hi")
    assert chan.expect_msg(within=100).time_ms == 14  # the opening there, the answer back


# --- probes ------------------------------------------------------------------------------

def pinger_to(rt: Runtime, target: str) -> str:
    return rt.spawn(manifest("pinger"), init_state={"target": target})


def test_an_actor_opening_a_channel_to_a_probe_waits_for_the_test_to_accept(rt):
    probe = rt.probe()
    pinger = pinger_to(rt, probe.id)
    rt.send(pinger, "open:hi")
    msg = probe.expect_msg(within=10)
    assert (msg.kind, msg.payload, msg.sender, msg.channel.accepted) == ("channel-open", b"hi", pinger, None)
    rt.advance(50)
    assert state(rt, pinger)["channel"] == ""  # still in open-channel
    end = msg.accept()
    rt.run_until_idle()
    assert state(rt, pinger)["channel"] == end.id and end.open


def test_a_probe_accepts_with_a_first_message(rt):
    probe = rt.probe()
    pinger = pinger_to(rt, probe.id)
    rt.send(pinger, "open:hi")
    probe.expect_msg(within=10).accept("welcome")
    rt.run_until_idle()
    assert rt.actor(pinger).logs == ["pinger: channel message welcome"]


def test_a_probe_rejects_a_channel(rt):
    probe = rt.probe("gate")
    pinger = pinger_to(rt, probe.id)
    rt.send(pinger, "open:hi")
    probe.expect_msg(within=10).reject()
    rt.run_until_idle()
    assert rt.actor(pinger).logs == [f"pinger: open failed: probe gate ({probe.id}) rejected the channel"]
    assert [r.kind for r in rt.trace if r.kind.startswith("channel")] == ["channel-open", "channel-rejected"]


def test_an_opening_the_probe_never_answers_times_out_and_cannot_be_accepted_after():
    rt = Runtime(seed=1, request_timeout_ms=100)
    probe = rt.probe()
    pinger = pinger_to(rt, probe.id)
    rt.send(pinger, "open:hi")
    msg = probe.expect_msg(within=10)
    rt.run_until_idle()
    assert rt.actor(pinger).logs == [f"pinger: open failed: channel {msg.channel.id} to {probe.id} was not "
                                     f"accepted within 100 ms"]
    with pytest.raises(HarnessError, match=f"channel {msg.channel.id} cannot be accepted any more"):
        msg.accept()


def test_a_probe_sends_on_a_channel_it_accepted(rt):
    probe = rt.probe()
    pinger = pinger_to(rt, probe.id)
    rt.send(pinger, "open:hi")
    end = probe.expect_msg(within=10).accept()
    rt.run_until_idle()
    end.send("pong")
    rt.run_until_idle()
    assert (rt.actor(pinger).logs, state(rt, pinger)["received"]) == (["pinger: channel message pong"], 1)


def test_expect_channel_msg_takes_channel_traffic_and_leaves_the_rest(rt):
    probe = rt.probe()
    pinger = pinger_to(rt, probe.id)
    rt.send(pinger, "open:hi")
    end = probe.expect_msg(within=10).accept()
    rt.send(probe.id, "a send", delay_ms=5)
    rt.send(pinger, "chan:ping", delay_ms=10)
    msg = probe.expect_channel_msg(within=100)
    assert (msg.kind, msg.payload, msg.time_ms, msg.sender, msg.channel) == ("channel", b"ping", 10, pinger, end)
    assert probe.expect_msg(within=0).payload == b"a send"


def test_a_probe_sees_the_close_of_its_channel(rt):
    probe = rt.probe()
    pinger = pinger_to(rt, probe.id)
    rt.send(pinger, "open:hi")
    end = probe.expect_msg(within=10).accept()
    rt.send(pinger, "close", delay_ms=20)
    msg = end.expect_msg(within=100)
    assert (msg.kind, msg.time_ms) == ("channel-close", 20) and not end.open


def test_a_probe_opens_a_channel_to_an_actor(rt):
    probe = rt.probe()
    echo = rt.spawn(manifest("echo"))
    end = probe.open_channel(echo, "hi")
    assert end.expect_msg(within=10).payload == b"hi"
    end.send("ping")
    assert probe.expect_channel_msg(within=10).payload == b"ping"
    assert [r.actor for r in rt.trace.of_kind("channel-receive")] == [probe.id, probe.id]


def test_accepting_a_send_is_an_error(rt):
    probe = rt.probe()
    rt.send(probe.id, "x")
    with pytest.raises(TypeError, match="a send cannot be accepted; only a channel-open can"):
        probe.expect_msg(within=1).accept()


def test_a_test_opens_a_channel_to_a_probe(rt):
    probe = rt.probe()
    chan = rt.open_channel(probe.id, "hi")
    msg = probe.expect_msg(within=10)
    assert (msg.kind, msg.sender) == ("channel-open", None)
    msg.accept("hello outside")
    assert chan.expect_msg(within=10).payload == b"hello outside"
