#!/usr/bin/env python
"""Shard benchmarks of theater-harness: one exploration campaign on 1 and on 2 cores.

Prints one table of wall-clock medians (and, with ``--json FILE``, writes the same
figures as JSON). Everything measured is a fresh subprocess (``sys.executable``), timed
from outside with ``time.perf_counter_ns``:

1. ``pytest -n 1`` against ``pytest -n 2`` on an exploration-heavy selection: copies of
   ``scenarios/explore.scenario.toml`` (each its own seed), every one an ``[explore]``
   search of its schedules, collected by the plugin as tests;
2. ``theater-harness run`` of one exploration, unsharded against ``--shard 1/2`` and
   ``--shard 2/2`` run side by side (the wall time until both are done), with one round
   (every shard generates all the schedules and runs its half) and with two rounds (each
   shard searches a round of its own).

3. what the machine can give at that moment: one CPU-bound Python loop alone, then two
   side by side (an idle 2-core machine: 2.0x). On a shared machine other tenants take
   their part, and the speed-ups of 1 and 2 can only be read against this one.

Beside each wall time, the CPU time (user + system) of the processes it ran, workers and
shards included (``RUSAGE_CHILDREN``): what running in parallel costs in work, whatever
the other tenants do (a ratio of 1.00x: nothing). Every run writes its coverage file, and
the benchmark checks what it measured: ``-n 1`` and ``-n 2`` cover the same fault space,
and the two shards merged cover the unsharded run's. Every repetition runs every figure
once (the pairs in alternating order), so the ratios are paired; the load average and the
kernel's CPU pressure are recorded before each repetition. Component cache, traces and
Hypothesis storage go to temp dirs.

Python's bytecode cache is on (``PYTHONPYCACHEPREFIX``: a temp dir, filled by the warm-up),
as Python has it by default, even where ``PYTHONDONTWRITEBYTECODE`` is set:
``--no-bytecode-cache`` keeps that setting. Without the cache every process recompiles
what it imports, and pytest re-does its assertion rewriting of every module of the
packages that have a pytest plugin (Hypothesis, Faker, theater-harness): about a second of
start-up per process, which the second worker pays again.

    PYTHONPATH=. python benchmarks/bench_shards.py                 # full run, ~3 min on an idle 2-core machine
    PYTHONPATH=. python benchmarks/bench_shards.py --quick         # smoke run, ~30 s
    PYTHONPATH=. python benchmarks/bench_shards.py --repeat 3 --markdown --json shards.json
"""

from __future__ import annotations

import os
import platform
import resource
import shlex
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from importlib.util import find_spec
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench_core, when imported from elsewhere
import bench_core  # noqa: E402  (also puts the checkout on sys.path)
from bench_core import (  # noqa: E402
    ACTORS, ROOT, BenchError, Figure, _check, _clock, _cpu_model, _loadavg, summarize,
)
from bench_session import TIMEOUT_S, _summary, _tail, run  # noqa: E402

from theater_harness.fault_space import merge_coverage, read_coverage  # noqa: E402
from theater_harness.wasm import WASMTIME_VERSION  # noqa: E402

EXPLORE = ROOT / "scenarios" / "explore.scenario.toml"
SEED = "1"
PYTEST = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"--theater-seed={SEED}"]
CLI = [sys.executable, "-m", "theater_harness", "run"]


@dataclass(frozen=True)
class Sizes:
    files: int  # explored scenario files in the pytest selection
    examples: int  # schedules each of them explores
    cli_examples: int  # schedules of the command's campaign
    repeat: int
    loop: int = 30_000_000  # iterations of the CPU-bound loop (about 2 s alone)


FULL = Sizes(files=8, examples=250, cli_examples=1200, repeat=3)
QUICK = Sizes(files=4, examples=10, cli_examples=40, repeat=1, loop=3_000_000)

FIGURES = [
    Figure("machine_speedup", "machine: 2 CPU-bound loops side by side / 1 (idle: 2.0x)", "x"),
    Figure("pytest_n1_s", "pytest -n 1, exploration-heavy selection", "s"),
    Figure("pytest_n2_s", "pytest -n 2, same selection", "s"),
    Figure("pytest_speedup", "pytest: wall speed-up -n 1 / -n 2", "x", "near 2x", lambda v: v >= 1.7),
    Figure("pytest_n1_cpu_s", "  CPU time, -n 1", "s"),
    Figure("pytest_n2_cpu_s", "  CPU time, -n 2 (both workers)", "s"),
    Figure("pytest_cpu_ratio", "  CPU time -n 2 / -n 1", "x"),
    Figure("cli_whole_s", "theater-harness run, one round, unsharded", "s"),
    Figure("cli_shards_s", "  --shard 1/2 and 2/2 side by side", "s"),
    Figure("cli_speedup", "  wall speed-up unsharded / 2 shards", "x"),
    Figure("cli_cpu_ratio", "  CPU time 2 shards / unsharded", "x"),
    Figure("cli_whole_r2_s", "theater-harness run --rounds 2, unsharded", "s"),
    Figure("cli_shards_r2_s", "  --shard 1/2 and 2/2 side by side", "s"),
    Figure("cli_speedup_r2", "  wall speed-up unsharded / 2 shards", "x", "near 2x", lambda v: v >= 1.7),
    Figure("cli_cpu_ratio_r2", "  CPU time 2 shards / unsharded", "x"),
]


LOOP = "n = 0\nfor i in range({}):\n    n += i * i\n"


def machine_speedup(sizes: Sizes) -> float:
    """How much two processes get done side by side against one alone, on a CPU-bound loop."""
    walls = []
    for count in (1, 2):
        start = _clock()
        procs = [subprocess.Popen([sys.executable, "-c", LOOP.format(sizes.loop)]) for _ in range(count)]
        _check(all(p.wait(timeout=TIMEOUT_S) == 0 for p in procs), "the CPU-bound loop failed")
        walls.append((_clock() - start) / 1e9)
    return 2 * walls[0] / walls[1]


def _children_cpu() -> float:
    """User + system seconds of every child process waited for so far (and of theirs)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


class Dirs:
    """The temp dirs of one benchmark run: the selection, a shared component cache (warm
    after the warm-up), traces, Hypothesis storage, coverage files."""

    def __init__(self, base: Path, sizes: Sizes, bytecode: bool = True) -> None:
        self.base, self.bytecode = base, bytecode
        self.selection = base / "selection"
        self.cache = base / "cache"
        self.traces = base / "traces"
        self.hypothesis = base / "hypothesis"
        self.out = base / "out"
        for path in (self.selection, self.cache, self.out):
            path.mkdir()
        text = EXPLORE.read_text().replace('manifest = "actors/', f'manifest = "{ACTORS}/')
        for i in range(sizes.files):
            (self.selection / f"explore{i}.scenario.toml").write_text(
                text.replace("examples = 40", f"examples = {sizes.examples}")
                    .replace('name = "explored: ', f'seed = {i}\nname = "explored {i}: '))
        self.campaign = self.selection / "explore0.scenario.toml"  # the command's, with --examples

    def env(self) -> dict[str, str]:
        env = {**os.environ, "THEATER_HARNESS_CACHE": str(self.cache),
               "HYPOTHESIS_STORAGE_DIRECTORY": str(self.hypothesis)}
        if self.bytecode:
            env.pop("PYTHONDONTWRITEBYTECODE", None)
            env["PYTHONPYCACHEPREFIX"] = str(self.base / "pycache")
        return env


# --- 1. pytest -n 1 / -n 2 -------------------------------------------------------------------


def pytest_run(dirs: Dirs, sizes: Sizes, workers: int) -> tuple[float, float, dict[str, Any]]:
    coverage = dirs.out / f"pytest-n{workers}.json"
    cpu = _children_cpu()
    done = run([*PYTEST, f"--theater-trace-dir={dirs.traces}", f"--theater-coverage-out={coverage}",
                "-n", str(workers), str(dirs.selection)], dirs.env(), f"pytest -n {workers}")
    line, counts, took = _summary(done.stdout)
    _check(counts.get("passed") == sizes.files, f"pytest -n {workers}: expected {sizes.files} passed: {line!r}")
    space = read_coverage(coverage).space
    _check(space.runs == sizes.files * sizes.examples, f"pytest -n {workers}: {space.runs} schedules run, expected "
                                                       f"{sizes.files * sizes.examples}")
    return done.wall_s, _children_cpu() - cpu, {"summary": line, "pytest_s": took, "coverage": space.to_dict()}


# --- 2. the command, unsharded and as two shards side by side ------------------------------------


def cli_whole(dirs: Dirs, sizes: Sizes, rounds: int) -> tuple[float, float, Any]:
    out = dirs.out / f"whole-r{rounds}.json"
    cpu = _children_cpu()
    done = run([*CLI, str(dirs.campaign), "--examples", str(sizes.cli_examples), "--rounds", str(rounds),
                "--coverage-out", str(out)], dirs.env(), f"theater-harness run --rounds {rounds}")
    return done.wall_s, _children_cpu() - cpu, read_coverage(out)


def cli_shards(dirs: Dirs, sizes: Sizes, rounds: int) -> tuple[float, float, Any]:
    """Both shards started together; the wall time until the second is done."""
    outs = [dirs.out / f"shard{k}-r{rounds}.json" for k in (1, 2)]
    argvs = [[*CLI, str(dirs.campaign), "--examples", str(sizes.cli_examples), "--rounds", str(rounds),
              "--shard", f"{k}/2", "--coverage-out", str(out)] for k, out in zip((1, 2), outs)]
    start, cpu = _clock(), _children_cpu()
    procs = [subprocess.Popen(argv, cwd=ROOT, env=dirs.env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for argv in argvs]
    results = []
    for argv, proc in zip(argvs, procs):
        try:
            stdout, stderr = proc.communicate(timeout=TIMEOUT_S)
        except subprocess.TimeoutExpired:
            for p in procs:
                p.kill()
            raise BenchError(f"no exit after {TIMEOUT_S} s: {shlex.join(argv)}") from None
        results.append((argv, proc.returncode, stdout, stderr))
    elapsed = (_clock() - start) / 1e9
    for argv, status, stdout, stderr in results:
        if status != 0:
            raise BenchError(f"exit status {status}: {shlex.join(argv)}\n  stdout:\n{_tail(stdout)}\n"
                             f"  stderr:\n{_tail(stderr)}")
    return elapsed, _children_cpu() - cpu, merge_coverage((str(out), read_coverage(out)) for out in outs)


# --- the run -------------------------------------------------------------------------------


def one_round(dirs: Dirs, sizes: Sizes, n: int) -> tuple[dict[str, float], dict[str, Any]]:
    s: dict[str, float] = {}
    info: dict[str, Any] = {"load_before": _loadavg(), "cpu_pressure_before": _pressure()}
    s["machine_speedup"] = machine_speedup(sizes)
    for workers in ((1, 2) if n % 2 == 0 else (2, 1)):  # alternate, so that drift in load is shared
        s[f"pytest_n{workers}_s"], s[f"pytest_n{workers}_cpu_s"], info[f"pytest_n{workers}"] = pytest_run(
            dirs, sizes, workers)
    _check(info["pytest_n1"].pop("coverage") == info["pytest_n2"].pop("coverage"),
           "pytest -n 1 and -n 2 covered different fault spaces")
    for rounds, suffix in ((1, ""), (2, "_r2")):
        pair = {}
        for which in (("whole", "shards") if n % 2 == 0 else ("shards", "whole")):
            measure = cli_whole if which == "whole" else cli_shards
            s[f"cli_{which}{suffix}_s"], s[f"cli_{which}{suffix}_cpu_s"], pair[which] = measure(dirs, sizes, rounds)
        whole, merged = pair["whole"], pair["shards"]
        _check(merged.space.to_dict() == whole.space.to_dict() and merged.complete,
               f"--rounds {rounds}: the two shards merged do not cover the unsharded run's fault space")
        info[f"cli{suffix}_cells"] = len(whole.space.cells())
        s[f"cli_speedup{suffix}"] = s[f"cli_whole{suffix}_s"] / s[f"cli_shards{suffix}_s"]
        s[f"cli_cpu_ratio{suffix}"] = s[f"cli_shards{suffix}_cpu_s"] / s[f"cli_whole{suffix}_cpu_s"]
    s["pytest_speedup"] = s["pytest_n1_s"] / s["pytest_n2_s"]
    s["pytest_cpu_ratio"] = s["pytest_n2_cpu_s"] / s["pytest_n1_cpu_s"]
    info["load_after"] = _loadavg()
    return s, info


def _pressure() -> str:
    """The kernel's CPU pressure (the share of time some task waited for a CPU), if it tells."""
    try:
        first = Path("/proc/pressure/cpu").read_text().splitlines()[0]
    except (OSError, IndexError):
        return "n/a"
    return " ".join(first.split()[1:4])


def warm_up(dirs: Dirs) -> None:
    """Untimed: compiles the example actors into the shared cache, warms the OS page cache."""
    run([*CLI, str(dirs.campaign), "--examples", "3"], dirs.env(), "warm-up: theater-harness run")
    run([*PYTEST, f"--theater-trace-dir={dirs.traces}", "--theater-examples=2", "-n", "2", str(dirs.selection)],
        dirs.env(), "warm-up: pytest -n 2")


def header(sizes: Sizes, quick: bool, bytecode: bool) -> list[str]:
    setting = "PYTHONDONTWRITEBYTECODE set" if os.environ.get("PYTHONDONTWRITEBYTECODE") else "Python's default"
    cache = ("on (PYTHONPYCACHEPREFIX=a temp dir)" if bytecode else "off") + f"; as run: {setting}"
    return [
        f"theater-harness shard benchmarks{' (--quick)' if quick else ''}",
        f"python   {platform.python_implementation()} {platform.python_version()} ({sys.executable}); "
        f"bytecode cache {cache}",
        f"wasmtime wasmtime-py {WASMTIME_VERSION}",
        f"cpu      {_cpu_model()} ({os.cpu_count()} logical CPUs), load average at start {_loadavg()}",
        f"timings  wall-clock medians of {sizes.repeat} repetitions of fresh subprocesses (after an untimed "
        f"warm-up); spread = min-max",
    ]


def commands(sizes: Sizes) -> list[str]:
    py = shlex.quote(sys.executable)
    return [
        "commands (cwd: the checkout; THEATER_HARNESS_CACHE and HYPOTHESIS_STORAGE_DIRECTORY: temp dirs):",
        f"  pytest: {py} -m pytest -q -p no:cacheprovider --theater-seed={SEED} --theater-coverage-out=F -n 1|2 SEL  "
        f"(SEL: {sizes.files} copies of explore.scenario.toml, seeds 0-{sizes.files - 1}, "
        f"examples = {sizes.examples}: {sizes.files * sizes.examples} schedules)",
        f"  run:    {py} -m theater_harness run explore0.scenario.toml --examples {sizes.cli_examples} --rounds 1|2 "
        "[--shard 1/2 & --shard 2/2] --coverage-out F",
    ]


def main(argv: list[str] | None = None) -> int:
    parser = bench_core.options(__doc__, repeat_help="repetitions per figure (default 3; 1 with --quick)",
                                quick_help="a smoke run: 4 scenarios of 10 schedules, a campaign of 40")
    parser.add_argument("--no-bytecode-cache", action="store_true",
                        help="leave PYTHONDONTWRITEBYTECODE as it is set (default: a bytecode cache in a temp dir)")
    args = parser.parse_args(argv)
    sizes = bench_core.with_repeat(QUICK if args.quick else FULL, args.repeat)
    if find_spec("xdist") is None:
        parser.error("pytest-xdist is not installed (pip install -e '.[test]')")
    bytecode = not args.no_bytecode_cache

    began = _clock()
    lines = header(sizes, args.quick, bytecode)
    print("\n".join(lines), flush=True)
    rounds: list[dict[str, float]] = []
    infos: list[dict[str, Any]] = []
    base = Path(tempfile.mkdtemp(prefix="bench-shards-"))
    try:
        dirs = Dirs(base, sizes, bytecode)
        warm_up(dirs)
        for n in range(sizes.repeat):
            s, info = one_round(dirs, sizes, n)
            rounds.append(s)
            infos.append(info)
            print(f"  repetition {n + 1}/{sizes.repeat} done (load average before: {info['load_before']})",
                  file=sys.stderr, flush=True)
    finally:
        shutil.rmtree(base, ignore_errors=True)
    rows = [(fig, summarize([r[fig.key] for r in rounds])) for fig in FIGURES]
    wall_s = (_clock() - began) / 1e9
    notes = commands(sizes) + [
        f"load average (1, 5, 15 min) before each repetition: {'; '.join(i['load_before'] for i in infos)}; "
        f"at the end: {_loadavg()}",
        f"CPU pressure before each repetition (/proc/pressure/cpu, some): "
        f"{'; '.join(i['cpu_pressure_before'] for i in infos)}",
        "both sides of each pair checked: -n 1 and -n 2 cover the same fault space; the shards merged cover the "
        f"unsharded run's ({infos[0]['cli_cells']} cells with one round, {infos[0]['cli_r2_cells']} with two)",
        f"ratios are medians of per-repetition ratios; whole run {wall_s:.1f} s",
    ]
    print()
    print("\n".join(bench_core.render(rows, args.markdown)))
    print()
    print("\n".join(notes))
    if args.json:
        bench_core.write_json(args.json, lines, args.quick, wall_s, repeat=sizes.repeat, sizes=sizes.__dict__,
                              notes=notes, repetitions=infos, bytecode_cache=bytecode,
                              figures={fig.key: {"label": fig.label, "unit": fig.unit, "target": fig.target or None,
                                                 "meets_target": None if fig.meets is None else fig.meets(st["median"]),
                                                 **st} for fig, st in rows})
    return 0


if __name__ == "__main__":
    sys.exit(main())
