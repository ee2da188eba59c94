"""Theater's hash-chained event log: events, hashes, verification and chain files.

Every call into an actor and every host call it makes is one event, and each
event's hash covers its parent's hash, so a chain is tamper-evident. The byte
formats here are Theater's own (checked against chains Theater recorded), so a
chain the harness writes verifies with Theater's rule and the other way round.
Hashing and the event-data builders are on the hot path of every call: they
build JSON text directly instead of going through ``json.dumps``.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from json.encoder import encode_basestring  # == json.dumps(s, ensure_ascii=False), for one str
from pathlib import Path
from typing import Any

from .wasm.packr.value import Value
from .wasm.packr.value import to_json as value_json
from .errors import ChainFileError

_DEC = tuple(str(i) for i in range(256))  # the decimal text of every byte value


def _ints(data: bytes) -> str:
    """The bytes as JSON array items, ``b"\\x01\\xff"`` -> ``"1,255"``."""
    return ",".join(map(_DEC.__getitem__, data))


# Recent hashes by their inputs: checking a live run's chain (the chain_integrity
# invariant) hashes the very events the chain has just hashed. A pure function's cache,
# bounded by the bytes its keys hold.
_RECENT: dict[tuple[bytes | None, str, bytes], bytes] = {}
_RECENT_LIMIT = 8 << 20
_recent_bytes = 0


def event_hash(parent_hash: bytes | None, event_type: str, data: bytes) -> bytes:
    """Theater's hash of an event: SHA-1 of the compact JSON of
    ``{"hash":[],"parent_hash":...,"event_type":...,"data":[...]}``, keys in that order."""
    global _recent_bytes
    key = (parent_hash, event_type, data)
    digest = _RECENT.get(key)
    if digest is None:
        parent = "null" if parent_hash is None else f"[{_ints(parent_hash)}]"
        text = (f'{{"hash":[],"parent_hash":{parent},"event_type":{encode_basestring(event_type)},'
                f'"data":[{_ints(data)}]}}')
        digest = hashlib.sha1(text.encode()).digest()
        _recent_bytes += len(data) + 64
        if _recent_bytes > _RECENT_LIMIT:
            _RECENT.clear()
            _recent_bytes = len(data) + 64
        _RECENT[key] = digest
    return digest


@dataclass(frozen=True, slots=True)
class ChainEvent:
    """One event of a chain. ``description`` and ``time_ms`` (virtual time) are not hashed."""

    hash: bytes
    parent_hash: bytes | None
    event_type: str
    data: bytes
    description: str | None = None
    time_ms: int = 0

    def to_json_dict(self, *, description: bool = False, time_ms: bool = False) -> dict[str, Any]:
        """Theater's JSON form (byte strings as lists of ints); the flags add our extra keys."""
        out: dict[str, Any] = {
            "hash": list(self.hash),
            "parent_hash": None if self.parent_hash is None else list(self.parent_hash),
            "event_type": self.event_type,
            "data": list(self.data),
        }
        if description:
            out["description"] = self.description
        if time_ms:
            out["time_ms"] = self.time_ms
        return out


class EventChain:
    """One actor's chain.

    ``append`` only stores the event; hashes are computed lazily, in order, for
    the not-yet-hashed suffix, the first time something reads them. Most chains
    of a test run are never read, and those that are give the same hashes as
    eager hashing would.
    """

    __slots__ = ("_raw", "_events")

    def __init__(self) -> None:
        # _raw[i] is (event_type, data, description, time_ms) until event i is hashed, then None.
        self._raw: list[tuple[str, bytes, str | None, int] | None] = []
        self._events: list[ChainEvent] = []  # the hashed prefix

    def append(self, event_type: str, data: bytes | tuple | Callable[[], bytes], description: str | None = None,
               time_ms: int = 0) -> int:
        """Record an event and return its index. ``data`` is kept, not copied. It may also
        be a recipe for the bytes, built once, when first needed: a tuple
        ``(WASM_CALL | WASM_RESULT | HOST_CALL, *arguments)`` (see ``_materialize``), or a
        zero-argument callable. Recipes must only hold values that do not change."""
        self._raw.append((event_type, data, description, time_ms))
        return len(self._raw) - 1

    def _hash_until(self, stop: int) -> None:
        """Hash events ``len(self._events) .. stop-1``, continuing from the last hash."""
        events, raw = self._events, self._raw
        parent = events[-1].hash if events else None
        for i in range(len(events), stop):
            event_type, data, description, time_ms = raw[i]  # type: ignore[misc]
            raw[i] = None
            if not isinstance(data, bytes):
                data = _materialize(data)
            digest = event_hash(parent, event_type, data)
            events.append(ChainEvent(digest, parent, event_type, data, description, time_ms))
            parent = digest

    def __len__(self) -> int:
        return len(self._raw)

    def __getitem__(self, index: int) -> ChainEvent:
        index = range(len(self._raw))[index]  # normalises negatives, raises IndexError
        self._hash_until(index + 1)
        return self._events[index]

    def __iter__(self) -> Iterator[ChainEvent]:
        return iter(self.events)

    def hash_at(self, index: int) -> bytes:
        """The hash of event ``index``, hashing only up to it."""
        return self[index].hash

    @property
    def events(self) -> list[ChainEvent]:
        """All events, hashed (a new list)."""
        self._hash_until(len(self._raw))
        return list(self._events)

    @property
    def head(self) -> bytes | None:
        """The last event's hash, or None for an empty chain."""
        return self.hash_at(-1) if self._raw else None


def _event_from_json(obj: Any, index: int, file: str | None) -> ChainEvent:
    """A ChainEvent from Theater's JSON form (``schema.chain``), or ChainFileError naming the bad key."""
    from .schema.chain import check_event

    return ChainEvent(*check_event(obj, index, file))


def verify_chain(events: Iterable[ChainEvent | Mapping[str, Any]]) -> int | None:
    """The index of the first event that does not verify, or None when all do.

    An event fails when its hash does not match its content, or its parent_hash
    is not the previous event's hash (None for the first event). Accepts
    ChainEvents or Theater's JSON dicts; a malformed dict fails at its index.
    """
    parent: bytes | None = None
    for i, event in enumerate(events):
        if not isinstance(event, ChainEvent):
            try:
                event = _event_from_json(event, i, None)
            except ChainFileError:
                return i
        if event.parent_hash != parent or event_hash(parent, event.event_type, event.data) != event.hash:
            return i
        parent = event.hash
    return None


def load_chain_file(path: str | Path) -> list[ChainEvent]:
    """Read a chain in Theater's JSON format (a list of events), validated by its schema
    (``schema.chain``); does not verify hashes."""
    from .schema.chain import read_chain

    return [ChainEvent(*fields) for fields in read_chain(path)]


def dump_chain(events: Iterable[ChainEvent], *, description: bool = False, time_ms: bool = False,
               indent: int | None = 2) -> str:
    """Theater's chain JSON. With the default indent of 2 the text is byte-identical to
    Theater's own files (serde_json's pretty printer); ``indent=None`` gives compact JSON."""
    dicts = [e.to_json_dict(description=description, time_ms=time_ms) for e in events]
    separators = (",", ":") if indent is None else (",", ": ")
    return json.dumps(dicts, indent=indent, separators=separators, ensure_ascii=False)


# --- event data in Theater's formats (serde_json, compact, non-ASCII kept) ---------------

def wasm_call_data(function_name: str, params: bytes) -> bytes:
    """A call into the actor. Theater records it with event type ``wasm``; stopping an
    actor is recorded as event type ``shutdown`` with ``wasm_call_data("shutdown", b"")``."""
    return (f'{{"category":"Wasm","WasmCall":{{"function_name":{encode_basestring(function_name)},'
            f'"params":[{_ints(params)}]}}}}').encode()


def wasm_result_data(function_name: str, state: bytes | None, result: bytes) -> bytes:
    """A call's successful return: the new state and the other results (event type ``wasm``)."""
    state_text = "null" if state is None else f"[{_ints(state)}]"
    return (f'{{"category":"Wasm","WasmResult":{{"function_name":{encode_basestring(function_name)},'
            f'"result":[{state_text},[{_ints(result)}]]}}}}').encode()


def wasm_error_data(function_name: str, message: str) -> bytes:
    """A call that failed (an ``err`` return or a trap)."""
    return (f'{{"category":"Wasm","WasmError":{{"function_name":{encode_basestring(function_name)},'
            f'"message":{encode_basestring(message)}}}}}').encode()


def host_call_data(interface: str, function: str, input: bytes, output: bytes) -> bytes:
    """A host call; Theater's event type for it is ``f"{interface}/{function}"``."""
    return (f'{{"category":"HostFunction","interface":{encode_basestring(interface)},'
            f'"function":{encode_basestring(function)},'
            f'"input":[{_ints(input)}],"output":[{_ints(output)}]}}').encode()


# Recipes for event data, built only when a chain is read (most never are). Plain tuples
# of immutable values, so a run's millions of them cost the garbage collector nothing.
WASM_CALL = 0  # (WASM_CALL, function_name, params)
WASM_RESULT = 1  # (WASM_RESULT, function_name, new_state, other_results)
HOST_CALL = 2  # (HOST_CALL, interface, function, args, result)


def _materialize(recipe: tuple | Callable[[], bytes]) -> bytes:
    if callable(recipe):
        return recipe()
    code = recipe[0]
    if code == WASM_CALL:
        return wasm_call_data(recipe[1], to_json_bytes(recipe[2]))
    if code == WASM_RESULT:
        return wasm_result_data(recipe[1], recipe[2], to_json_bytes(recipe[3]))
    if code == HOST_CALL:
        return host_call_data(recipe[1], recipe[2], host_input_json(recipe[3]),
                              host_output_json(recorded_result(recipe[2], recipe[4])))
    raise ValueError(f"unknown event data recipe {code!r}")


def recorded_result(function: str, result: Any) -> Any:
    """What the chain records as a host call's result: the result itself, except for
    ``runtime.get-chain``, whose output Theater records as the number of events it returned
    (its runtime handler: ``chain_events.len() as u64``). The chain is in the chain
    already; recording it again at every call would make each record hold all the ones
    before it, so that the chain grew tenfold at each call (issue 11, D3)."""
    if function == "get-chain" and isinstance(result, Mapping):
        return len(result["events"])
    return result


def host_input_json(args: list | tuple) -> bytes:
    """A host call's arguments as Theater records them: the argument itself when there is
    one, ``null`` for none, an array for several."""
    if not args:
        return b"null"
    return to_json_bytes(args[0] if len(args) == 1 else list(args))


def host_output_json(result: Any) -> bytes:
    """A host call's result as Theater records it: a WIT result as serde's Ok/Err."""
    if isinstance(result, tuple) and len(result) == 2 and isinstance(result[0], bool):
        return to_json_bytes({"Ok" if result[0] else "Err": result[1]})
    return to_json_bytes(result)


def to_json_bytes(value: Any, *, sort_keys: bool = False) -> bytes:
    """``value`` as serde_json would serialize it: compact, non-ASCII kept.

    Byte strings become lists of ints, None is ``null``, tuples are arrays
    except the empty tuple, which is Rust's unit ``()`` and so ``null``; floats
    print like Rust's shortest form (``1e-7``, ``1.0``) and NaN/infinity as
    ``null``. Mappings keep their order unless ``sort_keys`` (serde_json's
    ``Value`` map is sorted). Raises TypeError for anything else.
    """
    return _json_text(value, sort_keys).encode()


def _json_text(value: Any, sort_keys: bool) -> str:
    if isinstance(value, Value):  # a packr value: its JSON form (values.to_json)
        value = value_json(value)
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, str):
        return encode_basestring(value)
    if isinstance(value, int):
        return int.__repr__(value)
    if isinstance(value, float):
        return _float_text(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return f"[{_ints(bytes(value))}]"
    if isinstance(value, (list, tuple)):
        if value == ():
            return "null"
        return "[" + ",".join(_json_text(v, sort_keys) for v in value) + "]"
    if isinstance(value, Mapping):
        items = []
        for key, item in value.items():
            if isinstance(key, int) and not isinstance(key, bool):
                key = str(key)
            elif not isinstance(key, str):
                raise TypeError(f"JSON object keys must be strings, not {type(key).__name__}")
            items.append((key, item))
        if sort_keys:
            items.sort(key=lambda kv: kv[0])
        return "{" + ",".join(f"{encode_basestring(k)}:{_json_text(v, sort_keys)}"
                              for k, v in items) + "}"
    raise TypeError(f"cannot encode {type(value).__name__} as JSON")


def _float_text(x: float) -> str:
    """A finite float the way serde_json (Rust's ryu) prints it; NaN and infinities are null."""
    if not math.isfinite(x):
        return "null"
    mantissa, _, exp = repr(abs(x)).partition("e")  # repr gives the shortest round-trip digits
    sign = "-" if math.copysign(1.0, x) < 0 else ""
    whole, _, frac = mantissa.partition(".")
    digits = (whole + frac).lstrip("0")
    if not digits:
        return sign + "0.0"
    point = len(whole) + int(exp or 0) - (len(whole + frac) - len(digits))  # 10^(point-1) <= |x|
    digits = digits.rstrip("0")
    if len(digits) <= point <= 16:
        return sign + digits + "0" * (point - len(digits)) + ".0"
    if 0 < point <= 16:
        return sign + digits[:point] + "." + digits[point:]
    if -5 < point <= 0:
        return sign + "0." + "0" * -point + digits
    tail = "." + digits[1:] if len(digits) > 1 else ""
    return f"{sign}{digits[0]}{tail}e{point - 1}"
