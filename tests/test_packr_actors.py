"""The packr example actors (scenarios/actors/packr_*): reproducible builds, module shape,
``__pack_types`` metadata, and their behaviour run directly with wasmtime-py (tests/packr_smoke.py,
no harness runtime)."""
from __future__ import annotations

import importlib.util
import struct

import pytest
import tomllib
import wasmtime
from packr_blob import pack_types_blob
from packr_smoke import ACTORS, UNIT_OK, PackrActor, err_message, module, ok_payload

from theater_harness.wasm.packr import cgrf
from theater_harness.wasm.packr.interfaces import INTERFACES
from theater_harness.wasm.packr.types import (
    decode_metadata,
    hash_function,
    hash_interface,
)
from theater_harness.wasm.packr.value import (
    NONE,
    S64,
    U32,
    Bytes,
    List,
    Option,
    Record,
    Result,
    String,
    Tuple,
    Variant,
)

PACKR_ACTORS = ["packr_counter", "packr_crasher", "packr_messenger", "packr_panic", "packr_rpc_client", "packr_rpc_server",
                "packr_supervisor", "packr_ticker"]
PACK_EXPORTS = {"memory", "__pack_alloc", "__pack_free", "__pack_types"}

RUNTIME = "theater:simple/runtime"
MSH = "theater:simple/message-server-host"
SUP = "theater:simple/supervisor"
INIT = "theater:simple/actor.init"
MSC = "theater:simple/message-server-client"
SEND, REQUEST = f"{MSC}.handle-send", f"{MSC}.handle-request"
CHANNEL_OPEN, CHANNEL_MESSAGE = f"{MSC}.handle-channel-open", f"{MSC}.handle-channel-message"
CHANNEL_CLOSE = f"{MSC}.handle-channel-close"
SUP_HANDLERS = "theater:simple/supervisor-handlers"
CHILD_ERROR, CHILD_EXIT = f"{SUP_HANDLERS}.handle-child-error", f"{SUP_HANDLERS}.handle-child-exit"
CHILD_STOP = f"{SUP_HANDLERS}.handle-child-external-stop"

TH_DEFAULT_STATE = Option(b"\x07\x0c", None)  # option<list<u8>>::none
LIST_U8 = b"\x07\x0c"


def load_build_module():
    spec = importlib.util.spec_from_file_location("example_actors_build", ACTORS / "build.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def load_packr_types():
    return load_build_module().packr_types()


# --------------------------------------------------------------------------
# Files, reproducible build, module shape
# --------------------------------------------------------------------------

def test_every_packr_actor_has_source_manifest_and_wasm():
    build = load_build_module()
    assert build.packr_actor_names() == PACKR_ACTORS
    assert set(build.actor_names()) == set(build.component_actor_names()) | set(PACKR_ACTORS)
    assert load_packr_types().actor_names() == PACKR_ACTORS
    for name in PACKR_ACTORS:
        size = (ACTORS / f"{name}.wasm").stat().st_size
        assert 5_000 < size < 48_000, (name, size)
        manifest = tomllib.loads((ACTORS / f"{name}.toml").read_text())
        # Today's Theater format (PACKR.md 5): name, version, package, [[handler]] tables.
        assert manifest["name"] == name and manifest["version"] == "0.1.0"
        assert manifest["package"] == f"{name}.wasm"
        assert set(manifest) <= {"name", "version", "package", "description", "initial_state", "handler"}
        types = [h["type"] for h in manifest["handler"]]
        imported = {imp.module for imp in module(name).imports}
        assert ("runtime" in types) == (RUNTIME in imported)
        assert ("supervisor" in types) == (SUP in imported)
        assert "message-server" in types
    sup = tomllib.loads((ACTORS / "packr_supervisor.toml").read_text())
    assert sup["initial_state"] == "packr_crasher.toml,counter.toml"


def test_rebuild_is_byte_identical(tmp_path):
    build = load_build_module()
    missing = build.toolchain_missing(PACKR_ACTORS)
    if missing:
        pytest.skip(f"example actor toolchain not installed: missing {missing}")
    build.build_all(tmp_path, PACKR_ACTORS)
    differ = [name for name in PACKR_ACTORS
              if (tmp_path / f"{name}.wasm").read_bytes() != (ACTORS / f"{name}.wasm").read_bytes()]
    assert differ == [], (
        f"rebuilt .wasm differs from the committed one: {differ}; built with "
        f"{build.toolchain_versions()} (pinned in pyproject's `build` extra); "
        f"run scenarios/actors/build.py after changing the sources or packr_types.py")


def _is_abi_func(ty) -> bool:
    i32 = wasmtime.ValType.i32()
    return (isinstance(ty, wasmtime.FuncType) and list(ty.params) == [i32] * 4
            and list(ty.results) == [i32])


@pytest.mark.parametrize("name", PACKR_ACTORS)
def test_module_shape(name):
    """Self-contained packr 0.11 shape (PACKR.md 1.1): owns and exports its memory and
    allocator, imports only host functions with the 4-argument ABI."""
    mod = module(name)
    exports = {e.name: e.type for e in mod.exports}
    i32 = wasmtime.ValType.i32()
    assert PACK_EXPORTS <= set(exports)
    assert isinstance(exports["memory"], wasmtime.MemoryType)
    assert list(exports["__pack_alloc"].params) == [i32] and list(exports["__pack_alloc"].results) == [i32]
    assert list(exports["__pack_free"].params) == [i32, i32] and list(exports["__pack_free"].results) == []
    assert list(exports["__pack_types"].params) == [i32, i32] and list(exports["__pack_types"].results) == [i32]
    for export, ty in exports.items():
        if export not in PACK_EXPORTS:
            assert _is_abi_func(ty), export
    for imp in mod.imports:
        assert imp.module.startswith("theater:simple/") and _is_abi_func(imp.type), (imp.module, imp.name)


def _module_functions(name: str) -> tuple[set[str], set[tuple[str, str]]]:
    mod = module(name)
    return ({e.name for e in mod.exports} - PACK_EXPORTS, {(i.module, i.name) for i in mod.imports})


@pytest.mark.parametrize("name", PACKR_ACTORS)
def test_pack_types_lists_exactly_the_modules_functions(name):
    blob = pack_types_blob(ACTORS / f"{name}.wasm")
    assert blob == PackrActor(name).pack_types()
    assert blob == load_packr_types().metadata_blob(name)  # the committed module is up to date
    md = decode_metadata(blob)
    exports, imports = _module_functions(name)
    assert sorted(s.qualified_name for s in md.exports) == sorted(exports)
    assert sorted((s.interface, s.name) for s in md.imports) == sorted(imports)
    # Imports carry Theater's own signatures, and per interface the subset hash over
    # exactly the imported functions (what Theater checks at spawn, PACKR.md 3.3).
    for s in md.imports:  # (the blob spells result<_, E> as result<bool, E>: compare hashes)
        assert hash_function(s) == hash_function(INTERFACES[s.interface][s.name]), s
    interfaces = {iface for iface, _ in imports}
    assert md.import_hashes == {
        iface: hash_interface(iface, [INTERFACES[iface][f] for i, f in imports if i == iface])
        for iface in interfaces}
    assert md.export_hashes == {
        iface: hash_interface(iface, [s for s in md.exports if s.interface == iface])
        for iface in {s.interface for s in md.exports}}
    for s in md.exports:  # state threading: param 0 is the state, result<tuple<state, ...>, string>
        assert s.params[0][0] == "state" and len(s.results) == 1, s


def test_pack_types_blob_is_static():
    a = PackrActor("packr_counter")
    first = a.pack_types()
    a.call(INIT, TH_DEFAULT_STATE)
    assert a.pack_types() == first


def test_pack_alloc_contract():
    a = PackrActor("packr_counter")
    assert a.alloc(0) == 0 and a.alloc(-5) == 0
    assert a.alloc(0x7FFFFFFF) == 0  # more than a block can hold: refused, memory untouched
    ptr = a.alloc(100)
    assert ptr and ptr % 8 == 0
    a.memory.write(a.store, b"\xff" * 100, ptr)
    a.free(ptr, 100)
    again = a.alloc(100)
    assert a.read(again, 100) == bytes(100)  # zero-filled, even when reused
    a.free(0, 10)  # no-ops
    a.free(again, 0)
    a.free(again, 100)
    a.free(again, 100)  # a double free is ignored
    a.free(12345, 8)  # so is a pointer that is not a block
    assert a.alloc(100) == again


# --------------------------------------------------------------------------
# Shared glue behaviour (packr_guest.h)
# --------------------------------------------------------------------------

@pytest.mark.parametrize("data,message", [
    (b"", "decode error: BufferTooSmall { need: 4, have: 0 }"),
    (b"JUNKJUNKJUNKJUNK", 'decode error: InvalidEncoding("Invalid magic")'),
    (b"CGRF\x03\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00", 'decode error: InvalidEncoding("Unsupported version")'),
    (b"CGRF\x02\x00\x00\x00\x01\x00\x00\x00\x05\x00\x00\x00\x0b\x00\x00\x00\x04\x00\x00\x00\x00\x00\x00\x00",
     'decode error: InvalidEncoding("Root index out of range")'),
    (cgrf.encode(Tuple(())) + b"x", 'decode error: InvalidEncoding("Trailing bytes")'),
    # a tuple that contains itself
    (b"CGRF\x02\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x0b\x00\x00\x00\x08\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00",
     'decode error: InvalidEncoding("Cycle detected")'),
    # a List node of u8: must be an Array
    (b"CGRF\x02\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x07\x00\x00\x00\x05\x00\x00\x00\x0c\x00\x00\x00\x00",
     'decode error: InvalidEncoding("expected Array node for a list of primitives at node 0")'),
    (cgrf.encode(Tuple(())), "expected tuple with state and params"),
    (cgrf.encode(String("x")), "expected tuple with state and params"),
])
def test_bad_input_gives_status_minus_1_and_a_message(data, message):
    a = PackrActor("packr_counter")
    assert a.call_raw(SEND, data) == (-1, message.encode())


def test_wrong_state_or_parameter_gives_status_minus_1():
    a = PackrActor("packr_counter")
    state = ok_payload(a.call(INIT, TH_DEFAULT_STATE))[0]
    assert a.call(SEND, String("not a record"), Bytes(b"inc")) == (-1, "failed to convert state")
    assert a.call(SEND, state, String("inc")) == (-1, "failed to convert parameter")
    assert a.call(SEND, state) == (-1, "failed to convert parameter")
    assert a.call(REQUEST, state) == (-1, "missing parameter in tuple")
    assert a.call(REQUEST, state, Tuple((String("r"),))) == (-1, "missing parameter in tuple")
    assert a.call(REQUEST, state, String("r")) == (-1, "expected tuple of parameters")
    # Parameters may also come as one tuple (or a 1-tuple), as packr's macro accepts.
    assert ok_payload(a.call(REQUEST, state, Tuple((String("r"), Bytes(b"get")))))[1] == \
        Tuple((Option(LIST_U8, Bytes(b"0")),))
    assert ok_payload(a.call(SEND, state, Tuple((Bytes(b"inc"),))))[0]["count"] == 1


def test_fuzzed_inputs_never_trap():
    import random
    rng = random.Random(7)
    a = PackrActor("packr_counter")
    state = ok_payload(a.call(INIT, TH_DEFAULT_STATE))[0]
    good = cgrf.encode(Tuple((state, Bytes(b"add:5"))))
    for _ in range(3000):
        data = bytearray(good)
        for _ in range(rng.randrange(1, 4)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        if rng.random() < 0.2:
            data = data[:rng.randrange(len(data))]
        status, out = a.call_raw(SEND, bytes(data))
        assert status in (0, -1)
        if status == -1:
            out.decode("utf-8")
        else:
            cgrf.decode(out)
    assert a.pages() < 8


def test_memory_stays_bounded_over_thousands_of_messages():
    a = PackrActor("packr_counter")
    state = ok_payload(a.call(INIT, TH_DEFAULT_STATE))[0]
    pages = a.pages()
    for i in range(3000):
        state = ok_payload(a.call(SEND, state, Bytes(b"x" * (i % 2000))))[0]
    assert state["count"] == 3000
    assert a.pages() == pages


def test_import_answers_in_the_hosts_scratch_area_status_0():
    """Status 0: the host wrote the answer into its own area; the guest reads it and
    must not free it (PACKR.md 1.3)."""
    a = _ScratchActor("packr_counter")
    state = ok_payload(a.call(INIT, TH_DEFAULT_STATE))[0]
    assert state == counter_state(0)
    ptr = a.alloc(len(a.scratch_data))  # had the guest freed the scratch block, it would come back
    assert ptr != a.scratch
    assert a.read(a.scratch, len(a.scratch_data)) == a.scratch_data


class _ScratchActor(PackrActor):
    """register answers with status 0 from a buffer the host owns."""

    def _import(self, interface, function):
        inner = super()._import(interface, function)
        if function != "register":
            return inner

        def call(caller, in_ptr, in_len, out_pp, out_lp):
            if not hasattr(self, "scratch"):
                self.scratch_data = cgrf.encode(UNIT_OK)
                self.scratch = caller["__pack_alloc"](caller, len(self.scratch_data))
                caller["memory"].write(caller, self.scratch_data, self.scratch)
            caller["memory"].write(caller, struct.pack("<i", self.scratch), out_pp)
            caller["memory"].write(caller, struct.pack("<i", len(self.scratch_data)), out_lp)
            return 0
        return call


# --------------------------------------------------------------------------
# packr_counter
# --------------------------------------------------------------------------

def counter_state(count: int, last: str = "") -> Record:
    return Record("counter-state", {"count": S64(count), "last": String(last)})


def test_counter_threads_its_state():
    a = PackrActor("packr_counter")
    out = ok_payload(a.call(INIT, TH_DEFAULT_STATE))
    assert out == Tuple((counter_state(0),))
    assert a.calls == [("register", Tuple(())), ("log", String("packr_counter: init 0"))]
    state = out[0]
    state = ok_payload(a.call(SEND, state, Bytes(b"inc")))[0]
    assert state == counter_state(1, "inc")
    assert ok_payload(a.call("counter.add", state, S64(5))) == Tuple((counter_state(6, "inc"), S64(6)))
    state = ok_payload(a.call(SEND, state, Bytes(b"add:-10")))[0]
    assert state == counter_state(-9, "add:-10")
    state = ok_payload(a.call(SEND, state, Bytes(b"\xffbad")))[0]
    assert state == counter_state(-8, "\ufffdbad")
    assert ok_payload(a.call("counter.get", state)) == Tuple((state, S64(-8)))
    assert len(a.calls) == 2  # nothing logged on the hot path


def test_counter_init_states():
    a = PackrActor("packr_counter")
    assert ok_payload(a.call(INIT, String("42"))) == Tuple((counter_state(42),))
    assert ok_payload(a.call(INIT, String(" -7 "))) == Tuple((counter_state(-7),))
    assert ok_payload(a.call(INIT, NONE)) == Tuple((counter_state(0),))
    recovered = counter_state(12, "add:2")
    assert ok_payload(a.call(INIT, recovered)) == Tuple((recovered,))
    assert err_message(a.call(INIT, String("lots"))) == "packr_counter: initial state is not a number: lots"
    assert a.call(INIT, S64(3)) == (-1, "failed to convert state")
    assert a.logs == ["packr_counter: init 42", "packr_counter: init -7", "packr_counter: init 0",
                      "packr_counter: init 12"]


def test_counter_logs_a_failed_register():
    a = PackrActor("packr_counter", {(MSH, "register"): lambda _: Result(False, String("Already registered"))})
    assert ok_payload(a.call(INIT, TH_DEFAULT_STATE)) == Tuple((counter_state(0),))
    assert a.logs == ["packr_counter: register failed: Already registered", "packr_counter: init 0"]


def test_counter_requests_and_channels():
    a = PackrActor("packr_counter")
    state = counter_state(4, "x")
    reply = lambda text: Tuple((Option(LIST_U8, Bytes(text)),))
    assert ok_payload(a.call(REQUEST, state, String("req-1"), Bytes(b"get"))) == Tuple((state, reply(b"4")))
    assert ok_payload(a.call(REQUEST, state, String("req-2"), Bytes(b"inc"))) == \
        Tuple((counter_state(5, "inc"), reply(b"5")))
    assert ok_payload(a.call(REQUEST, state, String("req-3"), Bytes(b"?"))) == Tuple((state, reply(b"unknown")))
    accept = Record("channel-accept", {"accepted": True, "message": Option(LIST_U8, None)})
    assert ok_payload(a.call(CHANNEL_OPEN, state, String("ch"), Bytes(b"hi"))) == \
        Tuple((state, Tuple((accept,))))
    assert ok_payload(a.call(CHANNEL_MESSAGE, state, String("ch"), Bytes(b"m"))) == \
        Tuple((counter_state(5, "x"),))
    assert ok_payload(a.call(CHANNEL_CLOSE, state, String("ch"))) == Tuple((state,))


def test_counter_output_is_canonical():
    a = PackrActor("packr_counter")
    status, out = a.call_raw("counter.add", cgrf.encode(Tuple((counter_state(1, "é"), S64(2)))))
    assert status == 0
    value = cgrf.decode(out)
    # Same bytes as the codec's canonical encoding, except the placeholder tags
    # packr's macro writes in the result (ok = tuple<bool, bool>, err = string).
    assert value.ok_tag == b"\x0b\x02\x00\x00\x00\x01\x01" and value.err_tag == b"\x06"
    assert out == cgrf.encode(value)


# --------------------------------------------------------------------------
# packr_crasher
# --------------------------------------------------------------------------

def test_crasher():
    a = PackrActor("packr_crasher")
    state = ok_payload(a.call(INIT, TH_DEFAULT_STATE))[0]
    assert state == Record("crasher-state", {"count": U32(0)})
    assert a.calls == [("register", Tuple(()))]
    state = ok_payload(a.call(SEND, state, Bytes(b"hello")))[0]
    assert state == Record("crasher-state", {"count": U32(1)})
    assert err_message(a.call(SEND, state, Bytes(b"err"))) == "packr_crasher: err on request"
    assert err_message(a.call(REQUEST, state, String("r"), Bytes(b"err"))) == "packr_crasher: err on request"
    assert ok_payload(a.call(REQUEST, state, String("r"), Bytes(b"x"))) == \
        Tuple((Record("crasher-state", {"count": U32(2)}), Tuple((Option(LIST_U8, Bytes(b"ok")),))))
    assert ok_payload(a.call(REQUEST, state, String("r"), Bytes(b"get")))[1] == \
        Tuple((Option(LIST_U8, Bytes(b"1")),))
    with pytest.raises(wasmtime.Trap, match="unreachable"):
        a.call(SEND, state, Bytes(b"trap"))
    with pytest.raises(wasmtime.Trap, match="unreachable"):
        PackrActor("packr_crasher").call(REQUEST, state, String("r"), Bytes(b"trap"))


def test_crasher_init():
    a = PackrActor("packr_crasher")
    kept = Record("crasher-state", {"count": U32(9)})
    assert ok_payload(a.call(INIT, kept)) == Tuple((kept,))
    assert ok_payload(a.call(INIT, String("other"))) == Tuple((Record("crasher-state", {"count": U32(0)}),))
    with pytest.raises(wasmtime.Trap, match="unreachable"):
        a.call(INIT, String("fail_init"))


# --------------------------------------------------------------------------
# packr_panic
# --------------------------------------------------------------------------

FUEL = 5_000_000


def test_panic_spins_until_the_fuel_runs_out():
    a = PackrActor("packr_panic", fuel=FUEL)
    state = ok_payload(a.call(INIT, TH_DEFAULT_STATE))[0]
    assert state == Record("panic-state", {"count": U32(0)})
    state = ok_payload(a.call(SEND, state, Bytes(b"ok")))[0]
    assert state == Record("panic-state", {"count": U32(1)})
    with pytest.raises(wasmtime.Trap) as info:
        a.call(SEND, state, Bytes(b"panic"))
    assert info.value.trap_code == wasmtime.TrapCode.OUT_OF_FUEL
    with pytest.raises(wasmtime.Trap) as info:
        PackrActor("packr_panic", fuel=FUEL).call(REQUEST, state, String("r"), Bytes(b"panic"))
    assert info.value.trap_code == wasmtime.TrapCode.OUT_OF_FUEL


def test_panic_on_an_import_error_status():
    a = PackrActor("packr_panic", {(RUNTIME, "log"): lambda _: -1}, fuel=FUEL)
    state = Record("panic-state", {"count": U32(3)})
    with pytest.raises(wasmtime.Trap) as info:
        a.call(SEND, state, Bytes(b"log:hello"))
    assert info.value.trap_code == wasmtime.TrapCode.OUT_OF_FUEL
    assert a.calls == [("log", String("hello"))]
    b = PackrActor("packr_panic", fuel=FUEL)
    assert ok_payload(b.call(SEND, state, Bytes(b"log:hello")))[0] == Record("panic-state", {"count": U32(4)})
    assert b.logs == ["hello"]


def test_panic_on_an_undecodable_import_answer():
    a = _GarbageAnswer("packr_panic", fuel=FUEL)
    with pytest.raises(wasmtime.Trap) as info:
        a.call(INIT, TH_DEFAULT_STATE)
    assert info.value.trap_code == wasmtime.TrapCode.OUT_OF_FUEL


class _GarbageAnswer(PackrActor):
    """Every import answers status 1 with bytes that are not CGRF."""

    def _import(self, interface, function):
        def call(caller, in_ptr, in_len, out_pp, out_lp):
            ptr = caller["__pack_alloc"](caller, 4)
            caller["memory"].write(caller, b"JUNK", ptr)
            caller["memory"].write(caller, struct.pack("<i", ptr), out_pp)
            caller["memory"].write(caller, struct.pack("<i", 4), out_lp)
            return 1
        return call


# --------------------------------------------------------------------------
# packr_supervisor
# --------------------------------------------------------------------------

def sup_state(children=(), restarts=0) -> Record:
    return Record("sup-state", {"children": List(b"\x06", [String(c) for c in children]),
                                "restarts": U32(restarts)})


class Supervision:
    """Stubbed theater:simple/supervisor: spawn hands out child-1, child-2, ...;
    `fail` maps a function to the error it returns."""

    def __init__(self):
        self.spawned = 0
        self.children: list[str] = []
        self.fail: dict[str, str] = {}

    def _answer(self, function, ok):
        if function in self.fail:
            return Result(False, String(self.fail[function]))
        return Result(True, ok)

    def spawn(self, arg):
        if "spawn" in self.fail:
            return self._answer("spawn", None)
        self.spawned += 1
        self.children.append(f"child-{self.spawned}")
        return Result(True, String(f"child-{self.spawned}"))

    def host(self):
        return {
            (SUP, "spawn"): self.spawn,
            (SUP, "restart-child"): lambda arg: self._answer("restart-child", Tuple(())),
            (SUP, "stop-child"): lambda arg: self._answer("stop-child", Tuple(())),
            (SUP, "list-children"): lambda arg: self._answer(
                "list-children", List(b"\x06", [String(c) for c in self.children])),
        }


def test_supervisor_init_spawns_the_listed_manifests():
    sup = Supervision()
    a = PackrActor("packr_supervisor", sup.host())
    out = ok_payload(a.call(INIT, String("packr_crasher.toml, counter.toml,,")))
    assert out == Tuple((sup_state(["child-1", "child-2"]),))
    spawn_args = [arg for fn, arg in a.calls if fn == "spawn"]
    # spawn(manifest: string, init-state: option<value> = none, wasm-bytes: option<list<u8>> = none)
    assert spawn_args == [Tuple((String(m), Option(b"\x01", None), Option(LIST_U8, None)))
                          for m in ("packr_crasher.toml", "counter.toml")]
    assert [fn for fn, _ in a.calls] == ["register", "spawn", "log", "spawn", "log"]
    assert a.logs == ["packr_supervisor: spawned child-1", "packr_supervisor: spawned child-2"]


def test_supervisor_init_other_states_and_failed_spawns():
    sup = Supervision()
    a = PackrActor("packr_supervisor", sup.host())
    assert ok_payload(a.call(INIT, TH_DEFAULT_STATE)) == Tuple((sup_state(),))
    kept = sup_state(["x", "y"], 3)
    assert ok_payload(a.call(INIT, kept)) == Tuple((kept,))
    sup.fail["spawn"] = "no such manifest"
    assert ok_payload(a.call(INIT, String("nope.toml"))) == Tuple((sup_state(),))
    assert a.logs == ["packr_supervisor: spawn nope.toml failed: no such manifest"]


def test_supervisor_restarts_a_failed_child():
    sup = Supervision()
    a = PackrActor("packr_supervisor", sup.host())
    state = sup_state(["child-1", "child-2"])
    error = Tuple((Variant("wit-error-type", "internal", 5), Option(LIST_U8, Bytes(b"boom"))))
    state2 = ok_payload(a.call(CHILD_ERROR, state, String("child-2"), error))[0]
    assert state2 == sup_state(["child-1", "child-2"], 1)
    assert ("restart-child", String("child-2")) in a.calls
    assert a.logs == ["packr_supervisor: restarting child-2"]
    # the pact's record form of the error is accepted too
    record = Record("wit-actor-error", {"error-type": Variant("wit-error-type", "paused", 8),
                                        "data": Option(LIST_U8, None)})
    assert ok_payload(a.call(CHILD_ERROR, state2, String("child-1"), record))[0] == \
        sup_state(["child-1", "child-2"], 2)
    sup.fail["restart-child"] = "Actor restart not implemented"  # TH's answer
    assert ok_payload(a.call(CHILD_ERROR, state2, String("child-1"), error))[0] == state2
    assert a.logs[-1] == "packr_supervisor: restart-child child-1 failed: Actor restart not implemented"
    assert a.call(CHILD_ERROR, state2, String("child-1"), String("?")) == (-1, "failed to convert parameter")


def test_supervisor_exit_stop_sends_and_requests():
    sup = Supervision()
    a = PackrActor("packr_supervisor", sup.host())
    state = sup_state(["child-1"], 2)
    assert ok_payload(a.call(CHILD_EXIT, state, String("child-1"), Option(LIST_U8, Bytes(b"bye")))) == \
        Tuple((state,))
    assert ok_payload(a.call(CHILD_STOP, state, String("child-1"))) == Tuple((state,))
    assert a.logs == ["packr_supervisor: child child-1 exited", "packr_supervisor: child child-1 stopped"]
    state = ok_payload(a.call(SEND, state, Bytes(b"spawn:packr_counter.toml")))[0]
    assert state == sup_state(["child-1", "child-1"], 2)  # the stub's first id again
    state = ok_payload(a.call(SEND, sup_state(["a", "b"], 2), Bytes(b"stop:a")))[0]
    assert state == sup_state(["b"], 2)
    assert ("stop-child", String("a")) in a.calls
    reply = lambda text: Tuple((Option(LIST_U8, Bytes(text)),))
    assert ok_payload(a.call(REQUEST, state, String("r"), Bytes(b"children")))[1] == reply(b"child-1")
    assert ok_payload(a.call(REQUEST, state, String("r"), Bytes(b"restarts")))[1] == reply(b"2")
    assert ok_payload(a.call(REQUEST, state, String("r"), Bytes(b"what")))[1] == reply(b"unknown")
    sup.fail["list-children"] = "gone"
    assert ok_payload(a.call(REQUEST, state, String("r"), Bytes(b"children")))[1] == reply(b"error: gone")


# --------------------------------------------------------------------------
# packr_messenger
# --------------------------------------------------------------------------

def messenger_state(sent=0, replies=0, errors=0, received=0, channel=None) -> Record:
    return Record("messenger-state", {
        "sent": U32(sent), "replies": U32(replies), "errors": U32(errors), "received": U32(received),
        "channel": Option(b"\x06", None if channel is None else String(channel))})


def test_messenger():
    answers = {
        (MSH, "request"): lambda arg: (Result(True, Bytes(b"pong:" + bytes(arg[1])))
                                       if arg[0] == "a1" else Result(False, String("no such actor"))),
        (MSH, "open-channel"): lambda arg: Result(True, String("chan-7")),
    }
    a = PackrActor("packr_messenger", answers)
    state = ok_payload(a.call(INIT, TH_DEFAULT_STATE))[0]
    assert state == messenger_state()
    state = ok_payload(a.call(SEND, state, Bytes(b"send:a1:hello")))[0]
    assert ("send", Tuple((String("a1"), Bytes(b"hello")))) in a.calls
    state = ok_payload(a.call(SEND, state, Bytes(b"open:a1:hi")))[0]
    assert state == messenger_state(sent=1, channel="chan-7")
    state = ok_payload(a.call(SEND, state, Bytes(b"chan:m1")))[0]
    assert ("send-on-channel", Tuple((String("chan-7"), Bytes(b"m1")))) in a.calls
    out = ok_payload(a.call(REQUEST, state, String("r1"), Bytes(b"ask:a1:ping")))
    assert out[1] == Tuple((Option(LIST_U8, Bytes(b"pong:ping")),))
    state = out[0]
    out = ok_payload(a.call(REQUEST, state, String("r2"), Bytes(b"ask:zz:ping")))
    assert out[1] == Tuple((Option(LIST_U8, Bytes(b"error: no such actor")),))
    state = out[0]
    state = ok_payload(a.call(CHANNEL_MESSAGE, state, String("chan-9"), Bytes(b"x")))[0]
    state = ok_payload(a.call(SEND, state, Bytes(b"close")))[0]
    assert ("close-channel", String("chan-7")) in a.calls
    assert state == messenger_state(sent=2, replies=1, errors=1, received=1)
    state = ok_payload(a.call(SEND, state, Bytes(b"chan:lost")))[0]
    assert ok_payload(a.call(REQUEST, state, String("r3"), Bytes(b"stats")))[1] == \
        Tuple((Option(LIST_U8, Bytes(b"sent=2 replies=1 errors=2 received=1")),))
    assert ok_payload(a.call(REQUEST, state, String("r4"), Bytes(b"\x00echo")))[1] == \
        Tuple((Option(LIST_U8, Bytes(b"\x00echo")),))
    assert a.logs == ["packr_messenger: request failed: no such actor", "packr_messenger: no channel"]
    closed = ok_payload(a.call(CHANNEL_CLOSE, messenger_state(channel="c1"), String("c1")))[0]
    assert closed == messenger_state()
    accept = ok_payload(a.call(CHANNEL_OPEN, state, String("c2"), Bytes(b"")))[1]
    assert accept[0]["accepted"] == True
