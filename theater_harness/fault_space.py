"""Fault-space coverage: which cells of (strategy x restart type x fault kind x lifecycle
phase) a run, or a whole property-based search, actually exercised.

Every ``fault`` record in a trace names the fault's kind, the target's restart type, its
supervisor's strategy ("root" for an actor without one) and the target's lifecycle phase
when it fired. ``FaultSpace`` counts them, reports them to Hypothesis as events (so they
show in ``--hypothesis-show-statistics``), and prints a table of what was never tried.
A ``missed`` record (a fault whose target was not running at its time, see
``theater_harness.faults.injector``) exercised no cell: it is counted apart, by kind, and
reported to Hypothesis as "fault space: <kind> missed its target".

World faults (``strategies.WORLD_KINDS``: store, filesystem, HTTP and rpc faults) are rows
of the table once a run has fired one: a search of a tree without the world keeps the
table it always had, and one that draws world kinds shows each that fired.

Coverage files (``Coverage``: ``theater-harness run --coverage-out FILE``, ``pytest
--theater-coverage-out FILE``) hold a search's counts and the campaign it belongs to: the
explorations (scenario, a sha256 of its file, seed, examples, rounds; the Hypothesis
version, which decides the schedules generated), and which of the campaign's N shards it
covers. ``merge_coverage`` adds up the files of several shards (``theater-harness coverage
merge``), refusing to count one shard twice or to mix two splits of one campaign, and says
which shards of each campaign are missing.
"""

from __future__ import annotations

import hashlib
import json
import re
import textwrap
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, NamedTuple

from .errors import LocatedError
from .strategies import KIND_ORDER, RESTART_TYPES, STRATEGIES, WORLD_KINDS

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
        fired = {cell.kind for cell in cells if cell.kind in WORLD_KINDS and cell.kind not in self.kinds}
        if fired:  # world kinds in their order, after the others
            shown = fired.union(self.kinds)
            self.kinds = tuple(k for k in self.kinds if k not in WORLD_KINDS) + tuple(k for k in WORLD_KINDS
                                                                                       if k in shown)
        _tell_hypothesis([f"fault space: {cell.label()}" for cell in cells]
                         + [f"fault space: {kind} missed its target" for kind in missed])
        return cells

    def add(self, other: "FaultSpace") -> None:
        """Count another search's cells, missed faults and runs in with these (e.g. one per
        scenario); axes of ``other`` that these lack are added after theirs."""
        for axis in ("kinds", "strategies", "restarts", "phases"):
            ours = getattr(self, axis)
            setattr(self, axis, ours + tuple(v for v in getattr(other, axis) if v not in ours))
        self.counts.update(other.counts)
        self.missed.update(other.missed)
        self.runs += other.runs

    def to_dict(self) -> dict[str, Any]:
        """The counts as JSON-ready data: the axes, the runs, every exercised cell with its
        faults (in the axes' order), the missed faults by kind."""
        order = {axis: {v: i for i, v in enumerate(getattr(self, axis))}
                 for axis in ("strategies", "restarts", "kinds", "phases")}

        def rank(cell: Cell) -> tuple:
            return (order["kinds"].get(cell.kind, len(order["kinds"])), cell.kind,
                    order["strategies"].get(cell.strategy, len(order["strategies"])), cell.strategy,
                    order["restarts"].get(cell.restart, len(order["restarts"])), cell.restart,
                    order["phases"].get(cell.phase, len(order["phases"])), cell.phase)

        return {
            "axes": {"kinds": list(self.kinds), "strategies": list(self.strategies),
                     "restarts": list(self.restarts), "phases": list(self.phases)},
            "runs": self.runs,
            "cells": [{"strategy": c.strategy, "restart": c.restart, "kind": c.kind, "phase": c.phase,
                       "faults": n} for c, n in sorted(self.counts.items(), key=lambda cn: rank(cn[0])) if n],
            "missed": {kind: n for kind, n in sorted(self.missed.items(), key=lambda kn: (
                order["kinds"].get(kn[0], len(order["kinds"])), kn[0])) if n},
        }

    def cells(self) -> set[Cell]:
        """The cells exercised at least once."""
        return {cell for cell, n in self.counts.items() if n}

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


# --- coverage files: one per shard of a campaign, merged ------------------------------------

COVERAGE_FORMAT = "theater-harness fault-space coverage"
COVERAGE_VERSION = 1
MAX_SHARDS = 1_000_000  # as explore.MAX_SHARDS
_ID = re.compile(r"[0-9a-f]{16}")


class CoverageFileError(LocatedError):
    """A coverage file that cannot be read, is not one, or cannot be merged with the others."""


def exploration(scenario: str, file: str, sha256: str, seed: int, examples: int, rounds: int = 1) -> dict[str, Any]:
    """One exploration of a campaign: the scenario's name, its file as given (shown, not
    compared), the sha256 of the file's bytes, and what decides its schedules."""
    return {"scenario": scenario, "file": file, "sha256": sha256, "seed": seed, "examples": examples,
            "rounds": rounds}


def file_sha256(path: str | Path) -> str:
    """The sha256 of a file's bytes (a scenario's: the same file on every machine)."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def campaign(explorations: Iterable[dict[str, Any]], shard: tuple[int, int] = (1, 1),
             hypothesis: str | None = None) -> dict[str, Any]:
    """The campaign record of a coverage file: its id (a digest of every exploration's
    file digest, seed, examples and rounds, and of the Hypothesis version, which together
    decide the schedules), the explorations, and the shards (K of N) the file covers."""
    if hypothesis is None:
        import hypothesis as _hypothesis

        hypothesis = _hypothesis.__version__
    ordered = sorted(explorations, key=lambda e: (e["file"], e["scenario"], e["sha256"], e["seed"]))
    key = {"hypothesis": hypothesis,
           "explorations": [[e["sha256"], e["seed"], e["examples"], e["rounds"]] for e in ordered]}
    digest = hashlib.sha256(json.dumps(key, sort_keys=True, separators=(",", ":")).encode()).hexdigest()[:16]
    index, count = shard
    return {"id": digest, "hypothesis": hypothesis, "explorations": ordered, "shards": count, "included": [index]}


@dataclass
class Coverage:
    """A coverage file: the fault space a search exercised, and the campaigns (and which
    of their shards) it covers."""

    space: FaultSpace
    campaigns: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"format": COVERAGE_FORMAT, "version": COVERAGE_VERSION, **self.space.to_dict(),
                "campaigns": self.campaigns}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=1, ensure_ascii=True) + "\n"

    @property
    def complete(self) -> bool:
        """Every shard of every campaign is here."""
        return all(len(c["included"]) == c["shards"] for c in self.campaigns)

    def describe(self) -> list[str]:
        """A line per campaign: its id, its explorations, its shards here and missing."""
        lines = []
        for c in self.campaigns:
            shown = [f"{e['scenario']} (seed {e['seed']}, {e['examples']} examples"
                     + (f", {e['rounds']} rounds" if e["rounds"] != 1 else "") + ")" for e in c["explorations"]]
            what = (f"{len(shown)} exploration{'s' * (len(shown) != 1)}"
                    + (": " + "; ".join(shown[:3]) + ("; ..." if len(shown) > 3 else "") if shown else ""))
            if c["shards"] == 1:
                where = "unsharded"
            else:
                missing = sorted(set(range(1, c["shards"] + 1)) - set(c["included"]))
                where = (f"shards {_ranges(c['included'])} of {c['shards']}"
                         + (": the whole campaign" if not missing else
                            f"; missing {_ranges(missing)}, so not the whole campaign"))
            lines.append(f"campaign {c['id']} ({what}), {where}")
        return lines


def _ranges(numbers: Iterable[int]) -> str:
    """``1-3, 5`` for 1, 2, 3, 5."""
    spans: list[list[int]] = []
    for n in sorted(numbers):
        if spans and n == spans[-1][1] + 1:
            spans[-1][1] = n
        else:
            spans.append([n, n])
    return ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in spans)


def merge_coverage(files: Iterable[tuple[str, Coverage]]) -> Coverage:
    """The coverage of several files (``(name, coverage)``) together: counts, missed faults
    and runs added up, campaigns joined by id. Refused (naming both files) when two hold
    the same shard of a campaign, or shards of two different splits (K/N with other Ns)
    of one campaign: either would count runs twice."""
    space = FaultSpace()
    campaigns: dict[str, dict[str, Any]] = {}
    owners: dict[tuple[str, int], str] = {}  # (campaign id, shard) -> the file it came from
    splits: dict[str, str] = {}  # campaign id -> the first file naming it
    for name, coverage in files:
        space.add(coverage.space)
        for c in coverage.campaigns:
            merged = campaigns.get(c["id"])
            if merged is None:
                merged = campaigns[c["id"]] = {**c, "included": []}
                splits[c["id"]] = name
            elif merged["shards"] != c["shards"]:
                raise CoverageFileError(
                    f"campaign {c['id']} is split into {c['shards']} shards here and into {merged['shards']} in "
                    f"{splits[c['id']]}: two splits of one campaign run the same schedules; merge the shards of one",
                    file=name)
            for index in c["included"]:
                other = owners.get((c["id"], index))
                if other is not None:
                    raise CoverageFileError(
                        f"shard {index}/{c['shards']} of campaign {c['id']} is in {other} too: it would be counted "
                        "twice", file=name)
                owners[(c["id"], index)] = name
                merged["included"].append(index)
    for c in campaigns.values():
        c["included"].sort()
    return Coverage(space, list(campaigns.values()))


def coverage_from_json(text: str, source: str = "<coverage>") -> Coverage:
    """A coverage file's text as a Coverage, validated whole (a CoverageFileError naming
    ``source`` and the field otherwise)."""
    from .schema import _core

    def error(where: str | None, message: str) -> CoverageFileError:
        return CoverageFileError(message, file=source, field=where)

    f = _core.Fields(error)
    doc = f.table(_core.parse_json(text, error), "", "expected a JSON object (a coverage file)")
    if doc.get("format") != COVERAGE_FORMAT:
        raise error("format", f"not a coverage file: expected {COVERAGE_FORMAT!r}, got {_core.show(doc.get('format'))}")
    if doc.get("version") != COVERAGE_VERSION:
        raise error("version", f"version {_core.show(doc.get('version'))} is not one this theater-harness reads "
                               f"({COVERAGE_VERSION})")
    f.unknown(doc, ("format", "version", "axes", "runs", "cells", "missed", "campaigns"), "")
    axes = f.table(doc.get("axes"), "axes")
    f.unknown(axes, ("kinds", "strategies", "restarts", "phases"), "axes")
    names = {}
    for axis in ("kinds", "strategies", "restarts", "phases"):
        values = axes.get(axis)
        if (not isinstance(values, list) or not values or not all(isinstance(v, str) and v for v in values)
                or len(set(values)) != len(values)):
            raise error(f"axes.{axis}", "expected an array of distinct non-empty strings")
        names[axis] = values
    space = FaultSpace(names["kinds"], names["strategies"], names["restarts"], names["phases"])
    space.runs = f.integer(doc, "runs", "", required=True, missing="missing (how many runs)")
    cells = doc.get("cells")
    if not isinstance(cells, list):
        raise error("cells", f"expected an array, got {_core.show(cells)}")
    for i, cell in enumerate(cells):
        where = f"cells[{i}]"
        f.unknown(f.table(cell, where), ("strategy", "restart", "kind", "phase", "faults"), where)
        values = {}
        for key, axis in (("strategy", "strategies"), ("restart", "restarts"), ("kind", "kinds"), ("phase", "phases")):
            values[key] = f.choice(cell, key, where, names[axis])
            if values[key] is None:
                raise error(f"{where}.{key}", f"missing; one of the file's axes.{axis}")
        key = Cell(**values)
        if key in space.counts:
            raise error(where, f"a second entry for {key.label()}")
        space.counts[key] = f.integer(cell, "faults", where, low=1, required=True, missing="missing (faults fired)")
    missed = f.table(doc.get("missed"), "missed")
    for kind in missed:
        space.missed[kind] = f.integer(missed, kind, "missed", low=1)
    campaigns = doc.get("campaigns")
    if not isinstance(campaigns, list):
        raise error("campaigns", f"expected an array, got {_core.show(campaigns)}")
    seen = set()
    out = []
    for i, c in enumerate(campaigns):
        where = f"campaigns[{i}]"
        f.unknown(f.table(c, where), ("id", "hypothesis", "explorations", "shards", "included"), where)
        ident = f.string(c, "id", where, required=True)
        if not _ID.fullmatch(ident):
            raise error(f"{where}.id", f"expected 16 lowercase hex digits, got {_core.show(ident)}")
        if ident in seen:
            raise error(f"{where}.id", f"campaign {ident} is listed twice")
        seen.add(ident)
        hypothesis = f.string(c, "hypothesis", where, required=True)
        count = f.integer(c, "shards", where, low=1, high=MAX_SHARDS, required=True, missing="missing (N of K/N)")
        included = c.get("included")
        if (not isinstance(included, list) or not included or not all(_core.is_int(k) and 1 <= k <= count
                                                                       for k in included)
                or len(set(included)) != len(included)):
            raise error(f"{where}.included", f"expected an array of distinct shard numbers from 1 to {count}")
        records = c.get("explorations")
        if not isinstance(records, list):
            raise error(f"{where}.explorations", f"expected an array, got {_core.show(records)}")
        explorations = []
        for j, e in enumerate(records):
            at = f"{where}.explorations[{j}]"
            f.unknown(f.table(e, at), ("scenario", "file", "sha256", "seed", "examples", "rounds"), at)
            digest = f.string(e, "sha256", at, required=True)
            if not re.fullmatch(r"[0-9a-f]{64}", digest):
                raise error(f"{at}.sha256", f"expected 64 lowercase hex digits, got {_core.show(digest)}")
            explorations.append(exploration(
                f.string(e, "scenario", at, required=True), f.string(e, "file", at, required=True), digest,
                f.integer(e, "seed", at, required=True, missing="missing"),
                f.integer(e, "examples", at, low=1, required=True, missing="missing"),
                f.integer(e, "rounds", at, low=1, required=True, missing="missing")))
        out.append({"id": ident, "hypothesis": hypothesis, "explorations": explorations, "shards": count,
                    "included": sorted(included)})
    return Coverage(space, out)


def read_coverage(path: str | Path) -> Coverage:
    """A coverage file, read and validated (a CoverageFileError naming it otherwise)."""
    from .schema import _core

    def error(where: str | None, message: str) -> CoverageFileError:
        return CoverageFileError(message, file=str(path), field=where)

    text = _core.read_text(path, error, cannot="cannot read the coverage file", not_found="coverage file not found")
    return coverage_from_json(text, str(path))
