#!/usr/bin/env python
"""Session benchmarks of theater-harness: the compiled-component cache and pytest-xdist.

Prints one table of wall-clock medians (and, with ``--json FILE``, writes the same
figures as JSON). Everything measured is a fresh subprocess (``sys.executable``), timed
from outside with ``time.perf_counter_ns`` around ``subprocess.run``:

1. the on-disk compiled-component cache (``$THEATER_HARNESS_CACHE``): a process that
   spawns every example actor (``scenarios/actors/*.toml``) once, and a small pytest
   session, each with an empty cache dir (cold: compiles) and then with the dir that run
   filled (warm: deserializes); plus the session's start-up alone (``--collect-only``),
   as run and with Python's bytecode cache on, which is where most of a session goes;
2. the project's own test suite with ``pytest -n 0`` and ``pytest -n 2``.

Every repetition runs every figure once (the suite pair in alternating order), so the
ratios are paired. The subprocesses never touch the real cache dir, the repository's
``.theater/`` or ``.hypothesis/``: caches, traces and Hypothesis storage go to temp dirs.

    PYTHONPATH=. python benchmarks/bench_session.py                # full run, ~6 min on a 2-core machine (5 repetitions)
    PYTHONPATH=. python benchmarks/bench_session.py --quick        # smoke run, ~1 min (suite subset, 3 repetitions)
    PYTHONPATH=. python benchmarks/bench_session.py --repeat 3 --markdown --json session.json
"""

from __future__ import annotations

import json
import os
import platform
import re
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

from theater_harness.wasm import WASMTIME_VERSION  # noqa: E402

# A small session that goes through the harness's component cache (11 of the 16 example
# components). tests/test_example_actors.py would not do: it drives the .wasm files with
# plain wasmtime-py, so it never reads or writes the harness's cache.
SESSION_TESTS = ["tests/test_runtime.py", "tests/test_guest_supervisors.py"]
QUICK_SUITE = ["tests/test_runtime.py", "tests/test_messaging.py"]
PYTEST = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
# Fixed so that -n 0 and -n 2 run the same seeded tests; without it each session draws one.
SEED = "1"
TIMEOUT_S = 1800
TAIL_LINES = 30

# Runs in the child: imports, then one Runtime spawning every example actor once; prints
# one JSON line (in-process timings and, per manifest, whether its component was a cache hit).
SPAWN_SCRIPT = r"""
import json, sys, time
t0 = time.perf_counter_ns()
sys.path.insert(0, sys.argv[1])
from pathlib import Path
from theater_harness import Runtime
from theater_harness.manifest import load_manifest
from theater_harness.wasm import load_component
t1 = time.perf_counter_ns()
rt = Runtime(seed=1)
manifests = sorted(Path(sys.argv[2]).glob("*.toml"))
for m in manifests:
    rt.spawn(m)
t2 = time.perf_counter_ns()
hits = {m.stem: load_component(load_manifest(m).component).cache_hit for m in manifests}
print(json.dumps({"import_ns": t1 - t0, "spawn_ns": t2 - t1, "hits": hits}))
"""


@dataclass(frozen=True)
class Sizes:
    repeat: int
    suite: tuple[str, ...]  # pytest arguments selecting the suite; () = the whole suite (testpaths)


FULL = Sizes(repeat=5, suite=())
QUICK = Sizes(repeat=3, suite=tuple(QUICK_SUITE))


FIGURES = [
    Figure("spawn_cold_s", "spawn every example actor, new process: cold cache", "s"),
    Figure("spawn_warm_s", "spawn every example actor, new process: warm cache", "s"),
    Figure("spawn_cold_over_warm", "spawn every example actor: ratio cold / warm", "x"),
    Figure("spawn_loop_cold_s", "  of which the spawns (in the child): cold", "s"),
    Figure("spawn_loop_warm_s", "  of which the spawns (in the child): warm", "s"),
    Figure("spawn_loop_cold_over_warm", "  the spawns alone: ratio cold / warm", "x"),
    Figure("session_cold_s", "pytest session (small): cold cache", "s"),
    Figure("session_warm_s", "pytest session (small): warm cache", "s"),
    Figure("session_cold_over_warm", "pytest session (small): ratio cold / warm", "x"),
    Figure("collect_s", "  its start-up alone (--collect-only), as run", "s"),
    Figure("collect_bytecode_s", "  its start-up alone, bytecode cache on", "s"),
    Figure("suite_n0_s", "test suite: pytest -n 0", "s"),
    Figure("suite_n2_s", "test suite: pytest -n 2", "s"),
    Figure("suite_speedup", "test suite: speed-up -n 0 / -n 2", "x"),
]


# --- running a child -----------------------------------------------------------------------


@dataclass
class Done:
    wall_s: float
    stdout: str
    stderr: str


def _tail(text: str) -> str:
    lines = text.rstrip().splitlines()
    return "\n".join(("    " + line) for line in lines[-TAIL_LINES:]) or "    (empty)"


def run(argv: list[str], env: dict[str, str], what: str) -> Done:
    """Run ``argv`` from the checkout's root; its wall time; a clear error if it fails."""
    start = _clock()
    try:
        proc = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired:
        raise BenchError(f"{what}: no exit after {TIMEOUT_S} s: {shlex.join(argv)}") from None
    elapsed = (_clock() - start) / 1e9
    if proc.returncode != 0:
        raise BenchError(
            f"{what}: exit status {proc.returncode}: {shlex.join(argv)}\n"
            f"  stdout (last {TAIL_LINES} lines):\n{_tail(proc.stdout)}\n"
            f"  stderr (last {TAIL_LINES} lines):\n{_tail(proc.stderr)}")
    return Done(elapsed, proc.stdout, proc.stderr)


class Dirs:
    """The temp dirs of one benchmark run; fresh component caches on demand."""

    def __init__(self, base: Path) -> None:
        self.base = base
        self.traces = base / "traces"  # --theater-trace-dir: not <rootdir>/.theater
        self.hypothesis = base / "hypothesis"  # not <rootdir>/.hypothesis
        self.pycache = base / "pycache"  # PYTHONPYCACHEPREFIX of the bytecode-cache figure
        self.warm_suite_cache = base / "suite-cache"  # filled once, shared by -n 0 and -n 2
        self._n = 0

    def fresh_cache(self) -> Path:
        self._n += 1
        path = self.base / f"cache-{self._n}"
        path.mkdir()
        return path

    def env(self, cache: Path, bytecode: bool = False) -> dict[str, str]:
        env = {**os.environ, "THEATER_HARNESS_CACHE": str(cache),
               "HYPOTHESIS_STORAGE_DIRECTORY": str(self.hypothesis)}
        if bytecode:
            env.pop("PYTHONDONTWRITEBYTECODE", None)
            env["PYTHONPYCACHEPREFIX"] = str(self.pycache)
        return env


def _artifacts(cache: Path) -> dict[str, tuple[int, int]]:
    """Each entry's size and inode: a rewrite (a temporary file renamed over it) changes the
    inode. Not its modification time, which every load renews (the cache's LRU order)."""
    return {p.name: (p.stat().st_size, p.stat().st_ino) for p in cache.glob("*.cwasm")}


def _pytest_args(dirs: Dirs, *args: str) -> list[str]:
    # "--option=value", one argument: given as two and with no test paths, pytest takes the
    # value for a path and makes the trace dir the rootdir.
    return [*PYTEST, f"--theater-seed={SEED}", f"--theater-trace-dir={dirs.traces}", *args]


_COUNT = re.compile(r"(\d+) (passed|failed|errors?|skipped|xfailed|xpassed|deselected)\b")
_IN = re.compile(r" in ([\d.]+)s\b")


def _summary(stdout: str) -> tuple[str, dict[str, int], float | None]:
    """pytest's final line, its counts and its own duration."""
    lines = [line.strip("= ").strip() for line in stdout.splitlines() if line.strip()]
    last = lines[-1] if lines else ""
    counts = {kind: int(n) for n, kind in _COUNT.findall(last)}
    took = _IN.search(last)
    return last, counts, float(took.group(1)) if took else None


# --- 1. the compiled-component cache ------------------------------------------------------


def spawn_all(dirs: Dirs, cache: Path, cold: bool) -> tuple[float, dict[str, Any]]:
    what = f"spawn every example actor ({'cold' if cold else 'warm'} cache)"
    before = _artifacts(cache)
    _check(not cold or not before, f"{what}: the cache dir is not empty")
    done = run([sys.executable, "-c", SPAWN_SCRIPT, str(ROOT), str(ACTORS)], dirs.env(cache), what)
    child = json.loads(done.stdout.strip().splitlines()[-1])
    after = _artifacts(cache)
    hits = child["hits"]
    if cold:
        _check(not any(hits.values()) and after, f"{what}: components came from a cache: {hits}")
    else:
        _check(all(hits.values()), f"{what}: compiled {[k for k, v in hits.items() if not v]}")
        _check(after == before, f"{what}: the warm run wrote to the cache")
    return done.wall_s, {"import_s": child["import_ns"] / 1e9, "spawn_s": child["spawn_ns"] / 1e9,
                         "actors": len(hits), "artifacts": len(after)}


def session(dirs: Dirs, tests: list[str], cache: Path, cold: bool) -> tuple[float, dict[str, Any]]:
    what = f"pytest session ({'cold' if cold else 'warm'} cache)"
    before = _artifacts(cache)
    _check(not cold or not before, f"{what}: the cache dir is not empty")
    done = run(_pytest_args(dirs, *tests), dirs.env(cache), what)
    after = _artifacts(cache)
    if cold:
        _check(bool(after), f"{what}: no component was compiled into the cache")
    else:
        _check(after == before, f"{what}: the warm run compiled {sorted(set(after) - set(before))}")
    line, counts, took = _summary(done.stdout)
    return done.wall_s, {"summary": line, "counts": counts, "pytest_s": took, "artifacts": len(after)}


def collect(dirs: Dirs, tests: list[str], cache: Path, bytecode: bool) -> float:
    what = f"pytest --collect-only{' (bytecode cache on)' if bytecode else ''}"
    return run(_pytest_args(dirs, "--collect-only", *tests), dirs.env(cache, bytecode), what).wall_s


# --- 2. pytest -n 0 / -n 2 ----------------------------------------------------------------


def suite(dirs: Dirs, sizes: Sizes, workers: int) -> tuple[float, dict[str, Any]]:
    before = _artifacts(dirs.warm_suite_cache)
    done = run(_pytest_args(dirs, "-n", str(workers), *sizes.suite), dirs.env(dirs.warm_suite_cache),
               f"test suite, pytest -n {workers}")
    line, counts, took = _summary(done.stdout)
    _check(counts.get("passed", 0) > 0, f"pytest -n {workers}: no test passed: {line!r}")
    # The warm-up compiled the example actors; anything else the suite compiles shows here.
    compiled = len(set(_artifacts(dirs.warm_suite_cache)) - set(before))
    return done.wall_s, {"summary": line, "counts": counts, "pytest_s": took, "compiled": compiled}


# --- the run -------------------------------------------------------------------------------


def one_round(dirs: Dirs, sizes: Sizes, tests: list[str], n: int) -> tuple[dict[str, float], dict[str, Any]]:
    s: dict[str, float] = {}
    info: dict[str, Any] = {"load_before": _loadavg()}
    cache = dirs.fresh_cache()
    s["spawn_cold_s"], info["spawn_cold"] = spawn_all(dirs, cache, cold=True)
    s["spawn_warm_s"], info["spawn_warm"] = spawn_all(dirs, cache, cold=False)
    s["spawn_loop_cold_s"] = info["spawn_cold"]["spawn_s"]
    s["spawn_loop_warm_s"] = info["spawn_warm"]["spawn_s"]
    cache = dirs.fresh_cache()
    s["session_cold_s"], info["session_cold"] = session(dirs, tests, cache, cold=True)
    s["session_warm_s"], info["session_warm"] = session(dirs, tests, cache, cold=False)
    s["collect_s"] = collect(dirs, tests, cache, bytecode=False)
    s["collect_bytecode_s"] = collect(dirs, tests, cache, bytecode=True)
    order = (0, 2) if n % 2 == 0 else (2, 0)  # alternate, so that drift in load is shared
    for workers in order:
        s[f"suite_n{workers}_s"], info[f"suite_n{workers}"] = suite(dirs, sizes, workers)
    _check(info["suite_n0"]["counts"] == info["suite_n2"]["counts"],
           f"-n 0 and -n 2 ran different tests: {info['suite_n0']['summary']!r} / {info['suite_n2']['summary']!r}")
    for key in ("spawn", "spawn_loop", "session"):
        s[f"{key}_cold_over_warm"] = s[f"{key}_cold_s"] / s[f"{key}_warm_s"]
    s["suite_speedup"] = s["suite_n0_s"] / s["suite_n2_s"]
    return s, info


def warm_up(dirs: Dirs, tests: list[str]) -> None:
    """Untimed: fills the OS page cache, the bytecode cache of the bytecode figure, and the
    shared component cache of the suite runs (so that neither -n 0 nor -n 2 compiles)."""
    spawn_all(dirs, dirs.fresh_cache(), cold=True)
    collect(dirs, tests, dirs.warm_suite_cache, bytecode=True)
    run([sys.executable, "-c", SPAWN_SCRIPT, str(ROOT), str(ACTORS)], dirs.env(dirs.warm_suite_cache),
        "warm-up: fill the suite's component cache")


def header(sizes: Sizes, quick: bool) -> list[str]:
    bytecode = "off (PYTHONDONTWRITEBYTECODE set)" if os.environ.get("PYTHONDONTWRITEBYTECODE") else "on"
    return [
        f"theater-harness session benchmarks{' (--quick)' if quick else ''}",
        f"python   {platform.python_implementation()} {platform.python_version()} ({sys.executable}); "
        f"bytecode cache {bytecode}",
        f"wasmtime wasmtime-py {WASMTIME_VERSION}",
        f"cpu      {_cpu_model()} ({os.cpu_count()} logical CPUs), load average at start {_loadavg()}",
        f"timings  wall-clock medians of {sizes.repeat} repetitions of fresh subprocesses (after an untimed "
        f"warm-up); spread = min-max",
    ]


def commands(sizes: Sizes, tests: list[str]) -> list[str]:
    py = shlex.quote(sys.executable)
    pytest = f"{py} -m pytest -q -p no:cacheprovider --theater-seed={SEED} --theater-trace-dir=TMP"
    return [
        "commands (cwd: the checkout; THEATER_HARNESS_CACHE=an empty temp dir for cold, the same dir "
        "again for warm; HYPOTHESIS_STORAGE_DIRECTORY=a temp dir):",
        f"  spawn:   {py} -c SPAWN_SCRIPT ROOT scenarios/actors   (Runtime(seed=1).spawn(m) for each *.toml)",
        f"  session: {pytest} {' '.join(tests)}",
        "  start-up: the same with --collect-only; bytecode cache on = PYTHONPYCACHEPREFIX=TMP and "
        "PYTHONDONTWRITEBYTECODE unset",
        f"  suite:   {pytest} -n 0|2 {' '.join(sizes.suite) or '(testpaths: tests scenarios)'}   "
        f"(warm component cache)",
    ]


def main(argv: list[str] | None = None) -> int:
    parser = bench_core.options(__doc__, repeat_help="repetitions per figure (default 5; 3 with --quick)",
                                quick_help=f"a smoke run: the suite figures on {' '.join(QUICK_SUITE)} only")
    parser.add_argument("--session-tests", nargs="+", default=SESSION_TESTS, metavar="PATH",
                        help=f"the small pytest session of the cache figures (default: {' '.join(SESSION_TESTS)})")
    args = parser.parse_args(argv)
    sizes = bench_core.with_repeat(QUICK if args.quick else FULL, args.repeat)
    if find_spec("xdist") is None:
        parser.error("pytest-xdist is not installed (pip install -e '.[test]')")
    tests = list(args.session_tests)

    began = _clock()
    load_start = _loadavg()
    lines = header(sizes, args.quick)
    print("\n".join(lines), flush=True)
    rounds: list[dict[str, float]] = []
    infos: list[dict[str, Any]] = []
    base = Path(tempfile.mkdtemp(prefix="bench-session-"))
    try:
        dirs = Dirs(base)
        dirs.warm_suite_cache.mkdir()
        warm_up(dirs, tests)
        for n in range(sizes.repeat):
            s, info = one_round(dirs, sizes, tests, n)
            rounds.append(s)
            infos.append(info)
            print(f"  repetition {n + 1}/{sizes.repeat} done (load average before it: {info['load_before']})",
                  file=sys.stderr, flush=True)
    except BenchError as exc:
        print(f"\nbench_session: FAILED: {exc}", file=sys.stderr)
        return 1
    finally:
        shutil.rmtree(base, ignore_errors=True)
    rows = [(fig, summarize([r[fig.key] for r in rounds])) for fig in FIGURES]
    wall_s = (_clock() - began) / 1e9
    load_end = _loadavg()

    def med(key: str, field: str) -> float:
        return summarize([i[key][field] for i in infos])["median"]

    first = infos[0]
    notes = [
        f"spawn: {first['spawn_cold']['actors']} manifests, {first['spawn_cold']['artifacts']} compiled "
        f"components; the child's imports took {med('spawn_cold', 'import_s'):.3f} s (median, cold) and "
        f"{med('spawn_warm', 'import_s'):.3f} s (warm)",
        f"session: {' '.join(tests)}: {first['session_warm']['summary']}; {first['session_cold']['artifacts']} "
        f"components; pytest's own 'in N s' (median): cold {med('session_cold', 'pytest_s'):.2f} s, "
        f"warm {med('session_warm', 'pytest_s'):.2f} s",
        f"suite: {first['suite_n0']['summary']} (-n 0); pytest's own 'in N s' (median): "
        f"-n 0 {med('suite_n0', 'pytest_s'):.2f} s, -n 2 {med('suite_n2', 'pytest_s'):.2f} s; components "
        f"compiled during the suite runs (not in the warm-up): {sum(i[k]['compiled'] for i in infos for k in ('suite_n0', 'suite_n2'))}",
        f"ratios are medians of per-repetition ratios; load average at start {load_start}, at end {load_end}; "
        f"whole run {wall_s:.1f} s",
    ]
    print()
    print("\n".join(bench_core.render(rows, args.markdown)))
    print()
    print("\n".join(notes))
    print()
    print("\n".join(commands(sizes, tests)))
    if args.json:
        bench_core.write_json(
            args.json, lines, args.quick, wall_s, executable=sys.executable,
            pythondontwritebytecode=bool(os.environ.get("PYTHONDONTWRITEBYTECODE")), cpus=os.cpu_count(),
            repeat=sizes.repeat, session_tests=tests, suite=list(sizes.suite) or None, seed=int(SEED),
            load_average={"start": load_start, "end": load_end}, commands=commands(sizes, tests), rounds=infos,
            figures={fig.key: {"label": fig.label.strip(), "unit": fig.unit, **st} for fig, st in rows})
    return 0


if __name__ == "__main__":
    sys.exit(main())
