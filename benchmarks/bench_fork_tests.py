#!/usr/bin/env python
"""Hypothesis tests through forks: a property test (``TreeSpec.check(fork_at_ms=...)``, the
pytest plugin's path) and the state machine (``SupervisionMachine.for_tree(fork=True)``),
each run straight and forked over the same examples.

The tree is bench_fork.py's: 10 actors (a one_for_one root over three supervisors, each
over a component and a packr worker), with a workload of 10,000 messages over 5 s of
virtual time. The property test draws fault schedules after the warm-up
(``fault_schedules(from_ms=5000)``) and checks every invariant: straight, every example
spawns the tree and runs the warm-up again; forked, the warm-up runs once per process and
each example runs in a fork. The state machine's examples start after the warm-up
(``warmup_ms=5000``): straight, each spawns and warms up again; forked, each continues the
one checkpoint in a session of its own, step by step. Both searches are derandomized, so
both modes run the same examples: their verdicts (the property test's) and observations
(every step's, the machine's) must be equal. Prints one table; this script reads the
wall clock, the runtime never does.

    PYTHONPATH=. python benchmarks/bench_fork_tests.py            # ~2 min on an idle 2-core machine
    PYTHONPATH=. python benchmarks/bench_fork_tests.py --quick    # a smoke run, a few seconds
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # runnable without PYTHONPATH from a source checkout
    sys.path.insert(0, str(ROOT))

from bench_core import Figure, _loadavg, options, render, summarize, with_repeat, write_json  # noqa: E402
from bench_fork import TREE as BENCH_TREE, WORKER_PATHS  # noqa: E402

from hypothesis import HealthCheck, Phase, given, settings  # noqa: E402
from hypothesis.stateful import run_state_machine_as_test  # noqa: E402

from theater_harness.fork import clear_cache, fork_problem, straight  # noqa: E402
from theater_harness.scenario.explore import _seed_only  # noqa: E402
from theater_harness.stateful import SupervisionMachine  # noqa: E402
from theater_harness.strategies import fault_schedules  # noqa: E402
from theater_harness.trees import TreeSpec  # noqa: E402


@dataclass(frozen=True)
class Sizes:
    warmup_msgs: int
    warmup_ms: int
    examples: int  # the property test's
    machine_examples: int
    steps: int  # the machine's, per example
    repeat: int


FULL = Sizes(warmup_msgs=10_000, warmup_ms=5_000, examples=60, machine_examples=30, steps=8, repeat=3)
QUICK = Sizes(warmup_msgs=500, warmup_ms=500, examples=6, machine_examples=3, steps=4, repeat=1)


def busy_tree(sizes: Sizes) -> TreeSpec:
    names = [p.rsplit("/", 1)[1] for p in WORKER_PATHS]
    return TreeSpec(BENCH_TREE.root, workload=tuple(
        (n * sizes.warmup_ms // sizes.warmup_msgs, names[n % len(names)], "inc") for n in range(sizes.warmup_msgs)))


def search_settings(examples: int, **more) -> settings:
    return settings(max_examples=examples, derandomize=True, database=None, deadline=None,
                    phases=[Phase.generate], suppress_health_check=list(HealthCheck), **more)


def property_test(tree: TreeSpec, sizes: Sizes) -> list:
    """The property test of the README, faults after the warm-up: each example's verdict."""
    verdicts = []

    @search_settings(sizes.examples)
    @given(fault_schedules(tree, max_faults=4, from_ms=sizes.warmup_ms, horizon_ms=sizes.warmup_ms + 1000))
    def test(schedule):
        verdict = tree.check(faults=schedule, fork_at_ms=sizes.warmup_ms, seed=7)
        verdicts.append((schedule.to_dicts(), verdict))

    test()
    return verdicts


def machine_search(tree: TreeSpec, sizes: Sizes) -> list:
    """The state machine from the warmed-up tree: every step's observation."""
    seen: list = []

    class Logged(SupervisionMachine.for_tree(tree, warmup_ms=sizes.warmup_ms, fork=True)):
        def _step(self, fn, *args):
            out = super()._step(fn, *args)
            seen.append((fn.__name__, args, out))
            return out

    run_state_machine_as_test(Logged, settings=search_settings(sizes.machine_examples,
                                                               stateful_step_count=sizes.steps))
    return seen


def timed(run, *args) -> tuple[float, list]:
    clear_cache()  # each forked search makes its checkpoint: the warm-up once, timed
    started = time.perf_counter()
    with _seed_only():  # the same examples whatever the process imported (forks import in the child)
        out = run(*args)
    return time.perf_counter() - started, out


def main(argv: list[str] | None = None) -> int:
    args = options(__doc__, repeat_help="repetitions (default 3; 1 with --quick)").parse_args(argv)
    sizes = with_repeat(QUICK if args.quick else FULL, args.repeat)
    problem = fork_problem()
    if problem is not None:
        print(f"cannot fork here: {problem}", file=sys.stderr)
        return 2
    tree = busy_tree(sizes)
    load = _loadavg()
    started = time.perf_counter()
    times: dict[str, list[float]] = {}
    agree = True
    failing = 0
    timed(property_test, tree, QUICK)  # compiles every actor once: no mode pays for it
    for _ in range(sizes.repeat):
        for name, run, count in (("property", property_test, sizes.examples),
                                 ("machine", machine_search, sizes.machine_examples)):
            with straight("the straight half of the benchmark"):
                s_time, s_out = timed(run, tree, sizes)
            f_time, f_out = timed(run, tree, sizes)
            agree = agree and s_out == f_out
            if name == "property":
                failing = sum(1 for _, verdict in s_out if not verdict.ok)
            times.setdefault(f"{name}, straight", []).append(s_time / count)
            times.setdefault(f"{name}, forked", []).append(f_time / count)
            times.setdefault(f"{name}, ratio", []).append(s_time / f_time)
    warm = f"warm-up of {sizes.warmup_msgs:,} messages"
    rows = [
        (Figure("s", f"property test, straight: per example (each spawns and runs the {warm})", "s"),
         summarize(times["property, straight"])),
        (Figure("f", "property test, forked: per example (the warm-up once, in the total; a fork each)", "s"),
         summarize(times["property, forked"])),
        (Figure("r", "speed-up, property test (every invariant checked)", "x", ">= 10x", lambda v: v >= 10),
         summarize(times["property, ratio"])),
        (Figure("s", f"state machine, straight: per example ({sizes.steps} steps, each spawns and warms up)", "s"),
         summarize(times["machine, straight"])),
        (Figure("f", "state machine, forked: per example (a session each from the one checkpoint)", "s"),
         summarize(times["machine, forked"])),
        (Figure("r", "speed-up, state machine", "x", ">= 10x", lambda v: v >= 10), summarize(times["machine, ratio"])),
    ]
    print(f"theater-harness forked Hypothesis tests{' (--quick)' if args.quick else ''}: a 10-actor tree (both "
          f"ABIs), {sizes.examples} property examples (up to 4 faults after the warm-up), {sizes.machine_examples} "
          f"state-machine examples; load average {load}")
    print("\n".join(render(rows, args.markdown)))
    print(f"verdicts and step observations: {'identical' if agree else 'DIFFERENT'} straight and forked "
          f"({failing} property examples with invariant violations)")
    if args.json:
        write_json(args.json, [f"load {load}"], args.quick, time.perf_counter() - started,
                   **{k: summarize(v) for k, v in times.items()}, identical=agree)
    return 0 if agree else 1


if __name__ == "__main__":
    sys.exit(main())
