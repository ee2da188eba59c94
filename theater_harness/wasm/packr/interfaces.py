"""Theater's packr-era interfaces (PACKR.md 4.2-4.3) as ``FunctionSig`` tables (types only).

``INTERFACES`` holds the host functions TH provides, as its handlers' ``.pact`` files
declare them (``crates/theater-handler-*/*.pact`` at TH): these declarations are what TH
hashes when it checks an actor's ``import-hashes``, so their hashes are the ones an actor
must carry. Two places where the top-level ``pact/*.pact`` files differ are deliberately
not followed: ``runtime.get-chain`` and ``supervisor.get-child-events`` are not
implemented by the handlers, and an actor importing them fails TH's hash check.

``EXPORTS`` holds the actor-side exports TH calls, typed as TH calls them (4.1-4.2): the
host-held state first (``value``: any typed state), then the parameters the host sends
(the input is the flat ``tuple[state, p1, p2, ...]``), returning a ``result`` whose ok
payload is what TH expects: ``tuple<value>`` (the new state) where TH reads exactly that,
``value`` where TH accepts the new state alone or any ok. Actors declare these exports
with their own types (TH does not check export hashes), so these signatures describe the
calls, not a hash an actor must match.
"""

from __future__ import annotations

from .types import FunctionSig, RecordT, VariantT, parse_type, sig

RUNTIME = "theater:simple/runtime"
MESSAGE_SERVER_HOST = "theater:simple/message-server-host"
SUPERVISOR = "theater:simple/supervisor"
TIMER = "theater:simple/timer"
STORE = "theater:simple/store"
RPC = "theater:simple/rpc"

ACTOR = "theater:simple/actor"
MESSAGE_SERVER_CLIENT = "theater:simple/message-server-client"
SUPERVISOR_HANDLERS = "theater:simple/supervisor-handlers"

CHANNEL_ACCEPT = RecordT("channel-accept", (("accepted", parse_type("bool")),
                                            ("message", parse_type("option<list<u8>>"))))
"""What ``handle-channel-open`` answers (TH also accepts it as a 2-tuple)."""

WIT_ERROR_TYPE = VariantT("wit-error-type", tuple((case, None) for case in (
    "operation-timeout", "channel-closed", "shutting-down", "function-not-found", "type-mismatch", "internal",
    "serialization-error", "update-component-error", "paused")))
"""The enum of ``handle-child-error``'s error kind (case tags 0-8 in this order)."""

_TYPES = {"channel-accept": CHANNEL_ACCEPT, "wit-error-type": WIT_ERROR_TYPE}


def _table(interface: str, functions: list[tuple[str, list[tuple[str, str]], list[str]]]) -> dict[str, FunctionSig]:
    return {name: sig(interface, name, params, results, _TYPES) for name, params, results in functions}


_UNIT = ["result<_, string>"]

INTERFACES: dict[str, dict[str, FunctionSig]] = {
    RUNTIME: _table(RUNTIME, [
        ("log", [("msg", "string")], []),
        ("self", [], ["string"]),
        ("shutdown", [("data", "option<list<u8>>")], _UNIT),
    ]),
    MESSAGE_SERVER_HOST: _table(MESSAGE_SERVER_HOST, [
        ("register", [], _UNIT),
        ("send", [("actor-id", "string"), ("msg", "list<u8>")], _UNIT),
        ("request", [("actor-id", "string"), ("msg", "list<u8>")], ["result<list<u8>, string>"]),
        ("list-outstanding-requests", [], ["list<string>"]),
        ("respond-to-request", [("request-id", "string"), ("response", "list<u8>")], _UNIT),
        ("cancel-request", [("request-id", "string")], _UNIT),
        ("open-channel", [("actor-id", "string"), ("initial-msg", "list<u8>")], ["result<string, string>"]),
        ("send-on-channel", [("channel-id", "string"), ("msg", "list<u8>")], _UNIT),
        ("close-channel", [("channel-id", "string")], _UNIT),
    ]),
    SUPERVISOR: _table(SUPERVISOR, [
        ("spawn", [("manifest", "string"), ("init-state", "option<value>"), ("wasm-bytes", "option<list<u8>>")],
         ["result<string, string>"]),
        ("spawn-and-wait", [("manifest", "string"), ("init-state", "option<value>"),
                            ("wasm-bytes", "option<list<u8>>"), ("timeout-ms", "option<u64>")],
         ["result<option<list<u8>>, string>"]),
        ("resume", [("manifest", "string"), ("state-bytes", "option<list<u8>>"), ("wasm-bytes", "option<list<u8>>")],
         ["result<string, string>"]),
        ("list-children", [], ["result<list<string>, string>"]),
        ("restart-child", [("child-id", "string")], _UNIT),
        ("stop-child", [("child-id", "string")], _UNIT),
        ("get-child-state", [("child-id", "string")], ["result<option<list<u8>>, string>"]),
        ("subscribe-to-child", [("child-id", "string")], _UNIT),
        ("unsubscribe-from-child", [("child-id", "string")], _UNIT),
    ]),
    TIMER: _table(TIMER, [
        ("set-interval", [("name", "string"), ("interval-ms", "u64")], ["result<string, string>"]),
        ("clear-interval", [("name", "string")], _UNIT),
        ("now", [], ["u64"]),
    ]),
    STORE: _table(STORE, [
        ("new", [], ["result<string, string>"]),
        ("store", [("store-id", "string"), ("content", "list<u8>")], ["result<string, string>"]),
        ("get", [("store-id", "string"), ("content-ref", "string")], ["result<list<u8>, string>"]),
        ("exists", [("store-id", "string"), ("content-ref", "string")], ["result<bool, string>"]),
        ("label", [("store-id", "string"), ("label", "string"), ("content-ref", "string")], _UNIT),
        ("get-by-label", [("store-id", "string"), ("label", "string")], ["result<option<string>, string>"]),
        ("remove-label", [("store-id", "string"), ("label", "string")], _UNIT),
        ("store-at-label", [("store-id", "string"), ("label", "string"), ("content", "list<u8>")],
         ["result<string, string>"]),
        ("replace-content-at-label", [("store-id", "string"), ("label", "string"), ("content", "list<u8>")],
         ["result<string, string>"]),
        ("replace-at-label", [("store-id", "string"), ("label", "string"), ("content-ref", "string")], _UNIT),
        ("list-all-content", [("store-id", "string")], ["result<list<string>, string>"]),
        ("calculate-total-size", [("store-id", "string")], ["result<u64, string>"]),
        ("list-labels", [("store-id", "string")], ["result<list<string>, string>"]),
    ]),
    # Every answer is a dynamic value holding a result (``variant result {ok, err}``), as
    # crates/theater-handler-rpc/rpc.pact declares it.
    RPC: _table(RPC, [
        ("call", [("actor-id", "string"), ("function", "string"), ("params", "value"), ("options", "value")],
         ["value"]),
        ("implements", [("actor-id", "string"), ("interface", "string")], ["value"]),
        ("exports", [("actor-id", "string")], ["value"]),
    ]),
}
"""Host interfaces TH links into every actor: full name -> function name -> signature."""

_NEW_STATE = ["result<tuple<value>, string>"]
_ANY_OK = ["result<value, string>"]

EXPORTS: dict[str, dict[str, FunctionSig]] = {
    ACTOR: _table(ACTOR, [
        ("init", [("state", "value")], _ANY_OK),
    ]),
    MESSAGE_SERVER_CLIENT: _table(MESSAGE_SERVER_CLIENT, [
        ("handle-send", [("state", "value"), ("msg", "list<u8>")], _NEW_STATE),
        ("handle-request", [("state", "value"), ("request-id", "string"), ("msg", "list<u8>")],
         ["result<tuple<value, tuple<option<list<u8>>>>, string>"]),
        ("handle-channel-open", [("state", "value"), ("channel-id", "string"), ("initial-msg", "list<u8>")],
         ["result<tuple<value, tuple<channel-accept>>, string>"]),
        ("handle-channel-message", [("state", "value"), ("channel-id", "string"), ("msg", "list<u8>")], _NEW_STATE),
        ("handle-channel-close", [("state", "value"), ("channel-id", "string")], _NEW_STATE),
    ]),
    SUPERVISOR_HANDLERS: _table(SUPERVISOR_HANDLERS, [
        ("handle-child-error", [("state", "value"), ("child-id", "string"),
                                ("error", "tuple<wit-error-type, option<list<u8>>>")], _ANY_OK),
        ("handle-child-exit", [("state", "value"), ("child-id", "string"), ("result", "option<list<u8>>")], _ANY_OK),
        ("handle-child-external-stop", [("state", "value"), ("child-id", "string")], _ANY_OK),
        ("handle-child-event", [("state", "value"), ("child-id", "string"), ("event-type", "string"),
                                ("event-data", "list<u8>")], _ANY_OK),
    ]),
    TIMER: _table(TIMER, [
        ("handle-tick", [("state", "value"), ("name", "string")], _ANY_OK),
    ]),
}
"""Actor exports TH calls, typed as TH calls them: full interface name -> function name
-> signature. The module's export is named ``"<interface>.<function>"``."""
