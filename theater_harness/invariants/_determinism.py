"""Determinism: the same seed and schedule give a byte-identical trace (its canonical
JSON, fingerprinted by ``Trace.hash``)."""

from __future__ import annotations

from typing import Any, Callable

from ._violation import Violation

NAME = "determinism"


def check_determinism(run: Callable[[], Any], repeats: int = 2) -> list[Violation]:
    """Run ``run`` (which returns a ``Runtime`` or a ``Trace``) ``repeats`` times; a run
    whose trace hash differs from the first's is a violation, with both hashes and the
    first record where the two traces part."""
    if not isinstance(repeats, int) or repeats < 2:
        raise ValueError(f"repeats must be an integer >= 2, not {repeats!r}")
    traces = [_trace(run(), i + 1) for i in range(repeats)]
    first = traces[0]
    found = []
    for number, trace in enumerate(traces[1:], start=2):
        if trace.hash() == first.hash():
            continue
        a, b = _parting(first, trace)
        if a is None and b is None:
            where = "every record is equal: the traces differ in their seed or run info"
        else:
            where = f"they part at record {(a or b)['seq']}: {_show(a)} in run 1, {_show(b)} in run {number}"
        parted = tuple(x for x in (a, b) if x is not None)
        found.append(Violation(NAME, parted[0]["t"] if parted else 0,
                               tuple(dict.fromkeys(x["actor"] for x in parted if "actor" in x)),
                               f"run 1 gave trace hash {first.hash()}, run {number} gave {trace.hash()}: {where}",
                               parted))
    return found


def _trace(result: Any, number: int) -> Any:
    trace = getattr(result, "trace", result)  # a Runtime has its Trace as .trace
    if not (hasattr(trace, "hash") and hasattr(trace, "records")):
        raise TypeError(f"run {number} returned a {type(result).__name__}; return the Runtime or its Trace")
    return trace


def _parting(one: Any, two: Any) -> tuple[dict | None, dict | None]:
    """The first pair of records that differ (None past a trace's end); (None, None) if
    every record is equal."""
    a_records, b_records = [r.to_dict() for r in one], [r.to_dict() for r in two]
    for i in range(max(len(a_records), len(b_records))):
        a = a_records[i] if i < len(a_records) else None
        b = b_records[i] if i < len(b_records) else None
        if a != b:
            return a, b
    return None, None


def _show(record: dict | None) -> str:
    if record is None:
        return "the end of the trace"
    fields = {k: v for k, v in record.items() if k not in ("seq",)}
    text = repr(fields)
    return text if len(text) <= 200 else text[:197] + "..."
