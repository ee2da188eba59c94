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
# The world's records (`store`, `filesystem`, `http-types`).
CONTENT_REF = "record{hash: string}"
COMMAND_RESULT = ("variant{success(record{stdout: string, stderr: string, exit-code: s32}), "
                  "error(record{message: string})}")
_HEADERS = "list<tuple<string, string>>"
HTTP_REQUEST = f"record{{method: string, uri: string, headers: {_HEADERS}, body: option<list<u8>>}}"
HTTP_RESPONSE = f"record{{status: u16, headers: {_HEADERS}, body: option<list<u8>>}}"


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
    # The outside world (theater_harness.world), component era.
    "store": {
        "new": ("func() -> result<string, string>",),
        "store": (f"func(string, list<u8>) -> result<{CONTENT_REF}, string>",),
        "get": (f"func(string, {CONTENT_REF}) -> result<list<u8>, string>",),
        "exists": (f"func(string, {CONTENT_REF}) -> result<bool, string>",),
        "label": (f"func(string, string, {CONTENT_REF}) -> result<_, string>",),
        "get-by-label": (f"func(string, string) -> result<option<{CONTENT_REF}>, string>",),
        "remove-label": ("func(string, string) -> result<_, string>",),
        "remove-from-label": (f"func(string, string, {CONTENT_REF}) -> result<_, string>",),
        "store-at-label": (f"func(string, string, list<u8>) -> result<{CONTENT_REF}, string>",),
        "replace-content-at-label": (f"func(string, string, list<u8>) -> result<{CONTENT_REF}, string>",),
        "replace-at-label": (f"func(string, string, {CONTENT_REF}) -> result<_, string>",),
        "list-labels": ("func(string) -> result<list<string>, string>",),
        "list-all-content": (f"func(string) -> result<list<{CONTENT_REF}>, string>",),
        "calculate-total-size": ("func(string) -> result<u64, string>",),
    },
    "filesystem": {
        "read-file": ("func(string) -> result<list<u8>, string>",),
        "write-file": ("func(string, string) -> result<_, string>",),
        "list-files": ("func(string) -> result<list<string>, string>",),
        "delete-file": ("func(string) -> result<_, string>",),
        "create-dir": ("func(string) -> result<_, string>",),
        "delete-dir": ("func(string) -> result<_, string>",),
        "path-exists": ("func(string) -> result<bool, string>",),
        "execute-command": (f"func(string, string, list<string>) -> result<{COMMAND_RESULT}, string>",),
        "execute-nix-command": (f"func(string, string) -> result<{COMMAND_RESULT}, string>",),
    },
    "environment": {
        "get-var": ("func(string) -> option<string>",),
        "list-vars": (f"func() -> {_HEADERS}",),
        "exists": ("func(string) -> bool",),
    },
    "http-types": {},  # types only
    "http-client": {
        "send-http": (f"func({HTTP_REQUEST}) -> result<{HTTP_RESPONSE}, string>",),
    },
}

# Host functions that may have to wait (in virtual time, or for another actor): their
# callers' calls are suspended until the host function can answer.
BLOCKING = frozenset({
    ("timing", "sleep"), ("timing", "deadline"),
    ("message-server-host", "request"), ("message-server-host", "open-channel"),
    ("supervisor", "spawn"), ("supervisor", "resume"), ("supervisor", "restart-child"),
    # The world's functions that may take virtual time (latency, and the faults to come).
    *(("store", fn) for fn in IMPORTS["store"]),
    *(("filesystem", fn) for fn in IMPORTS["filesystem"]),
    ("http-client", "send-http"),
})

# Component-era functions whose meaning (types) differs from the packr function of the
# same name: the host implements them under another name (as packr's HOST_NAMES). The
# component-era store's content refs are records, ``{hash: string}``.
HOST_NAMES = {("store", fn): f"{fn} (content-ref record)" for fn in (
    "store", "get", "exists", "label", "get-by-label", "remove-from-label", "store-at-label",
    "replace-content-at-label", "replace-at-label", "list-all-content")}

# Which manifest handler type provides each host interface.
HANDLER_FOR_IMPORT = {
    "runtime": "runtime",
    "message-server-host": "message-server",
    "supervisor": "supervisor",
    "timing": "timing",
    "random": "random",
    "store": "store",
    "filesystem": "filesystem",
    "environment": "environment",
    "http-types": "http-client",
    "http-client": "http-client",
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
