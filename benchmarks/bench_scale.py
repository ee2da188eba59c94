#!/usr/bin/env python
"""Scale benchmarks of theater-harness: big supervision trees, and how the cost per event
grows with the number of actors and the length of the run.

Every measurement runs in a fresh child process (this script started again with
``--child``), so that its resident memory is its own and no run inherits another's heap.
Each figure is the median over ``--repeat`` child runs with the min-max spread. The
benchmark reads the wall clock and ``/proc/self/statm``; the runtime never does.

    python benchmarks/bench_scale.py                  # full run, about two minutes on an idle 2-core machine
    python benchmarks/bench_scale.py --quick          # smoke run, a few seconds (small sizes, 1 repetition)
    python benchmarks/bench_scale.py --markdown --json scale.json
"""

from __future__ import annotations

import gc
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
for path in (str(ROOT), str(HERE)):  # runnable without PYTHONPATH from a source checkout
    if path not in sys.path:
        sys.path.insert(0, path)

from bench_core import (BenchError, _check, _cpu_model, _loadavg, options, rss_bytes, summarize,  # noqa: E402
                        with_repeat, write_json)

COUNTER = str(ROOT / "scenarios" / "actors" / "counter.toml")


# --- what one child process measures ----------------------------------------------------------


def _clock() -> int:
    return time.perf_counter_ns()


def tree_of(size: int) -> Any:
    """A tree of ``size`` actors: a root supervisor over ``sqrt``-ish fan-out supervisors
    (alternating one_for_one, rest_for_one, one_for_all) over counter workers."""
    from theater_harness.trees import NodeSpec, Policy, TreeSpec

    strategies = ("one_for_one", "rest_for_one", "one_for_all")
    branches = max(1, round((size - 1) ** 0.5 / 3))
    workers = size - 1 - branches
    _check(workers >= branches, f"a tree of {size} actors is too small for {branches} branches")
    children = []
    for b in range(branches):
        count = workers // branches + (1 if b < workers % branches else 0)
        leaves = tuple(NodeSpec(f"w{b}.{i}", manifest=COUNTER) for i in range(count))
        children.append(NodeSpec(f"s{b}", policy=Policy(strategies[b % 3], intensity=3), children=leaves))
    return TreeSpec(NodeSpec("root", policy=Policy("one_for_one", intensity=3), children=tuple(children)))


def child_tree(size: int) -> dict[str, float]:
    """Spawn a tree of ``size`` actors; crash one worker and let it heal; stop the tree."""
    from theater_harness import Runtime
    from theater_harness.faults import FaultSchedule, fault

    tree = tree_of(size)
    rt = Runtime(seed=1, faults=FaultSchedule([fault("trap", "w0.0", on_call=1)]))
    warm = Runtime(seed=2)
    warm.spawn(COUNTER)  # compiled component and manifest caches filled, imports done
    del warm
    gc.collect()
    before = rss_bytes()
    start = _clock()
    ids = tree.spawn(rt)
    spawned = _clock()
    gc.collect()
    after = rss_bytes()
    live = sum(1 for a in rt.actors if a.alive)
    _check(live == size, f"tree: {live} of {size} actors are running")

    rt.send(ids["w0.0"], "inc")  # its first call traps: its supervisor restarts it (and siblings)
    heal_start = _clock()
    rt.run_until_idle()
    healed = _clock()
    worker = rt.actor(ids["w0.0"])
    _check(worker.alive and worker.incarnation == 2, f"tree: w0.0 did not heal: {worker.exit_reason}")

    stop_start = _clock()
    rt.stop(ids["root"])
    rt.run_until_idle()
    stopped = _clock()
    _check(not any(a.alive for a in rt.actors), "tree: an actor outlived the stop of the root")
    return {
        "spawn_s": (spawned - start) / 1e9,
        "spawn_us_per_actor": (spawned - start) / size / 1e3,
        "rss_kib_per_actor": (after - before) / size / 1024,
        "heal_ms": (healed - heal_start) / 1e6,
        "stop_s": (stopped - stop_start) / 1e9,
        "actors": size,
    }


def child_curve(actors: int, messages: int) -> dict[str, float]:
    """``actors`` counters, ``messages`` sends round-robin at spread virtual times, run to
    idle: wall time per scheduler event."""
    from theater_harness import Runtime

    rt = Runtime(seed=1)
    ids = [rt.spawn(COUNTER) for _ in range(actors)]
    for i in range(messages):
        rt.send(ids[i % actors], "inc", delay_ms=i // 10)  # ten messages per virtual millisecond
    gc.collect()
    events_before = rt.scheduler.events_run
    start = _clock()
    rt.run_until_idle()
    elapsed = _clock() - start
    events = rt.scheduler.events_run - events_before
    handled = sum(json.loads(rt.actor(a).state)["count"] for a in ids)
    _check(handled == messages, f"curve: {handled} of {messages} messages handled")
    return {"us_per_event": elapsed / events / 1e3, "events": events, "actors": actors, "messages": messages}


def child_bare(actors: int, calls: int) -> dict[str, float]:
    """The same round-robin of ``handle-send`` over ``actors`` counter incarnations, called
    directly (``Incarnation.call``, no runtime): what the wasm calls alone cost when each
    call enters a different Store, so that the harness's own share can be told apart."""
    from bench_core import ACTORS, HANDLE_SEND, INIT, _no_host_calls
    from theater_harness.runtime import DEFAULT_FUEL, DEFAULT_MEMORY
    from theater_harness.wasm import Incarnation, load_component

    component = load_component(ACTORS / "counter.wasm")
    init, send = component.exports[INIT], component.exports[HANDLE_SEND]
    incarnations = [Incarnation(component, None, _no_host_calls, fuel=DEFAULT_FUEL, memory_cap=DEFAULT_MEMORY)
                    for _ in range(actors)]
    states = [inc.call(init, (None,))[1][1][0] for inc in incarnations]
    gc.collect()
    start = _clock()
    for i in range(calls):
        k = i % actors
        ok, value = incarnations[k].call(send, (states[k], (b"inc",)))
        states[k] = value[1][0]
    elapsed = _clock() - start
    _check(ok and sum(json.loads(st)["count"] for st in states) == calls, "bare: not every call counted")
    return {"us_per_call": elapsed / calls / 1e3}


CHILDREN = {"tree": child_tree, "curve": child_curve, "bare": child_bare}


def _child_main(argv: list[str]) -> int:
    kind, *numbers = argv
    print(json.dumps(CHILDREN[kind](*(int(n) for n in numbers))))
    return 0


# --- the parent: run the children, summarize, print --------------------------------------------


@dataclass(frozen=True)
class Plan:
    tree_sizes: tuple[int, ...]
    curve_actors: tuple[int, ...]
    curve_messages: int  # per run, for the actors curve
    length_actors: int
    length_messages: tuple[int, ...]
    repeat: int


FULL = Plan(tree_sizes=(100, 1_000, 10_000), curve_actors=(10, 100, 1_000, 10_000), curve_messages=20_000,
            length_actors=100, length_messages=(1_000, 10_000, 100_000), repeat=5)
QUICK = Plan(tree_sizes=(100, 1_000), curve_actors=(10, 1_000), curve_messages=2_000,
             length_actors=10, length_messages=(1_000, 5_000), repeat=1)


def _run_child(*argv: Any) -> dict[str, float]:
    command = [sys.executable, str(Path(__file__).resolve()), "--child", *map(str, argv)]
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
    if done.returncode != 0:
        tail = "\n".join(done.stderr.strip().splitlines()[-15:])
        raise BenchError(f"child {' '.join(map(str, argv))} exited {done.returncode}:\n{tail}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _rounds(plan: Plan) -> list[dict[tuple, dict[str, float]]]:
    """Every measurement once per repetition, interleaved: a slow spell of a shared
    machine then hits every size of one repetition alike, not all runs of one size."""
    jobs = ([("tree", size) for size in plan.tree_sizes]
            + [(kind, n, plan.curve_messages) for n in plan.curve_actors for kind in ("curve", "bare")]
            + [("curve", plan.length_actors, m) for m in plan.length_messages])
    rounds = []
    for rep in range(plan.repeat):
        rounds.append({job: _run_child(*job) for job in dict.fromkeys(jobs)})
        print(f"  repetition {rep + 1}/{plan.repeat} done", file=sys.stderr, flush=True)
    return rounds


def _summaries(rounds: list[dict[tuple, dict[str, float]]], job: tuple) -> dict[str, dict[str, Any]]:
    return {key: summarize([r[job][key] for r in rounds]) for key in rounds[0][job]}


def _cell(st: dict[str, Any], fmt: str) -> str:
    return f"{st['median']:{fmt}} ({st['min']:{fmt}}-{st['max']:{fmt}})"


def _table(rows: list[tuple[str, ...]], markdown: bool) -> list[str]:
    if markdown:
        return (["| " + " | ".join(rows[0]) + " |", "|" + "|".join("---" for _ in rows[0]) + "|"]
                + ["| " + " | ".join(row) + " |" for row in rows[1:]])
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = []
    for n, row in enumerate(rows):
        lines.append("  ".join(cell.ljust(w) if i == 0 else cell.rjust(w)
                               for i, (cell, w) in enumerate(zip(row, widths))).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return lines


def _flatness(values: list[float]) -> float:
    return max(values) / min(values)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--child"]:
        return _child_main(argv[1:])
    args = options(__doc__, repeat_help="child runs per figure (default 5; 1 with --quick)",
                   quick_help="a fast smoke run with small sizes").parse_args(argv)
    plan = with_repeat(QUICK if args.quick else FULL, args.repeat)

    from theater_harness.wasm import WASMTIME_VERSION

    began = time.perf_counter_ns()
    header = [
        f"theater-harness scale benchmarks{' (--quick)' if args.quick else ''}",
        f"python   {platform.python_implementation()} {platform.python_version()}, wasmtime-py {WASMTIME_VERSION}",
        f"cpu      {_cpu_model()} ({os.cpu_count()} logical CPUs), load average at start {_loadavg()}",
        f"timings  medians of {plan.repeat} child processes (spread min-max in brackets), the sizes "
        f"interleaved in each repetition; memory is the growth of resident memory (/proc/self/statm) "
        f"over the spawn, per live actor; most / least ratios are paired per repetition",
    ]
    print("\n".join(header), flush=True)

    rounds = _rounds(plan)
    trees = {size: _summaries(rounds, ("tree", size)) for size in plan.tree_sizes}
    by_actors = {n: _summaries(rounds, ("curve", n, plan.curve_messages)) for n in plan.curve_actors}
    bare = {n: _summaries(rounds, ("bare", n, plan.curve_messages)) for n in plan.curve_actors}
    by_length = {m: _summaries(rounds, ("curve", plan.length_actors, m)) for m in plan.length_messages}
    wall_s = (time.perf_counter_ns() - began) / 1e9

    tree_rows = [("tree of N actors", "spawn s", "us / actor", "KiB / live actor", "crash + heal ms", "stop all s",
                  "target")]
    for size, st in trees.items():
        target = ""
        if size == 10_000:
            ok = st["spawn_s"]["median"] < 5 and st["rss_kib_per_actor"]["median"] < 64
            target = f"< 5 s, < 64 KiB: {'ok' if ok else 'MISSED'}"
        tree_rows.append((f"{size:,}", _cell(st["spawn_s"], ".2f"), _cell(st["spawn_us_per_actor"], ".0f"),
                          _cell(st["rss_kib_per_actor"], ".1f"), _cell(st["heal_ms"], ".1f"),
                          _cell(st["stop_s"], ".2f"), target))
    # flatness: most / least time per event within each repetition (paired), then the median
    actors_flat = statistics.median(_flatness([r[("curve", n, plan.curve_messages)]["us_per_event"]
                                               for n in plan.curve_actors]) for r in rounds)
    bare_flat = statistics.median(_flatness([r[("bare", n, plan.curve_messages)]["us_per_call"]
                                             for n in plan.curve_actors]) for r in rounds)
    length_flat = statistics.median(_flatness([r[("curve", plan.length_actors, m)]["us_per_event"]
                                               for m in plan.length_messages]) for r in rounds)
    curve_rows = [("cost curve", "events / run", "us / event", "bare wasm us / call", "harness's own us")]
    for n, st in by_actors.items():
        own = st["us_per_event"]["median"] - bare[n]["us_per_call"]["median"]
        curve_rows.append((f"{n:,} actors, {plan.curve_messages:,} messages", f"{st['events']['median']:,.0f}",
                           _cell(st["us_per_event"], ".2f"), _cell(bare[n]["us_per_call"], ".2f"), f"{own:.2f}"))
    for m, st in by_length.items():
        curve_rows.append((f"{plan.length_actors:,} actors, {m:,} messages", f"{st['events']['median']:,.0f}",
                           _cell(st["us_per_event"], ".2f"), "", ""))
    print()
    print("\n".join(_table(tree_rows, args.markdown)))
    print()
    print("\n".join(_table(curve_rows, args.markdown)))
    print()
    verdict = "ok" if actors_flat <= 1.5 else "MISSED"
    print(f"time per event, most / least: {actors_flat:.2f}x over {plan.curve_actors[0]:,}-{plan.curve_actors[-1]:,} "
          f"actors (target flat, <= 1.5x: {verdict}; the bare wasm calls alone: {bare_flat:.2f}x, each call "
          f"entering a colder Store); {length_flat:.2f}x over runs of "
          f"{plan.length_messages[0]:,}-{plan.length_messages[-1]:,} messages")
    print(f"whole run {wall_s:.1f} s")
    if args.json:
        write_json(args.json, header, args.quick, wall_s, plan=plan.__dict__,
                   trees={str(size): st for size, st in trees.items()},
                   curve_by_actors={str(n): st for n, st in by_actors.items()},
                   bare_by_actors={str(n): st for n, st in bare.items()},
                   curve_by_length={str(m): st for m, st in by_length.items()},
                   flatness_by_actors=actors_flat, flatness_by_length=length_flat, flatness_bare=bare_flat)
    return 0


if __name__ == "__main__":
    sys.exit(main())
