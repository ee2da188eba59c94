"""`theater:simple/rpc` (packr era): typed calls between actors through the runtime.

The calculator ``packr_rpc_server`` (``calc.add(a: s64, b: s64) -> s64``, ``calc.div``,
``calc.total``; state ``calc-state{total, calls}``) is called by ``packr_rpc_client``,
whose requests are commands (``call <id> <function> <args> [timeout=<ms>]``,
``implements``, ``exports``, ``stats``) answered with the call's outcome.
"""

from __future__ import annotations

import hashlib
import json
import struct

import pytest

from conftest import ACTORS, SCENARIOS
from theater_harness import Runtime
from theater_harness.faults import fault
from theater_harness.host import rpc
from theater_harness.host.rpc import _timeout_ms
from theater_harness.scenario import load_scenario, run_scenario
from theater_harness.schema.trace import parse_trace
from theater_harness.trees import NodeSpec, Policy, TreeSpec
from theater_harness.values import NONE, S64, Bool, U32, U64, Option, Record, String, Variant
from theater_harness.wasm.packr.interfaces import INTERFACES, RPC
from theater_harness.wasm.packr.module import BLOCKING
from theater_harness.wasm.packr.types import hash_interface

SERVER = str(ACTORS / "packr_rpc_server.toml")
CLIENT = str(ACTORS / "packr_rpc_client.toml")
TRAP = "trap in calc.div: wasm trap: wasm `unreachable` instruction executed"


def calc_state(total: int, calls: int) -> Record:
    return Record("calc-state", {"total": S64(total), "calls": U32(calls)})


def supervised(rt: Runtime, recovery: str = "init") -> dict[str, str]:
    """A one_for_one supervisor over a calculator and two clients: their ids by name."""
    return TreeSpec(NodeSpec("sup", policy=Policy("one_for_one", intensity=5), children=(
        NodeSpec("calc", manifest=SERVER, recovery=recovery),
        NodeSpec("client", manifest=CLIENT),
        NodeSpec("peer", manifest=CLIENT),
    ))).spawn(rt)


def rpc_records(rt: Runtime) -> list[dict]:
    return [{k: v for k, v in r.to_dict().items() if k not in ("seq", "call")} for r in rt.trace.of_kind("rpc")]


def asked_at(rt: Runtime, to: str, command: str) -> tuple[bytes, int]:
    """The client's reply to ``command``, and the virtual time it came."""
    return rt.ask(to, command), rt.now


@pytest.fixture
def ids():
    rt = Runtime(seed=11)
    out = supervised(rt)
    out["rt"] = rt
    return out


# --- calls that return --------------------------------------------------------------------

def test_a_call_returns_the_callees_typed_result(ids):
    rt, calc, client = ids["rt"], ids["calc"], ids["client"]
    assert rt.ask(client, f"call {calc} calc.add 2 3") == b"5"
    assert rpc_records(rt) == [{"t": 0, "kind": "rpc", "actor": client, "to": calc, "function": "calc.add",
                                "issued_ms": 0, "outcome": "ok"}]
    # The caller's chain holds the host call, and its answer: Theater's `result` variant.
    event = rt.actor(client).chain[-2]
    assert event.event_type == "theater:simple/rpc/call"
    data = json.loads(event.data)
    assert json.loads(bytes(data["input"])) == [calc, "calc.add", [2, 3], None]
    assert json.loads(bytes(data["output"])) == {"ok": 5}


def test_the_callees_state_is_threaded_through_its_calls(ids):
    rt, calc, client = ids["rt"], ids["calc"], ids["client"]
    assert rt.ask(client, f"call {calc} calc.add 2 3") == b"5"
    assert rt.ask(client, f"call {calc} calc.add 10 -4") == b"6"
    assert rt.actor(calc).state.value == calc_state(11, 2)
    assert rt.call(calc, "calc.total") == S64(11)  # a test's call sees the state rpc calls left
    assert rt.ask(client, f"call {calc} calc.total") == b"11"
    # Each rpc call is a call of the callee like any other: in its chain, in order.
    calls = [e for e in rt.actor(calc).chain if e.event_type == "wasm" and b"WasmCall" in e.data]
    assert [e.data.split(b'"function_name":"')[1].split(b'"')[0] for e in calls] == [
        b"theater:simple/actor.init", b"calc.add", b"calc.add", b"calc.total", b"calc.total"]


def test_params_reach_the_callee_flattened_after_its_state(ids):
    """A tuple's items follow the state; another value is the one parameter (here two
    strings for relay, whose own rpc call then returns the calculator's total)."""
    rt, calc, client, peer = ids["rt"], ids["calc"], ids["client"], ids["peer"]
    rt.call(calc, "calc.add", 4, 5)
    assert rt.ask(peer, f"call {client} rpc-client.relay {calc} calc.total") == b"9"
    assert rt.call(client, "rpc-client.relay", calc, "calc.total") == String("9")


# --- calls that fail -----------------------------------------------------------------------

def test_an_unknown_or_invalid_target_is_an_err(ids):
    rt, client = ids["rt"], ids["client"]
    nobody = "00000000-0000-4000-8000-000000000000"
    assert rt.ask(client, f"call {nobody} calc.add 1 2") == f"error: Actor not found: {nobody}".encode()
    assert rt.ask(client, "call calc calc.add 1 2") == b"error: Invalid actor ID: 'calc' is not a UUID"
    assert rt.ask(client, f"implements {nobody} calc") == f"error: Actor not found: {nobody}".encode()
    assert rt.ask(client, f"exports {nobody}") == f"error: Actor not found: {nobody}".encode()
    assert [r["outcome"] for r in rpc_records(rt)] == ["err", "err"]
    assert [r["to"] for r in rpc_records(rt)] == [None, None]


def test_a_target_that_is_not_running_is_not_found():
    rt = Runtime(seed=6)
    calc, client = rt.spawn(SERVER), rt.spawn(CLIENT)
    assert rt.ask(client, f"call {{{calc.upper()}}} calc.add 1 2") == b"3"  # any spelling of the UUID
    rt.stop(calc)
    assert rt.ask(client, f"call {calc} calc.add 1 2") == (
        f"error: Actor not found: {calc} (packr_rpc_server is stopped)".encode())


def test_an_unknown_function_is_the_callers_err_and_the_callee_lives_on(ids):
    rt, calc, client = ids["rt"], ids["calc"], ids["client"]
    assert rt.ask(client, f"call {calc} calc.sub 1 2") == (
        f"error: Call failed: Function not found: calc.sub (actor {calc} (calc) exports calc.add, calc.div, "
        "calc.total, theater:simple/actor.init)").encode()
    assert rt.ask(client, f"call {client} calc.add 1 2").startswith(b"error: Call failed: Function not found")
    assert rt.actor(calc).incarnation == 1 and rt.actor(calc).alive
    assert rt.ask(client, "stats") == b"calls=0 errors=2 pings=0"


def test_rpc_reaches_packr_actors_only():
    rt = Runtime(seed=2)
    echo = rt.spawn(ACTORS / "echo.toml")
    client = rt.spawn(CLIENT)
    probe = rt.probe()
    assert rt.ask(client, f"call {echo} theater:simple/actor.init") == (
        f"error: Call failed: Function not found: theater:simple/actor.init (actor {echo} (echo) is a "
        "component-model actor: rpc calls reach packr actors)").encode()
    assert rt.ask(client, f"call {probe.id} x.y") == (
        f"error: Call failed: Function not found: x.y (actor {probe.id} (probe) is a probe, which exports "
        "nothing)").encode()
    assert rt.ask(client, f"exports {echo}") == b""


def test_a_callee_that_traps_fails_supervised_and_the_caller_gets_an_err():
    rt = Runtime(seed=3)
    ids = supervised(rt, recovery="last")
    calc, client = ids["calc"], ids["client"]
    rt.ask(client, f"call {calc} calc.add 2 3")
    assert rt.ask(client, f"call {calc} calc.div 1 0") == f"error: Call failed: Internal error: {TRAP}".encode()
    rt.run_until_idle()
    view = rt.actor(calc)
    assert (view.incarnation, view.status) == (2, "running")  # restarted by its supervisor
    assert view.state.value == calc_state(5, 1)  # recovery "last": the committed state
    assert rt.ask(client, f"call {calc} calc.div 7 2") == b"3"
    assert rt.actor(client).incarnation == 1
    assert [r["outcome"] for r in rpc_records(rt)] == ["ok", "err", "ok"]


def test_a_callee_that_ends_with_the_call_queued_fails_it_at_once():
    rt = Runtime(seed=4)
    ids = supervised(rt)
    calc, client = ids["calc"], ids["client"]
    rt.inject(fault("slow", "calc", on_call=1, delay_ms=1000))
    rt.call_later(calc, "calc.add", 1, 1)  # holds the calculator until 1000 ms
    pending = rt.request(client, f"call {calc} calc.add 2 3")
    rt.advance(100)
    rt.stop(calc)
    rt.run_until_idle()
    assert pending.reply == (f"error: Call failed: actor {calc} (calc) is not running: it is stopped").encode()
    assert rpc_records(rt)[0]["t"] == 100


def test_params_are_a_message_bounded_as_one():
    rt = Runtime(seed=7, max_message_bytes=200)
    ids = supervised(rt)
    rt.send(ids["client"], f"call {ids['calc']} calc.add {'x' * 300}")
    rt.run_until_idle()
    [exit] = [r.fields["reason"] for r in rt.trace.of_kind("exit")]
    assert (exit["actor"], exit["kind"], exit["host_import"]) == (ids["client"], "limit", "theater:simple/rpc.call")
    assert exit["message"] == "rpc.call: 344 bytes in one message, more than max_message_bytes 200"
    assert rt.actor(ids["client"]).incarnation == 2 and rt.actor(ids["calc"]).state.value == calc_state(0, 0)


# --- one call at a time, timeouts, cycles ----------------------------------------------------

def test_calls_to_a_busy_callee_wait_their_turn(ids):
    rt, calc, client, peer = ids["rt"], ids["calc"], ids["client"], ids["peer"]
    rt.inject(fault("slow", "calc", on_call=1, delay_ms=300))
    first = rt.request(client, f"call {calc} calc.add 1 2")
    second = rt.request(peer, f"call {calc} calc.add 3 4")
    rt.run_until_idle()
    assert (first.reply, second.reply) == (b"3", b"7")
    assert [(r["actor"], r["t"]) for r in rpc_records(rt)] == [(client, 300), (peer, 300)]
    assert rt.actor(calc).state.value == calc_state(10, 2)


def test_a_timeout_in_virtual_time_and_the_late_call_still_runs(ids):
    rt, calc, client = ids["rt"], ids["calc"], ids["client"]
    rt.inject(fault("slow", "calc", on_call=1, delay_ms=1000))
    assert asked_at(rt, client, f"call {calc} calc.add 100 0 timeout=250") == (b"error: Call timed out", 250)
    assert rpc_records(rt) == [{"t": 250, "kind": "rpc", "actor": client, "to": calc, "function": "calc.add",
                                "issued_ms": 0, "outcome": "timeout", "error": "Call timed out"}]
    rt.run_until_idle()  # as in Theater, the call is not taken back: it runs, its answer goes nowhere
    assert rt.now == 1000 and rt.actor(calc).state.value == calc_state(100, 1)
    assert len(rpc_records(rt)) == 1


def test_without_options_the_timeout_is_the_runtimes_request_timeout():
    rt = Runtime(seed=5, request_timeout_ms=2000)
    ids = supervised(rt)
    rt.inject(fault("slow", "calc", on_call=1, delay_ms=5000))
    rt.send(ids["client"], f"call {ids['calc']} calc.total")
    rt.run(2000)
    assert rt.actor(ids["client"]).logs == ["packr_rpc_client: error: Call timed out"]
    assert [(r["outcome"], r["t"]) for r in rpc_records(rt)] == [("timeout", 2000)]


def test_a_call_to_itself_times_out_instead_of_hanging(ids):
    rt, client = ids["rt"], ids["client"]
    assert asked_at(rt, client, f"call {client} rpc-client.ping timeout=40") == (b"error: Call timed out", 40)
    rt.run_until_idle()  # the ping waited for the caller's turn, and ran then
    assert rt.ask(client, "stats") == b"calls=0 errors=1 pings=1"


def test_a_cycle_of_calls_times_out_instead_of_hanging(ids):
    """peer calls client.relay, which calls peer.ping: peer waits for client, which waits
    for peer. peer's timeout breaks the cycle; then client's call reaches peer."""
    rt, client, peer = ids["rt"], ids["client"], ids["peer"]
    assert asked_at(rt, peer, f"call {client} rpc-client.relay {peer} rpc-client.ping timeout=300") == (
        b"error: Call timed out", 300)
    rt.run_until_idle()
    assert rt.now == 300
    assert rt.ask(peer, "stats") == b"calls=0 errors=1 pings=1"
    assert rt.ask(client, "stats") == b"calls=1 errors=0 pings=0"
    assert [(r["actor"], r["function"], r["outcome"], r["t"]) for r in rpc_records(rt)] == [
        (peer, "rpc-client.relay", "timeout", 300), (client, "rpc-client.ping", "ok", 300)]


def test_a_caller_that_ends_while_waiting_abandons_its_call(ids):
    rt, calc, client = ids["rt"], ids["calc"], ids["client"]
    rt.inject(fault("slow", "calc", on_call=1, delay_ms=1000))
    rt.request(client, f"call {calc} calc.add 1 2")
    rt.advance(10)
    rt.stop(client)
    rt.run_until_idle()
    assert [(r["outcome"], r["t"], r["error"]) for r in rpc_records(rt)] == [
        ("abandoned", 10, f"the caller {client} (client) ended")]
    assert rt.actor(calc).state.value == calc_state(3, 1)  # the call still ran


def test_a_dropped_call_is_a_fault_of_its_link(ids):
    rt, calc, client = ids["rt"], ids["calc"], ids["client"]
    rt.inject(fault("drop", link=("client", "calc"), on_message=1))
    assert asked_at(rt, client, f"call {calc} calc.add 1 2 timeout=70") == (b"error: Call timed out", 70)
    assert rt.actor(calc).state.value == calc_state(0, 0)
    assert rt.ask(client, f"call {calc} calc.add 1 2") == b"3"


# --- implements, exports, options -----------------------------------------------------------

def test_implements_and_exports_read_the_targets_export_hashes(ids):
    rt, calc, client = ids["rt"], ids["calc"], ids["client"]
    assert rt.ask(client, f"exports {calc}") == b"calc,theater:simple/actor"
    assert rt.ask(client, f"exports {client}") == (  # in the order of its metadata's list
        b"rpc-client,theater:simple/actor,theater:simple/message-server-client")
    assert rt.ask(client, f"implements {calc} calc") == b"true"
    assert rt.ask(client, f"implements {calc} calc.add") == b"false"  # an interface, not a function
    assert rt.ask(client, f"implements {client} rpc-client") == b"true"  # about itself, at once


@pytest.mark.parametrize("options, expected", [
    (Option(b"\x01", Record("call-options", {"timeout-ms": Option(b"\x0f", U64(5))})), 5),
    (Option(b"\x01", Record("call-options", {"timeout-ms": Option(b"\x0f", None)})), 30_000),
    (Option(b"\x01", Record("call-options", {"timeout-ms": Option(b"\x03", S64(5))})), 30_000),  # u64 only
    (Record("call-options", {"timeout-ms": Option(b"\x0f", U64(5))}), 30_000),  # not in an option
    (NONE, 30_000),
    (Option(b"\x01", Record("call-options", {"timeout-ms": Option(b"\x0f", U64(2**64 - 1))})), 1 << 53),
])
def test_options_read_as_theaters_call_options(options, expected):
    assert _timeout_ms(options, 30_000) == expected


# --- the interface ----------------------------------------------------------------------------

def test_the_interface_hash_is_theaters_rpc_pact():
    """rpc.pact @TH: call(string, string, value, value) -> value, implements(string, string)
    -> value, exports(string) -> value; hashed as PACKR.md 3.2 says (value: ff ff ...)."""
    def prim(n: int) -> bytes:
        return bytes([0, n]) + bytes(30)

    def text(s: str) -> bytes:
        return struct.pack("<I", len(s)) + s.encode()

    def function(params: list[bytes]) -> bytes:
        return hashlib.sha256(b"\x16" + struct.pack("<I", len(params)) + b"".join(params)
                              + struct.pack("<I", 1) + VALUE).digest()

    STRING, VALUE = prim(13), b"\xff\xff" + bytes(30)
    funcs = {"call": function([STRING, STRING, VALUE, VALUE]), "implements": function([STRING, STRING]),
             "exports": function([STRING])}
    expected = hashlib.sha256(b"\x17" + text(RPC) + struct.pack("<II", 0, 3)
                              + b"".join(text(n) + funcs[n] for n in sorted(funcs))).digest()
    assert hash_interface(RPC, list(INTERFACES[RPC].values())) == expected
    assert expected.hex() == "382ac1a99edacf567a7deccd575672353262b3cbaf181d02941ffef212f5bef8"
    assert ("rpc", "call") in BLOCKING and ("rpc", "exports") not in BLOCKING


def test_answers_are_theaters_result_variants(ids):
    rt, calc = ids["rt"], ids["calc"]
    caller = rt._actors[ids["client"]]
    assert rpc.implements(rt, caller, calc, "calc") == Variant("result", "ok", 0, (Bool(True),))
    assert rpc.exports(rt, caller, "nope") == Variant("result", "err", 1, (
        String("Invalid actor ID: 'nope' is not a UUID"),))


# --- the trace ----------------------------------------------------------------------------------

def run_everything(seed: int) -> Runtime:
    rt = Runtime(seed=seed)
    ids = supervised(rt)
    calc, client, peer = ids["calc"], ids["client"], ids["peer"]
    rt.inject(fault("slow", "calc", on_call=3, delay_ms=500))
    for command in (f"call {calc} calc.add 2 3", f"call {calc} calc.div 1 0",
                    f"call {client} rpc-client.ping timeout=9", f"call {calc} calc.add 1 1 timeout=100",
                    f"exports {calc}"):
        rt.request(client, command)
    rt.request(peer, f"call {client} rpc-client.relay {peer} rpc-client.ping timeout=50")
    rt.run_until_idle()
    return rt


def test_same_seed_same_trace():
    first, second = run_everything(21), run_everything(21)
    assert first.trace.to_json() == second.trace.to_json()
    assert [(r["function"], r["outcome"], r["t"]) for r in rpc_records(first)] == [
        ("calc.add", "ok", 0), ("calc.div", "err", 0), ("rpc-client.ping", "timeout", 9),
        ("rpc-client.relay", "timeout", 50), ("calc.add", "timeout", 109), ("rpc-client.ping", "ok", 109)]


def test_rpc_records_pass_the_trace_schema():
    records = parse_trace(run_everything(22).trace.to_json())["records"]
    assert sum(r["kind"] == "rpc" for r in records) == 6


# --- the scenario ---------------------------------------------------------------------------------

def test_the_scenario_passes_and_its_expectations_bite(tmp_path):
    path = SCENARIOS / "packr-rpc.scenario.toml"
    assert run_scenario(load_scenario(path), 5).ok
    (tmp_path / "actors").symlink_to(ACTORS)
    changed = tmp_path / path.name
    changed.write_text(path.read_text().replace('recovery = "last"', 'recovery = "init"'))
    assert run_scenario(load_scenario(changed)).problems == [
        "message[8] (call calc.total() to calc at 100 ms): expected result 11, got 0",
        'message[9] (call rpc-client.relay("${calc}", "calc.total") to client at 110 ms): expected result "11", '
        'got "0"',
        "message[13] (call calc.total() to calc at 1600 ms): expected result 111, got 100"]
