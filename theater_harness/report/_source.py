"""Whatever holds a trace, as plain records: the one entry point of every view."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any

from ..trace import FORMAT, Trace, TraceRecord


@dataclass(frozen=True, slots=True)
class TraceData:
    """A trace's records (flat dicts, as in the JSON export) and what the header says."""

    records: list[dict]
    seed: int | None = None
    scenario: str | None = None


def load(source: Any) -> TraceData:
    """Read ``source``: a Runtime, a Trace, the trace JSON (text, bytes, a path, or the
    parsed dict), or the records themselves (dicts or TraceRecords)."""
    trace = getattr(source, "trace", None)
    if isinstance(trace, Trace):  # a Runtime
        source = trace
    if isinstance(source, Trace):
        return TraceData(source.dicts(), source.seed, source.meta.get("scenario"))
    if isinstance(source, os.PathLike):
        source = open(source, encoding="utf-8").read()
    if isinstance(source, (str, bytes)):
        try:
            source = json.loads(source)
        except ValueError as exc:
            raise ValueError(f"not a trace: the text is not JSON ({exc})") from None
    if isinstance(source, dict):
        if source.get("format") != FORMAT or not isinstance(source.get("records"), list):
            raise ValueError(f"not a trace: expected a dict with format {FORMAT!r} and a 'records' "
                             f"list, got format {source.get('format')!r}")
        return TraceData(_plain(source["records"]), source.get("seed"), source.get("scenario"))
    if isinstance(source, (list, tuple)):
        return TraceData(_plain(source))
    raise TypeError(f"cannot read a trace from a {type(source).__name__}: pass a Runtime, a Trace, "
                    "the trace JSON (text, path or parsed dict) or a list of records")


def _plain(records: list | tuple) -> list[dict]:
    out = []
    for i, record in enumerate(records):
        if isinstance(record, TraceRecord):
            record = record.to_dict()
        if not isinstance(record, dict) or "kind" not in record or "t" not in record:
            raise ValueError(f"record {i} is not a trace record (a dict with 't' and 'kind'): {record!r:.80}")
        out.append(record)
    return out


def records_of(source: Any) -> list[dict]:
    """The records of ``source`` (see ``load``), as flat dicts."""
    return load(source).records
