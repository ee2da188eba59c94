"""The runtime's bounds (theater_harness.limits): their names and defaults, where they are
set (Runtime options, the pytest marker, a scenario's [runtime] table), what the scheduler
does at its per-instant bound, and the OS refusing memory (issue 11: D1, D3, D4, D6).
"""

from __future__ import annotations

import json

import pytest
import wasmtime
from wasmtime.component import Component, Linker

from conftest import ACTORS, manifest
from test_hostile import beside_a_bystander, first_exit
from theater_harness import Runtime
from theater_harness._scheduler import Scheduler
from theater_harness.chain import host_call_data, verify_chain
from theater_harness.cli import main
from theater_harness.errors import HarnessError, SimulationError
from theater_harness.host import runtime as runtime_host
from theater_harness.limits import LIMIT_OPTIONS, Limits
from theater_harness.scenario import load_scenario, run_scenario
from theater_harness.wasm import ActorComponent, Incarnation, WasmtimeError, short_error

SEND = "theater:simple/message-server-client.handle-send"
MiB = 1 << 20


# --- names, defaults, options ------------------------------------------------------------

def test_the_bounds_and_their_defaults():
    assert Limits().to_dict() == {
        "max_log_bytes": 1 * MiB, "max_log_lines": 10_000, "max_message_bytes": 2 * MiB,
        "max_sent_bytes": 64 * MiB, "max_state_bytes": 2 * MiB, "max_chain_bytes": 256 * MiB,
        "max_outstanding_requests": 10_000, "max_calls_per_instant": 10_000, "max_live_actors": 10_000,
        "max_spawn_depth": 100, "max_events_per_instant": 1_000_000}
    assert Runtime(seed=1).limits == Limits()
    assert LIMIT_OPTIONS == tuple(Limits().to_dict())


def test_runtime_takes_every_bound_as_an_option_and_none_for_no_bound():
    rt = Runtime(seed=1, max_log_lines=3, max_spawn_depth=None)
    assert (rt.limits.max_log_lines, rt.limits.max_spawn_depth) == (3, None)
    assert rt.scheduler.max_events_per_instant == 1_000_000


@pytest.mark.parametrize("value", [0, -1, 1.5, True, "10"])
def test_a_bad_bound_is_an_error_naming_it(value):
    with pytest.raises(HarnessError) as info:
        Runtime(seed=1, max_log_bytes=value)
    assert str(info.value) == f"max_log_bytes must be an integer >= 1, or None for no bound, not {value!r}"


def test_an_unknown_option_is_a_type_error_listing_the_bounds():
    with pytest.raises(TypeError, match=r"unexpected keyword argument 'max_logs' \(its bounds are max_log_bytes, "):
        Runtime(seed=1, max_logs=3)


@pytest.mark.theater(max_log_lines=2)
def test_the_pytest_marker_sets_bounds(theater):
    assert theater.limits.max_log_lines == 2
    bomb = theater.spawn(manifest("log_bomb"))
    theater.send(bomb, "log:3:1")
    theater.run_until_idle()
    assert theater.actor(bomb).exit_reason.message == "runtime.log: 3 lines in one call, more than max_log_lines 2"


def test_a_scenarios_runtime_table_sets_bounds(tmp_path):
    (tmp_path / "actors").symlink_to(ACTORS)
    path = tmp_path / "x.scenario.toml"
    path.write_text('name = "x"\n[runtime]\nmax_log_lines = 2\nmax_events_per_instant = 50000\n'
                    '[[actor]]\nname = "bomb"\nmanifest = "actors/log_bomb.toml"\nexpect = "failed"\n'
                    'expect_exit = "limit"\n[[message]]\nat = 5\nto = "bomb"\nsend = "log:3:1"\n')
    scenario = load_scenario(path)
    assert scenario.options == {"max_log_lines": 2, "max_events_per_instant": 50000}
    result = run_scenario(scenario)
    assert result.ok, result.problems
    assert result.runtime.limits.max_log_lines == 2 and result.runtime.scheduler.max_events_per_instant == 50000
    path.write_text(path.read_text().replace("max_log_lines = 2", "max_log_lines = 0"))
    with pytest.raises(HarnessError, match=r"runtime.max_log_lines': expected an integer >= 1, got 0"):
        load_scenario(path)


def test_no_bound_lets_the_log_bomb_log():
    rt = Runtime(seed=1, max_log_bytes=None, max_chain_bytes=None)
    bomb = rt.spawn(manifest("log_bomb"))
    rt.send(bomb, f"log:3:{2 * MiB}")
    rt.run_until_idle()
    assert rt.actor(bomb).alive and [len(line) for line in rt.actor(bomb).logs] == [2 * MiB] * 3


def test_log_bytes_are_counted_in_utf8():
    rt = Runtime(seed=1, max_log_bytes=10)
    echo = rt.spawn(manifest("echo"))  # logs "echo: <payload>"
    rt.send(echo, "\u00e9" * 2)  # "echo: " + 4 bytes: 10
    rt.send(echo, "\u00e9" * 3, delay_ms=1)
    rt.run_until_idle()
    assert rt.actor(echo).exit_reason.message == "runtime.log: 12 bytes in one call, more than max_log_bytes 10"
    assert rt.actor(echo).logs == ["echo: \u00e9\u00e9"]


def test_bounds_per_call_start_again_at_each_call():
    rt = Runtime(seed=1, max_log_lines=3)
    bomb = rt.spawn(manifest("log_bomb"))
    for t in range(5):
        rt.send(bomb, "log:3:1", delay_ms=t)
    rt.run_until_idle()
    assert rt.actor(bomb).alive and len(rt.actor(bomb).logs) == 15


def test_a_restarted_actor_starts_its_calls_per_instant_again():
    rt = Runtime(seed=1, max_calls_per_instant=4)
    counter = rt.spawn(manifest("counter"))  # init: its first call at 0 ms
    for _ in range(3):
        rt.send(counter, "inc")
    rt.run_until_idle()
    assert rt.actor(counter).state == b'{"count":3}'
    rt.send(counter, "inc")  # the 5th call at 0 ms
    rt.run_until_idle()
    assert rt.actor(counter).exit_reason.message.startswith("5 calls at 0 ms, more than max_calls_per_instant 4")
    rt.restart_actor(rt._resolve(counter))  # at 0 ms still: its init is the new incarnation's first call
    rt.send(counter, "inc")
    rt.run_until_idle()
    assert rt.actor(counter).alive and rt.actor(counter).state == b'{"count":1}'


# --- the scheduler's per-instant bound ------------------------------------------------------

def _forever(scheduler: Scheduler) -> None:
    scheduler.after(0, _forever, scheduler)


def test_the_scheduler_raises_at_its_per_instant_bound_without_a_hook():
    scheduler = Scheduler()
    scheduler.max_events_per_instant = 100
    scheduler.at(7, _forever, scheduler)
    with pytest.raises(SimulationError, match=r"^101 events at 7 ms, more than max_events_per_instant 100: "):
        scheduler.run_until_idle()


def test_the_scheduler_counts_events_per_instant_not_per_run():
    scheduler = Scheduler()
    scheduler.max_events_per_instant = 10
    for t in range(100):
        for _ in range(10):
            scheduler.at(t, lambda: None)
    assert scheduler.run(until=1000) == 1000 and scheduler.halted is None


def test_the_scheduler_halts_through_its_hook():
    scheduler, seen = Scheduler(), []
    scheduler.max_events_per_instant = 100
    scheduler.on_instant_limit = seen.append
    scheduler.at(7, _forever, scheduler)
    scheduler.run(until=50)
    assert seen == [101] and scheduler.halted == "101 events at 7 ms" and scheduler.now == 7


def test_a_memory_error_out_of_an_event_goes_to_the_hook_or_propagates():
    def fail() -> None:
        raise MemoryError("no more maps")

    scheduler = Scheduler()
    scheduler.at(3, fail)
    with pytest.raises(MemoryError):
        scheduler.run_until_idle()
    scheduler, seen = Scheduler(), []
    scheduler.on_memory_error = seen.append
    scheduler.at(3, fail)
    scheduler.at(4, seen.append, "never")
    scheduler.run_until_idle()
    assert [str(e) for e in seen] == ["no more maps"] and scheduler.halted == "out of memory: no more maps"


# --- the OS refusing memory (D1) -------------------------------------------------------------

def _refuse_instances(monkeypatch, after: int, exc: BaseException) -> None:
    """The incarnation made after ``after`` others fails with ``exc`` (that one only)."""
    made = [0]
    real = ActorComponent.incarnate

    def refusing(self, *args, **kwargs):
        made[0] += 1
        if made[0] == after + 1:
            raise exc
        return real(self, *args, **kwargs)

    monkeypatch.setattr(ActorComponent, "incarnate", refusing)


def test_a_memory_error_while_instantiating_fails_that_spawn(monkeypatch):
    _refuse_instances(monkeypatch, 8, MemoryError())  # the supervisor, the bomb, the bystander, 5 copies
    rt = Runtime(seed=1)
    ids = beside_a_bystander(rt, "spawn_bomb", "bomb")  # nothing escapes rt.run
    refused = [r.fields["reason"] for r in rt.trace.of_kind("exit") if r.fields["reason"]["kind"] == "system-limit"]
    assert len(refused) == 1 and refused[0]["export"] == "instantiate"
    assert refused[0]["message"].startswith("MemoryError (the OS refused memory: ")
    assert "memory maps in use, vm.max_map_count" in refused[0]["message"]
    reason = first_exit(rt, ids["hostile"])  # the watched bomb: its spawn failed, it is restarted
    assert reason["kind"] == "err" and "system-limit in instantiate: MemoryError" in reason["message"]
    assert rt.actor(ids["bystander"]).state == b'{"count":10}' and rt.ended is None


def test_wasmtime_out_of_memory_while_instantiating_is_a_system_limit(monkeypatch):
    rt = Runtime(seed=1)
    _refuse_instances(monkeypatch, 0, WasmtimeError("failed to allocate\n\nCaused by:\n    0: mmap failed\n"
                                                    "    1: Cannot allocate memory (os error 12)\n"))
    counter = rt.spawn(manifest("counter"))
    reason = rt.actor(counter).exit_reason
    assert (reason.kind, reason.export) == ("system-limit", "instantiate")
    assert reason.message.startswith("failed to allocate: mmap failed: Cannot allocate memory (os error 12) "
                                     "(the OS refused memory: ")


def test_a_memory_error_in_a_host_call_fails_the_caller(monkeypatch):
    def no_memory(rt, actor, msg):
        raise MemoryError

    rt = Runtime(seed=1)
    echo, counter = rt.spawn(manifest("echo")), rt.spawn(manifest("counter"))
    monkeypatch.setitem(runtime_host.FUNCTIONS, "log", no_memory)
    rt.send(echo, "hi")
    rt.send(counter, "inc")
    rt.run_until_idle()
    reason = rt.actor(echo).exit_reason
    assert (reason.kind, reason.host_import) == ("system-limit", "theater:simple/runtime.log")
    assert reason.message.startswith("MemoryError (the OS refused memory: ")
    assert rt.actor(counter).state == b'{"count":1}'


def test_a_memory_error_in_a_call_fails_that_actor(monkeypatch):
    rt = Runtime(seed=1)
    victim, counter = rt.spawn(manifest("counter")), rt.spawn(manifest("counter"))
    original = Incarnation.call

    def call(self, export, args):
        if self.owner.id == victim and export.full_name == SEND:
            raise MemoryError("cannot grow a list")
        return original(self, export, args)

    monkeypatch.setattr(Incarnation, "call", call)
    rt.send(victim, "inc")
    rt.send(counter, "inc")
    rt.run_until_idle()
    reason = rt.actor(victim).exit_reason
    assert (reason.kind, reason.export) == ("system-limit", SEND)
    assert reason.message.startswith("MemoryError: cannot grow a list (the OS refused memory: ")
    assert rt.actor(counter).state == b'{"count":1}'


def test_a_memory_error_outside_any_call_ends_the_run_and_keeps_the_trace():
    rt = Runtime(seed=1)
    counter = rt.spawn(manifest("counter"))

    def bookkeeping() -> None:
        raise MemoryError

    rt.send(counter, "inc", delay_ms=5)
    rt.scheduler.at(10, bookkeeping)
    rt.send(counter, "inc", delay_ms=20)
    assert rt.run(until=100) == 2  # returns: nothing escapes
    assert rt.ended.kind == "system-limit" and rt.ended.message.startswith("MemoryError (the OS refused memory: ")
    assert rt.now == 10 and rt.actor(counter).state == b'{"count":1}'
    records = json.loads(rt.trace.to_json())["records"]
    assert records[-1]["kind"] == "run-ended" and records[-1]["t"] == 10


# --- get-chain is recorded as Theater records it (D3) ---------------------------------------

def test_get_chain_is_recorded_with_its_number_of_events():
    rt = Runtime(seed=1)
    keeper = rt.spawn(manifest("keeper"))
    assert rt.ask(keeper, "chain") == b"3"
    event = rt.actor(keeper).chain[3]
    assert event.event_type == "theater:simple/runtime/get-chain"
    assert event.data == host_call_data("theater:simple/runtime", "get-chain", b"null", b"3")
    assert verify_chain(rt.actor(keeper).chain) is None


def test_six_get_chain_calls_keep_the_chain_small():
    rt = Runtime(seed=1)
    bomb = rt.spawn(manifest("chain_bomb"))
    rt.send(bomb, "chain:6")
    rt.run_until_idle()
    chain = rt.actor(bomb).chain
    assert len(chain) == 10 and sum(len(e.data) for e in chain) < 2000  # was 59 MB, and x10 per call
    assert verify_chain(chain) is None


# --- the command line: a run that ends on a bound keeps its trace (D4) ---------------------

LOOP = '''
name = "{name}"
end_ms = 1000
[runtime]
max_calls_per_instant = 500

[[actor]]
name = "loop"
manifest = "actors/self_loop.toml"
expect = "{expect}"

[[actor]]
name = "bystander"
manifest = "actors/counter.toml"

[[workload]]
to = "bystander"
every_ms = 100
until_ms = 900
send = "inc"

[[message]]
at = 200
to = "loop"
send = "loop:${{loop}}"

[[message]]
at = 950
to = "bystander"
request = "get"
expect_reply = "10"
'''


def test_the_cli_reports_a_looping_actor_writes_every_trace_and_runs_the_next_scenario(capsys, tmp_path):
    (tmp_path / "actors").symlink_to(ACTORS)
    (tmp_path / "a.scenario.toml").write_text(LOOP.format(name="a loop", expect="running"))
    (tmp_path / "b.scenario.toml").write_text(LOOP.format(name="b loop expected", expect="failed"))
    status = main(["run", str(tmp_path), "--trace-out", str(tmp_path / "traces")])
    out = capsys.readouterr().out
    assert status == 1  # a scenario failed (not 2, bad input)
    assert ("FAILED: actor loop: expected running, but it is failed (limit in " + SEND + ": 501 calls at 200 ms, "
            "more than max_calls_per_instant 500: the actor keeps itself busy without letting virtual time pass)"
            ) in out
    assert out.rstrip().endswith("1 of 2 scenarios ok: failed a loop")
    for name in ("a", "b"):
        records = json.loads((tmp_path / "traces" / f"{name}.trace.json").read_text())["records"]
        assert [r["reason"]["kind"] for r in records if r["kind"] == "exit"] == ["limit"]


def test_the_cli_reports_a_run_over_its_max_events_with_its_trace(capsys, tmp_path):
    (tmp_path / "actors").symlink_to(ACTORS)
    path = tmp_path / "x.scenario.toml"
    path.write_text(LOOP.format(name="x", expect="running").replace("max_calls_per_instant = 500",
                                                                    "max_calls_per_instant = 2000000"))
    (tmp_path / "x.scenario.toml").write_text(path.read_text().replace("[runtime]\n", "[runtime]\n"
                                                                       "max_events_per_instant = 3000\n"))
    status = main(["run", str(path), "--trace-out", str(tmp_path / "trace.json")])
    out = capsys.readouterr().out
    assert status == 1
    assert ("FAILED: the run ended early: limit: the run: 3001 events at 200 ms, more than "
            "max_events_per_instant 3000: something keeps itself busy without letting virtual time pass") in out
    records = json.loads((tmp_path / "trace.json").read_text())["records"]
    assert records[-1]["kind"] == "run-ended" and records[-1]["reason"]["kind"] == "limit"


# --- wasmtime's numbered causes (D6) ----------------------------------------------------------

def _linker_error() -> str:
    """A real wasmtime error with two numbered causes: a component whose import is missing."""
    engine = wasmtime.Engine()
    linker = Linker(engine)
    with linker.root() as root:
        with root.add_instance("theater:simple/runtime") as runtime:
            runtime.add_func("shutdown", lambda store: None)  # not its `log`
    with pytest.raises(WasmtimeError) as info:
        linker.instantiate(wasmtime.Store(engine), Component.from_file(engine, str(ACTORS / "counter.wasm")))
    return str(info.value)


def test_an_exit_message_has_no_cause_numbers(monkeypatch):
    raw = _linker_error()
    assert "    1: function implementation is missing" in raw  # wasmtime numbers its causes
    assert short_error(raw) == ("component imports instance `theater:simple/runtime`, but a matching implementation "
                                "was not found in the linker: instance export `log` has the wrong type: function "
                                "implementation is missing")
    _refuse_instances(monkeypatch, 0, WasmtimeError(raw))
    rt = Runtime(seed=1)
    reason = rt.actor(rt.spawn(manifest("counter"))).exit_reason
    assert (reason.kind, reason.message) == ("spawn-error", short_error(raw))


def test_one_cause_and_a_backtrace_stay_as_they_were():
    trap = ("error while executing at wasm backtrace:\n    0:    0x5ad - <unknown>!<wasm function 1>\n"
            "    1:   0x1b4c - wit-component:shim!indirect-theater:simple/runtime-get-chain\n\n"
            "Caused by:\n    wasm trap: wasm `unreachable` instruction executed\n")
    assert short_error(trap) == "wasm trap: wasm `unreachable` instruction executed"
    assert short_error("cannot map 4362076160 bytes for a linear memory (errno 12)") == (
        "cannot map 4362076160 bytes for a linear memory (errno 12)")
