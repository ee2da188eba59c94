"""Probes: Python-side actors that receive and answer in virtual time."""

from __future__ import annotations

import pytest

from conftest import manifest
from theater_harness.errors import UnknownExportError
from theater_harness.faults import fault
from theater_harness.values import render


def test_a_probe_receives_what_an_actor_sends_it(rt):
    probe = rt.probe("client")
    pinger = rt.spawn(manifest("pinger"), init_state={"target": probe.id})
    rt.send(pinger, "send:hello", delay_ms=30)
    msg = probe.expect_msg(within=100)
    assert (msg.kind, msg.payload, msg.time_ms) == ("send", b"hello", 30)
    assert rt.now == 30  # the clock ran only until the message came


def test_a_probe_answers_requests_itself(rt):
    probe = rt.probe()
    pinger = rt.spawn(manifest("pinger"), init_state={"target": probe.id})
    rt.send(pinger, "request:ping")
    msg = probe.expect_msg(within=10)
    assert (msg.kind, msg.payload, msg.sender) == ("request", b"ping", pinger)
    rt.advance(40)
    msg.reply("pong")
    rt.run_until_idle()
    assert rt.actor(pinger).logs == ["pinger: reply pong"]


def test_expect_msg_fails_when_nothing_comes_in_time(rt):
    probe = rt.probe("quiet")
    with pytest.raises(AssertionError, match="probe quiet: no message within 250 ms \\(virtual time is now 250 ms\\)"):
        probe.expect_msg(within=250)


def test_a_message_arriving_exactly_at_the_deadline_counts(rt):
    probe = rt.probe()
    pinger = rt.spawn(manifest("pinger"), init_state={"target": probe.id})
    rt.send(pinger, "send:edge", delay_ms=100)
    assert probe.expect_msg(within=100).payload == b"edge"


def test_expect_no_msg(rt):
    probe = rt.probe()
    pinger = rt.spawn(manifest("pinger"), init_state={"target": probe.id})
    rt.send(pinger, "send:late", delay_ms=500)
    probe.expect_no_msg(within=499)
    with pytest.raises(AssertionError, match="expected no message within 10 ms, got a send b'late' at 500 ms"):
        probe.expect_no_msg(within=10)


def test_a_probe_sends_and_requests_as_an_actor_and_its_links_can_fail(rt):
    rt.inject(fault("drop", link=("probe", "echo"), on_message=1))
    probe = rt.probe()
    echo = rt.spawn(manifest("echo"))
    probe.send(echo, "lost")
    answer = probe.request(echo, "kept")
    rt.run_until_idle()
    assert rt.actor(echo).logs == [] and answer.reply == b"kept"


def test_replying_to_a_send_is_an_error(rt):
    probe = rt.probe()
    rt.send(probe.id, "x")
    with pytest.raises(TypeError, match="a send cannot be replied to"):
        probe.expect_msg(within=1).reply("no")


def test_a_probe_calls_any_export_as_the_runtime_does(rt):
    # the call is the test's, not the probe's: faults on the probe's links do not touch it
    rt.inject(fault("drop", link=("probe", "packr_counter"), on_message=1))
    probe = rt.probe()
    counter = rt.spawn(manifest("packr_counter"))
    added = probe.call(counter, "counter.add", 5, delay_ms=20)
    assert (added.done, added.export) == (False, "counter.add")
    rt.run_until_idle()
    assert (added.ok, added.result, added.error, rt.now) == (True, 5, None, 20)
    assert render(rt.actor(counter).state.value) == '{count: 5, last: ""}'
    assert rt.call(counter, "counter.get") == 5
    with pytest.raises(UnknownExportError, match="has no export 'counter.mul'; it exports counter.add, counter.get"):
        probe.call(counter, "counter.mul", 2)


def test_a_probe_call_to_an_actor_that_is_not_running_fails(rt):
    probe = rt.probe()
    counter = rt.spawn(manifest("packr_counter"))
    rt.stop(counter)
    pending = probe.call(counter, "counter.get")
    rt.run_until_idle()
    assert (pending.done, pending.ok) == (True, False)
    assert pending.error.endswith("(packr_counter) is not running: it is stopped")
