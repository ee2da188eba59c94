"""Theater's packr-era conventions: state threading, result unwrapping, and the host's values.

Everything here follows Theater's ``pack_bridge.rs`` and its handlers (PACKR.md 4.1-4.3):

- An export gets ``tuple[state, p1, p2, ...]``; the host holds the state, any typed value.
  ``actor.init`` gets ``tuple[state]``.
- It answers ``result::ok(tuple[new_state, r...])``: the new state is element 0, one more
  element is the return value, none is ``tuple()``, several are returned as a tuple.
  ``ok(x)`` with ``x`` not a tuple makes ``x`` the state (and returns nothing); a variant
  with tag 0 or 1 is taken as ok or err (the legacy form); ``err(e)`` fails the call; a
  bare value that is no result is the new state.

Above the wasm layer, calls and host functions speak one protocol whatever the ABI
(``theater_harness.host``): a state is ``bytes`` or ``None`` for a component actor and a
``TypedState`` for a packr actor; messages are ``bytes``; WIT-style results are
``(True, ok)`` / ``(False, err)``. This module converts between that protocol and packr
values, by the types Theater declares for each function.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Callable

from . import cgrf
from .interfaces import EXPORTS
from .types import PRIM, PRIMITIVES, ListT, OptionT, Prim, RecordT, ResultT, TupleT, TypeDesc, ValueT, VariantT
from .types import type_tag as _type_tag
from .value import FIXED_WIDTH as FIXED_WIDTH_TAGS
from .value import (SCALAR_CLASSES, Array, Bool, Bytes, List, Option, Record, Result, String, Tuple, TypedState,
                    Value, Variant, render, to_value)

# A primitive's value class by its name in a declared type, and the fixed-width ones (whose
# lists are Arrays), from the value model's tables by tag.
PRIM_CLASS: dict[str, type] = {name: SCALAR_CLASSES[_type_tag(PRIM[name])[0]] for name in PRIMITIVES}
FIXED_WIDTH = frozenset(name for name in PRIMITIVES if _type_tag(PRIM[name])[0] in FIXED_WIDTH_TAGS)
UNIT = Tuple(())
BYTES_TAG = b"\x07\x0c"  # list<u8>

# The state an actor gets when nobody gave one: Theater's default_init_state(),
# option<list<u8>>::none.
DEFAULT_STATE = TypedState.of(Option(BYTES_TAG, None))


def type_tag(t: TypeDesc | None) -> bytes:
    """The CGRF type tag of a declared type (PACKR.md 2.4); ``_`` and ``value`` have no tag
    of their own and are labelled bool, as Theater labels them."""
    if t is None or isinstance(t, ValueT):
        return b"\x01"
    return _type_tag(t)


# --- host protocol -> packr values ------------------------------------------------------

def to_packr(value: Any, t: TypeDesc | None) -> Value:
    """A host-protocol value as a packr value of the declared type ``t`` (None: ``_``, a
    unit). A packr value is taken as it is (``get-child-state`` returns any state)."""
    if isinstance(value, TypedState):
        return value.value
    if t is None:
        return UNIT if value is None else to_value(value)
    if isinstance(value, Value) and not isinstance(t, (OptionT, ResultT)):
        return value
    if isinstance(t, ValueT):
        return to_value(value)
    if isinstance(t, Prim):
        return value if isinstance(value, PRIM_CLASS[t.name]) else PRIM_CLASS[t.name](value)
    if isinstance(t, OptionT):
        if isinstance(value, Option):
            return value
        return Option(type_tag(t.inner), None if value is None else to_packr(value, t.inner))
    if isinstance(t, ResultT):
        if isinstance(value, Result):
            return value
        if isinstance(value, tuple) and len(value) == 2 and isinstance(value[0], bool):
            ok, inner = value
        else:  # a host function that cannot fail returned its value
            ok, inner = True, value
        err_t = t.err if t.err is not None else Prim("string")
        payload = to_packr(inner, t.ok) if ok else to_packr(inner if inner is not None else "", err_t)
        return Result(ok, payload, type_tag(t.ok), type_tag(err_t))
    if isinstance(t, ListT):
        elem = t.elem
        if isinstance(elem, Prim) and elem.name == "u8":  # bytes; text as UTF-8; a list of ints
            if isinstance(value, Bytes):
                return value
            return Bytes(value.encode("utf-8") if isinstance(value, str) else bytes(value))
        if isinstance(elem, Prim) and elem.name in FIXED_WIDTH:
            return Array(type_tag(elem), [to_packr(v, elem) for v in value])
        return List(type_tag(elem), [to_packr(v, elem) for v in value])
    if isinstance(t, TupleT):
        return Tuple([to_packr(v, it) for v, it in zip(value, t.items, strict=True)])
    if isinstance(t, RecordT):
        return Record(t.name, [(name, to_packr(value[name], ft)) for name, ft in t.fields])
    if isinstance(t, VariantT):
        names = [name for name, _ in t.cases]
        case, payload = (value, None) if isinstance(value, str) else next(iter(value.items()))
        tag = names.index(case)
        case_t = t.cases[tag][1]
        return Variant(t.name, case, tag, () if case_t is None else (to_packr(payload, case_t),))
    raise TypeError(f"cannot convert {value!r} to {t!r}")


# --- packr values -> host protocol ------------------------------------------------------

def to_host(value: Value, t: TypeDesc | None) -> Any:
    """A packr argument as the host protocol has it, by the declared type: options are the
    value or None, lists of bytes ``bytes``, results ``(ok, value)``; ``value``-typed
    arguments stay packr values (a spawn's initial state, for one)."""
    if t is None or isinstance(t, ValueT):
        return value
    if isinstance(t, OptionT):
        if isinstance(value, Option):
            return None if value.value is None else to_host(value.value, t.inner)
        return to_host(value, t.inner)  # Theater's handlers take a bare value for an option too
    if isinstance(t, Prim):
        if not isinstance(value, PRIM_CLASS[t.name]):
            raise TypeError(f"expected {t.name}, got {render(value)}")
        return value
    if isinstance(t, ListT):
        if isinstance(t.elem, Prim) and t.elem.name == "u8":
            if not isinstance(value, Bytes):
                raise TypeError(f"expected list<u8>, got {render(value)}")
            return bytes(value)
        if not isinstance(value, (List, Array)):
            raise TypeError(f"expected a list, got {render(value)}")
        return [to_host(v, t.elem) for v in value]
    if isinstance(t, TupleT):
        if not isinstance(value, Tuple) or len(value) != len(t.items):
            raise TypeError(f"expected a tuple of {len(t.items)}, got {render(value)}")
        return tuple(to_host(v, it) for v, it in zip(value, t.items))
    if isinstance(t, ResultT):
        if not isinstance(value, Result):
            raise TypeError(f"expected a result, got {render(value)}")
        return (value.is_ok, to_host(value.value, t.ok if value.is_ok else t.err))
    return value


def unpack_args(value: Value, params: tuple[TypeDesc, ...]) -> list[Any]:
    """A host import's argument (PACKR.md 1.3: none is ``tuple()``, one is the value itself,
    several a tuple; like Theater's handlers, a 1-tuple is accepted for one) as the host
    function's arguments."""
    n = len(params)
    if n == 1:
        if isinstance(value, Tuple) and len(value) == 1 and not isinstance(params[0], TupleT):
            value = value[0]
        return [to_host(value, params[0])]
    if not isinstance(value, Tuple) or len(value) != n:
        raise TypeError(f"expected a tuple of {n} arguments, got {render(value)}")
    return [to_host(v, p) for v, p in zip(value, params)]


# --- calls into the actor ----------------------------------------------------------------

def state_bytes(state: Any) -> bytes:
    """The CGRF of the state the host holds, for the first element of an export's input:
    a packr state as it is; no state is Theater's default; bytes (a state written for a
    component actor, e.g. a JSON ``init_state``) are ``option<list<u8>>::some``."""
    if state is None:
        return DEFAULT_STATE
    if isinstance(state, TypedState):
        return state
    return cgrf.encode(Option(BYTES_TAG, Bytes(state)))


def error_text(value: Value) -> str:
    return str(value) if isinstance(value, String) else render(value)


def unwrap(value: Value) -> tuple[bool, Any]:
    """Theater's reading of an export's output (``decode_function_result``): ``(True,
    (new_state, return_value))`` or ``(False, error message)``."""
    if isinstance(value, Result):
        if not value.is_ok:
            return False, error_text(value.value)
        inner = value.value
    elif isinstance(value, Variant) and value.tag in (0, 1) and len(value.payload) <= 1:
        payload = value.payload[0] if value.payload else UNIT
        if value.tag == 1:
            return False, error_text(payload)
        inner = payload
    else:
        return True, (value, UNIT)
    if isinstance(inner, Tuple) and len(inner) >= 1:
        rest = inner[1:]
        return True, (inner[0], rest[0] if len(rest) == 1 else Tuple(rest))
    return True, (inner, UNIT)


def _reply(ret: Value) -> tuple:
    """handle-request's return, ``tuple[option<list<u8>>]``: the reply bytes or None."""
    if isinstance(ret, Tuple) and len(ret) == 1:
        ret = ret[0]
    if isinstance(ret, Option):
        ret = ret.value
    if ret is None:
        return (None,)
    if isinstance(ret, Bytes):
        return (bytes(ret),)
    raise TypeError(f"handle-request returned {render(ret)}, not tuple<option<list<u8>>>")


def _accept(ret: Value) -> tuple:
    """handle-channel-open's return: a channel-accept record, or a 2-tuple (Theater's
    ``parse_channel_accept`` takes both)."""
    if isinstance(ret, Tuple) and len(ret) == 1:
        ret = ret[0]
    if isinstance(ret, Record):
        accepted, message = ret.get("accepted"), ret.get("message")
    elif isinstance(ret, Tuple) and len(ret) == 2:
        accepted, message = ret
    else:
        raise TypeError(f"handle-channel-open returned {render(ret)}, not a channel-accept")
    if isinstance(message, Option):
        message = message.value
    if not isinstance(accepted, Bool) or not (message is None or isinstance(message, Bytes)):
        raise TypeError(f"handle-channel-open returned {render(ret)}, not a channel-accept")
    return ({"accepted": bool(accepted), "message": None if message is None else bytes(message)},)


def _nothing(ret: Value) -> tuple:
    return ()


# The exports Theater calls (PACKR.md 4.2): the types of the params the host sends after
# the state (``interfaces.EXPORTS``), and how the return value reads in the host protocol.
_LIFTS = {("message-server-client", "handle-request"): _reply,
          ("message-server-client", "handle-channel-open"): _accept}
THEATER_EXPORTS: dict[tuple[str, str], tuple[tuple[TypeDesc, ...], Callable[[Value], tuple]]] = {
    key: (tuple(t for _, t in sig.params[1:]), _LIFTS.get(key, _nothing))
    for full, functions in EXPORTS.items() for fn, sig in functions.items()
    for key in [(full.split("/", 1)[1], fn)]
}


_HANDLE_SEND = ("message-server-client", "handle-send")


def actor_error(value: Any) -> Any:
    """The host protocol's actor error (``{"error-type": ..., "data": ...}``) as Theater
    sends it to a packr parent: a tuple, not a record (``actor_error_to_value``)."""
    if isinstance(value, dict):
        return (value["error-type"], value.get("data"))
    return value


def theater_params(key: tuple[str, str], params: tuple) -> tuple[Value, ...]:
    if key == _HANDLE_SEND and params[0].__class__ is bytes:  # the hot path: one message
        return (Bytes(params[0]),)
    types, _ = THEATER_EXPORTS[key]
    if key == ("supervisor-handlers", "handle-child-error"):
        params = (params[0], actor_error(params[1]))
    return tuple(to_packr(p, t) for p, t in zip(params, types, strict=True))


def verbatim(export: Any) -> Any:
    """``export`` as Theater's rpc handler calls it: the caller's params (packr values)
    reach it unconverted, whatever types its metadata declares, and its return value comes
    back as the export gave it (``call_function_with_value``: no conversion either way)."""
    return replace(export, key=None, params=None, lift_return=None)


def call_input(state: Any, params: tuple[Value, ...]) -> bytes:
    """The CGRF input of an export call: ``tuple[state, p1, ...]``, the state spliced in."""
    return cgrf.encode_call(state_bytes(state), params)
