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

import textwrap
from collections import Counter
from typing import Any, Iterable, NamedTuple

from .strategies import KIND_ORDER, RESTART_TYPES, STRATEGIES

PHASES = ("init", "running", "restarting")
WIDTH = 120  # the table's lines are at most this long
KIND_HEAD = "fault kind"
GROUP_GAP, COLUMN_GAP = 4, 2  # spaces before a strategy's group of columns, and between its columns
SHORT = {"permanent": "perm", "transient": "trans", "temporary": "temp"}


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

    def table(self, width: int = WIDTH) -> str:
        """Faults fired by kind (rows) against strategy and restart type (columns: one group
        of restart types per strategy), all phases together; '.' marks a combination never
        tried. A legend says what the abbreviations mean; the last lines: how many cells
        were exercised, and how many faults were missed. Groups that do not fit in ``width``
        columns go on in a second block of rows."""
        counts = {(s, r, k): sum(self.counts[Cell(s, r, k, p)] for p in self.phases)
                  for s in self.strategies for r in self.restarts for k in self.kinds}
        kind_w = max([len(KIND_HEAD)] + [len(k) for k in self.kinds])
        groups = []  # (strategy, [(restart, column width)], group width)
        for s in self.strategies:
            columns = [(r, max([len(_short(r))] + [len(_cell(counts[s, r, k])) for k in self.kinds]))
                       for r in self.restarts]
            inner = sum(w for _, w in columns) + COLUMN_GAP * (len(columns) - 1)
            groups.append((s, columns, max(inner, len(s))))

        def row(first: str, block: list, text) -> str:
            """One line: ``first`` in the kind column, then ``text(strategy, restart)`` per column."""
            cells = (" " * GROUP_GAP + (" " * COLUMN_GAP).join(text(s, r).rjust(cw) for r, cw in cols).ljust(w)
                     for s, cols, w in block)
            return (first.ljust(kind_w) + "".join(cells)).rstrip()

        lines: list[str] = []
        for block in _blocks(groups, width - kind_w):
            if lines:
                lines.append("")
            heads = "".join(" " * GROUP_GAP + s.ljust(w) for s, _, w in block)
            lines.append((KIND_HEAD.ljust(kind_w) + heads).rstrip())
            lines.append(row("", block, lambda s, r: _short(r)))
            lines += [row(k, block, lambda s, r, k=k: _cell(counts[s, r, k])) for k in self.kinds]
        lines += _wrap(self._legend(), width)
        tried = len(self.all_cells) - len(self.untried())
        lines.append(f"{tried} of {len(self.all_cells)} cells (strategy x restart type x kind x phase) "
                     f"exercised over {self.runs} runs")
        lines += self._missed_lines(width)
        return "\n".join(lines)

    def _legend(self) -> str:
        shortened = [r for r in self.restarts if _short(r) != r]
        parts = []
        if shortened:
            parts.append(f"{', '.join(map(_short, shortened))} = {', '.join(shortened)} child")
        if "root" in self.strategies:
            parts.append("root = no supervisor")
        parts.append("faults fired, all phases; . = none")
        return "; ".join(parts)

    def _missed_lines(self, width: int) -> list[str]:
        total = sum(self.missed.values())
        if not total:
            return ["0 faults missed their target"]
        order = {kind: i for i, kind in enumerate(self.kinds)}
        by_kind = [f"{kind} {n}" for kind, n in sorted(self.missed.items(),
                                                         key=lambda kn: (order.get(kn[0], len(order)), kn[0]))]
        head = (f"{total} fault{'s' * (total != 1)} missed {'their' if total != 1 else 'its'} target "
                f"(not running at the fault's time, or ended first), exercising nothing:")
        return _wrap_items(head, by_kind, width)


def _short(restart: str) -> str:
    return SHORT.get(restart, restart)


def _cell(n: int) -> str:
    return str(n) if n else "."


def _blocks(groups: list, room: int) -> list[list]:
    """The strategy groups in order, cut into blocks of at most ``room`` columns each
    (a group wider than that alone in its block)."""
    blocks: list[list] = [[]]
    used = 0
    for group in groups:
        need = GROUP_GAP + group[2]
        if blocks[-1] and used + need > room:
            blocks.append([])
            used = 0
        blocks[-1].append(group)
        used += need
    return blocks


def _wrap(text: str, width: int) -> list[str]:
    """``text`` in lines of at most ``width`` characters, the later ones indented."""
    return textwrap.wrap(text, width, subsequent_indent="  ", break_on_hyphens=False, break_long_words=False)


def _wrap_items(head: str, items: list[str], width: int) -> list[str]:
    """``head`` and the ``items``, comma-separated, in lines of at most ``width`` characters
    (the later ones indented), never breaking an item."""
    lines = [head]
    for i, item in enumerate(items):
        piece = item + ("," if i < len(items) - 1 else "")
        if len(lines[-1]) + 1 + len(piece) > width:
            lines.append("  " + piece)
        else:
            lines[-1] += " " + piece
    return lines


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
