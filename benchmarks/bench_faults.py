#!/usr/bin/env python
"""Fault-schedule throughput: how many fault schedules Hypothesis explores per second on a
10-actor supervision tree, each schedule of up to 8 faults run from a fresh runtime to the
end of its virtual horizon and checked against every invariant.

This is the loop a chaos property test runs (``@given(fault_schedules(tree))``: generate,
spawn, run, check), so its rate is how many schedules a CI job tries per second. The time
is split into Hypothesis's share (generating and bookkeeping), running the runtime, and
checking the invariants on the trace.

    python benchmarks/bench_faults.py                 # full run, about a minute on an idle 2-core machine
    python benchmarks/bench_faults.py --quick         # smoke run, a few seconds
    python benchmarks/bench_faults.py --markdown --json faults.json
"""

from __future__ import annotations

import gc
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
for path in (str(ROOT), str(HERE)):  # runnable without PYTHONPATH from a source checkout
    if path not in sys.path:
        sys.path.insert(0, path)

from hypothesis import HealthCheck, Phase, given, seed, settings  # noqa: E402

from bench_core import _at_least_one, _check, _cpu_model, _loadavg, options, summarize, write_json  # noqa: E402
from theater_harness.fault_space import FaultSpace  # noqa: E402
from theater_harness.invariants import check_all  # noqa: E402
from theater_harness.strategies import COUNTER, CRASHER, fault_schedules  # noqa: E402
from theater_harness.trees import NodeSpec, Policy, TreeSpec  # noqa: E402
from theater_harness.wasm import WASMTIME_VERSION  # noqa: E402

MAX_FAULTS = 8


def ten_actor_tree() -> TreeSpec:
    """root (one_for_one) over two supervisors (one_for_all, rest_for_one) of three workers
    each, and a worker of its own: 10 actors, every strategy and restart type, with a
    workload of 20 messages over 10 virtual seconds."""
    def worker(name: str, manifest: str, restart: str = "permanent", recovery: str = "init") -> NodeSpec:
        return NodeSpec(name, manifest=manifest, restart=restart, recovery=recovery)

    root = NodeSpec("root", policy=Policy("one_for_one", intensity=4, period_ms=5000), children=(
        NodeSpec("s1", policy=Policy("one_for_all", intensity=3, period_ms=5000), children=(
            worker("w1", COUNTER), worker("w2", CRASHER, "transient"), worker("w3", COUNTER, "temporary"))),
        NodeSpec("s2", policy=Policy("rest_for_one", intensity=3, period_ms=5000), restart="transient", children=(
            worker("w4", COUNTER, recovery="last"), worker("w5", CRASHER), worker("w6", COUNTER, recovery="replay"))),
        worker("w7", CRASHER, "transient"),
    ))
    workers = [n.name for n, _ in root.walk() if not n.is_supervisor]
    workload = tuple((i * 500, workers[i % len(workers)], ("inc", "add:2", "hello")[i % 3]) for i in range(20))
    return TreeSpec(root, workload)


def explore(tree: TreeSpec, examples: int, rep: int) -> dict[str, Any]:
    """One Hypothesis search of ``examples`` schedules (generation phase only, fresh seed
    per repetition); wall time split into run, check and Hypothesis's share."""
    totals = {"run_ns": 0, "check_ns": 0, "gc_ns": 0, "faults": 0, "events": 0, "virtual_ms": 0, "runs": 0,
              "violations": 0}
    space = FaultSpace()
    began = [0]

    def collecting(phase: str, info: dict) -> None:
        """The garbage collector's time, wherever it falls (a run's actors form reference
        cycles: each runtime is freed by a collection, its wasm Stores with it)."""
        if phase == "start":
            began[0] = time.perf_counter_ns()
        else:
            totals["gc_ns"] += time.perf_counter_ns() - began[0]

    @seed(rep)
    @settings(max_examples=examples, database=None, deadline=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck), derandomize=False)
    @given(fault_schedules(tree, max_faults=MAX_FAULTS))
    def one_schedule(schedule: Any) -> None:
        start = time.perf_counter_ns()
        runtime = tree.run(seed=rep, faults=schedule)
        ran = time.perf_counter_ns()
        violations = check_all(runtime)
        checked = time.perf_counter_ns()
        space.record(runtime)
        totals["run_ns"] += ran - start
        totals["check_ns"] += checked - ran
        totals["faults"] += len(schedule)
        totals["events"] += runtime.scheduler.events_run
        totals["virtual_ms"] += runtime.now
        totals["runs"] += 1
        totals["violations"] += len(violations)

    gc.collect()
    gc.callbacks.append(collecting)
    try:
        start = time.perf_counter_ns()
        one_schedule()
        wall_ns = time.perf_counter_ns() - start
    finally:
        gc.callbacks.remove(collecting)
    runs = totals["runs"]
    _check(runs >= examples * 0.9, f"explore: only {runs} of {examples} schedules ran")
    _check(totals["violations"] == 0, f"explore: correct supervision violated an invariant "
                                      f"{totals['violations']} times: the figure would measure a bug")
    return {
        "schedules_per_s": runs / wall_ns * 1e9,
        "ms_per_schedule": wall_ns / runs / 1e6,
        "run_share": totals["run_ns"] / wall_ns,
        "check_share": totals["check_ns"] / wall_ns,
        "hypothesis_share": 1 - (totals["run_ns"] + totals["check_ns"]) / wall_ns,
        "gc_share": totals["gc_ns"] / wall_ns,
        "faults_per_schedule": totals["faults"] / runs,
        "events_per_schedule": totals["events"] / runs,
        "virtual_s_per_schedule": totals["virtual_ms"] / runs / 1000,
        "cells": len(space.counts),
        "runs": runs,
    }


TARGET = 300  # schedules per second per core
ROWS = [  # key, label, format, target
    ("schedules_per_s", "fault schedules / s (generate + run + check)", "{:,.0f}", f">= {TARGET}"),
    ("ms_per_schedule", "wall ms per schedule", "{:.2f}", ""),
    ("run_share", "share: running the runtime", "{:.0%}", ""),
    ("check_share", "share: checking the invariants", "{:.0%}", ""),
    ("hypothesis_share", "share: Hypothesis (generation, bookkeeping)", "{:.0%}", ""),
    ("gc_share", "  of all three: garbage collection", "{:.0%}", ""),
    ("faults_per_schedule", "faults per schedule (mean)", "{:.1f}", ""),
    ("events_per_schedule", "scheduler events per schedule (mean)", "{:.0f}", ""),
    ("virtual_s_per_schedule", "virtual seconds per schedule (mean)", "{:.1f}", ""),
    ("cells", "fault-space cells exercised", "{:.0f}", ""),
]
# The same figures before the invariants were checked in one walk (issue 13, "Speed, round
# two"), measured with this script on the idle 2-core reference machine: the old code is
# gone, so they are quoted, not measured again.
BEFORE = {"schedules_per_s": "133 - 146", "ms_per_schedule": "6.8 - 7.5", "run_share": "46%",
          "check_share": "31%", "hypothesis_share": "23%"}


def main(argv: list[str] | None = None) -> int:
    parser = options(__doc__, repeat_help="searches (default 5; 2 with --quick)", quick_help="a fast smoke run")
    parser.add_argument("--examples", type=_at_least_one, default=None, metavar="N",
                        help="schedules per search (default 500; 50 with --quick)")
    args = parser.parse_args(argv)
    repeat = args.repeat if args.repeat is not None else (2 if args.quick else 5)
    examples = args.examples if args.examples is not None else (50 if args.quick else 500)

    tree = ten_actor_tree()
    _check(len(tree.names) == 10, f"the tree has {len(tree.names)} actors, not 10")
    header = [
        f"theater-harness fault-schedule benchmark{' (--quick)' if args.quick else ''}",
        f"python   {platform.python_implementation()} {platform.python_version()}, wasmtime-py {WASMTIME_VERSION}",
        f"cpu      {_cpu_model()} ({os.cpu_count()} logical CPUs), load average at start {_loadavg()}",
        f"search   {repeat} Hypothesis searches of {examples} schedules (up to {MAX_FAULTS} faults each) on a "
        f"10-actor tree; medians, spread min-max",
    ]
    print("\n".join(header), flush=True)
    explore(tree, max(5, examples // 10), 1000)  # warm-up: compiled components, imports, strategy caches
    began = time.perf_counter_ns()
    rounds = []
    for rep in range(repeat):
        rounds.append(explore(tree, examples, rep))
        print(f"  search {rep + 1}/{repeat} done", file=sys.stderr, flush=True)
    wall_s = (time.perf_counter_ns() - began) / 1e9
    stats = {key: summarize([r[key] for r in rounds]) for key in rounds[0]}

    table = [("figure", "median", "spread (min-max)", "before", "target", "")]
    for key, label, fmt, target in ROWS:
        st = stats[key]
        verdict = ("ok" if st["median"] >= TARGET else "MISSED") if target else ""
        table.append((label, fmt.format(st["median"]), f"{fmt.format(st['min'])} - {fmt.format(st['max'])}",
                      BEFORE.get(key, ""), target, verdict))
    print()
    if args.markdown:
        print("| " + " | ".join(table[0]) + " |\n|---|--:|--:|--:|--:|---|")
        print("\n".join("| " + " | ".join(row) + " |" for row in table[1:]))
    else:
        widths = [max(len(row[i]) for row in table) for i in range(6)]
        for n, row in enumerate(table):
            print("  ".join(c.ljust(w) if i in (0, 5) else c.rjust(w)
                            for i, (c, w) in enumerate(zip(row, widths))).rstrip())
            if n == 0:
                print("  ".join("-" * w for w in widths))
    print()
    print(f"tree: {tree.describe()}".replace("\n", "\n      "))
    print(f"whole run {wall_s:.1f} s")
    if args.json:
        write_json(args.json, header, args.quick, wall_s, repeat=repeat, examples=examples, max_faults=MAX_FAULTS,
                   figures=stats)
    return 0


if __name__ == "__main__":
    sys.exit(main())
