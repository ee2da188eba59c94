"""Actor states, decoded. Trace records name a state by its digest (``state_digest``); the
bytes themselves are in the trace already, in its chain events (each successful call's
``WasmResult`` carries the actor's new state), so the views find them there and show a
short preview beside the digest, and the trace stays as it is."""

from __future__ import annotations

import json
import re
from typing import Any

from ..trace import state_digest
from ..wasm.packr.cgrf import decode
from ..wasm.packr.value import render

CGRF_MAGIC = b"CGRF\x02\x00"  # a CGRF v2 buffer's first bytes
from ._source import records_of

PREVIEW = 80  # characters of a state shown beside its digest
STATE_KEYS = ("state", "init_state")  # the record fields that hold a state digest
_RESULT = '"WasmResult":'
_STATE_AT = '"result":['
# The state the injector gives when a corrupt-state fault names none (faults/injector.py).
_DEFAULT_CORRUPT = b"\x00corrupted state\x00"
DIGEST = re.compile(r"\b[0-9a-f]{16}\b")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def states_of(records: list[dict]) -> dict[str, bytes]:
    """digest -> bytes of every state the records hold: each ``WasmResult`` chain event's
    new state, and the state a ``corrupt-state`` fault gave."""
    found: dict[str, bytes] = {}
    seen: set[str] = set()  # the JSON text of states already read: a state repeats often
    for r in records:
        kind = r["kind"]
        if kind == "event":
            data = r.get("data")
            if data.__class__ is not str or _RESULT not in data:
                continue
            start = data.find(_STATE_AT)
            if start < 0 or data.startswith("null", start + len(_STATE_AT)):
                continue
            start += len(_STATE_AT)
            end = data.find("]", start)  # a state is a flat list of byte values
            text = data[start:end + 1]
            if end < 0 or text in seen:
                continue
            seen.add(text)
            try:
                raw = bytes(json.loads(text))
            except (ValueError, TypeError, RecursionError):  # not a flat list of bytes: not a state
                continue
            found.setdefault(state_digest(raw), raw)
        elif kind == "fault" and r.get("fault_kind") == "corrupt-state":
            given = str(r.get("describe", "")).partition(" state=")[2]  # its only parameter
            for raw in ((given.encode(),) if given else ()) + (_DEFAULT_CORRUPT,):
                found.setdefault(state_digest(raw), raw)
    return found


def preview(raw: bytes, limit: int = PREVIEW) -> str:
    """The state on one line, as it is: JSON as its text (``{"count":6}``), other UTF-8 text
    quoted (``"\\u0000garbage"``), anything else as ``hex 00ff...``; line breaks and other
    control characters escaped; cut at ``limit`` characters with an ellipsis and the size.
    A typed state (a packr actor's: a CGRF buffer) is shown as its value (``{count: 6}``)."""
    typed = typed_preview(raw)
    if typed is not None:
        shown = typed
        if len(shown) > limit:
            return f"{shown[:limit - 1]}\u2026 ({len(raw)} bytes)"
        return shown
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        shown = "hex " + raw[:limit].hex()
    else:
        if _is_json(text):
            shown = _CONTROL.sub(lambda m: json.dumps(m.group(0))[1:-1], text[:limit * 2])
        else:
            shown = json.dumps(text[:limit * 2], ensure_ascii=False)
    if len(shown) > limit:  # so is every text or hex cut above
        return f"{shown[:limit - 1]}\u2026 ({len(raw)} bytes)"
    return shown


def typed_preview(raw: bytes) -> str | None:
    """A typed state's value in WAVE text, or None when ``raw`` is no CGRF buffer."""
    if raw[:6] != CGRF_MAGIC:
        return None
    try:
        return render(decode(raw))
    except ValueError:
        return None


def _is_json(text: str) -> bool:
    """Whether ``text`` is JSON; past 64 KiB (too long to parse for a preview), whether it
    looks like an object or an array."""
    if len(text) > 1 << 16:
        return text[:1] in ("{", "[")
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


class States:
    """The states a trace holds (any form ``records_of`` reads), by digest, with their
    previews made once each."""

    def __init__(self, source: Any, limit: int = PREVIEW):
        self.raw = states_of(records_of(source))
        self.limit = limit
        self._shown: dict[str, str] = {}

    def preview(self, digest: str | None) -> str | None:
        """The preview of the state with this digest; None if the trace does not hold it."""
        if digest is None or digest not in self.raw:
            return None
        shown = self._shown.get(digest)
        if shown is None:
            shown = self._shown[digest] = preview(self.raw[digest], self.limit)
        return shown

    def text(self, digest: str | None) -> str:
        """``digest preview``; ``none`` for no state; for a state the trace holds only as its
        digest (one the actor's init did not return as it was given), the digest and that."""
        if digest is None:
            return "none"
        shown = self.preview(digest)
        return f"{digest} (bytes not in the trace)" if shown is None else f"{digest} {shown}"

    def annotate(self, text: str) -> str:
        """``text`` with the preview after every state digest in it that the trace holds
        (``from state 286ef99473842386 ({"count":8})``); other hex words are left alone."""
        def beside(match: re.Match) -> str:
            shown = self.preview(match.group(0))
            return match.group(0) if shown is None else f"{match.group(0)} ({shown})"

        return DIGEST.sub(beside, text)
