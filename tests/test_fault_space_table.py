"""The fault-space coverage table: one group of restart-type columns per strategy, every
strategy named in full, abbreviations in a legend, no line over 120 characters."""

from __future__ import annotations

from theater_harness.fault_space import Cell, FaultSpace
from theater_harness.strategies import KIND_ORDER, RESTART_TYPES, STRATEGIES


def small_space() -> FaultSpace:
    space = FaultSpace(kinds=("stop", "trap"), strategies=("one_for_one", "one_for_all", "root"))
    space.counts.update({Cell("one_for_one", "transient", "trap", "running"): 2,
                         Cell("one_for_one", "transient", "trap", "init"): 1,
                         Cell("one_for_all", "permanent", "stop", "running"): 1,
                         Cell("root", "temporary", "stop", "restarting"): 12})
    space.missed.update({"trap": 1})
    space.runs = 4
    return space


def full_space(count: int) -> FaultSpace:
    """Every kind x strategy x restart type x phase exercised ``count`` times, every kind missed."""
    space = FaultSpace()
    space.counts.update({cell: count for cell in space.all_cells})
    space.missed.update({kind: count for kind in KIND_ORDER})
    space.runs = count
    return space


def test_a_small_space_renders_exactly():
    assert small_space().table().splitlines() == [
        "fault kind    one_for_one          one_for_all          root",
        "              perm  trans  temp    perm  trans  temp    perm  trans  temp",
        "stop             .      .     .       1      .     .       .      .    12",
        "trap             .      3     .       .      .     .       .      .     .",
        "perm, trans, temp = permanent, transient, temporary child; root = no supervisor; "
        "faults fired, all phases; . = none",
        "4 of 54 cells (strategy x restart type x kind x phase) exercised over 4 runs",
        "1 fault missed its target (not running at the fault's time, or ended first), exercising nothing: trap 1",
    ]


def test_one_for_one_and_one_for_all_have_headers_of_their_own():
    header = FaultSpace().table().splitlines()[0].split()
    assert header == ["fault", "kind", *STRATEGIES, "root"]


def test_every_line_of_a_full_table_fits_in_120_columns():
    lines = full_space(99_999).table().splitlines()
    assert len(lines) == 2 + len(KIND_ORDER) + 1 + 1 + 3  # heads, rows, legend, cells, missed (wrapped)
    assert max(len(line) for line in lines) <= 120


def test_a_long_missed_line_wraps_indented_without_breaking_a_kind_from_its_count():
    lines = full_space(99_999).table().splitlines()
    assert lines[-3:] == [
        "1599984 faults missed their target (not running at the fault's time, or ended first), exercising nothing: "
        "stop 99999,",
        "  kill 99999, trap 99999, err 99999, init-trap 99999, init-err 99999, hang 99999, slow 99999, "
        "host-error 99999,",
        "  memory 99999, corrupt-state 99999, drop 99999, delay 99999, duplicate 99999, reorder 99999, partition 99999",
    ]


def test_a_column_widens_for_its_largest_count():
    space = FaultSpace(kinds=("stop",), strategies=("root",), restarts=("permanent",))
    space.counts[Cell("root", "permanent", "stop", "running")] = 123_456
    assert space.table().splitlines()[:3] == ["fault kind    root",
                                              "                perm",
                                              "stop          123456"]


def test_strategies_that_do_not_fit_go_on_in_another_block():
    long = ("a" * 50, "b" * 50, "c" * 50)
    lines = FaultSpace(kinds=("stop",), strategies=long, restarts=RESTART_TYPES).table().splitlines()
    assert [line.split()[-1] for line in lines[:3]] == ["b" * 50, "temp", "."]
    assert lines[3] == "" and lines[4] == "fault kind    " + "c" * 50
    assert max(len(line) for line in lines) <= 120


def test_restart_types_without_an_abbreviation_keep_their_name_out_of_the_legend():
    lines = FaultSpace(kinds=("stop",), strategies=("x",), restarts=("sometimes",)).table().splitlines()
    assert lines[1] == "              sometimes"
    assert lines[3] == "faults fired, all phases; . = none"
