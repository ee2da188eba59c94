"""Names and signatures of the `theater:simple` interfaces, as the host checks them.

A component's imports and exports are compared, type by type, with what theater-harness
implements, so a component built against another WIT fails to load with an error that
shows both signatures instead of failing later in the middle of a call.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from wasmtime.component import _types as T

PACKAGE = "theater:simple"

_NAME = re.compile(r"^(?P<package>[a-z0-9-]+:[a-z0-9-]+)/(?P<name>[a-z0-9-]+)(?:@(?P<version>[^\s]+))?$")


class InterfaceName(NamedTuple):
    """A parsed interface name such as ``theater:simple/runtime@0.1.2``."""

    package: str
    name: str
    version: str | None
    full: str


def parse_interface(full: str) -> InterfaceName | None:
    match = _NAME.match(full)
    if not match:
        return None
    return InterfaceName(match["package"], match["name"], match["version"], full)


def render(ty: T.ValType) -> str:
    """A type in WIT syntax (records and enums structurally, so they can be compared)."""
    simple = {
        T.Bool: "bool", T.S8: "s8", T.U8: "u8", T.S16: "s16", T.U16: "u16", T.S32: "s32",
        T.U32: "u32", T.S64: "s64", T.U64: "u64", T.F32: "f32", T.F64: "f64", T.Char: "char",
        T.String: "string",
    }.get(type(ty))
    if simple:
        return simple
    if isinstance(ty, T.ListType):
        return f"list<{render(ty.element)}>"
    if isinstance(ty, T.OptionType):
        return f"option<{render(ty.payload)}>"
    if isinstance(ty, T.ResultType):
        ok = render(ty.ok) if ty.ok is not None else "_"
        err = render(ty.err) if ty.err is not None else "_"
        return f"result<{ok}, {err}>" if (ty.ok is not None or ty.err is not None) else "result"
    if isinstance(ty, T.TupleType):
        return "tuple<" + ", ".join(render(e) for e in ty.elements) + ">"
    if isinstance(ty, T.RecordType):
        return "record{" + ", ".join(f"{n}: {render(t)}" for n, t in ty.fields) + "}"
    if isinstance(ty, T.EnumType):
        return "enum{" + ", ".join(ty.names) + "}"
    if isinstance(ty, T.VariantType):
        return "variant{" + ", ".join(n if t is None else f"{n}({render(t)})" for n, t in ty.cases) + "}"
    if isinstance(ty, T.FlagsType):
        return "flags{" + ", ".join(ty.names) + "}"
    return type(ty).__name__


def render_func(fty: T.FuncType) -> str:
    params = ", ".join(render(t) for _, t in fty.params)
    result = fty.result
    return f"func({params})" + (f" -> {render(result)}" if result is not None else "")


# The record types of `types`, spelled as `render` spells them.
STATE = "option<list<u8>>"
_EVENT = "record{event-type: string, parent: option<u64>, data: list<u8>}"
CHAIN = f"record{{events: list<record{{hash: u64, event: {_EVENT}}}>}}"
_CHAIN_EVENT_FIELDS = "hash: list<u8>, parent-hash: option<list<u8>>, event-type: string, data: list<u8>"
CHAIN_EVENTS = (  # late era, early era, and the transition that had both
    f"record{{{_CHAIN_EVENT_FIELDS}, description: option<string>}}",
    f"record{{{_CHAIN_EVENT_FIELDS}, timestamp: u64}}",
    f"record{{{_CHAIN_EVENT_FIELDS}, timestamp: u64, description: option<string>}}",
)
ERROR_TYPE = (
    "enum{operation-timeout, channel-closed, shutting-down, function-not-found, type-mismatch, "
    "internal, serialization-error, update-component-error, paused}"
)
ACTOR_ERROR = f"record{{error-type: {ERROR_TYPE}, data: option<list<u8>>}}"
CHANNEL_ACCEPT = "record{accepted: bool, message: option<list<u8>>}"


def _handler(params: str, extra: str = "") -> str:
    returned = f"tuple<{STATE}{', ' + extra if extra else ''}>"
    return f"func({STATE}, {params}) -> result<{returned}, string>"


# Host interfaces (imported by actors): function -> accepted signatures.
IMPORTS: dict[str, dict[str, tuple[str, ...]]] = {
    "runtime": {
        "log": ("func(string)",),
        "get-chain": (f"func() -> {CHAIN}",),
        "shutdown": (f"func({STATE}) -> result<_, string>",),
    },
    "message-server-host": {
        "send": ("func(string, list<u8>) -> result<_, string>",),
        "request": ("func(string, list<u8>) -> result<list<u8>, string>",),
        "open-channel": ("func(string, list<u8>) -> result<string, string>",),
        "send-on-channel": ("func(string, list<u8>) -> result<_, string>",),
        "close-channel": ("func(string) -> result<_, string>",),
        "list-outstanding-requests": ("func() -> list<string>",),
        "respond-to-request": ("func(string, list<u8>) -> result<_, string>",),
        "cancel-request": ("func(string) -> result<_, string>",),
    },
    "supervisor": {
        "spawn": (f"func(string, {STATE}) -> result<string, string>",),
        "resume": (f"func(string, {STATE}) -> result<string, string>",),
        "list-children": ("func() -> list<string>",),
        "stop-child": ("func(string) -> result<_, string>",),
        "restart-child": ("func(string) -> result<_, string>",),
        "get-child-state": (f"func(string) -> result<{STATE}, string>",),
        "get-child-events": tuple(f"func(string) -> result<list<{ce}>, string>" for ce in CHAIN_EVENTS),
    },
    "timing": {
        "now": ("func() -> u64",),
        "sleep": ("func(u64) -> result<_, string>",),
        "deadline": ("func(u64) -> result<_, string>",),
    },
    "random": {
        "random-bytes": ("func(u32) -> result<list<u8>, string>",),
        "random-range": ("func(u64, u64) -> result<u64, string>",),
        "random-float": ("func() -> result<f64, string>",),
        "generate-uuid": ("func() -> result<string, string>",),
    },
}

# Host functions that may have to wait (in virtual time, or for another actor): their
# callers' calls are suspended until the host function can answer.
BLOCKING = frozenset({
    ("timing", "sleep"), ("timing", "deadline"),
    ("message-server-host", "request"), ("message-server-host", "open-channel"),
    ("supervisor", "spawn"), ("supervisor", "resume"), ("supervisor", "restart-child"),
})

# Which manifest handler type provides each host interface.
HANDLER_FOR_IMPORT = {
    "runtime": "runtime",
    "message-server-host": "message-server",
    "supervisor": "supervisor",
    "timing": "timing",
    "random": "random",
}

# Actor exports the host calls: (interface, function) -> accepted signatures.
EXPORTS: dict[tuple[str, str], tuple[str, ...]] = {
    ("actor", "init"): (
        f"func({STATE}) -> result<tuple<{STATE}>, string>",
        f"func({STATE}, tuple<string>) -> result<tuple<{STATE}>, string>",
    ),
    ("message-server-client", "handle-send"): (_handler("tuple<list<u8>>"),),
    ("message-server-client", "handle-request"): (_handler("tuple<string, list<u8>>", f"tuple<{STATE}>"),),
    ("message-server-client", "handle-channel-open"): (
        _handler("tuple<string, list<u8>>", f"tuple<{CHANNEL_ACCEPT}>"),
    ),
    ("message-server-client", "handle-channel-message"): (_handler("tuple<string, list<u8>>"),),
    ("message-server-client", "handle-channel-close"): (_handler("tuple<string>"),),
    ("supervisor-handlers", "handle-child-error"): (_handler(f"tuple<string, {ACTOR_ERROR}>"),),
    ("supervisor-handlers", "handle-child-exit"): (_handler(f"tuple<string, {STATE}>"),),
    ("supervisor-handlers", "handle-child-external-stop"): (_handler("tuple<string>"),),
}
