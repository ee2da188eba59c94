"""Fault-space coverage: which cells of (strategy x restart type x fault kind x lifecycle
phase) a run, or a whole property-based search, actually exercised.

Every ``fault`` record in a trace names the fault's kind, the target's restart type, its
supervisor's strategy ("root" for an actor without one) and the target's lifecycle phase
when it fired. ``FaultSpace`` counts them, reports them to Hypothesis as events (so they
show in ``--hypothesis-show-statistics``), and prints a table of what was never tried.
A ``missed`` record (a fault whose target was not running at its time, see
``theater_harness.faults.injector``) exercised no cell: it is counted apart, by kind, and
reported to Hypothesis as "fault space: <kind> missed its target".
"""

from __future__ import annotations

from collections import Counter
from typing import Any, Iterable, NamedTuple

from .strategies import KIND_ORDER, RESTART_TYPES, STRATEGIES

PHASES = ("init", "running", "restarting")


class Cell(NamedTuple):
    strategy: str
    restart: str
    kind: str
    phase: str

    def label(self) -> str:
        return f"{self.kind} in {self.phase} of a {self.restart} child under {self.strategy}"


class FaultSpace:
    """Counts of exercised cells, over any number of runs."""

    def __init__(self, kinds: Iterable[str] = KIND_ORDER, strategies: Iterable[str] = STRATEGIES + ("root",),
                 restarts: Iterable[str] = RESTART_TYPES, phases: Iterable[str] = PHASES):
        self.kinds, self.strategies = tuple(kinds), tuple(strategies)
        self.restarts, self.phases = tuple(restarts), tuple(phases)
        self.counts: Counter[Cell] = Counter()
        self.missed: Counter[str] = Counter()  # fault kind -> faults that missed their target
        self.runs = 0

    def record(self, source: Any) -> list[Cell]:
        """Add the faults that fired in one run (a Runtime, a Trace or its records), and
        count the ones it missed."""
        from .invariants import records_of

        cells, missed = [], []
        for record in records_of(source):
            if record["kind"] == "missed":
                missed.append(record["fault_kind"])
                continue
            if record["kind"] != "fault" or "restart" not in record:
                continue
            cell = Cell(record.get("strategy") or "root", record["restart"], record["fault_kind"],
                        record.get("phase", "running"))
            cells.append(cell)
        self.counts.update(cells)
        self.missed.update(missed)
        self.runs += 1
        _tell_hypothesis([f"fault space: {cell.label()}" for cell in cells]
                         + [f"fault space: {kind} missed its target" for kind in missed])
        return cells

    def add(self, other: "FaultSpace") -> None:
        """Count another search's cells, missed faults and runs in with these (e.g. one per
        scenario)."""
        self.counts.update(other.counts)
        self.missed.update(other.missed)
        self.runs += other.runs

    @property
    def all_cells(self) -> list[Cell]:
        return [Cell(s, r, k, p) for k in self.kinds for s in self.strategies for r in self.restarts
                for p in self.phases]

    def untried(self) -> list[Cell]:
        return [c for c in self.all_cells if not self.counts[c]]

    def table(self) -> str:
        """Faults by kind (rows) against strategy/restart type (columns): how often each
        was exercised, all phases together; '.' marks a combination never tried. The
        last lines: how many cells were exercised, and how many faults were missed."""
        columns = [(s, r) for s in self.strategies for r in self.restarts]
        head = ["kind".ljust(14)] + [f"{s[:7]}/{r[:5]}".rjust(14) for s, r in columns]
        lines = [" ".join(head)]
        for kind in self.kinds:
            row = [kind.ljust(14)]
            for s, r in columns:
                n = sum(self.counts[Cell(s, r, kind, p)] for p in self.phases)
                row.append((str(n) if n else ".").rjust(14))
            lines.append(" ".join(row))
        tried = len(self.all_cells) - len(self.untried())
        lines.append(f"{tried} of {len(self.all_cells)} cells (strategy x restart type x kind x phase) "
                     f"exercised over {self.runs} runs")
        lines.append(self._missed_line())
        return "\n".join(lines)

    def _missed_line(self) -> str:
        total = sum(self.missed.values())
        if not total:
            return "0 faults missed their target"
        order = {kind: i for i, kind in enumerate(self.kinds)}
        by_kind = ", ".join(f"{kind} {n}" for kind, n in sorted(self.missed.items(),
                                                                  key=lambda kn: (order.get(kn[0], len(order)), kn[0])))
        return (f"{total} fault{'s' * (total != 1)} missed {'their' if total != 1 else 'its'} target "
                f"(not running at the fault's time, or ended first), exercising nothing: {by_kind}")


def _tell_hypothesis(events: list[str]) -> None:
    from hypothesis import event
    from hypothesis.control import _current_build_context

    if _current_build_context.value is None:
        return  # not inside a Hypothesis test
    for text in events:
        try:
            event(text)
        except Exception:  # pragma: no cover - e.g. inside find(), where events have no test to go to
            return
