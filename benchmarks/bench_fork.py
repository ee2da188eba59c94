#!/usr/bin/env python
"""Checkpoints and forks for fault-schedule searches: the workload prefix once, a fork per schedule.

A 10-actor tree (a one_for_one root over three supervisors, each over two workers of
either ABI) takes a warm-up of 10,000 messages, then 200 fault schedules (up to 8 faults
each, all after the warm-up) run to the end and are checked against every invariant.
Straight: every schedule runs the warm-up again from time 0. Forked: the warm-up runs once,
a checkpoint is taken, and each schedule runs in a fork (``theater_harness.fork``). Both
give each schedule's verdict (its violations) and its trace's hash: they must be equal.
Every invariant is checked two ways in the forks: over the whole trace in each fork (as
before the checks went in step), and in step, the warm-up checked once before the
checkpoint and each fork reading only the records it adds (``check_all(runtime)``);
their speed-ups are measured side by side in the same run.
Prints one table; this script reads the wall clock, the runtime never does.

    PYTHONPATH=. python benchmarks/bench_fork.py              # ~6 min on an idle 2-core machine (3 repetitions)
    PYTHONPATH=. python benchmarks/bench_fork.py --quick      # a smoke run, a few seconds
"""

from __future__ import annotations

import hashlib
import json
import random
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # runnable without PYTHONPATH from a source checkout
    sys.path.insert(0, str(ROOT))

from bench_core import _loadavg, options, render, summarize, write_json, Figure  # noqa: E402

from theater_harness import Runtime  # noqa: E402
from theater_harness.faults import Fault, FaultSchedule  # noqa: E402
from theater_harness.fork import Checkpoint, fork_problem  # noqa: E402
from theater_harness.invariants import check_all  # noqa: E402
from theater_harness.trees import NodeSpec, Policy, TreeSpec  # noqa: E402

ACTORS = ROOT / "scenarios" / "actors"
WORKERS = {"counter": str(ACTORS / "counter.toml"), "crasher": str(ACTORS / "crasher.toml"),
           "pcounter": str(ACTORS / "packr_counter.toml"), "pcrasher": str(ACTORS / "packr_crasher.toml")}
TREE = TreeSpec(NodeSpec("root", policy=Policy("one_for_one", intensity=50, period_ms=1000), children=tuple(
    NodeSpec(f"s{i}", policy=Policy(strategy, intensity=50, period_ms=1000), children=(
        NodeSpec(f"s{i}a", manifest=WORKERS[a], recovery="last"),
        NodeSpec(f"s{i}b", manifest=WORKERS[b]),
    )) for i, (strategy, a, b) in enumerate([("one_for_one", "counter", "pcrasher"),
                                             ("one_for_all", "pcounter", "crasher"),
                                             ("rest_for_one", "pcounter", "counter")]))))
WORKER_PATHS = [f"root/s{i}/s{i}{x}" for i in range(3) for x in "ab"]
KINDS = ("trap", "crash", "kill", "stop", "err")


@dataclass(frozen=True)
class Sizes:
    warmup_msgs: int
    schedules: int
    warmup_ms: int
    horizon_ms: int
    repeat: int


FULL = Sizes(warmup_msgs=10_000, schedules=200, warmup_ms=5_000, horizon_ms=1_000, repeat=3)
QUICK = Sizes(warmup_msgs=500, schedules=8, warmup_ms=500, horizon_ms=500, repeat=1)
END_STATE, WHOLE, IN_STEP = "end state", "whole trace", "in step"  # what a verdict reads


def schedules(sizes: Sizes, seed: int = 1) -> list[FaultSchedule]:
    """Up to 8 faults each, on the workers, all after the warm-up."""
    rng = random.Random(seed)
    out = []
    for _ in range(sizes.schedules):
        faults = [Fault(rng.choice(KINDS), target=rng.choice(WORKER_PATHS),
                        at_ms=sizes.warmup_ms + rng.randrange(sizes.horizon_ms)) for _ in range(rng.randint(1, 8))]
        out.append(FaultSchedule(faults))
    return out


def warmed(sizes: Sizes) -> Runtime:
    """The tree after its warm-up: ``warmup_msgs`` sends spread over ``warmup_ms``."""
    rt = Runtime(7, faults=FaultSchedule([]))  # the injector counts from time 0, as in every straight run
    ids = TREE.spawn(rt)
    names = [p.rsplit("/", 1)[1] for p in WORKER_PATHS]
    for n in range(sizes.warmup_msgs):
        rt.send(ids[names[n % len(names)]], "inc", delay_ms=n * sizes.warmup_ms // sizes.warmup_msgs)
    rt.run(until=sizes.warmup_ms)
    rt.trace.dicts()  # as a checkpoint does: the prefix's records materialized once
    return rt


def verdict(rt: Runtime, schedule: FaultSchedule, sizes: Sizes, check: str) -> tuple[str, tuple[str, ...]]:
    """The schedule's outcome: the hash of the trace from the fork point on, and either
    the end state of every actor or every invariant's violations over the whole trace:
    read whole (its records as a list) or in step (the runtime: only the records its
    checker has not read yet)."""
    start = len(rt.trace)
    rt.inject(schedule)
    rt.run(until=sizes.warmup_ms + sizes.horizon_ms + 500)
    suffix = hashlib.sha256(json.dumps(rt.trace.dicts(start), sort_keys=True).encode()).hexdigest()
    if check == END_STATE:
        return suffix, tuple(f"{a.name} {a.status} {a.incarnation}" for a in rt.actors)
    found = check_all(rt if check == IN_STEP else rt.trace.dicts())
    return suffix, tuple(sorted(f"{v.invariant}: {v.message}" for v in found))


def straight(sizes: Sizes, cases: list[FaultSchedule], check: str) -> tuple[float, list]:
    started = time.perf_counter()
    out = []
    for schedule in cases:
        rt = warmed(sizes)
        out.append(verdict(rt, schedule, sizes, check))
        rt.close()
    return time.perf_counter() - started, out


def forked(sizes: Sizes, cases: list[FaultSchedule], check: str) -> tuple[float, list]:
    started = time.perf_counter()
    rt = warmed(sizes)
    if check == IN_STEP:
        check_all(rt)  # the warm-up, checked once: each fork goes on from this check
    checkpoint = Checkpoint(rt)
    out = [checkpoint.run(lambda rt, s=schedule: verdict(rt, s, sizes, check)) for schedule in cases]
    return time.perf_counter() - started, out


def main(argv: list[str] | None = None) -> int:
    args = options(__doc__, repeat_help="repetitions (default 1)").parse_args(argv)
    sizes = QUICK if args.quick else FULL
    if args.repeat:
        sizes = Sizes(**{**sizes.__dict__, "repeat": args.repeat})
    problem = fork_problem()
    if problem is not None:
        print(f"cannot fork here: {problem}", file=sys.stderr)
        return 2
    cases = schedules(sizes)
    started = time.perf_counter()
    load = _loadavg()
    times: dict[str, list[float]] = {}
    agree = True
    failing = 0
    for _ in range(sizes.repeat):
        for check in (END_STATE, WHOLE):
            s_time, s_out = straight(sizes, cases, check)
            f_time, f_out = forked(sizes, cases, check)
            agree = agree and s_out == f_out
            times.setdefault(f"straight, {check}", []).append(len(cases) / s_time)
            times.setdefault(f"forked, {check}", []).append(len(cases) / f_time)
            times.setdefault(f"ratio, {check}", []).append(s_time / f_time)
            if check == WHOLE:
                failing = sum(1 for _, v in s_out if v)
                i_time, i_out = forked(sizes, cases, IN_STEP)
                agree = agree and i_out == s_out
                times.setdefault(f"forked, {IN_STEP}", []).append(len(cases) / i_time)
                times.setdefault(f"ratio, {IN_STEP}", []).append(s_time / i_time)
                times.setdefault("ratio, in step / whole", []).append(f_time / i_time)
    warm = f"warm-up of {sizes.warmup_msgs:,} messages each time"
    rows = [
        (Figure("s", f"straight, each run's end state: schedules/s ({warm})", "/s"),
         summarize(times[f"straight, {END_STATE}"])),
        (Figure("f", "forked, each run's end state: schedules/s (warm-up once, a fork each)", "/s"),
         summarize(times[f"forked, {END_STATE}"])),
        (Figure("r", "speed-up, each run's end state", "x", ">= 10x", lambda v: v >= 10),
         summarize(times[f"ratio, {END_STATE}"])),
        (Figure("s", f"straight, every invariant over the whole trace: schedules/s ({warm})", "/s"),
         summarize(times[f"straight, {WHOLE}"])),
        (Figure("f", "forked, every invariant, each fork re-reading the whole trace (before): schedules/s", "/s"),
         summarize(times[f"forked, {WHOLE}"])),
        (Figure("f", "forked, every invariant checked in step, the warm-up once: schedules/s", "/s"),
         summarize(times[f"forked, {IN_STEP}"])),
        (Figure("r", "speed-up, every invariant, re-reading the whole trace (before)", "x"),
         summarize(times[f"ratio, {WHOLE}"])),
        (Figure("r", "speed-up, every invariant, checked in step", "x", ">= 10x", lambda v: v >= 10),
         summarize(times[f"ratio, {IN_STEP}"])),
        (Figure("r", "forked: in step / re-reading the whole trace", "x"), summarize(times["ratio, in step / whole"])),
    ]
    print(f"theater-harness checkpoint/fork benchmark{' (--quick)' if args.quick else ''}: a 10-actor tree "
          f"(both ABIs), {len(cases)} schedules of 1-8 faults after the warm-up; load average {load}")
    print("\n".join(render(rows, args.markdown)))
    print(f"verdicts and trace hashes: {'identical' if agree else 'DIFFERENT'} for all {len(cases)} schedules "
          f"({failing} with invariant violations)")
    if args.json:
        write_json(args.json, [f"load {load}"], args.quick, time.perf_counter() - started,
                   **{k: summarize(v) for k, v in times.items()}, identical=agree)
    return 0 if agree else 1


if __name__ == "__main__":
    sys.exit(main())
