"""One walk over a trace for every invariant, that can stop and go on.

Each invariant is a ``Pass``: handlers ``on_<kind>(record)`` for the record kinds it reads
(kinds it does not know pass it by) and ``violations()`` for what the records so far
break. A ``Checker`` hands every record, in order, to the actors index, to the supervisor
responses when a pass needs them, and to its passes; it can be fed a trace in pieces
and asked for its violations after any of them, which are then the violations of the
whole trace so far, exactly as one walk over it would find them.

So a run is checked in step with it: ``check_all(runtime)`` keeps its checker with the
runtime's trace and feeds it only the records added since the last check. Checked once
before a checkpoint (``theater_harness.fork``), the prefix is read once, and every fork,
holding a copy of the checker, reads only the records it adds.
"""

from __future__ import annotations

import json
from typing import Any, Callable, Mapping, Sequence

from ..trace import Trace
from ._records import Actors, records_of
from ._responses import Responses
from ._violation import Violation

Policies = Mapping[str, Mapping[str, Any]]


class Pass:
    """One invariant as a walk over the records, in their order."""

    uses_responses = False  # whether it reads the supervisors' responses (``checker.responses``)

    def __init__(self, checker: Checker):
        self.checker = checker
        self.actors = checker.actors

    def violations(self) -> list[Violation]:
        """What the records so far break (labels still marked: ``Actors.resolve``). Reads
        the state, never changes it: the walk may go on."""
        raise NotImplementedError


class Checker:
    """The passes of some invariants over one trace, fed its records in pieces (``feed``)."""

    def __init__(self, passes: Sequence[type[Pass]], policies: Policies | None = None):
        self.actors = Actors()
        self.fed = 0  # records read so far
        self.at = -1  # the place in the trace of the record being read
        self.last_time = 0  # virtual time of the last of them
        self.responses = Responses(self, policies) if any(p.uses_responses for p in passes) else None
        self.passes = [p(self) for p in passes]
        self._readers: list[Any] = [self.actors, *([self.responses] if self.responses else []), *self.passes]
        self._handlers: dict[str, list[Callable[[dict], None]]] = {}  # record kind -> its readers' handlers

    def feed(self, records: Sequence[dict]) -> None:
        """Read ``records``, the trace's next ones."""
        handlers = self._handlers
        for self.at, r in enumerate(records, self.fed):
            kind = r["kind"]
            found = handlers.get(kind)
            for handle in self._handlers_of(kind) if found is None else found:
                handle(r)
        if records:
            self.fed += len(records)
            self.last_time = records[-1]["t"]

    def _handlers_of(self, kind: str) -> list[Callable[[dict], None]]:
        method = "on_" + kind.replace("-", "_")
        found = [h for h in (getattr(reader, method, None) for reader in self._readers) if h is not None]
        self._handlers[kind] = found
        return found

    def violations(self) -> list[Violation]:
        """Every pass's violations of the records so far, in the order of the passes."""
        if self.responses is not None:
            self.responses.check_policies()
        return [self.actors.resolve(v) for p in self.passes for v in p.violations()]


def check(passes: Sequence[type[Pass]], source: Any, policies: Policies | None) -> list[Violation]:
    """The passes' violations of ``source``'s trace (``records_of``). A ``Runtime``'s or a
    ``Trace``'s checker stays with the trace, and reads only what was added since."""
    trace = getattr(source, "trace", source)
    if not isinstance(trace, Trace):
        checker = Checker(passes, policies)
        checker.feed(records_of(source))
        return checker.violations()
    key = (tuple(passes), None if policies is None else json.dumps(policies, sort_keys=True, default=repr))
    checker = trace.derived.get(key)
    if checker is None:
        checker = Checker(passes, policies)
    try:
        checker.feed(trace.dicts(start=checker.fed))
    except BaseException:
        trace.derived.pop(key, None)  # half fed: start afresh next time
        raise
    trace.derived[key] = checker
    return checker.violations()
