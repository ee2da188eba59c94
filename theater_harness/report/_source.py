"""Whatever holds a trace, as plain records: the one entry point of every view.

A trace that comes from outside (a file, its text, its parsed dict, a list of records) is
validated whole by its schema (``schema/trace.py``) before any view reads it, so a
malformed one is a TraceFileError naming the file and the field, never a view's crash.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from ..trace import Trace, TraceRecord


@dataclass(frozen=True, slots=True)
class TraceData:
    """A trace's records (flat dicts, as in the JSON export) and what the header says;
    ``header`` is the rest of the document (a replay compares a fresh trace with it)."""

    records: list[dict]
    seed: int | None = None
    scenario: str | None = None
    scenario_path: str | None = None
    faults: list = field(default_factory=list)  # fault keyword arguments (schema.faults)
    header: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        """The document as saved (its header and its records)."""
        return {**self.header, "records": self.records}


def _data(checked: dict) -> TraceData:
    doc = checked.get("doc") or {}
    return TraceData(checked["records"], checked["seed"], checked["scenario"], checked["scenario_path"],
                     checked["faults"], {k: v for k, v in doc.items() if k != "records"})


def read_trace(path: str | os.PathLike) -> TraceData:
    """A saved trace file, read and validated; TraceFileError naming the file otherwise."""
    from ..schema.trace import read_trace as read

    return _data(read(path))


def load(source: Any) -> TraceData:
    """Read ``source``: a Runtime, a Trace, the trace JSON (text, bytes, a path, or the
    parsed dict), the records themselves (dicts or TraceRecords), or a TraceData."""
    from ..schema import trace as schema

    if isinstance(source, TraceData):
        return source
    trace = getattr(source, "trace", None)
    if isinstance(trace, Trace):  # a Runtime
        source = trace
    if isinstance(source, Trace):
        return TraceData(source.dicts(), source.seed, source.meta.get("scenario"))
    if isinstance(source, os.PathLike):
        return read_trace(source)
    if isinstance(source, (str, bytes)):
        return _data(schema.parse_trace(source))
    if isinstance(source, dict):
        from ..errors import TraceFileError
        from ..schema import _core

        _core.check_depth(source, lambda field, message: TraceFileError(message, file="<trace>", field=field))
        return _data({**schema.check_trace(source, "<trace>"), "doc": source})
    if isinstance(source, (list, tuple)):
        return TraceData(_plain(source))
    raise TypeError(f"cannot read a trace from a {type(source).__name__}: pass a Runtime, a Trace, "
                    "the trace JSON (text, path or parsed dict) or a list of records")


def _plain(records: list | tuple) -> list[dict]:
    from ..schema.trace import check_records

    return check_records([r.to_dict() if isinstance(r, TraceRecord) else r for r in records], "<records>")


def records_of(source: Any) -> list[dict]:
    """The records of ``source`` (see ``load``), as flat dicts."""
    return load(source).records
