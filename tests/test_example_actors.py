"""The example actors in scenarios/actors/: reproducible builds and exact behaviour.

The behaviour tests use plain wasmtime-py (no harness code), so they pin down what
the committed .wasm files do independently of the runtime that hosts them.
"""
from __future__ import annotations

import importlib.util
import json
import struct
import uuid
from pathlib import Path
from types import SimpleNamespace

import pytest
from wasmtime import Config, Engine, Store, WasmtimeError
from wasmtime.component import Component, FuncType, Linker, ResultType, Variant

ACTORS = Path(__file__).resolve().parent.parent / "scenarios" / "actors"
SUPERVISORS = ["sup_all", "sup_one", "sup_perm", "worker_sup"]
# Deliberately broken supervisors (mutants the harness's own checks must catch).
MUTANT_SUPERVISORS = ["sup_never", "sup_wrong"]
# Hostile actors: each exhausts a host-side resource, for the harness's bounds to stop (test_hostile.py).
HOSTILE = ["chain_bomb", "log_bomb", "self_loop", "spawn_bomb", "state_hog"]
ALL_ACTORS = sorted(["ballast", "counter", "counter_a", "crasher", "echo", "hog", "keeper", "looper",
                     "pinger", "random_user", "sleeper", "world_user", *SUPERVISORS, *MUTANT_SUPERVISORS, *HOSTILE])

MSC = "theater:simple/message-server-client"
RUNTIME = "theater:simple/runtime"
MSH = "theater:simple/message-server-host"
TIMING = "theater:simple/timing"
RANDOM = "theater:simple/random"
SUP = "theater:simple/supervisor"
SUP_HANDLERS = "theater:simple/supervisor-handlers"


def load_build_module():
    spec = importlib.util.spec_from_file_location("example_actors_build", ACTORS / "build.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# --------------------------------------------------------------------------
# Reproducible build
# --------------------------------------------------------------------------

def test_every_actor_has_source_manifest_and_wasm():
    build = load_build_module()
    assert build.component_actor_names() == ALL_ACTORS
    for name in ALL_ACTORS:
        assert (ACTORS / f"{name}.toml").is_file()
        size = (ACTORS / f"{name}.wasm").stat().st_size
        if name == "ballast":  # its point: 1 MiB of data segments (they compress to nothing in git)
            assert 1 << 20 < size < (1 << 20) + 32_000, (name, size)
        else:
            assert 1_000 < size < 32_000, (name, size)


def test_rebuild_is_byte_identical(tmp_path):
    build = load_build_module()
    missing = build.toolchain_missing()
    if missing:
        pytest.skip(f"example actor toolchain not installed: missing {missing}")
    build.build_all(tmp_path, ALL_ACTORS)
    differ = [name for name in ALL_ACTORS
              if (tmp_path / f"{name}.wasm").read_bytes() != (ACTORS / f"{name}.wasm").read_bytes()]
    assert differ == [], (
        f"rebuilt .wasm differs from the committed one: {differ}; built with "
        f"{build.toolchain_versions()} (pinned in pyproject's `build` extra); "
        f"run scenarios/actors/build.py after changing the sources")


# --------------------------------------------------------------------------
# A minimal host
# --------------------------------------------------------------------------

ENGINE = Engine(Config())
FUEL_CONFIG = Config()
FUEL_CONFIG.consume_fuel = True
FUEL_ENGINE = Engine(FUEL_CONFIG)
_COMPILED: dict[tuple[str, int], Component] = {}


def component(name: str, engine: Engine = ENGINE) -> Component:
    key = (name, id(engine))
    if key not in _COMPILED:
        _COMPILED[key] = Component.from_file(engine, str(ACTORS / f"{name}.wasm"))
    return _COMPILED[key]


class Actor:
    """One instance of an example actor with Python host functions.

    `host` maps interface name -> {function name: fn(*args)}; every import
    also gets a default (log records into `self.logs`)."""

    def __init__(self, name: str, host: dict | None = None, *, engine: Engine = ENGINE,
                 store_setup=None):
        self.logs: list[str] = []
        host = dict(host or {})
        host[RUNTIME] = {"log": self.logs.append, **host.get(RUNTIME, {})}
        self.store = Store(engine)
        if store_setup:
            store_setup(self.store)
        linker = Linker(engine)
        with linker.root() as root:
            for interface, funcs in host.items():
                with root.add_instance(interface) as inst:
                    for fname, fn in funcs.items():
                        inst.add_func(fname, lambda _store, *args, fn=fn: fn(*args))
        self.instance = linker.instantiate(self.store, component(name, engine))

    def _func(self, interface: str, name: str):
        idx = self.instance.get_export_index(self.store, interface)
        return self.instance.get_func(
            self.store, self.instance.get_export_index(self.store, name, idx))

    def init(self, state, *era_a_params):
        return self._func("theater:simple/actor", "init")(self.store, state, *era_a_params)

    def send(self, state, payload: bytes):
        return self._func(MSC, "handle-send")(self.store, state, (payload,))

    def request(self, state, payload: bytes, request_id: str = "req-1"):
        return self._func(MSC, "handle-request")(self.store, state, (request_id, payload))

    def channel_open(self, state, payload: bytes, channel_id: str = "chan-1"):
        return self._func(MSC, "handle-channel-open")(self.store, state, (channel_id, payload))

    def channel_message(self, state, payload: bytes, channel_id: str = "chan-1"):
        return self._func(MSC, "handle-channel-message")(self.store, state, (channel_id, payload))

    def channel_close(self, state, channel_id: str = "chan-1"):
        return self._func(MSC, "handle-channel-close")(self.store, state, (channel_id,))

    def child_error(self, state, child_id: str, data: bytes | None, error_type: str = "internal"):
        # A record is an object with its fields as attributes, hyphens included
        # (wasmtime-py reads them with getattr); an enum is its case name.
        error = SimpleNamespace(**{"error-type": error_type, "data": data})
        return self._func(SUP_HANDLERS, "handle-child-error")(self.store, state, (child_id, error))

    def child_exit(self, state, child_id: str, data: bytes | None = None):
        return self._func(SUP_HANDLERS, "handle-child-exit")(self.store, state, (child_id, data))

    def child_external_stop(self, state, child_id: str):
        return self._func(SUP_HANDLERS, "handle-child-external-stop")(self.store, state, (child_id,))


def functions(ext) -> list[str]:
    """The function names of an instance import or export (types left out)."""
    return sorted(k for k, item in ext.ty.exports(ENGINE).items() if isinstance(item.ty, FuncType))


def imports_of(name: str) -> dict[str, list[str]]:
    """Interface -> imported functions, without the type-only `types` import
    (every component imports it for the types its exports use)."""
    imports = component(name).type.imports(ENGINE)
    assert functions(imports.pop("theater:simple/types")) == []
    return {iface: functions(ext) for iface, ext in imports.items()}


SUPERVISOR_IMPORTS = {RUNTIME: ["log"], SUP: ["get-child-events", "get-child-state",
                                               "list-children", "restart-child", "spawn",
                                               "stop-child"]}


@pytest.mark.parametrize("name,expected", [
    ("ballast", {}),
    ("counter", {RUNTIME: ["log"]}),
    ("counter_a", {RUNTIME: ["log"]}),
    ("crasher", {RUNTIME: ["log"]}),
    ("echo", {RUNTIME: ["log"], MSH: ["send-on-channel"]}),
    ("hog", {RUNTIME: ["log"]}),
    ("keeper", {RUNTIME: ["get-chain", "log", "shutdown"],
                MSH: ["cancel-request", "list-outstanding-requests", "respond-to-request"]}),
    ("looper", {RUNTIME: ["log"]}),
    ("pinger", {RUNTIME: ["log"],
                MSH: ["close-channel", "open-channel", "request", "send", "send-on-channel"]}),
    ("random_user", {RUNTIME: ["log"],
                     RANDOM: ["generate-uuid", "random-bytes", "random-float", "random-range"]}),
    ("sleeper", {RUNTIME: ["log"], TIMING: ["deadline", "now", "sleep"]}),
    *((name, SUPERVISOR_IMPORTS) for name in SUPERVISORS),
    ("chain_bomb", {RUNTIME: ["get-chain"]}),
    ("log_bomb", {RUNTIME: ["log"]}),
    ("self_loop", {RUNTIME: ["log"], MSH: ["send"]}),
    ("spawn_bomb", {SUP: ["list-children", "spawn"]}),
    ("state_hog", {}),
    ("world_user", {RUNTIME: ["log"], "theater:simple/store": ["get", "get-by-label", "new", "store-at-label"],
                    "theater:simple/filesystem": ["read-file", "write-file"], "theater:simple/environment": ["get-var"],
                    "theater:simple/http-types": [], "theater:simple/http-client": ["send-http"]}),
])
def test_imports_and_exports(name, expected):
    assert imports_of(name) == expected
    exports = component(name).type.exports(ENGINE)
    supervisor = name in SUPERVISORS or name == "spawn_bomb"
    assert sorted(exports) == ["theater:simple/actor", MSC] + ([SUP_HANDLERS] if supervisor else [])
    assert functions(exports["theater:simple/actor"]) == ["init"]
    assert functions(exports[MSC]) == [
        "handle-channel-close", "handle-channel-message", "handle-channel-open",
        "handle-request", "handle-send"]
    if supervisor:
        assert functions(exports[SUP_HANDLERS]) == [
            "handle-child-error", "handle-child-exit", "handle-child-external-stop"]


def state_of(result):
    """The new state of an ok `result<tuple<option<list<u8>>, ...>, string>`."""
    assert isinstance(result, tuple), f"expected ok, got {result!r}"
    return result[0]


def reply_of(result):
    assert isinstance(result, tuple), f"expected ok, got {result!r}"
    return result[1][0]


# --------------------------------------------------------------------------
# counter / counter_a
# --------------------------------------------------------------------------

def test_counter_init():
    a = Actor("counter")
    assert a.init(None) == (b'{"count":0}',)
    assert a.init(b'{"count":7}') == (b'{"count":7}',)
    assert a.init(b'{ "other": {"count": 99}, "count" : -3 }') == (b'{"count":-3}',)
    assert a.init(b'{"other":1}') == (b'{"count":0}',)
    assert a.init(b"not json") == (b'{"count":0}',)


def test_counter_sends_and_requests():
    a = Actor("counter")
    state = state_of(a.init(None))
    for _ in range(3):
        state = state_of(a.send(state, b"tick"))
    assert state == b'{"count":3}'
    assert a.request(state, b"get") == (state, (b"3",))
    state = state_of(a.send(state, b"add:10"))
    assert state == b'{"count":13}'
    state = state_of(a.send(state, b"add:-20"))
    assert state == b'{"count":-7}'
    state = state_of(a.send(state, b"add:x"))  # not a number: counts as 1
    assert state == b'{"count":-6}'
    assert a.request(b'{"count":4}', b"inc") == (b'{"count":5}', (b"5",))
    assert a.logs == []  # nothing logged on the hot path
    assert a.request(state, b"what") == (state, (b"unknown",))
    assert a.logs == ["counter: unknown request what"]
    assert a.request(None, b"get") == (None, (b"0",))


def test_counter_channels():
    a = Actor("counter")
    opened = a.channel_open(b'{"count":1}', b"hello")
    assert opened[0] == b'{"count":1}'
    accept = opened[1][0]
    assert accept.accepted is True and accept.message is None
    assert a.channel_message(b'{"count":1}', b"x") == (b'{"count":2}',)
    assert a.channel_message(b'{"count":1}', b"add:5") == (b'{"count":6}',)
    assert a.channel_close(b'{"count":6}') == (b'{"count":6}',)


def test_counter_a_is_era_a_and_logs_its_id():
    a = Actor("counter_a")
    state = state_of(a.init(None, ("actor-42",)))
    assert state == b'{"count":0}'
    assert a.logs == ["counter_a: init actor-42"]
    state = state_of(a.send(state, b"x"))
    assert a.request(state, b"inc") == (b'{"count":2}', (b"2",))
    with pytest.raises(TypeError):  # era A's init takes two parameters
        Actor("counter_a").init(None)


# --------------------------------------------------------------------------
# echo
# --------------------------------------------------------------------------

def test_echo():
    sent = []
    a = Actor("echo", {MSH: {"send-on-channel": lambda cid, msg: sent.append((cid, msg))}})
    assert a.init(None) == (None,)
    assert a.init(b"\x00\xffraw") == (b"\x00\xffraw",)
    assert a.send(b"s", b"hello") == (b"s",)
    payload = bytes(range(256))
    assert a.request(None, payload) == (None, (payload,))
    assert a.request(b"s", b"") == (b"s", (b"",))
    opened = a.channel_open(b"s", b"first")
    assert opened[0] == b"s"
    assert opened[1][0].accepted is True and opened[1][0].message == b"first"
    assert a.channel_message(b"s", b"ping", "chan-9") == (b"s",)
    assert sent == [("chan-9", b"ping")]
    assert a.channel_close(b"s", "chan-9") == (b"s",)
    assert a.logs == ["echo: hello", "echo: channel closed"]


@pytest.mark.parametrize("payload", [
    b"caf\xc3\xa9 \xf0\x9f\x8e\xad",     # valid UTF-8 stays as is
    b"\xff\xfe bad \xc3",                # invalid bytes and a truncated sequence
    b"\xe0\x80\xaf \xed\xa0\x80 \xf4\x90\x80\x80 \xf0\x9f\x98",  # overlong, surrogate, > U+10FFFF
])
def test_echo_logs_bytes_as_text_like_python_replace(payload):
    a = Actor("echo", {MSH: {"send-on-channel": lambda cid, msg: None}})
    a.send(None, payload)
    assert a.logs == ["echo: " + payload.decode("utf-8", "replace")]


def test_echo_survives_a_failed_channel_send():
    a = Actor("echo", {MSH: {"send-on-channel": lambda cid, msg: "channel closed"}})
    assert a.channel_message(None, b"x") == (None,)
    assert a.logs == ["echo: send-on-channel failed: channel closed"]


def test_the_heap_is_reset_after_every_call():
    # 16 calls with 16 KiB each: 256 KiB in all, more than the memory limit
    # allows, unless the post-return functions free the bump heap.
    a = Actor("echo", {MSH: {"send-on-channel": lambda cid, msg: None}},
              store_setup=lambda s: s.set_limits(memory_size=256 * 1024))
    big = bytes(range(256)) * 64
    for _ in range(16):
        assert a.request(None, big) == (None, (big,))


# --------------------------------------------------------------------------
# crasher
# --------------------------------------------------------------------------

def test_crasher_init():
    a = Actor("crasher")
    assert a.init(None) == (b'{"fail_at":0,"mode":"trap","seen":0}',)
    assert a.init(b'{"fail_at": 3, "mode": "err"}') == (b'{"fail_at":3,"mode":"err","seen":0}',)
    assert a.init(b'{"seen":2,"mode":"other","x":1}') == (b'{"fail_at":0,"mode":"trap","seen":2}',)
    assert a.init(b'{"fail_init":"err"}') == "crasher: init failed on request"
    with pytest.raises(WasmtimeError, match="unreachable"):
        a.init(b'{"fail_init":"trap"}')
    assert a.logs == ["crasher: trap in init"]


def test_crasher_commands():
    a = Actor("crasher")
    state = state_of(a.init(None))
    state = state_of(a.send(state, b"hello"))
    assert state == b'{"fail_at":0,"mode":"trap","seen":1}'
    assert a.request(state, b"x") == (b'{"fail_at":0,"mode":"trap","seen":2}', (b"ok",))
    assert a.send(state, b"err") == "crasher: error on request"
    assert a.request(state, b"err") == "crasher: error on request"
    assert a.channel_message(state, b"err") == "crasher: error on request"
    opened = a.channel_open(state, b"")
    assert opened[0] == state and opened[1][0].accepted is True
    assert a.channel_close(state) == (state,)
    with pytest.raises(WasmtimeError, match="unreachable"):
        a.send(state, b"trap")
    assert a.logs == ["crasher: trap on request"]


def test_crasher_trap_in_request_and_channel():
    for call in (lambda a: a.request(None, b"trap"), lambda a: a.channel_message(None, b"trap")):
        with pytest.raises(WasmtimeError, match="unreachable"):
            call(Actor("crasher"))


def test_crasher_fails_at_the_nth_message():
    a = Actor("crasher")
    state = state_of(a.init(b'{"fail_at":3,"mode":"err"}'))
    state = state_of(a.send(state, b"a"))
    state = state_of(a.send(state, b"b"))
    assert state == b'{"fail_at":3,"mode":"err","seen":2}'
    assert a.send(state, b"c") == "crasher: failed on message 3"
    assert a.request(state, b"c") == "crasher: failed on message 3"

    t = Actor("crasher")
    state = state_of(t.init(b'{"fail_at":2}'))
    state = state_of(t.send(state, b"a"))
    with pytest.raises(WasmtimeError, match="unreachable"):
        t.send(state, b"b")
    assert t.logs == ["crasher: trap on message 2"]


# --------------------------------------------------------------------------
# looper and hog
# --------------------------------------------------------------------------

def fueled(store):
    store.set_fuel(1_000_000)


def test_looper():
    a = Actor("looper", engine=FUEL_ENGINE, store_setup=fueled)
    assert a.init(None) == (b"{}",)
    assert a.init(b'{"a":1}') == (b'{"a":1}',)
    assert a.request(b"{}", b"ping") == (b"{}", (b"pong",))
    opened = a.channel_open(b"{}", b"")
    assert opened[1][0].accepted is True
    assert a.channel_close(b"{}") == (b"{}",)
    with pytest.raises(WasmtimeError, match="all fuel consumed"):
        a.send(b"{}", b"loop")
    assert a.logs == ["looper: looping forever"]


@pytest.mark.parametrize("call", ["request", "channel_message"])
def test_looper_hangs_on_other_messages(call):
    a = Actor("looper", engine=FUEL_ENGINE, store_setup=fueled)
    with pytest.raises(WasmtimeError, match="all fuel consumed"):
        getattr(a, call)(None, b"anything")


def limited(store):
    store.set_limits(memory_size=4 * 1024 * 1024)


def test_hog():
    a = Actor("hog", store_setup=limited)
    assert a.init(None) == (None,)
    assert a.request(b"s", b"ping") == (b"s", (b"pong",))
    assert a.channel_open(b"s", b"")[1][0].accepted is True
    with pytest.raises(WasmtimeError, match="unreachable"):
        a.send(b"s", b"eat")
    assert a.logs == ["hog: growing memory until it runs out"]


@pytest.mark.parametrize("call", ["request", "channel_message"])
def test_hog_exhausts_memory_on_other_messages(call):
    a = Actor("hog", store_setup=limited)
    with pytest.raises(WasmtimeError, match="unreachable"):
        getattr(a, call)(None, b"more")


# --------------------------------------------------------------------------
# pinger
# --------------------------------------------------------------------------

def pinger_state(target="", sent=0, replies=0, errors=0, channel="", received=0) -> bytes:
    return json.dumps({"target": target, "sent": sent, "replies": replies, "errors": errors,
                       "channel": channel, "received": received},
                      separators=(",", ":")).encode()


def test_pinger():
    calls = []

    def send(target, msg):
        calls.append(("send", target, msg))
        return None if target == "peer" else f"no such actor: {target}"

    def request(target, msg):
        calls.append(("request", target, msg))
        return b"re:" + msg if msg != b"fail" else "timed out"

    a = Actor("pinger", {MSH: {**Channels().host()[MSH], "send": send, "request": request}})
    assert a.init(None) == (pinger_state(),)
    state = state_of(a.init(b'{"target": "peer"}'))
    assert state == pinger_state("peer")
    state = state_of(a.send(state, b"send:hi"))
    assert state == pinger_state("peer", sent=1)
    state = state_of(a.send(state, b"request:q"))
    assert state == pinger_state("peer", sent=1, replies=1)
    state = state_of(a.send(state, b"request:fail"))
    assert state == pinger_state("peer", sent=1, replies=1, errors=1)
    assert a.request(state, b"stats") == (state, (state,))
    assert a.request(state, b"?") == (state, (b"unknown",))
    state = state_of(a.send(state, b"target:other"))
    assert state == pinger_state("other", sent=1, replies=1, errors=1)
    state = state_of(a.send(state, b"send:x"))
    assert state == pinger_state("other", sent=1, replies=1, errors=2)
    assert a.send(state, b"noise") == (state,)
    assert calls == [("send", "peer", b"hi"), ("request", "peer", b"q"),
                     ("request", "peer", b"fail"), ("send", "other", b"x")]
    assert a.logs == ["pinger: reply re:q", "pinger: request failed: timed out",
                      "pinger: send failed: no such actor: other"]
    assert a.channel_open(state, b"")[1][0].accepted is True
    a.logs.clear()
    assert a.channel_message(state, b"send:x") == (  # counted, not obeyed
        pinger_state("other", sent=1, replies=1, errors=2, received=1),)
    assert a.channel_close(state) == (state,)  # not its channel: the state stays
    assert a.logs == ["pinger: channel message send:x", "pinger: channel closed"]
    assert len(calls) == 4


class Channels:
    """Stubbed channel functions of message-server-host that record their calls."""

    def __init__(self):
        self.calls = []
        self.fail = {}  # function name -> the err string it returns

    def _call(self, name, *args):
        self.calls.append((name, *args))
        return self.fail.get(name)

    def open_channel(self, target, msg):
        err = self._call("open-channel", target, msg)
        # result<channel-id, string>: both cases are str, so the value is tagged
        return Variant("err", err) if err else Variant("ok", f"chan-{len(self.calls)}")

    def host(self):
        return {MSH: {
            "send": lambda t, m: None,
            "request": lambda t, m: b"",
            "open-channel": self.open_channel,
            "send-on-channel": lambda cid, msg: self._call("send-on-channel", cid, msg),
            "close-channel": lambda cid: self._call("close-channel", cid),
        }}


def test_pinger_channels():
    host = Channels()
    a = Actor("pinger", host.host())
    state = state_of(a.init(b'{"target":"peer"}'))
    assert state == pinger_state("peer")
    state = state_of(a.send(state, b"open:hello"))
    assert state == pinger_state("peer", channel="chan-1")
    state = state_of(a.send(state, b"chan:one"))
    state = state_of(a.send(state, b"chan:two"))
    assert state == pinger_state("peer", channel="chan-1")
    state = state_of(a.channel_message(state, b"pong", "chan-1"))
    state = state_of(a.channel_message(state, b"\xffpong", "chan-1"))
    assert state == pinger_state("peer", channel="chan-1", received=2)
    state = state_of(a.send(state, b"close"))
    assert state == pinger_state("peer", received=2)
    assert host.calls == [("open-channel", "peer", b"hello"),
                          ("send-on-channel", "chan-1", b"one"),
                          ("send-on-channel", "chan-1", b"two"),
                          ("close-channel", "chan-1")]
    assert a.logs == ["pinger: channel message pong", "pinger: channel message \ufffdpong"]
    assert a.request(state, b"stats") == (state, (state,))


def test_pinger_channel_closed_by_the_peer():
    a = Actor("pinger", Channels().host())
    state = pinger_state("peer", channel="chan-7", received=3)
    assert a.channel_close(state, "chan-7") == (pinger_state("peer", received=3),)
    assert a.channel_close(state, "chan-8") == (state,)  # another channel: only logged
    assert a.logs == ["pinger: channel closed", "pinger: channel closed"]


def test_pinger_channel_failures_count_as_errors():
    host = Channels()
    host.fail = {"open-channel": "no such actor: peer", "send-on-channel": "channel closed",
                 "close-channel": "unknown channel"}
    a = Actor("pinger", host.host())
    state = state_of(a.send(pinger_state("peer"), b"open:hi"))
    assert state == pinger_state("peer", errors=1)
    state = state_of(a.send(pinger_state("peer", channel="c"), b"chan:x"))
    assert state == pinger_state("peer", errors=1, channel="c")
    state = state_of(a.send(state, b"close"))
    assert state == pinger_state("peer", errors=2)  # the channel is forgotten all the same
    assert host.calls == [("open-channel", "peer", b"hi"), ("send-on-channel", "c", b"x"),
                          ("close-channel", "c")]
    assert a.logs == ["pinger: open failed: no such actor: peer",
                      "pinger: channel send failed: channel closed",
                      "pinger: close failed: unknown channel"]


def test_pinger_target_escaping_round_trips():
    a = Actor("pinger", Channels().host())
    target = 'we"ird\\id\n\u00e9\U0001f3ad'
    state = state_of(a.send(None, b"target:" + target.encode()))
    assert json.loads(state)["target"] == target
    assert state_of(a.init(state)) == state
    assert state_of(a.init(json.dumps({"target": target}).encode())) == state  # \u escapes


# --------------------------------------------------------------------------
# keeper
# --------------------------------------------------------------------------

class Requests:
    """Stubbed outstanding-request functions of message-server-host (and runtime's
    get-chain and shutdown) that record their calls."""

    def __init__(self, outstanding=(), chain_length=0):
        self.outstanding = list(outstanding)
        self.chain_length = chain_length
        self.calls = []
        self.fail = {}  # function name -> {argument -> the err string it returns}

    def _call(self, name, key, *args):
        self.calls.append((name, key, *args))
        return self.fail.get(name, {}).get(key)

    def get_chain(self):
        # records: objects with the fields as attributes (hyphens included)
        event = SimpleNamespace(**{"event-type": "wasm", "parent": None, "data": b"{}"})
        return SimpleNamespace(events=[SimpleNamespace(hash=i, event=event)
                                       for i in range(self.chain_length)])

    def host(self):
        return {
            RUNTIME: {"get-chain": self.get_chain,
                      "shutdown": lambda data: self._call("shutdown", data)},
            MSH: {"list-outstanding-requests": lambda: list(self.outstanding),
                  "respond-to-request": lambda rid, msg: self._call("respond-to-request", rid, msg),
                  "cancel-request": lambda rid: self._call("cancel-request", rid)},
        }


def test_keeper_defers_requests():
    host = Requests()
    a = Actor("keeper", host.host())
    assert a.init(None) == (None,)
    assert a.init(b"kept") == (b"kept",)
    assert a.request(None, b"hold this", "req-1") == (None, (None,))  # none: answered later
    assert a.request(b"s", b"") == (b"s", (None,))
    assert host.calls == [] and a.logs == []


def test_keeper_counts_the_other_outstanding_requests():
    a = Actor("keeper", Requests(["req-1", "req-2", "req-3"]).host())
    assert a.request(None, b"count", "req-2") == (None, (b"2",))  # itself left out
    assert a.request(None, b"count", "req-9") == (None, (b"3",))  # not listed: all count
    assert Actor("keeper", Requests().host()).request(None, b"count") == (None, (b"0",))


def test_keeper_counts_its_chain():
    assert Actor("keeper", Requests(chain_length=5).host()).request(b"s", b"chain") == (
        b"s", (b"5",))
    assert Actor("keeper", Requests().host()).request(b"s", b"chain") == (b"s", (b"0",))


def test_keeper_answers_and_cancels_every_outstanding_request():
    host = Requests(["r1", "r2", "r3"])
    a = Actor("keeper", host.host())
    assert a.send(b"s", b"answer:42") == (b"s",)
    assert host.calls == [("respond-to-request", "r1", b"42"), ("respond-to-request", "r2", b"42"),
                          ("respond-to-request", "r3", b"42")]
    host.calls.clear()
    assert a.send(None, b"answer:") == (None,)  # an empty answer is an answer
    assert host.calls == [("respond-to-request", rid, b"") for rid in ("r1", "r2", "r3")]
    host.calls.clear()
    assert a.send(None, b"cancel") == (None,)
    assert host.calls == [("cancel-request", "r1"), ("cancel-request", "r2"),
                          ("cancel-request", "r3")]
    assert a.logs == []


def test_keeper_carries_on_after_host_errors():
    host = Requests(["r1", "r2"])
    host.fail = {"respond-to-request": {"r1": "request r1 already answered"},
                 "cancel-request": {"r2": "unknown request r2"},
                 "shutdown": {b"bye": "already stopping"}}
    a = Actor("keeper", host.host())
    assert a.send(None, b"answer:x") == (None,)
    assert a.send(None, b"cancel") == (None,)
    assert a.send(None, b"shutdown:bye") == (None,)
    assert host.calls == [("respond-to-request", "r1", b"x"), ("respond-to-request", "r2", b"x"),
                          ("cancel-request", "r1"), ("cancel-request", "r2"),
                          ("shutdown", b"bye")]
    assert a.logs == ["keeper: respond-to-request failed: request r1 already answered",
                      "keeper: cancel-request failed: unknown request r2",
                      "keeper: shutdown failed: already stopping"]


def test_keeper_shutdown_and_other_sends():
    host = Requests(["r1"])
    a = Actor("keeper", host.host())
    assert a.send(b"s", b"shutdown:done \x00\xff") == (b"s",)
    assert host.calls == [("shutdown", b"done \x00\xff")]  # some(<text>), bytes as given
    host.calls.clear()
    for ignored in (b"answer", b"cancel:x", b"shutdown", b"hello"):
        assert a.send(b"s", ignored) == (b"s",)
    assert host.calls == [] and a.logs == []
    opened = a.channel_open(b"s", b"hi")
    assert opened[0] == b"s" and opened[1][0].accepted is True and opened[1][0].message is None
    assert a.channel_message(b"s", b"answer:x") == (b"s",)
    assert a.channel_close(b"s") == (b"s",)
    assert host.calls == []


# --------------------------------------------------------------------------
# sleeper
# --------------------------------------------------------------------------

class Clock:
    def __init__(self, now=1_000):
        self.now_ms = now
        self.calls = []
        self.fail = None

    def now(self):
        return self.now_ms

    def sleep(self, ms):
        self.calls.append(("sleep", ms))
        if self.fail:
            return self.fail
        self.now_ms += ms

    def deadline(self, ts):
        self.calls.append(("deadline", ts))
        if self.fail:
            return self.fail
        self.now_ms = max(self.now_ms, ts)

    def host(self):
        return {TIMING: {"now": self.now, "sleep": self.sleep, "deadline": self.deadline}}


def test_sleeper():
    clock = Clock()
    a = Actor("sleeper", clock.host())
    state = state_of(a.init(None))
    assert state == b'{"wakes":0,"last":0}'
    state = state_of(a.send(state, b"sleep:250"))
    assert state == b'{"wakes":1,"last":1250}'
    state = state_of(a.send(state, b"deadline:100"))
    assert state == b'{"wakes":2,"last":1350}'
    clock.now_ms = 5_000
    state = state_of(a.send(state, b"now"))
    assert state == b'{"wakes":2,"last":5000}'
    assert clock.calls == [("sleep", 250), ("deadline", 1350)]
    assert a.logs == ["sleeper: woke at 1250", "sleeper: woke at 1350"]
    assert a.request(state, b"now") == (state, (b"5000",))
    assert a.request(b'{"last":7}', b"state") == (b'{"last":7}', (b'{"wakes":0,"last":7}',))
    assert a.request(state, b"x") == (state, (b"unknown",))
    assert a.send(state, b"ignored") == (state,)
    assert a.send(state, b"sleep:soon") == "sleeper: not a number of ms: soon"
    assert a.channel_message(state, b"sleep:1") == (b'{"wakes":3,"last":5001}',)
    clock.fail = "interrupted"
    assert a.send(state, b"sleep:5") == "sleeper: interrupted"
    assert a.send(state, b"deadline:5") == "sleeper: interrupted"


def test_sleeper_large_clock_values():
    clock = Clock(now=2**63 + 5)
    a = Actor("sleeper", clock.host())
    assert a.request(None, b"now") == (None, (str(2**63 + 5).encode(),))


# --------------------------------------------------------------------------
# random_user
# --------------------------------------------------------------------------

def test_random_user():
    host = {RANDOM: {
        "random-bytes": lambda n: bytes(i % 256 for i in range(n)),
        "random-range": lambda lo, hi: (lo + hi) // 2,
        "random-float": lambda: 0.1,
        # result<string, string>: both cases are str, so wasmtime-py tags them
        "generate-uuid": lambda: Variant("ok", str(uuid.UUID(int=42))),
    }}
    a = Actor("random_user", host)
    assert a.init(None) == (None,)
    assert a.request(b"s", b"bytes:5") == (b"s", (b"\x00\x01\x02\x03\x04",))
    assert a.request(b"s", b"bytes:0") == (b"s", (b"",))
    assert a.request(b"s", b"range:10:20") == (b"s", (b"15",))
    assert a.request(b"s", b"range:0:18446744073709551614") == (b"s", (b"9223372036854775807",))
    assert a.request(b"s", b"uuid") == (b"s", (str(uuid.UUID(int=42)).encode(),))
    assert a.request(b"s", b"float") == (b"s", (struct.pack(">d", 0.1).hex().encode(),))
    assert a.request(b"s", b"range:1") == (b"s", (b"unknown",))
    assert a.logs == ["random_user: unknown request range:1"]
    assert a.send(b"s", b"bytes:1") == (b"s",)
    assert a.channel_open(b"s", b"")[1][0].accepted is True
    assert a.channel_message(b"s", b"x") == (b"s",)
    assert a.channel_close(b"s") == (b"s",)


def test_random_user_host_errors():
    host = {RANDOM: {
        "random-bytes": lambda n: "entropy exhausted",
        "random-range": lambda lo, hi: "bad range",
        "random-float": lambda: "no floats",
        "generate-uuid": lambda: Variant("err", "no uuids"),
    }}
    a = Actor("random_user", host)
    assert a.request(None, b"bytes:3") == "random_user: entropy exhausted"
    assert a.request(None, b"range:5:1") == "random_user: bad range"
    assert a.request(None, b"float") == "random_user: no floats"
    assert a.request(None, b"uuid") == "random_user: no uuids"


# --------------------------------------------------------------------------
# supervisors: sup_one, sup_all, sup_perm, worker_sup
# --------------------------------------------------------------------------

class Supervision:
    """Stubbed theater:simple/supervisor functions that record their calls."""

    def __init__(self, children=()):
        self.children = list(children)  # what list-children returns
        self.spawned = 0
        self.calls = []
        self.fail = {}  # function name -> the err string it returns
        self.states = {}  # child id -> option<list<u8>> for get-child-state
        self.events = {}  # child id -> number of events for get-child-events

    def _call(self, name, *args):
        self.calls.append((name, *args))
        return self.fail.get(name)

    def spawn(self, manifest, init):
        if err := self._call("spawn", manifest, init):
            return Variant("err", err)  # result<string, string>: tagged
        self.spawned += 1
        child = f"child-{self.spawned}"
        self.children.append(child)
        return Variant("ok", child)

    def get_child_state(self, child):
        if err := self._call("get-child-state", child):
            return Variant("err", err)  # needs the lowering_errs_of_untagged_results fixture
        return self.states.get(child)

    def get_child_events(self, child):
        if err := self._call("get-child-events", child):
            return err
        event = SimpleNamespace(**{"hash": b"h", "parent-hash": None, "event-type": "wasm",
                                   "data": b"", "description": None})
        return [event] * self.events.get(child, 0)

    def host(self):
        return {SUP: {
            "spawn": self.spawn,
            "list-children": lambda: list(self.children),
            "restart-child": lambda child: self._call("restart-child", child),
            "stop-child": lambda child: self._call("stop-child", child),
            "get-child-state": self.get_child_state,
            "get-child-events": self.get_child_events,
        }}


def sup_state(children=(), restarts=0) -> bytes:
    return json.dumps({"children": list(children), "restarts": restarts},
                      separators=(",", ":")).encode()


@pytest.fixture
def lowering_errs_of_untagged_results(monkeypatch):
    """Let a host function return Variant("err", ...) for result<option<list<u8>>, string>.

    wasmtime-py cannot lower an err into that type (SPEC section 8: its untagged
    lowering tries the ok case, option<...>, for any value and fails); lowering a
    Variant by its tag, as it does for tagged results, works."""
    original = ResultType._lower

    def lower(self, store, val):
        if isinstance(val, Variant) and not self._tagged():
            ResultType._tagged = lambda _self: True  # lower by the tag, this once
            try:
                return original(self, store, val)
            finally:
                del ResultType._tagged  # back to the inherited VariantLikeType._tagged
        return original(self, store, val)

    monkeypatch.setattr(ResultType, "_lower", lower)


@pytest.mark.parametrize("name", SUPERVISORS)
def test_supervisor_init(name):
    a = Actor(name, Supervision().host())
    assert a.init(None) == (sup_state(),)
    assert a.init(b'{"restarts":2,"x":1,"children":["a", "b",3,["c"],"d"]}') == (
        sup_state(["a", "b", "d"], 2),)  # non-strings are dropped
    assert a.init(b'{"children":"a"}') == (sup_state(),)
    assert a.init(b"not json") == (sup_state(),)


@pytest.mark.parametrize("name", SUPERVISORS)
def test_supervisor_spawn_bookkeeping(name):
    sup = Supervision()
    a = Actor(name, sup.host())
    state = state_of(a.init(None))
    state = state_of(a.send(state, b"spawn:actors/counter.toml"))
    state = state_of(a.send(state, b"spawn:echo.toml"))
    assert state == sup_state(["child-1", "child-2"])
    sup.fail["spawn"] = "no such manifest: nope.toml"
    assert a.send(state, b"spawn:nope.toml") == (state,)
    assert sup.calls == [("spawn", "actors/counter.toml", None), ("spawn", "echo.toml", None),
                         ("spawn", "nope.toml", None)]
    assert a.logs == [f"{name}: spawned child-1", f"{name}: spawned child-2",
                      f"{name}: spawn failed: no such manifest: nope.toml"]
    assert a.send(state, b"unknown command") == (state,)


@pytest.mark.parametrize("name", SUPERVISORS)
def test_supervisor_requests(name):
    sup = Supervision(["a", 'we"ird'])
    sup.states = {"a": b'{"count":3}'}
    sup.events = {"a": 7}
    a = Actor(name, sup.host())
    state = sup_state(["a"], 4)
    assert a.request(state, b"children") == (state, (b'["a","we\\"ird"]',))
    assert a.request(state, b"restarts") == (state, (b"4",))
    assert a.request(state, b"state:a") == (state, (b'{"count":3}',))
    assert a.request(state, b"state:b") == (state, (b"none",))
    assert a.request(state, b"events:a") == (state, (b"7",))
    assert a.request(state, b"events:b") == (state, (b"0",))
    sup.fail["get-child-events"] = "no child b"
    assert a.request(state, b"events:b") == (state, (b"err:no child b",))
    assert a.request(state, b"what") == (state, (b"unknown",))
    assert sup.calls == [("get-child-state", "a"), ("get-child-state", "b"),
                         ("get-child-events", "a"), ("get-child-events", "b"),
                         ("get-child-events", "b")]
    assert a.logs == [f"{name}: get-child-events b failed: no child b",
                      f"{name}: unknown request what"]


def test_supervisor_child_state_error(lowering_errs_of_untagged_results):
    sup = Supervision()
    sup.fail["get-child-state"] = "no child x"
    a = Actor("sup_one", sup.host())
    assert a.request(b"{}", b"state:x") == (b"{}", (b"err:no child x",))
    assert a.logs == ["sup_one: get-child-state x failed: no child x"]


@pytest.mark.parametrize("name", SUPERVISORS)
def test_supervisor_child_exit_and_external_stop(name):
    sup = Supervision()
    a = Actor(name, sup.host())
    state = sup_state(["a", "b", "c"], 1)
    state = state_of(a.child_exit(state, "b", b"bye"))
    assert state == sup_state(["a", "c"], 1)
    state = state_of(a.child_external_stop(state, "a"))
    assert state == sup_state(["c"], 1)
    state = state_of(a.child_exit(state, "zzz"))  # not a known child: only logged
    assert state == sup_state(["c"], 1)
    assert sup.calls == []
    assert a.logs == [f"{name}: child b exited", f"{name}: child a stopped",
                      f"{name}: child zzz exited"]


@pytest.mark.parametrize("name", SUPERVISORS)
def test_supervisor_keeps_a_stopped_child_that_runs_again(name):
    sup = Supervision(children=["a", "c"])  # its policy stopped and restarted "a" before the notice
    a = Actor(name, sup.host())
    state = state_of(a.child_external_stop(sup_state(["a", "b", "c"], 1), "a"))
    assert state == sup_state(["a", "b", "c"], 1)
    assert a.logs == [f"{name}: child a stopped"]


@pytest.mark.parametrize("name", SUPERVISORS)
def test_supervisor_stops_a_child(name):
    sup = Supervision()
    a = Actor(name, sup.host())
    state = sup_state(["a", "b"])
    assert a.send(state, b"stop:a") == (state,)  # removed when external-stop arrives
    sup.fail["stop-child"] = "not running"
    assert a.send(state, b"stop:b") == (state,)
    assert sup.calls == [("stop-child", "a"), ("stop-child", "b")]
    assert a.logs == [f"{name}: stopping a", f"{name}: stopping b",
                      f"{name}: stop-child b failed: not running"]


@pytest.mark.parametrize("name", ["sup_one", "sup_perm", "worker_sup"])
def test_one_for_one_restarts_the_failed_child(name):
    sup = Supervision()
    a = Actor(name, sup.host())
    state = sup_state(["a", "b", "c"], 1)
    state = state_of(a.child_error(state, "b", b'{"error":"trap"}'))
    assert state == sup_state(["a", "b", "c"], 2)
    state = state_of(a.child_error(state, "x", None, "operation-timeout"))  # not listed
    assert state == sup_state(["a", "b", "c"], 3)
    sup.fail["restart-child"] = "no such child"
    state = state_of(a.child_error(state, "c", None))
    assert state == sup_state(["a", "b", "c"], 3)  # a failed restart is not counted
    assert sup.calls == [("restart-child", "b"), ("restart-child", "x"), ("restart-child", "c")]
    assert a.logs == [f"{name}: restarting b", f"{name}: restarting x", f"{name}: restarting c",
                      f"{name}: restart-child c failed: no such child"]


def test_sup_all_restarts_every_child_in_start_order():
    sup = Supervision()
    a = Actor("sup_all", sup.host())
    state = state_of(a.child_error(sup_state(["a", "b", "c"], 1), "b", b"{}"))
    assert state == sup_state(["a", "b", "c"], 4)
    assert sup.calls == [("stop-child", "c"), ("stop-child", "a"),  # the others, last started first
                         ("restart-child", "a"), ("restart-child", "b"), ("restart-child", "c")]
    assert a.logs == ["sup_all: stopping c", "sup_all: stopping a",
                      "sup_all: restarting a", "sup_all: restarting b", "sup_all: restarting c"]


def test_sup_all_counts_the_restarts_that_worked():
    sup = Supervision()
    sup.fail["restart-child"] = "busy"
    a = Actor("sup_all", sup.host())
    assert a.child_error(sup_state(["a", "b"]), "a", None) == (sup_state(["a", "b"]),)
    assert a.logs == ["sup_all: stopping b", "sup_all: restarting a", "sup_all: restart-child a failed: busy",
                      "sup_all: restarting b", "sup_all: restart-child b failed: busy"]


def test_sup_all_restarts_an_unlisted_failed_child_last():
    sup = Supervision()
    a = Actor("sup_all", sup.host())
    assert a.child_error(sup_state(["a", "b"]), "z", None) == (sup_state(["a", "b"], 3),)
    assert sup.calls == [("stop-child", "b"), ("stop-child", "a"),
                         ("restart-child", "a"), ("restart-child", "b"), ("restart-child", "z")]
    assert a.child_error(sup_state(), "z", None) == (sup_state([], 1),)


@pytest.mark.parametrize("data", [
    b'{"error":"permanent failure"}',
    b"permanent",
    b'{"category":"Wasm","WasmError":{"message":"crasher: not permanently fixable"}}',
])
def test_sup_perm_gives_up_on_permanent_failures(data):
    sup = Supervision()
    a = Actor("sup_perm", sup.host())
    state = state_of(a.child_error(sup_state(["a", "b", "c"], 1), "b", data))
    assert state == sup_state(["a", "c"], 1)
    assert sup.calls == []
    assert a.logs == ["sup_perm: not restarting b"]


@pytest.mark.parametrize("data", [None, b"", b"Permanent", b"perm anent", b'{"error":"trap"}'])
def test_sup_perm_restarts_other_failures(data):
    sup = Supervision()
    a = Actor("sup_perm", sup.host())
    assert a.child_error(sup_state(["a", "b"]), "b", data) == (sup_state(["a", "b"], 1),)
    assert sup.calls == [("restart-child", "b")]
    assert a.logs == ["sup_perm: restarting b"]


def test_worker_sup():
    sup = Supervision()
    a = Actor("worker_sup", sup.host())
    state = state_of(a.init(None))
    state = state_of(a.send(state, b"initialize"))
    assert state == sup_state(["child-1", "child-2", "child-3"])
    state = state_of(a.send(state, b"add_worker"))
    assert state == sup_state(["child-1", "child-2", "child-3", "child-4"])
    assert sup.calls == [("spawn", "counter.toml", None)] * 4
    assert a.request(state, b"status") == (state, (b"4",))
    sup.children = ["child-1"]  # status asks the host, not the state
    assert a.request(state, b"status") == (state, (b"1",))
    state = state_of(a.child_error(state, "child-2", b"{}"))
    assert state == sup_state(["child-1", "child-2", "child-3", "child-4"], 1)
    assert sup.calls[4:] == [("restart-child", "child-2")]
    assert a.logs == [f"worker_sup: spawned child-{i}" for i in (1, 2, 3, 4)] + [
        "worker_sup: restarting child-2"]
    sup.fail["spawn"] = "out of workers"
    assert a.send(state, b"add_worker") == (state,)
    assert a.logs[-1] == "worker_sup: spawn failed: out of workers"


def test_supervisor_state_escaping_round_trips():
    odd = 'we"ird\\id\n\u00e9\U0001f3ad'
    sup = Supervision()
    sup.spawn = lambda manifest, init: Variant("ok", odd)
    a = Actor("sup_one", sup.host())
    state = state_of(a.send(None, b"spawn:x.toml"))
    assert json.loads(state) == {"children": [odd], "restarts": 0}
    assert state_of(a.init(state)) == state
    escaped = json.dumps({"children": [odd, "b"]}).encode()  # \u escapes, surrogate pairs
    assert json.loads(state_of(a.init(escaped))) == {"children": [odd, "b"], "restarts": 0}
    assert state_of(a.child_exit(state, odd)) == sup_state()


# --------------------------------------------------------------------------
# mutant supervisors: sup_wrong, sup_never (deliberately broken)
# --------------------------------------------------------------------------

@pytest.mark.parametrize("name", MUTANT_SUPERVISORS)
def test_mutant_supervisor_interface(name):
    expected = {iface: list(funcs) for iface, funcs in SUPERVISOR_IMPORTS.items()}
    if name == "sup_never":  # never calls restart-child, so the component does not import it
        expected[SUP].remove("restart-child")
    assert imports_of(name) == expected
    exports = component(name).type.exports(ENGINE)
    assert sorted(exports) == ["theater:simple/actor", MSC, SUP_HANDLERS]
    assert functions(exports[SUP_HANDLERS]) == [
        "handle-child-error", "handle-child-exit", "handle-child-external-stop"]


@pytest.mark.parametrize("name", MUTANT_SUPERVISORS)
def test_mutant_supervisor_is_otherwise_sup_one(name):
    # Only the restart policy is broken: the common part behaves as for the others.
    test_supervisor_init(name)
    test_supervisor_spawn_bookkeeping(name)
    test_supervisor_requests(name)
    test_supervisor_child_exit_and_external_stop(name)
    test_supervisor_stops_a_child(name)


@pytest.mark.parametrize("failed,restarted", [("b", "a"), ("a", "b"), ("c", "a"), ("x", "a")])
def test_sup_wrong_restarts_the_first_other_child(failed, restarted):
    sup = Supervision()
    a = Actor("sup_wrong", sup.host())
    state = state_of(a.child_error(sup_state(["a", "b", "c"], 1), failed, b'{"error":"trap"}'))
    assert state == sup_state(["a", "b", "c"], 2)
    assert sup.calls == [("stop-child", restarted), ("restart-child", restarted)]
    assert a.logs == [f"sup_wrong: stopping {restarted}", f"sup_wrong: restarting {restarted}"]


@pytest.mark.parametrize("children", [["a"], []])
def test_sup_wrong_restarts_nothing_without_another_child(children):
    sup = Supervision()
    a = Actor("sup_wrong", sup.host())
    assert a.child_error(sup_state(children, 1), "a", None) == (sup_state(children, 1),)
    assert sup.calls == []
    assert a.logs == []


def test_sup_wrong_does_not_count_a_failed_restart():
    sup = Supervision()
    sup.fail["restart-child"] = "no such child"
    a = Actor("sup_wrong", sup.host())
    assert a.child_error(sup_state(["a", "b"]), "a", None) == (sup_state(["a", "b"]),)
    assert sup.calls == [("stop-child", "b"), ("restart-child", "b")]
    assert a.logs == ["sup_wrong: stopping b", "sup_wrong: restarting b",
                      "sup_wrong: restart-child b failed: no such child"]


@pytest.mark.parametrize("children,failed", [(["a", "b", "c"], "b"), (["a"], "a"), ([], "x")])
def test_sup_never_never_restarts(children, failed):
    sup = Supervision()
    a = Actor("sup_never", sup.host())
    state = sup_state(children, 3)
    assert a.child_error(state, failed, b'{"error":"trap"}') == (state,)  # the child stays listed
    assert sup.calls == []
    assert a.logs == [f"sup_never: ignoring failure of {failed}"]


# --------------------------------------------------------------------------
# hostile actors: spawn_bomb, log_bomb, self_loop, chain_bomb, state_hog
# --------------------------------------------------------------------------

def test_spawn_bomb_without_depth_waits_for_a_command():
    sup = Supervision()
    a = Actor("spawn_bomb", sup.host())
    assert a.init(None) == (None,)
    assert a.init(b'{"other":1}') == (b'{"other":1}',)
    assert sup.calls == []
    assert a.send(b"s", b"what") == (b"s",)
    assert a.request(b"s", b"ping") == (b"s", (b"pong",))
    assert a.request(b"s", b"other") == (b"s", (b"unknown",))
    sup.children = ["c1", "c2"]
    assert a.request(b"s", b"children") == (b"s", (b"2",))


def test_spawn_bomb_init_spawns_the_next_copy_one_level_deeper():
    sup = Supervision()
    a = Actor("spawn_bomb", sup.host())
    assert a.init(b'{"depth":4}') == (b'{"depth":4}',)
    assert sup.calls == [("spawn", "spawn_bomb.toml", b'{"depth":5}')]


def test_spawn_bomb_bomb_and_wide():
    sup = Supervision()
    a = Actor("spawn_bomb", sup.host())
    assert a.send(None, b"bomb") == (None,)
    assert a.send(None, b"wide:3") == (None,)
    assert a.send(None, b"wide:x") == (None,)  # not a number: ignored
    assert sup.calls == [("spawn", "spawn_bomb.toml", b'{"depth":1}')] + [("spawn", "spawn_bomb.toml", None)] * 3


def test_spawn_bomb_fails_with_the_end_of_the_spawn_error():
    sup = Supervision()
    sup.fail = {"spawn": "child failed to start: " + "x" * 300 + " more than max_spawn_depth 100"}
    a = Actor("spawn_bomb", sup.host())
    tail = ("x" * 300 + " more than max_spawn_depth 100")[-200:]
    assert a.init(b'{"depth":7}') == f"spawn_bomb: spawn failed at depth 7: ...{tail}"
    sup.fail = {"spawn": "no"}
    assert a.send(None, b"bomb") == "spawn_bomb: spawn failed at depth 0: no"
    assert a.send(None, b"wide:5") == "spawn_bomb: spawn failed at depth 0: no"
    assert len(sup.calls) == 3  # "wide" stops at the first err


def test_spawn_bomb_supervisor_handlers_change_nothing():
    a = Actor("spawn_bomb", Supervision().host())
    assert a.child_error(b"s", "c1", b"{}") == (b"s",)
    assert a.child_exit(b"s", "c1", b"bye") == (b"s",)
    assert a.child_external_stop(b"s", "c1") == (b"s",)


def test_log_bomb_logs_count_lines_of_bytes_in_one_call():
    a = Actor("log_bomb")
    assert a.init(None) == (None,)
    assert a.send(b"s", b"log:3:5") == (b"s",)
    assert a.logs == ["xxxxx"] * 3
    for ignored in (b"log:3", b"log:x:5", b"log:3:y", b"other", b"log::5"):
        assert a.send(b"s", ignored) == (b"s",)
    assert a.logs == ["xxxxx"] * 3
    assert a.send(None, b"log:2:0") == (None,)
    assert a.logs[3:] == ["", ""]
    assert a.request(None, b"ping") == (None, (b"pong",))


class Sends:
    """A stubbed message-server-host.send that records its calls (err: a string to return)."""

    def __init__(self, err=None):
        self.sent, self.err = [], err

    def host(self):
        return {MSH: {"send": lambda to, msg: self.sent.append((to, msg)) or self.err}}


def test_self_loop_sends_the_message_on_and_counts():
    sends = Sends()
    a = Actor("self_loop", sends.host())
    assert a.init(None) == (None,)
    state = state_of(a.send(None, b"loop:me"))
    assert state == b'{"count":1}'
    state = state_of(a.send(state, b"loop:me"))
    assert state == b'{"count":2}'
    assert sends.sent == [("me", b"loop:me")] * 2
    assert a.send(state, b"other") == (state,)
    assert a.request(state, b"count") == (state, (b"2",))
    assert a.request(None, b"count") == (None, (b"0",))


def test_self_loop_stops_when_the_host_refuses_the_send():
    a = Actor("self_loop", Sends(err="actor me is not running").host())
    assert a.send(None, b"loop:me") == (b'{"count":1}',)
    assert a.logs == ["self_loop: send failed: actor me is not running"]


def test_chain_bomb_asks_for_its_chain_n_times():
    a = Actor("chain_bomb", Requests(chain_length=5).host())
    assert a.init(None) == (None,)
    state = state_of(a.send(None, b"chain:3"))
    assert json.loads(state) == {"calls": 3, "events": 5}
    state = state_of(a.send(state, b"chain:2"))
    assert json.loads(state) == {"calls": 5, "events": 5}
    assert a.send(state, b"chain:x") == (state,)
    assert a.request(state, b"events") == (state, (b"5",))
    assert a.request(None, b"events") == (None, (b"0",))


def test_state_hog_returns_states_and_replies_of_any_size():
    a = Actor("state_hog")
    assert a.init(None) == (None,)
    assert a.send(None, b"grow:10") == (b"s" * 10,)
    assert a.send(b"kept", b"grow:x") == (b"kept",)
    assert a.request(b"abc", b"reply:7") == (b"abc", (b"r" * 7,))
    assert a.request(b"abc", b"size") == (b"abc", (b"3",))
    assert a.request(None, b"size") == (None, (b"0",))
    big = state_of(a.send(None, b"grow:100000"))
    assert len(big) == 100_000 and big.count(b"s") == 100_000
