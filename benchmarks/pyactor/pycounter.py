"""pycounter: the C counter (scenarios/actors/src/counter.c) written in Python.

Built with componentize-py against the same world, ``counter`` of
scenarios/actors/wit/worlds.wit (imports theater:simple/runtime, exports
theater:simple/actor and theater:simple/message-server-client), with ``--stub-wasi``:
the component imports nothing but theater:simple.

State: {"count":N} (compact JSON).
  init                 none -> {"count":0}; some -> its "count" (missing -> 0)
  handle-send          "add:N" (N decimal) -> count += N; any other payload -> count += 1
  handle-request       "get" -> reply N, state unchanged
                       "inc" -> count += 1, reply the new N
                       anything else -> reply "unknown" (and log it)
  channels             every open is accepted (no message); a channel
                       message counts like a send; close is a no-op

The state is read exactly as the C counter reads it (theater_guest.h's tg_json_get and
tg_parse_i64: the raw text of the first top-level "count" member, an optional '-' and
decimal digits within int64, anything else counts as 0), with a fast path for the
state the actor writes itself. Counts wrap around at 64 bits like the C counter's.
Nothing is logged on the hot path: no host call per message.
"""

import re
from typing import Optional, Tuple

from wit_world import exports
from wit_world.imports import runtime, types

NAME = "pycounter"
_OWN_STATE = re.compile(rb'\{"count":(-?[0-9]+)\}')  # what this actor writes
_INT64_MIN, _INT64_MAX = -(1 << 63), (1 << 63) - 1
_WS = b" \t\n\r"


def _parse_i64(text: bytes) -> Optional[int]:
    """tg_parse_i64: all of ``text`` as a decimal with an optional leading '-'."""
    digits = text[1:] if text[:1] == b"-" else text
    if not digits or not digits.isdigit():  # bytes.isdigit: ASCII digits only
        return None
    value = int(digits)
    if text[:1] == b"-":
        return -value if value <= -_INT64_MIN else None
    return value if value <= _INT64_MAX else None


def _skip_ws(p: bytes, i: int, n: int) -> int:
    while i < n and p[i] in _WS:
        i += 1
    return i


def _skip_string(p: bytes, i: int, n: int) -> int:
    i += 1
    while i < n:
        c = p[i]
        if c == 0x5C:  # backslash: skip the escaped byte
            i += 1
        elif c == 0x22:
            return i + 1
        i += 1
    return n


def _skip_value(p: bytes, i: int, n: int) -> int:
    if i >= n:
        return n
    if p[i] == 0x22:
        return _skip_string(p, i, n)
    if p[i] in b"{[":
        depth = 0
        while i < n:
            c = p[i]
            if c == 0x22:
                i = _skip_string(p, i, n)
                continue
            if c in b"{[":
                depth += 1
            elif c in b"}]":
                depth -= 1
                if depth == 0:
                    return i + 1
            i += 1
        return n
    while i < n and p[i] not in b",}]" and p[i] not in _WS:
        i += 1
    return i


def _json_get(doc: bytes, key: bytes) -> Optional[bytes]:
    """tg_json_get: the raw text of member ``key`` of the top-level object ``doc``."""
    n = len(doc)
    i = _skip_ws(doc, 0, n)
    if i >= n or doc[i] != 0x7B:
        return None
    i += 1
    while True:
        i = _skip_ws(doc, i, n)
        if i >= n or doc[i] != 0x22:
            return None
        kstart = i + 1
        i = _skip_string(doc, i, n)
        kend = i - 1
        i = _skip_ws(doc, i, n)
        if i >= n or doc[i] != 0x3A:
            return None
        i = _skip_ws(doc, i + 1, n)
        vstart = i
        i = _skip_value(doc, i, n)
        if doc[kstart:kend] == key and kend >= kstart:
            return doc[vstart:i]
        i = _skip_ws(doc, i, n)
        if i >= n or doc[i] != 0x2C:
            return None
        i += 1


def _count_of(state: Optional[bytes]) -> int:
    if state is None:
        return 0
    m = _OWN_STATE.fullmatch(state)
    if m is not None:
        value = _parse_i64(m.group(1))
    else:
        raw = _json_get(state, b"count")
        value = None if raw is None else _parse_i64(raw)
    return 0 if value is None else value


def _add_wrapping(a: int, b: int) -> int:
    return ((a + b - _INT64_MIN) & 0xFFFF_FFFF_FFFF_FFFF) + _INT64_MIN


def _state(count: int) -> bytes:
    return b'{"count":%d}' % count


def _add(state: Optional[bytes], msg: bytes) -> Tuple[Optional[bytes]]:
    """A sent or channel message: "add:N" adds N, anything else adds 1."""
    n = _parse_i64(msg[4:]) if msg[:4] == b"add:" else None
    return (_state(_add_wrapping(_count_of(state), 1 if n is None else n)),)


class Actor(exports.Actor):
    def init(self, state: Optional[bytes]) -> Tuple[Optional[bytes]]:
        return (_state(_count_of(state)),)


class MessageServerClient(exports.MessageServerClient):
    def handle_send(self, state: Optional[bytes], params: Tuple[bytes]) -> Tuple[Optional[bytes]]:
        return _add(state, params[0])

    def handle_request(
        self, state: Optional[bytes], params: Tuple[str, bytes]
    ) -> Tuple[Optional[bytes], Tuple[Optional[bytes]]]:
        msg = params[1]
        if msg == b"get":
            return (state, (b"%d" % _count_of(state),))
        if msg == b"inc":
            n = _add_wrapping(_count_of(state), 1)
            return (_state(n), (b"%d" % n,))
        runtime.log(f"{NAME}: unknown request " + msg.decode("utf-8", "replace"))
        return (state, (b"unknown",))

    def handle_channel_open(
        self, state: Optional[bytes], params: Tuple[str, bytes]
    ) -> Tuple[Optional[bytes], Tuple[types.ChannelAccept]]:
        return (state, (types.ChannelAccept(accepted=True, message=None),))

    def handle_channel_message(self, state: Optional[bytes], params: Tuple[str, bytes]) -> Tuple[Optional[bytes]]:
        return _add(state, params[1])

    def handle_channel_close(self, state: Optional[bytes], params: Tuple[str]) -> Tuple[Optional[bytes]]:
        return (state,)
