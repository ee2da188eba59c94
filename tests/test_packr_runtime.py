"""packr actors in the runtime, beside component actors: messaging, calls, typed state,
supervision and recovery, faults, chains, determinism, reports, and hostile modules.

Everything above the wasm layer is the same code for both ABIs; these tests drive the C
packr actors of ``scenarios/actors`` (``packr_*``) through it, mostly in trees that also
hold component actors.
"""

from __future__ import annotations

import json
import re

import pytest
import wasmtime

from theater_harness import Runtime
from theater_harness.chain import verify_chain
from theater_harness.errors import CallFailed, SpawnError, UnknownExportError
from theater_harness.faults import Fault, FaultSchedule
from theater_harness.report import States, render_html, render_timeline
from theater_harness.trees import NodeSpec, Policy, TreeSpec
from theater_harness.values import Bytes, Record, S64, String, TypedState, render
from theater_harness.wasm.packr import cgrf
from theater_harness.wasm.packr.types import FunctionSig, PackageMetadata, encode_metadata, hash_interface
from theater_harness.wasm.packr.interfaces import INTERFACES, RUNTIME

from conftest import ACTORS

COUNTER = str(ACTORS / "packr_counter.toml")
MESSENGER = str(ACTORS / "packr_messenger.toml")
CRASHER = str(ACTORS / "packr_crasher.toml")
PANIC = str(ACTORS / "packr_panic.toml")
SUPERVISOR = str(ACTORS / "packr_supervisor.toml")
C_COUNTER = str(ACTORS / "counter.toml")
C_ECHO = str(ACTORS / "echo.toml")


def counter_state(count: int, last: str = "") -> TypedState:
    return TypedState.of(Record("counter-state", {"count": S64(count), "last": String(last)}))


# --- messaging, calls, typed state ---------------------------------------------------------

def test_a_packr_counter_threads_its_typed_state():
    rt = Runtime(seed=1)
    c = rt.spawn(COUNTER)
    view = rt.actor(c)
    assert view.state == counter_state(0)
    assert view.logs == ["packr_counter: init 0"]
    rt.send(c, "inc")
    rt.send(c, "add:10")
    rt.run_until_idle()
    assert view.state == counter_state(11, "add:10")
    assert render(view.state.value) == '{count: 11, last: "add:10"}'
    assert rt.ask(c, "get") == b"11"


def test_any_export_is_callable_with_typed_arguments_and_result():
    rt = Runtime(seed=1)
    c = rt.spawn(COUNTER)
    result = rt.call(c, "counter.add", 5)  # 5 converts to s64, the type counter.add declares
    assert result == S64(5) and type(result) is S64
    assert rt.call(c, "counter.get") == S64(5)
    assert rt.actor(c).state == counter_state(5)
    chain = rt.actor(c).chain
    assert [e.event_type for e in chain[-4:]] == ["wasm"] * 4
    assert json.loads(chain[-2].data)["WasmCall"]["function_name"] == "counter.get"


def test_a_call_waits_its_turn_and_a_missing_export_is_named():
    rt = Runtime(seed=1)
    c = rt.spawn(COUNTER)
    rt.send(c, "inc")
    pending = rt.call_later(c, "counter.get")
    assert not pending.done
    rt.run_until_idle()
    assert pending.ok and pending.result == 1  # after the send queued before it
    with pytest.raises(UnknownExportError, match=r"has no export 'counter\.mul'; it exports counter\.add, "
                                                 r"counter\.get, theater:simple/actor\.init"):
        rt.call(c, "counter.mul", 2)


def test_a_call_to_a_failing_actor_raises_call_failed():
    rt = Runtime(seed=1)
    c = rt.spawn(CRASHER)
    rt.send(c, "trap")
    rt.run_until_idle()
    with pytest.raises(CallFailed, match="is not running: it is failed"):
        rt.call(c, "theater:simple/actor.init")


def test_a_components_theater_exports_are_callable_by_name():
    rt = Runtime(seed=1)
    e = rt.spawn(C_ECHO)
    assert rt.call(e, "theater:simple/message-server-client.handle-request", "r1", b"hi") == b"hi"


def test_manifest_initial_state_is_a_string_value_for_packr_and_utf8_for_components(tmp_path):
    rt = Runtime(seed=1)
    (tmp_path / "pc.toml").write_text(f'name = "pc"\nversion = "0.1.0"\npackage = "{ACTORS / "packr_counter.wasm"}"\n'
                                      'initial_state = "41"\n')
    (tmp_path / "cc.toml").write_text(f'name = "cc"\nversion = "0.1.0"\npackage = "{ACTORS / "counter.wasm"}"\n'
                                      'initial_state = \'{"count":7}\'\n[[handler]]\ntype = "runtime"\n'
                                      '[[handler]]\ntype = "message-server"\n')
    pc, cc = rt.spawn(str(tmp_path / "pc.toml")), rt.spawn(str(tmp_path / "cc.toml"))
    assert rt.actor(pc).state == counter_state(41)
    assert rt.actor(cc).state == b'{"count":7}'
    assert rt.ask(cc, "get") == b"7"


def test_a_bad_package_path_names_the_package_key(tmp_path):
    (tmp_path / "a.toml").write_text('name = "a"\nversion = "0.1.0"\npackage = "missing.wasm"\n')
    with pytest.raises(SpawnError, match=r"a\.toml: field 'package': .*missing\.wasm: actor file not found"):
        Runtime(seed=1).spawn(str(tmp_path / "a.toml"))


def test_packr_and_component_actors_message_each_other():
    rt = Runtime(seed=2)
    c, e, m = rt.spawn(COUNTER), rt.spawn(C_ECHO), rt.spawn(MESSENGER)
    assert rt.ask(m, f"ask:{c}:inc") == b"1"  # packr -> packr request, blocking in the host
    assert rt.ask(m, f"ask:{e}:hello") == b"hello"  # packr -> component
    rt.send(m, f"open:{c}:hi")
    rt.send(m, "chan:x")
    rt.send(m, "close")
    rt.run_until_idle()
    assert rt.ask(m, "stats") == b"sent=1 replies=2 errors=0 received=0"
    assert rt.actor(c).state == counter_state(2, "inc")  # the request, then the channel message


def test_register_twice_is_theaters_error():
    from theater_harness.host.message_server import register
    rt = Runtime(seed=1)
    actor = rt._resolve(rt.spawn(COUNTER))  # its init registered
    assert register(rt, actor) == (False, "Already registered")


# --- supervision, recovery, faults ----------------------------------------------------------

def mixed_tree(strategy: str, recovery: str = "init") -> TreeSpec:
    return TreeSpec(NodeSpec("sup", policy=Policy(strategy, intensity=5), children=(
        NodeSpec("pc", manifest=COUNTER, recovery=recovery),
        NodeSpec("cc", manifest=C_COUNTER, recovery=recovery),
        NodeSpec("crash", manifest=CRASHER, recovery=recovery),
        NodeSpec("tail", manifest=COUNTER, recovery=recovery),
    )))


@pytest.mark.parametrize("strategy, restarted", [
    ("one_for_one", {"crash"}), ("one_for_all", {"pc", "cc", "crash", "tail"}), ("rest_for_one", {"crash", "tail"}),
])
def test_every_strategy_restarts_packr_and_component_children_alike(strategy, restarted):
    rt = Runtime(seed=4)
    ids = mixed_tree(strategy).spawn(rt)
    rt.send(ids["crash"], "trap")
    rt.run_until_idle()
    got = {name for name in ("pc", "cc", "crash", "tail") if rt.actor(ids[name]).incarnation == 2}
    assert got == restarted
    assert all(rt.actor(ids[n]).status == "running" for n in ("pc", "cc", "crash", "tail"))


@pytest.mark.parametrize("recovery, count_after", [("init", 0), ("last", 3), ("replay", 3)])
def test_recovery_modes_restore_a_typed_state(recovery, count_after):
    rt = Runtime(seed=5)
    ids = mixed_tree("one_for_all", recovery).spawn(rt)
    for _ in range(3):
        rt.send(ids["pc"], "inc")
    rt.run_until_idle()
    rt.send(ids["crash"], "trap")
    rt.run_until_idle()
    pc = rt.actor(ids["pc"])
    assert pc.incarnation == 2
    assert pc.state == counter_state(count_after, "inc" if count_after else "")
    if recovery == "replay":
        replays = [r for r in rt.trace.records if r.kind == "replay" and r.actor == ids["pc"]]
        assert [(r.fields["calls"], r.fields["divergences"]) for r in replays] == [(4, [])]


def test_a_panic_is_a_supervised_out_of_fuel_failure():
    rt = Runtime(seed=6, fuel=2_000_000)
    ids = TreeSpec(NodeSpec("sup", policy=Policy("one_for_one", intensity=3), children=(
        NodeSpec("p", manifest=PANIC),))).spawn(rt)
    rt.send(ids["p"], "panic")
    rt.run_until_idle()
    p = rt.actor(ids["p"])
    assert p.incarnation == 2 and p.status == "running"
    first_exit = next(r for r in rt.trace.records if r.kind == "exit" and r.actor == ids["p"])
    assert first_exit.fields["reason"]["kind"] == "out-of-fuel"
    assert "a packr guest that panics spins until its fuel runs out" in first_exit.fields["reason"]["message"]


def test_a_guest_packr_supervisor_restarts_mixed_children():
    rt = Runtime(seed=7)
    sup = rt.spawn(SUPERVISOR)
    kids = rt.ask(sup, "children").decode().split(",")
    assert [rt.actor(k).name for k in kids] == ["packr_crasher", "counter"]
    rt.send(kids[0], "trap")
    rt.run_until_idle()
    assert rt.actor(kids[0]).incarnation == 2 and rt.actor(kids[0]).status == "running"
    assert rt.ask(sup, "restarts") == b"1"
    assert rt.actor(sup).logs[-1] == f"packr_supervisor: restarting {kids[0]}"


def test_faults_hit_packr_calls_and_host_imports():
    rt = Runtime(seed=8, faults=FaultSchedule([Fault("trap", target="pc", at_ms=10)]))
    ids = mixed_tree("one_for_one", "last").spawn(rt)
    rt.send(ids["pc"], "inc")
    rt.run_until_idle()
    rt.advance(20)
    rt.send(ids["pc"], "inc")  # the trap fault takes this call
    rt.run_until_idle()
    pc = rt.actor(ids["pc"])
    assert pc.incarnation == 2 and pc.state == counter_state(1, "inc")


# --- chains, determinism, reports -------------------------------------------------------------

def test_a_packr_actors_chain_verifies_and_records_cgrf_states():
    rt = Runtime(seed=9)
    c = rt.spawn(COUNTER)
    rt.send(c, "inc")
    rt.run_until_idle()
    chain = rt.actor(c).chain
    assert verify_chain(chain) is None
    result = json.loads(chain[-1].data)["WasmResult"]
    assert bytes(result["result"][0]) == counter_state(1, "inc")
    call = json.loads(chain[-2].data)["WasmCall"]
    assert call["function_name"] == "theater:simple/message-server-client.handle-send"
    assert bytes(call["params"]) == b"[[105,110,99]]"  # the params' JSON, as for a component actor


def run_mixed(seed: int) -> str:
    rt = Runtime(seed=seed, faults=FaultSchedule([Fault("trap", target="sup/crash", at_ms=5)]))
    ids = mixed_tree("rest_for_one", "replay").spawn(rt)
    for i in range(5):
        rt.send(ids["pc"], f"add:{i}", delay_ms=i * 2)
        rt.send(ids["crash"], "tick", delay_ms=i * 2)
    rt.run_until_idle()
    return rt.trace.to_json()


def test_same_seed_same_trace_for_a_mixed_tree():
    assert run_mixed(11) == run_mixed(11)


def test_reports_show_a_packr_state_as_its_value():
    rt = Runtime(seed=12)
    c = rt.spawn(COUNTER, name="pc")
    rt.send(c, "add:3")
    rt.run_until_idle()
    rt.stop(c)
    states = States(rt)
    exit_record = next(r for r in rt.trace.records if r.kind == "exit")
    assert states.text(exit_record.fields["state"]).endswith('{count: 3, last: "add:3"}')
    assert "{count: 3, last: &quot;add:3&quot;}" in render_html(rt, title="packr")
    assert render_timeline(rt, around_ms=0)


# --- hostile packr modules ---------------------------------------------------------------------

def wat_string(data: bytes) -> str:
    return "".join(f"\\{b:02x}" for b in data)


def packr_module(init_body: str, *, imports: str = "", metadata: PackageMetadata | None = None) -> bytes:
    """A tiny self-contained packr module: a bump allocator, ``__pack_types`` and an init
    whose body is ``init_body`` (WAT; it gets the four i32 params and returns the status)."""
    blob = encode_metadata(metadata or PackageMetadata((), (), {}, {}))
    garbage = b"CGRF\x02\x00\x00\x00\x05\x00\x00\x00\x09\x00\x00\x00"
    return wasmtime.wat2wasm(f"""(module
      {imports}
      (memory (export "memory") 2)
      (global $top (mut i32) (i32.const 8192))
      (data (i32.const 1024) "{wat_string(blob)}")
      (data (i32.const 4096) "{wat_string(garbage)}")
      (func (export "__pack_alloc") (param $n i32) (result i32) (local $p i32)
        global.get $top local.set $p
        global.get $top local.get $n i32.add global.set $top
        local.get $p)
      (func (export "__pack_free") (param i32 i32))
      (func (export "__pack_types") (param $pp i32) (param $lp i32) (result i32)
        local.get $pp i32.const 1024 i32.store
        local.get $lp i32.const {len(blob)} i32.store
        i32.const 0)
      (func (export "theater:simple/actor.init") (param $in i32) (param $len i32) (param $pp i32) (param $lp i32)
        (result i32) {init_body}))""")


def spawn_module(tmp_path, wasm: bytes, rt: Runtime | None = None):
    (tmp_path / "m.wasm").write_bytes(wasm)
    (tmp_path / "m.toml").write_text('name = "m"\nversion = "0.1.0"\npackage = "m.wasm"\n')
    rt = rt or Runtime(seed=1)
    return rt, rt.actor(rt.spawn(str(tmp_path / "m.toml")))


def test_a_garbage_result_is_a_supervised_failure(tmp_path):
    body = "local.get $pp i32.const 4096 i32.store local.get $lp i32.const 16 i32.store i32.const 0"
    _, actor = spawn_module(tmp_path, packr_module(body))
    assert actor.status == "failed"
    assert actor.exit_reason.kind == "err"
    assert re.match(r"theater:simple/actor\.init returned a malformed result: .*node", actor.exit_reason.message)


def test_an_output_buffer_outside_memory_is_a_trap_not_a_crash(tmp_path):
    body = "local.get $pp i32.const 4096 i32.store local.get $lp i32.const 0x7fffffff i32.store i32.const 0"
    _, actor = spawn_module(tmp_path, packr_module(body))
    assert actor.exit_reason.kind == "trap"
    assert "outside its memory" in actor.exit_reason.message


def test_an_unknown_status_and_a_guest_error_are_failures(tmp_path):
    _, actor = spawn_module(tmp_path, packr_module("i32.const 7"))
    assert "returned status 7 (0 is a value, -1 an error)" in actor.exit_reason.message
    message = b"decode error: no"  # as long as the garbage it replaces
    body = (f"local.get $pp i32.const 4096 i32.store local.get $lp i32.const {len(message)} i32.store "
            "i32.const -1")
    wasm = packr_module(body).replace(b"CGRF\x02\x00\x00\x00\x05\x00\x00\x00\x09\x00\x00\x00", message)
    _, actor = spawn_module(tmp_path, wasm)
    assert actor.exit_reason.kind == "err"
    assert actor.exit_reason.message == "the actor could not handle the call (status -1): decode error: no"


def test_an_interface_hash_mismatch_is_refused_naming_both_hashes(tmp_path):
    log = INTERFACES[RUNTIME]["log"]
    wrong = hash_interface(RUNTIME, [FunctionSig(RUNTIME, "log", (("msg", log.params[0][1]),), (log.params[0][1],))])
    meta = PackageMetadata((log,), (), {RUNTIME: wrong}, {})
    imports = '(import "theater:simple/runtime" "log" (func (param i32 i32 i32 i32) (result i32)))'
    ours = hash_interface(RUNTIME, [log]).hex()
    with pytest.raises(SpawnError, match=(
            rf"imports theater:simple/runtime \(log\) with interface hash {wrong.hex()}, but theater-harness "
            rf"implements theater:simple/runtime as hash {ours} for those functions")):
        spawn_module(tmp_path, packr_module("i32.const 0", imports=imports, metadata=meta))


def test_an_unimplemented_theater_import_is_refused_by_name(tmp_path):
    imports = '(import "theater:simple/runtime" "get-chain" (func (param i32 i32 i32 i32) (result i32)))'
    with pytest.raises(SpawnError, match=r"imports theater:simple/runtime\.get-chain, which theater-harness does not "
                                         r"implement \(theater:simple/runtime provides log, self, shutdown\)"):
        spawn_module(tmp_path, packr_module("i32.const 0", imports=imports))


def test_state_is_kept_as_canonical_bytes():
    state = counter_state(3, "x")
    assert cgrf.decode(bytes(state)) == state.value
    assert TypedState(bytes(state)) == state
    assert isinstance(state.value["last"], String) and Bytes(b"a") == b"a"


# --- packr-era supervisor functions -------------------------------------------------------------

def test_spawn_and_wait_answers_when_the_child_ends_or_times_out():
    from theater_harness.host.supervisor import spawn_and_wait
    rt = Runtime(seed=13)
    parent = rt._resolve(rt.spawn(SUPERVISOR))
    rt.run_until_idle()  # its init spawns its own two children first
    wait = spawn_and_wait(rt, parent, COUNTER, None, None, None)
    rt.run_until_idle()
    child = rt._resolve(parent.children[-1])
    assert child.name == "packr_counter" and child.status == "running" and not wait.done
    rt.stop(child.id)
    rt.run_until_idle()
    assert (wait.done, wait.value) == (True, (True, None))
    timed = spawn_and_wait(rt, parent, COUNTER, String("4"), None, 50)
    rt.run_until_idle()
    assert rt._resolve(parent.children[-1]).state == counter_state(4)  # the typed init state, as given
    assert timed.value[0] is False and timed.value[1].endswith("still running after 50 ms")


def test_get_child_state_returns_the_childs_typed_state_as_is():
    rt = Runtime(seed=14)
    module = rt.actor(rt.spawn(SUPERVISOR))._actor.component
    from theater_harness.wasm.packr.module import PackrImport
    from theater_harness.wasm.packr.interfaces import SUPERVISOR as SUP
    sig = INTERFACES[SUP]["get-child-state"]
    imp = PackrImport("supervisor", "get-child-state", SUP, tuple(t for _, t in sig.params), sig.results[0])
    packed = cgrf.decode(imp.pack((True, counter_state(2))))
    assert packed.is_ok and packed.value == counter_state(2).value
    assert module.abi == "packr"


def test_a_bad_argument_is_the_tests_error_and_the_actor_lives_on():
    from theater_harness.errors import HarnessError
    rt = Runtime(seed=15)
    c, k = rt.spawn(COUNTER), rt.spawn(C_COUNTER)
    with pytest.raises(HarnessError, match=r"cannot call counter\.add of packr_counter .* S64 value 1180591620717411303424 is out "
                                           r"of range"):
        rt.call(c, "counter.add", 2**70)
    with pytest.raises(HarnessError, match=r"handle-request of counter .*: expected bytes, got int"):
        rt.call(k, "theater:simple/message-server-client.handle-request", "r1", 5)
    assert rt.actor(c).status == rt.actor(k).status == "running"


def test_theater_exports_answer_alike_whatever_the_abi():
    rt = Runtime(seed=16)
    c, k = rt.spawn(COUNTER), rt.spawn(C_COUNTER)
    for actor in (c, k):  # text for list<u8>, as a scenario file writes it
        assert rt.call(actor, "theater:simple/message-server-client.handle-send", "inc") is None
        assert rt.call(actor, "theater:simple/message-server-client.handle-request", "r1", "get") == b"1"


def test_a_memory_blow_up_is_a_supervised_memory_failure(tmp_path):
    body = "i32.const 100 memory.grow i32.const -1 i32.eq if unreachable end i32.const 7"  # 6.4 MiB more
    rt, actor = spawn_module(tmp_path, packr_module(body), Runtime(seed=1, memory=1 << 20))
    assert actor.status == "failed"
    assert actor.exit_reason.kind == "memory"
    assert actor.exit_reason.message.startswith("memory cap of 1048576 bytes reached")


def test_a_packr_guest_that_loops_for_ever_ends_out_of_fuel(tmp_path):
    _, actor = spawn_module(tmp_path, packr_module("(loop br 0) i32.const 0"), Runtime(seed=1, fuel=100_000))
    assert actor.exit_reason.kind == "out-of-fuel"
    assert "a packr guest that panics spins until its fuel runs out" in actor.exit_reason.message
