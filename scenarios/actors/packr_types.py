"""The ``__pack_types`` declarations of the packr example actors (src/packr_*.c).

``build.py`` embeds ``metadata_blob(name)`` in each actor (a generated ``pack_types.h``);
the actor's ``__pack_types`` export returns it. Each declaration lists:

- **imports**: the host functions the C code calls, with the signatures of Theater's
  interfaces (``theater_harness.wasm.packr.interfaces.INTERFACES``), and per imported
  interface the *subset hash* over exactly those functions (PACKR.md 3.3: what Theater
  compares with its handler's hash over the same names);
- **exports**: every ``"<interface>.<function>"`` the module exports, declared the way
  Theater's own test actors declare them in their ``pack_types!`` (the state is
  parameter 0: ``value`` for ``actor.init``, which may receive any state, the actor's
  state record elsewhere; the result is ``result<tuple<state, returns...>, string>``),
  and per exported interface the hash over those functions.

Hashes are computed with ``hash_interface`` (PACKR.md 3.2); ``tests/test_packr_actors.py``
checks that every actor's decoded blob matches its module's real imports and exports.
"""
from __future__ import annotations

from theater_harness.wasm.packr.interfaces import INTERFACES
from theater_harness.wasm.packr.types import (
    FunctionSig,
    ListT,
    OptionT,
    PackageMetadata,
    Prim,
    RecordT,
    ResultT,
    TupleT,
    ValueT,
    VariantT,
    encode_metadata,
)

RUNTIME = "theater:simple/runtime"
MSH = "theater:simple/message-server-host"
SUPERVISOR = "theater:simple/supervisor"
ACTOR = "theater:simple/actor"
MSC = "theater:simple/message-server-client"
SUP_HANDLERS = "theater:simple/supervisor-handlers"
TIMER = "theater:simple/timer"
STORE = "theater:simple/store"
COUNTER = "counter"

BOOL, U32, S64, STRING = Prim("bool"), Prim("u32"), Prim("s64"), Prim("string")
BYTES = ListT(Prim("u8"))

# The state records (field order = the order on the wire).
COUNTER_STATE = RecordT("counter-state", (("count", S64), ("last", STRING)))
MESSENGER_STATE = RecordT("messenger-state", (
    ("sent", U32), ("replies", U32), ("errors", U32), ("received", U32),
    ("channel", OptionT(STRING)),
))
CRASHER_STATE = RecordT("crasher-state", (("count", U32),))
PANIC_STATE = RecordT("panic-state", (("count", U32),))
SUP_STATE = RecordT("sup-state", (("children", ListT(STRING)), ("restarts", U32)))
TICKER_STATE = RecordT("ticker-state", (
    ("ticks", U32), ("store", OptionT(STRING)), ("last-ref", OptionT(STRING)),
))

CHANNEL_ACCEPT = RecordT("channel-accept", (("accepted", BOOL), ("message", OptionT(BYTES))))
WIT_ERROR_TYPE = VariantT("wit-error-type", tuple((case, None) for case in (
    "operation-timeout", "channel-closed", "shutting-down", "function-not-found",
    "type-mismatch", "internal", "serialization-error", "update-component-error", "paused",
)))


def _returns(state, *rets) -> tuple:
    """An export's results: result<tuple<state, rets...>, string>."""
    return (ResultT(TupleT((state, *rets)), STRING),)


def _init(state) -> FunctionSig:
    return FunctionSig(ACTOR, "init", (("state", ValueT()),), _returns(state))


def _message_server_client(state, names: tuple[str, ...]) -> list[FunctionSig]:
    sigs = {
        "handle-send": ((("msg", BYTES),), _returns(state)),
        "handle-request": ((("request-id", STRING), ("msg", BYTES)),
                           _returns(state, TupleT((OptionT(BYTES),)))),
        "handle-channel-open": ((("channel-id", STRING), ("msg", BYTES)),
                                _returns(state, TupleT((CHANNEL_ACCEPT,)))),
        "handle-channel-message": ((("channel-id", STRING), ("msg", BYTES)), _returns(state)),
        "handle-channel-close": ((("channel-id", STRING),), _returns(state)),
    }
    return [FunctionSig(MSC, name, (("state", state), *sigs[name][0]), sigs[name][1])
            for name in names]


ALL_MSC = ("handle-send", "handle-request", "handle-channel-open", "handle-channel-message",
           "handle-channel-close")
SEND_AND_REQUEST = ("handle-send", "handle-request")


def _supervisor_handlers(state) -> list[FunctionSig]:
    return [
        FunctionSig(SUP_HANDLERS, "handle-child-error",
                    (("state", state), ("child-id", STRING),
                     ("error", TupleT((WIT_ERROR_TYPE, OptionT(BYTES))))), _returns(state)),
        FunctionSig(SUP_HANDLERS, "handle-child-exit",
                    (("state", state), ("child-id", STRING), ("result", OptionT(BYTES))),
                    _returns(state)),
        FunctionSig(SUP_HANDLERS, "handle-child-external-stop",
                    (("state", state), ("child-id", STRING)), _returns(state)),
    ]


def _imports(*pairs: tuple[str, tuple[str, ...]]) -> list[FunctionSig]:
    """Theater's signatures of the named functions of each interface."""
    return [INTERFACES[interface][name] for interface, names in pairs for name in names]


# actor -> (imports, exports), in the order the C source defines the exports.
DECLARATIONS: dict[str, tuple[list[FunctionSig], list[FunctionSig]]] = {
    "packr_counter": (
        _imports((RUNTIME, ("log",)), (MSH, ("register",))),
        [_init(COUNTER_STATE), *_message_server_client(COUNTER_STATE, ALL_MSC),
         FunctionSig(COUNTER, "add", (("state", COUNTER_STATE), ("n", S64)), _returns(COUNTER_STATE, S64)),
         FunctionSig(COUNTER, "get", (("state", COUNTER_STATE),), _returns(COUNTER_STATE, S64))],
    ),
    "packr_messenger": (
        _imports((RUNTIME, ("log",)),
                 (MSH, ("register", "send", "request", "open-channel", "send-on-channel",
                        "close-channel"))),
        [_init(MESSENGER_STATE), *_message_server_client(MESSENGER_STATE, ALL_MSC)],
    ),
    "packr_crasher": (
        _imports((MSH, ("register",))),
        [_init(CRASHER_STATE), *_message_server_client(CRASHER_STATE, SEND_AND_REQUEST)],
    ),
    "packr_panic": (
        _imports((RUNTIME, ("log",)), (MSH, ("register",))),
        [_init(PANIC_STATE), *_message_server_client(PANIC_STATE, SEND_AND_REQUEST)],
    ),
    "packr_supervisor": (
        _imports((RUNTIME, ("log",)), (MSH, ("register",)),
                 (SUPERVISOR, ("spawn", "list-children", "restart-child", "stop-child"))),
        [_init(SUP_STATE), *_message_server_client(SUP_STATE, SEND_AND_REQUEST),
         *_supervisor_handlers(SUP_STATE)],
    ),
    "packr_ticker": (
        _imports((RUNTIME, ("log",)), (MSH, ("register",)),
                 (TIMER, ("set-interval", "clear-interval", "now")),
                 (STORE, ("new", "get", "exists", "get-by-label", "store-at-label", "list-labels"))),
        [_init(TICKER_STATE),
         FunctionSig(TIMER, "handle-tick", (("state", TICKER_STATE), ("name", STRING)), _returns(TICKER_STATE)),
         *_message_server_client(TICKER_STATE, SEND_AND_REQUEST)],
    ),
}


def metadata(name: str) -> PackageMetadata:
    """The package metadata of packr actor `name`: its functions, and per interface the
    hash over exactly the functions listed from it (``hash_interface``)."""
    imports, exports = DECLARATIONS[name]
    return PackageMetadata.build(imports, exports)


def metadata_blob(name: str) -> bytes:
    """The CGRF blob `name`'s __pack_types returns."""
    return encode_metadata(metadata(name))


def actor_names() -> list[str]:
    return sorted(DECLARATIONS)


# --- rpc: a typed calculator, and a client that calls it through theater:simple/rpc ---------

RPC = "theater:simple/rpc"
CALC_STATE = RecordT("calc-state", (("total", S64), ("calls", U32)))
RPC_CLIENT_STATE = RecordT("rpc-client-state", (("calls", U32), ("errors", U32), ("pings", U32)))


def _binary(state, name: str) -> FunctionSig:
    """calc.<name>(a: s64, b: s64) -> s64."""
    return FunctionSig("calc", name, (("state", state), ("a", S64), ("b", S64)), _returns(state, S64))


DECLARATIONS["packr_rpc_server"] = (
    _imports((RUNTIME, ("log",))),
    [_init(CALC_STATE), _binary(CALC_STATE, "add"), _binary(CALC_STATE, "div"),
     FunctionSig("calc", "total", (("state", CALC_STATE),), _returns(CALC_STATE, S64))],
)
DECLARATIONS["packr_rpc_client"] = (
    _imports((RUNTIME, ("log",)), (MSH, ("register",)), (RPC, ("call", "implements", "exports"))),
    [_init(RPC_CLIENT_STATE), *_message_server_client(RPC_CLIENT_STATE, SEND_AND_REQUEST),
     FunctionSig("rpc-client", "ping", (("state", RPC_CLIENT_STATE),), _returns(RPC_CLIENT_STATE, STRING)),
     FunctionSig("rpc-client", "relay", (("state", RPC_CLIENT_STATE), ("target", STRING), ("function", STRING)),
                 _returns(RPC_CLIENT_STATE, STRING))],
)
