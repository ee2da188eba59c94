"""The event chain: Theater's hash rule, its data formats, and chains Theater recorded."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from theater_harness import chain as chain_mod
from theater_harness.chain import (
    ChainEvent,
    EventChain,
    dump_chain,
    event_hash,
    host_call_data,
    load_chain_file,
    to_json_bytes,
    verify_chain,
    wasm_call_data,
    wasm_error_data,
    wasm_result_data,
)
from theater_harness.errors import ChainFileError

REAL_CHAINS = Path(__file__).parent / "data" / "theater-chains"  # copied from Theater
CHAIN_FILES = sorted(REAL_CHAINS.glob("*.json"))
needs_real_chains = pytest.mark.skipif(not CHAIN_FILES, reason="real Theater chains not present")


def slow_hash(parent_hash: bytes | None, event_type: str, data: bytes) -> bytes:
    """Theater's rule spelled out with json.dumps: the reference for event_hash."""
    doc = {"hash": [], "parent_hash": None if parent_hash is None else list(parent_hash),
           "event_type": event_type, "data": list(data)}
    return hashlib.sha1(json.dumps(doc, separators=(",", ":"), ensure_ascii=False).encode()).digest()


def compact(value) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


def make_chain(n: int = 6) -> list[ChainEvent]:
    chain = EventChain()
    for i in range(n):
        chain.append(f"type-{i}", bytes([i, 255 - i]))
    return chain.events


# --- event_hash ---------------------------------------------------------------------------

ODD_EVENT_TYPES = ["wasm", "", "théâtre/日本/🎭", 'quote " and \\ backslash', "\x00\x01\x1f\x7f",
                   "\n\r\t\b\f", "\u2028\u2029", "/", "<script>&"]


@pytest.mark.parametrize("event_type", ODD_EVENT_TYPES)
@pytest.mark.parametrize("parent", [None, b"", bytes(range(20))])
def test_event_hash_equals_the_json_dumps_form(event_type, parent):
    data = bytes(range(256))
    assert event_hash(parent, event_type, data) == slow_hash(parent, event_type, data)


@given(st.one_of(st.none(), st.binary(max_size=24)), st.text(), st.binary(max_size=300))
def test_event_hash_equals_the_json_dumps_form_for_any_input(parent, event_type, data):
    assert event_hash(parent, event_type, data) == slow_hash(parent, event_type, data)


# --- the real chains ------------------------------------------------------------------------

@needs_real_chains
@pytest.mark.parametrize("path", CHAIN_FILES, ids=lambda p: p.name)
def test_every_hash_of_a_real_chain_verifies(path):
    raw = json.loads(path.read_text())
    events = load_chain_file(path)
    assert len(events) == len(raw)
    assert verify_chain(events) is None
    assert verify_chain(raw) is None
    for event in events:
        assert event_hash(event.parent_hash, event.event_type, event.data) == event.hash


@needs_real_chains
@pytest.mark.parametrize("path", CHAIN_FILES, ids=lambda p: p.name)
def test_dump_chain_reproduces_the_real_file_byte_for_byte(path):
    text = path.read_text()
    dumped = dump_chain(load_chain_file(path))
    assert dumped == text
    assert json.loads(dump_chain(load_chain_file(path), indent=None)) == json.loads(text)


@needs_real_chains
@pytest.mark.parametrize("path", CHAIN_FILES, ids=lambda p: p.name)
def test_event_chain_reproduces_the_recorded_hashes(path):
    recorded = load_chain_file(path)
    chain = EventChain()
    for event in recorded:
        chain.append(event.event_type, event.data)
    assert chain.events == recorded
    assert chain.head == recorded[-1].hash


def rebuild(data: bytes) -> bytes | None:
    """The event data rebuilt with our builders from its decoded fields, or None when
    the data has another shape (e.g. WASI host calls with typed input/output values)."""
    doc = json.loads(data)
    if doc["category"] == "Wasm":
        if "WasmCall" in doc:
            call = doc["WasmCall"]
            return wasm_call_data(call["function_name"], bytes(call["params"]))
        if "WasmResult" in doc:
            res = doc["WasmResult"]
            state, result = res["result"]
            return wasm_result_data(res["function_name"], None if state is None else bytes(state),
                                    bytes(result))
        if "WasmError" in doc:
            err = doc["WasmError"]
            return wasm_error_data(err["function_name"], err["message"])
    if doc["category"] == "HostFunction" and all(isinstance(doc[k], list) for k in ("input", "output")):
        return host_call_data(doc["interface"], doc["function"], bytes(doc["input"]), bytes(doc["output"]))
    return None


# Events per file that have one of the builders' shapes; the others are WASI host calls
# whose input/output Theater records as typed values ({"U64": ...}), not bytes.
BUILDER_SHAPED = {"runtime-test-chain.json": 6, "wasi-clocks-test-chain.json": 3,
                  "wasi-random-test-chain.json": 7}


@needs_real_chains
@pytest.mark.parametrize("path", CHAIN_FILES, ids=lambda p: p.name)
def test_builders_reproduce_the_real_event_data_byte_for_byte(path):
    rebuilt = 0
    for event in load_chain_file(path):
        ours = rebuild(event.data)
        if ours is not None:
            assert ours == event.data
            rebuilt += 1
    assert rebuilt == BUILDER_SHAPED[path.name]


@needs_real_chains
def test_real_chain_event_types():
    events = load_chain_file(REAL_CHAINS / "wasi-clocks-test-chain.json")
    assert events[0].event_type == "wasm"
    assert events[0].data == wasm_call_data("theater:simple/actor.init", b"null")
    assert events[1].event_type == "wasi:clocks/monotonic-clock@0.2.3/now"
    assert (events[-1].event_type, events[-1].data) == ("shutdown", wasm_call_data("shutdown", b""))


# --- tampering --------------------------------------------------------------------------------

def test_an_untouched_chain_verifies():
    assert verify_chain(make_chain()) is None
    assert verify_chain([]) is None


def test_a_changed_data_byte_is_detected_at_its_index():
    events = make_chain()
    events[3] = dataclasses.replace(events[3], data=b"\x03\xfb")
    assert verify_chain(events) == 3


def test_a_changed_event_type_is_detected_at_its_index():
    events = make_chain()
    events[2] = dataclasses.replace(events[2], event_type="type-X")
    assert verify_chain(events) == 2


def test_a_broken_parent_link_is_detected_at_its_index():
    events = make_chain()
    events[4] = dataclasses.replace(events[4], parent_hash=events[2].hash)
    assert verify_chain(events) == 4


def test_reordered_events_are_detected_at_the_first_moved_one():
    events = make_chain()
    events[2], events[3] = events[3], events[2]
    assert verify_chain(events) == 2


def test_a_first_event_with_a_parent_is_detected():
    events = make_chain()
    assert verify_chain(events[1:]) == 0


def test_a_changed_hash_is_detected_at_its_index():
    events = make_chain()
    events[-1] = dataclasses.replace(events[-1], hash=bytes(20))
    assert verify_chain(events) == 5


def test_tampering_is_detected_in_theater_json_dicts_too():
    dicts = [e.to_json_dict() for e in make_chain()]
    dicts[1]["data"][0] ^= 1
    assert verify_chain(dicts) == 1
    malformed = [e.to_json_dict() for e in make_chain()]
    del malformed[2]["hash"]
    assert verify_chain(malformed) == 2


# --- EventChain -------------------------------------------------------------------------------

def test_append_returns_the_index_and_hashes_nothing(monkeypatch):
    calls = []
    monkeypatch.setattr(chain_mod, "event_hash", lambda *a: calls.append(a) or slow_hash(*a))
    chain = EventChain()
    assert [chain.append("t", bytes([i])) for i in range(5)] == [0, 1, 2, 3, 4]
    assert len(chain) == 5
    assert calls == []


def test_hashes_are_computed_once_in_order_for_the_unhashed_suffix_only(monkeypatch):
    calls = []
    monkeypatch.setattr(chain_mod, "event_hash", lambda *a: calls.append(a[2]) or slow_hash(*a))
    chain = EventChain()
    for i in range(5):
        chain.append("t", bytes([i]))
    chain.hash_at(2)
    assert calls == [b"\x00", b"\x01", b"\x02"]
    chain.head
    chain.events
    list(chain)
    chain[1]
    assert calls == [bytes([i]) for i in range(5)]
    chain.append("t", b"\x05")
    chain.append("t", b"\x06")
    chain[-1]
    assert calls == [bytes([i]) for i in range(7)]


def test_lazy_hashes_equal_eager_hashes():
    chain = EventChain()
    eager = []
    parent = None
    for i in range(50):
        event_type, data = f"host/f{i % 3}", bytes(range(i))
        chain.append(event_type, data, description=f"d{i}", time_ms=10 * i)
        parent = slow_hash(parent, event_type, data)
        eager.append(parent)
        if i % 7 == 0:
            assert chain.head == parent  # reading in the middle does not change anything
    assert [e.hash for e in chain.events] == eager
    assert verify_chain(chain) is None
    assert chain[3] == ChainEvent(eager[3], eager[2], "host/f0", bytes(range(3)), "d3", 30)


def test_empty_chain_and_indexing():
    chain = EventChain()
    assert chain.head is None
    assert chain.events == []
    assert list(chain) == []
    with pytest.raises(IndexError):
        chain[0]
    chain.append("a", b"")
    chain.append("b", b"x")
    assert chain[-1].event_type == "b"
    assert chain[-1].parent_hash == chain[0].hash == chain.hash_at(0)
    with pytest.raises(IndexError):
        chain.hash_at(2)


def test_events_is_a_copy():
    chain = EventChain()
    chain.append("a", b"")
    chain.events.clear()
    assert len(chain.events) == 1


# --- ChainEvent JSON and chain files --------------------------------------------------------------

def test_to_json_dict_has_theaters_four_keys_unless_asked():
    event = ChainEvent(b"\x01\x02", None, "wasm", b"{}", description="init", time_ms=7)
    assert event.to_json_dict() == {"hash": [1, 2], "parent_hash": None, "event_type": "wasm",
                                    "data": [123, 125]}
    assert event.to_json_dict(description=True, time_ms=True) == {
        "hash": [1, 2], "parent_hash": None, "event_type": "wasm", "data": [123, 125],
        "description": "init", "time_ms": 7}


def test_dump_and_load_keep_description_and_time_when_asked(tmp_path):
    events = [dataclasses.replace(e, description=f"e{i}", time_ms=i) for i, e in enumerate(make_chain(3))]
    path = tmp_path / "chain.json"
    path.write_text(dump_chain(events, description=True, time_ms=True))
    assert load_chain_file(path) == events
    path.write_text(dump_chain(events))
    assert load_chain_file(path) == [dataclasses.replace(e, description=None, time_ms=0) for e in events]


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "chain.json"
    path.write_text(text)
    return path


def good_event() -> dict:
    return make_chain(1)[0].to_json_dict()


@pytest.mark.parametrize("key, value, message", [
    ("hash", [1, 256], "events[1].hash: expected a list of integers 0..255"),
    ("hash", "abc", "events[1].hash: expected a list of integers 0..255"),
    ("parent_hash", [1.5], "events[1].parent_hash: expected a list of integers 0..255"),
    ("data", [True], "events[1].data: expected a list of integers 0..255"),
    ("data", {"0": 1}, "events[1].data: expected a list of integers 0..255"),
    ("event_type", 3, "events[1].event_type: expected a string"),
    ("description", 3, "events[1].description: expected a string or null"),
    ("time_ms", "3", "events[1].time_ms: expected an integer"),
])
def test_chain_file_with_a_wrong_type_names_the_event_and_key(tmp_path, key, value, message):
    bad = good_event()
    bad[key] = value
    path = write(tmp_path, json.dumps([good_event(), bad]))
    with pytest.raises(ChainFileError) as info:
        load_chain_file(path)
    field, reason = message.split(": ")
    assert str(info.value) == f"{path}: field '{field}': {reason}"
    assert (info.value.file, info.value.field) == (str(path), field)


def test_chain_file_with_a_missing_key(tmp_path):
    bad = good_event()
    del bad["parent_hash"]
    path = write(tmp_path, json.dumps([good_event(), good_event(), bad]))
    with pytest.raises(ChainFileError, match=r"field 'events\[2\].parent_hash': missing$"):
        load_chain_file(path)


@pytest.mark.parametrize("text, reason", [
    ("[{", "not valid JSON: Expecting property name enclosed in double quotes: line 1 column 3 (char 2)"),
    ('{"events": []}', "expected a JSON list of events, got dict"),
])
def test_chain_file_that_is_not_a_json_list(tmp_path, text, reason):
    path = write(tmp_path, text)
    with pytest.raises(ChainFileError) as info:
        load_chain_file(path)
    assert str(info.value) == f"{path}: {reason}"


def test_chain_file_with_an_event_that_is_not_an_object(tmp_path):
    path = write(tmp_path, "[[1, 2]]")
    with pytest.raises(ChainFileError) as info:
        load_chain_file(path)
    assert str(info.value) == (f"{path}: field 'events[0]': "
                               "expected an object with keys hash, parent_hash, event_type, data")


def test_missing_chain_file(tmp_path):
    with pytest.raises(ChainFileError, match="nope.json: cannot read chain file: .*No such file"):
        load_chain_file(tmp_path / "nope.json")


# --- event data builders ------------------------------------------------------------------------

NAMES = ["theater:simple/actor.init", "fünf \"quoted\"\n", "日本"]


@pytest.mark.parametrize("name", NAMES)
def test_builders_equal_the_json_dumps_form(name):
    b = bytes([0, 9, 10, 255])
    assert wasm_call_data(name, b) == compact({"category": "Wasm", "WasmCall": {
        "function_name": name, "params": list(b)}})
    assert wasm_result_data(name, b, b"null") == compact({"category": "Wasm", "WasmResult": {
        "function_name": name, "result": [list(b), list(b"null")]}})
    assert wasm_result_data(name, None, b"") == compact({"category": "Wasm", "WasmResult": {
        "function_name": name, "result": [None, []]}})
    assert wasm_error_data(name, name + " trapped") == compact({"category": "Wasm", "WasmError": {
        "function_name": name, "message": name + " trapped"}})
    assert host_call_data(name, name, b, b"") == compact({
        "category": "HostFunction", "interface": name, "function": name, "input": list(b), "output": []})


# --- to_json_bytes --------------------------------------------------------------------------------

@pytest.mark.parametrize("value, expected", [
    (None, b"null"),
    ((), b"null"),  # Rust's unit: how Theater records init's empty params
    ([], b"[]"),
    ((b"hi",), b"[[104,105]]"),  # handle-send's (payload,)
    (("req-1", b"\x00"), b'["req-1",[0]]'),
    (bytearray(b"\x01"), b"[1]"),
    (True, b"true"),
    (-12, b"-12"),
    (2**64 - 1, b"18446744073709551615"),
    ("é\n\"", '"é\\n\\""'.encode()),
    ({"b": 1, "a": [None, False]}, b'{"b":1,"a":[null,false]}'),
    ({1: "x"}, b'{"1":"x"}'),
    (1.0, b"1.0"),
    (0.1, b"0.1"),
    (-2.5, b"-2.5"),
    (1e16, b"1e16"),
    (1e15, b"1000000000000000.0"),
    (1e-5, b"0.00001"),
    (1e-7, b"1e-7"),
    (1.5e300, b"1.5e300"),
    (-0.0, b"-0.0"),
    (float("nan"), b"null"),
])
def test_to_json_bytes_is_serde_json_compatible(value, expected):
    assert to_json_bytes(value) == expected


def test_to_json_bytes_sorts_keys_when_asked():
    assert to_json_bytes({"b": {"d": 1, "c": 2}, "a": 0}, sort_keys=True) == b'{"a":0,"b":{"c":2,"d":1}}'


@pytest.mark.parametrize("value", [{1, 2}, object(), {(1, 2): 3}])
def test_to_json_bytes_rejects_what_json_cannot_hold(value):
    with pytest.raises(TypeError):
        to_json_bytes(value)
