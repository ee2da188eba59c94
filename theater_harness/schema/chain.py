"""The schema of Theater chain files: a JSON list of events, each with ``hash``,
``parent_hash`` (null for the first), ``event_type`` and ``data`` (byte strings as lists of
integers 0..255), and the harness's optional ``description`` and ``time_ms``.

Errors are ChainFileErrors naming the file and the event's key (``events[3].hash``);
whether the hashes verify is ``chain.verify_chain``'s question, not the schema's.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..errors import ChainFileError
from . import _core

BYTES_EXPECTED = "expected a list of integers 0..255"
KEYS = ("hash", "parent_hash", "event_type", "data")


def _bytes(value: Any, file: str | None, field: str) -> bytes:
    if type(value) is not list or not {type(v) for v in value} <= {int}:
        raise ChainFileError(BYTES_EXPECTED, file=file, field=field)
    try:
        return bytes(value)
    except ValueError:
        raise ChainFileError(BYTES_EXPECTED, file=file, field=field) from None


def check_event(obj: Any, index: int, file: str | None) -> tuple[bytes, bytes | None, str, bytes, str | None, int]:
    """One event in Theater's JSON form: (hash, parent_hash, event_type, data,
    description, time_ms), or ChainFileError naming the bad key."""
    where = f"events[{index}]"
    if not isinstance(obj, dict):
        raise ChainFileError("expected an object with keys hash, parent_hash, event_type, data",
                             file=file, field=where)
    for key in KEYS:
        if key not in obj:
            raise ChainFileError("missing", file=file, field=f"{where}.{key}")
    parent = obj["parent_hash"]
    event_type = obj["event_type"]
    if not isinstance(event_type, str):
        raise ChainFileError("expected a string", file=file, field=f"{where}.event_type")
    description = obj.get("description")
    if description is not None and not isinstance(description, str):
        raise ChainFileError("expected a string or null", file=file, field=f"{where}.description")
    for key, text in (("event_type", event_type), ("description", description or "")):
        if _core.has_surrogate(text):
            raise ChainFileError("holds a lone UTF-16 surrogate, which is not text", file=file, field=f"{where}.{key}")
    time_ms = obj.get("time_ms", 0)
    if type(time_ms) is not int:
        raise ChainFileError("expected an integer", file=file, field=f"{where}.time_ms")
    if not 0 <= time_ms <= _core.INT64_MAX:
        raise ChainFileError(f"expected an integer from 0 to {_core.INT64_MAX}, got {_core.show(time_ms)}",
                             file=file, field=f"{where}.time_ms")
    return (_bytes(obj["hash"], file, f"{where}.hash"),
            None if parent is None else _bytes(parent, file, f"{where}.parent_hash"),
            event_type, _bytes(obj["data"], file, f"{where}.data"), description, time_ms)


def read_chain(path: str | Path) -> list[tuple]:
    """A chain file, read, parsed and validated: its events as ``check_event`` gives them."""
    file = str(path)

    def error(field: str | None, message: str) -> ChainFileError:
        return ChainFileError(message, file=file, field=field)

    raw = _core.parse_json(_core.read_text(path, error, cannot="cannot read chain file"), error, "events")
    if not isinstance(raw, list):
        raise ChainFileError(f"expected a JSON list of events, got {type(raw).__name__}", file=file)
    return [check_event(obj, i, file) for i, obj in enumerate(raw)]
