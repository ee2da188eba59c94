#!/usr/bin/env python
"""Benchmarks of a Python actor (componentize-py) hosted by theater-harness, beside the C counter.

``benchmarks/pyactor/pycounter.py`` is the C counter (scenarios/actors/src/counter.c)
written in Python against the same ``counter`` world. This script builds it with
componentize-py on demand (into ``benchmarks/pyactor/.build/``, ignored by git, rebuilt
only when the source, the WIT or componentize-py's version changes), checks that it
behaves as the C counter does through ``theater_harness.Runtime``, then prints a table
in the style of ``bench_core.py``: medians over ``--repeat`` repetitions with the min-max
spread, every repetition measuring the Python and the C counter in turn (so they are
paired under the same machine load). Without componentize-py it prints why and exits 0.

    PYTHONPATH=. python benchmarks/bench_pyactor.py              # full run, ~10 s (first build + compile: +30-60 s)
    PYTHONPATH=. python benchmarks/bench_pyactor.py --quick      # smoke run, ~5 s once built and compiled
    PYTHONPATH=. python benchmarks/bench_pyactor.py --repeat 7 --markdown --json py.json
    PYTHONPATH=. python benchmarks/bench_pyactor.py --cow-baseline   # also plain wasmtime-py with wasmtime's CoW memory images
    PYTHONPATH=. python benchmarks/bench_pyactor.py --build-only # just build (or find) the component
"""

from __future__ import annotations

import gc
import hashlib
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
for _path in (str(ROOT), str(HERE)):  # runnable without PYTHONPATH; bench_core is a sibling
    if _path not in sys.path:
        sys.path.insert(0, _path)

import bench_core as core  # noqa: E402
from bench_core import Figure, _check, _clock, summarize  # noqa: E402

from theater_harness import Runtime  # noqa: E402
from theater_harness.runtime import DEFAULT_FUEL, DEFAULT_MEMORY  # noqa: E402
from theater_harness.wasm import Incarnation, load_component  # noqa: E402

PYACTOR = HERE / "pyactor"
APP = "pycounter"  # the Python module componentize-py wraps (not the world's name)
APP_SOURCE = PYACTOR / f"{APP}.py"
MANIFEST = PYACTOR / f"{APP}.toml"
BUILD = PYACTOR / ".build"  # git-ignored (pyactor/.gitignore)
WASM = BUILD / f"{APP}.wasm"
STAMP = BUILD / f"{APP}.wasm.key"  # what the component was built from
WIT = core.ACTORS / "wit"
WORLD = "counter"  # scenarios/actors/wit/worlds.wit: the C counter's world
C_COUNTER = core.COUNTER
SMALL = core.SMALL

# The Python actor runs on the runtime's default per-call fuel. Its ~11 MB of data segments
# are not copied at instantiation (which wasmtime would charge as fuel, one unit per byte)
# but mapped from the harness's copy-on-write memory image (theater_harness/wasm/_image.py).
PY_FUEL = DEFAULT_FUEL

INIT_STATE = b'{"count":0}'  # pycounter.toml's init_state, which Runtime.spawn gives init
_CPY_SHIM = "import sys; from componentize_py import script; sys.argv[0] = 'componentize-py'; sys.exit(script())"


# --- the component ---------------------------------------------------------------------


@dataclass(frozen=True)
class Build:
    path: Path
    built: bool  # built now (else found in the cache)
    seconds: float
    size: int
    tool: str  # componentize-py's version line


def componentize_py() -> list[str] | None:
    """How to run componentize-py: this interpreter's package, else one on PATH."""
    if importlib.util.find_spec("componentize_py") is not None:
        return [sys.executable, "-c", _CPY_SHIM]
    exe = shutil.which("componentize-py")
    return [exe] if exe else None


def _build_args(out: Path, src: Path) -> list[str]:
    return ["-q", "-d", str(WIT), "-w", WORLD, "componentize", "-p", str(src), "--stub-wasi", APP, "-o", str(out)]


def ensure_built(cmd: list[str], *, force: bool = False) -> Build:
    """Build the component unless ``.build/`` has one made from the same inputs."""
    version = subprocess.run(cmd + ["--version"], check=True, capture_output=True, text=True).stdout.strip()
    key = hashlib.sha256()
    key.update(f"{version}\n{_build_args(Path('OUT'), Path('SRC'))}\n".encode())
    for path in [APP_SOURCE, *sorted(WIT.rglob("*.wit"))]:
        key.update(f"{path.relative_to(ROOT)}\n".encode() + path.read_bytes())
    digest = key.hexdigest()
    if not force and WASM.exists() and STAMP.exists() and STAMP.read_text().strip() == digest:
        return Build(WASM, False, 0.0, WASM.stat().st_size, version)
    BUILD.mkdir(parents=True, exist_ok=True)
    # componentize-py imports the app while pre-initializing and leaves a __pycache__
    # beside it: build from a copy inside .build/ so that pyactor/ stays clean.
    src = BUILD / "src"
    src.mkdir(exist_ok=True)
    shutil.copy2(APP_SOURCE, src / APP_SOURCE.name)
    tmp = BUILD / f"{APP}.{os.getpid()}.tmp.wasm"
    env = {k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV"}  # only src/ on the guest's path
    print(f"building {WASM.relative_to(ROOT)} with {version} (takes 15-30 s) ...", flush=True)
    start = time.perf_counter()
    proc = subprocess.run(cmd + _build_args(tmp, src), cwd=BUILD, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        tmp.unlink(missing_ok=True)
        raise SystemExit(f"componentize-py failed (exit {proc.returncode}):\n{proc.stdout}{proc.stderr}")
    os.replace(tmp, WASM)
    STAMP.write_text(digest + "\n")
    return Build(WASM, True, seconds, WASM.stat().st_size, version)


# --- the check: the Python counter behaves as the C counter ------------------------------


def _script(rt: Runtime, actor: str) -> list[Any]:
    """The same inputs to either counter; everything observable it gives back."""
    seen: list[Any] = [rt.actor(actor).state]
    for msg in ("inc", "inc"):
        rt.send(actor, msg)
    rt.run_until_idle()
    seen += [rt.actor(actor).state, rt.ask(actor, "get")]  # the brief's check: b"2"
    for msg in ("add:40", "add:-5", "add:x", "add:", "add:99999999999999999999", b"\xff"):
        rt.send(actor, msg)
    rt.run_until_idle()
    seen += [rt.actor(actor).state, rt.ask(actor, "inc"), rt.ask(actor, "get"), rt.ask(actor, "what?")]
    rt.send(actor, "add:9223372036854775807")  # wraps around like the C counter's int64
    rt.run_until_idle()
    seen += [rt.actor(actor).state, rt.ask(actor, "get")]
    return seen


def check_equivalence(py_manifest: Path) -> tuple[list[str], str]:
    """Spawn both counters under the same runtime and compare what they do; returns what
    was checked and what the runtime's default fuel does. Raises BenchError on a difference."""
    notes = []
    rt = Runtime(seed=1)
    py = rt.spawn(py_manifest, fuel=PY_FUEL)
    view = rt.actor(py)
    _check(view.alive, f"pycounter did not start: {view.exit_reason}")
    rt.send(py, "inc")
    rt.send(py, "inc")
    rt.run_until_idle()
    got = rt.ask(py, "get")
    _check(got == b"2", f"pycounter: inc, inc, get replied {got!r}, expected b'2'")
    notes.append(f"check: pycounter spawned through Runtime; send 'inc' x2, request 'get' -> {got!r}")

    for init_state in (None, {"count": 5}, {"count": "x", "other": [1, {"count": 3}]}, {"other": 1}):
        c, p = (rt.spawn(m, init_state=init_state, fuel=f) for m, f in ((C_COUNTER, None), (py_manifest, PY_FUEL)))
        c_seen, p_seen = _script(rt, c), _script(rt, p)
        _check(p_seen == c_seen, f"pycounter differs from the C counter (init_state {init_state!r}):\n"
                                 f"  C:      {c_seen}\n  Python: {p_seen}")
        c_logs = [entry.replace("counter: ", "", 1) for entry in map(str, rt.actor(c).logs)]
        p_logs = [entry.replace("pycounter: ", "", 1) for entry in map(str, rt.actor(p).logs)]
        _check(p_logs == c_logs, f"pycounter logs differ: C {c_logs}, Python {p_logs}")
    notes.append("check: same states, replies and logs as the C counter over 4 init states x (9 sends + 5 requests) "
                 "(add:N, malformed add:, int64 wrap-around, non-UTF-8 payload, unknown request)")

    del rt
    gc.collect()
    return notes, f"pycounter runs on the runtime's default per-call fuel ({DEFAULT_FUEL:,})"


def instantiation_fuel(component: Any) -> dict[str, int]:
    """Fuel used by instantiation, init and one handle-send of the Python actor (one incarnation)."""
    budget = 10 ** 12
    inc = Incarnation(component, None, core._no_host_calls, fuel=budget, memory_cap=DEFAULT_MEMORY)
    out = {"instantiate": budget + DEFAULT_MEMORY - inc.fuel_left()}  # instantiation's allowance: + the cap
    ok, (_, (state,)) = inc.call(component.exports[core.INIT], (None,))
    out["init"] = budget - inc.fuel_left()
    ok, value = inc.call(component.exports[core.HANDLE_SEND], (state, (SMALL,)))
    _check(ok, f"handle-send failed: {value}")
    out["handle-send"] = budget - inc.fuel_left()
    out["linear_memory"] = inc.memory.used
    return out


# --- the measurements -------------------------------------------------------------------


class PyFast(core.BareFast):
    """bench_core's bare fast path (``Incarnation.call``, restarts) on the Python counter."""

    def __init__(self, wasm: Path) -> None:
        self.component = load_component(wasm)
        self.init = self.component.exports[core.INIT]
        self.send = self.component.exports[core.HANDLE_SEND]

    def incarnation(self, memory_cap: int | None = None) -> Incarnation:
        return Incarnation(self.component, None, core._no_host_calls, fuel=PY_FUEL, memory_cap=memory_cap)


def spawn_live(manifest: Path, n: int, fuel: int | None) -> tuple[float, float]:
    """``Runtime.spawn`` ``n`` times (as bench_core.spawn_ns), all kept alive; returns (ns per
    spawn, RSS bytes per live actor)."""
    rt = Runtime(seed=1)
    gc.collect()
    before = core.rss_bytes()
    start = _clock()
    for _ in range(n):
        rt.spawn(manifest, fuel=fuel)
    elapsed = _clock() - start
    gc.collect()
    grown = core.rss_bytes() - before
    _check(sum(a.status == "running" for a in rt.actors) == n, "spawn: not every counter is running")
    del rt
    gc.collect()  # free the Stores (and their linear memories) now
    return elapsed / n, grown / n


class CowBaseline:
    """Plain wasmtime-py on an engine like the harness's but with wasmtime's own memories and
    copy-on-write memory images (its default), which the harness's memory creator rules
    out (it maps images of its own): the reference for the harness's restarts and memory
    per actor. Compiled once into ``.build/``."""

    def __init__(self, wasm: Path) -> None:
        import wasmtime
        from wasmtime.component import Component, Linker

        self.wasmtime = wasmtime
        config = wasmtime.Config()
        config.consume_fuel = True
        config.cranelift_nan_canonicalization = True
        config.cranelift_opt_level = "speed"
        config.memory_init_cow = True
        self.engine = wasmtime.Engine(config)
        digest = hashlib.sha256(wasm.read_bytes()).hexdigest()[:16]
        artifact = BUILD / f"{APP}-{digest}-cow-wasmtime{core.WASMTIME_VERSION}.cwasm"
        self.compiled_s = 0.0
        if artifact.exists():
            self.component = Component.deserialize_file(self.engine, str(artifact))
        else:
            start = time.perf_counter()
            print("compiling the component for the copy-on-write baseline (takes 15-30 s) ...", flush=True)
            self.component = Component.from_file(self.engine, str(wasm))
            self.compiled_s = time.perf_counter() - start
            for stale in BUILD.glob(f"{APP}-*-cow-*.cwasm"):  # from an earlier build: 35+ MB each
                stale.unlink(missing_ok=True)
            tmp = artifact.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_bytes(self.component.serialize())
            os.replace(tmp, artifact)
        self.linker = Linker(self.engine)
        with self.linker.root() as root:
            with root.add_instance("theater:simple/runtime") as runtime:
                for name in ("log", "get-chain", "shutdown"):
                    runtime.add_func(name, core._no_host_calls)

    def spawn_live(self, n: int) -> tuple[float, float]:
        """New Store + instance + ``init`` of pycounter.toml's initial state (wasmtime-py's
        own call path), ``n`` kept alive; returns (ns each, RSS bytes per live instance)."""
        live = []
        gc.collect()
        before = core.rss_bytes()
        start = _clock()
        for _ in range(n):
            store = self.wasmtime.Store(self.engine)
            store.set_fuel(PY_FUEL)
            instance = self.linker.instantiate(store, self.component)
            actor = instance.get_export_index(store, "theater:simple/actor")
            state = instance.get_func(store, instance.get_export_index(store, "init", actor))(store, INIT_STATE)
            live.append((store, instance))
        elapsed = _clock() - start
        gc.collect()
        grown = core.rss_bytes() - before
        _check(state == (b'{"count":0}',), f"copy-on-write baseline: init gave {state!r}")
        del live
        gc.collect()
        return elapsed / n, grown / n


@dataclass(frozen=True)
class Sizes:
    py_fast_calls: int
    py_harness_msgs: int
    py_restarts: int
    py_spawns: int  # also the live actors of the memory figure
    c_harness_msgs: int
    c_restarts: int
    c_spawns: int
    repeat: int


FULL = Sizes(py_fast_calls=1000, py_harness_msgs=1000, py_restarts=30, py_spawns=40,
             c_harness_msgs=core.FULL.harness_msgs, c_restarts=core.FULL.restarts, c_spawns=core.FULL.spawns,
             repeat=5)
QUICK = Sizes(py_fast_calls=100, py_harness_msgs=100, py_restarts=5, py_spawns=8,
              c_harness_msgs=core.QUICK.harness_msgs, c_restarts=core.QUICK.restarts, c_spawns=core.QUICK.spawns,
              repeat=3)
WARMUP = Sizes(py_fast_calls=20, py_harness_msgs=20, py_restarts=2, py_spawns=2,
               c_harness_msgs=50, c_restarts=10, c_spawns=10, repeat=1)

FIGURES = [
    Figure("py_send_fast_us", "pycounter handle-send 'inc': bare fast (Incarnation.call)", "us"),
    Figure("py_send_harness_us", "pycounter handle-send 'inc': harness send + run_until_idle", "us"),
    Figure("c_send_harness_us", "C counter handle-send 'inc': harness send + run_until_idle", "us"),
    Figure("py_harness_over_fast", "pycounter: ratio harness / bare fast", "x"),
    Figure("py_over_c_harness", "per message: ratio pycounter / C counter (harness)", "x"),
    Figure("py_restarts_per_s", "pycounter restarts/s (new incarnation + init + 1 send)", "/s"),
    Figure("c_restarts_per_s", "C counter restarts/s (the same, bench_core)", "/s"),
    Figure("py_spawns_per_s", "pycounter spawns/s (Runtime.spawn of pycounter.toml)", "/s"),
    Figure("c_spawns_per_s", "C counter spawns/s (Runtime.spawn of counter.toml)", "/s"),
    Figure("py_rss_per_actor", "pycounter memory per live actor (RSS delta)", "B"),
    Figure("c_rss_per_actor", "C counter memory per live actor (RSS delta)", "B"),
]
COW_FIGURES = [
    Figure("cow_spawns_per_s", "pycounter, plain wasmtime-py + CoW images: instantiate + init /s", "/s"),
    Figure("cow_rss_per_actor", "pycounter, plain wasmtime-py + CoW images: memory per instance", "B"),
    Figure("py_restarts_over_cow", "pycounter restarts/s: ratio harness / plain wasmtime-py + CoW", "x"),
    Figure("py_rss_over_cow", "pycounter memory per live actor: ratio harness / plain + CoW", "x"),
]


def one_round(sizes: Sizes, py: PyFast, c: core.BareFast, cow: CowBaseline | None) -> dict[str, float]:
    gc.unfreeze()
    gc.collect()
    gc.freeze()
    s: dict[str, float] = {}
    f = s["py_send_fast_us"] = py.per_call_ns(SMALL, sizes.py_fast_calls) / 1e3
    h = s["py_send_harness_us"] = core.harness_per_msg_ns(SMALL, sizes.py_harness_msgs, MANIFEST, PY_FUEL) / 1e3
    ch = s["c_send_harness_us"] = core.harness_per_msg_ns(SMALL, sizes.c_harness_msgs) / 1e3
    s["py_harness_over_fast"] = h / f
    s["py_over_c_harness"] = h / ch
    s["py_restarts_per_s"] = 1e9 / py.restart_ns(sizes.py_restarts)
    s["c_restarts_per_s"] = 1e9 / c.restart_ns(sizes.c_restarts)
    ns, rss = spawn_live(MANIFEST, sizes.py_spawns, PY_FUEL)
    s["py_spawns_per_s"], s["py_rss_per_actor"] = 1e9 / ns, rss
    s["c_spawns_per_s"] = 1e9 / core.spawn_ns(sizes.c_spawns)
    _, s["c_rss_per_actor"] = spawn_live(C_COUNTER, sizes.c_spawns, None)
    if cow is not None:
        ns, s["cow_rss_per_actor"] = cow.spawn_live(sizes.py_spawns)
        s["cow_spawns_per_s"] = 1e9 / ns
        s["py_restarts_over_cow"] = s["py_restarts_per_s"] / s["cow_spawns_per_s"]
        s["py_rss_over_cow"] = s["py_rss_per_actor"] / s["cow_rss_per_actor"]
    return s


def _fmt(value: float, unit: str, ms: bool = False) -> str:
    if unit == "B":  # bytes: MiB or KiB
        return f"{value / 2**20:,.2f} MiB" if abs(value) >= 2**20 else f"{value / 2**10:,.1f} KiB"
    return core._fmt(value, unit, ms)


def render(rows: list[tuple[Figure, dict[str, Any]]], markdown: bool) -> list[str]:
    """bench_core.render, with a bytes unit."""
    table = [("figure", "median", "spread (min-max)")]
    for fig, st in rows:
        ms = fig.unit == "us" and st["median"] >= 1_000
        table.append((fig.label, _fmt(st["median"], fig.unit, ms),
                      f"{_fmt(st['min'], fig.unit, ms)} - {_fmt(st['max'], fig.unit, ms)}"))
    if markdown:
        return ["| " + " | ".join(table[0]) + " |", "|---|--:|--:|"] + [
            "| " + " | ".join(row) + " |" for row in table[1:]]
    widths = [max(len(row[i]) for row in table) for i in range(3)]
    lines = []
    for n, row in enumerate(table):
        lines.append("  ".join(a(cell, w) for a, cell, w in zip((str.ljust, str.rjust, str.rjust), row, widths)))
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return lines


def _skip(reason: str, json_path: str | None) -> int:
    print(f"bench_pyactor: skipped: {reason}")
    if json_path:
        Path(json_path).write_text(json.dumps({"skipped": reason}, indent=2) + "\n")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = core.options(__doc__, repeat_help="repetitions per figure (default 5; 3 with --quick)")
    parser.add_argument("--build-only", action="store_true", help="build (or find) the component, then stop")
    parser.add_argument("--rebuild", action="store_true", help="rebuild the component even if .build/ has it")
    parser.add_argument("--cow-baseline", action="store_true",
                        help="also measure the component on plain wasmtime-py with copy-on-write memory images "
                             "(what the harness's engine turns off); compiles it once more, into .build/")
    args = parser.parse_args(argv)
    sizes = core.with_repeat(QUICK if args.quick else FULL, args.repeat)

    cmd = componentize_py()
    if cmd is None:
        return _skip("componentize-py is not installed (pip install 'componentize-py==0.25.*')", args.json)
    began = _clock()
    build = ensure_built(cmd, force=args.rebuild)
    built = (f"built in {build.seconds:.1f} s" if build.built else "cached build") + f", {build.tool}"
    print(f"component {build.path.relative_to(ROOT)}: {build.size / 2**20:.1f} MiB ({built})", flush=True)
    if args.build_only:
        return 0

    start = time.perf_counter()
    component = load_component(build.path)
    load_s = time.perf_counter() - start
    loaded = (f"{load_s * 1e3:.1f} ms from the harness's compiled-component cache" if component.cache_hit
              else f"compiled in {load_s:.1f} s, now in the harness's compiled-component cache")
    image = component.image
    imaged = (f"{image.data / 2**20:.1f} MiB of data segments in a copy-on-write memory image" if image is not None
              else "no memory image: its data segments are copied at each instantiation")

    lines = [line.replace("core benchmarks", "Python-actor benchmarks", 1) for line in core.header(sizes, args.quick)]
    lines.insert(1, f"actor    {build.path.relative_to(ROOT)} ({build.size / 2**20:.1f} MiB, {build.tool}; "
                    f"{built.split(',')[0]}; {loaded}; {imaged})")
    print("\n".join(lines), flush=True)
    fuel = instantiation_fuel(component)
    checks, finding = check_equivalence(MANIFEST)
    print("\n".join(checks), flush=True)

    py, c = PyFast(build.path), core.BareFast()
    cow = CowBaseline(build.path) if args.cow_baseline else None
    rounds = []
    try:
        one_round(WARMUP, py, c, cow)
        for n in range(sizes.repeat):
            rounds.append(one_round(sizes, py, c, cow))
            print(f"  repetition {n + 1}/{sizes.repeat} done", file=sys.stderr, flush=True)
    finally:
        gc.unfreeze()  # one_round froze the heap; leave the process as it was
    rows = [(fig, summarize([r[fig.key] for r in rounds])) for fig in FIGURES + (COW_FIGURES if cow else [])]
    wall_s = (_clock() - began) / 1e9

    notes = [
        finding,
        f"fuel (pycounter, one incarnation): instantiation {fuel['instantiate']:,} (copied data segments "
        f"cost 1 per byte), init {fuel['init']:,}, handle-send {fuel['handle-send']:,}; linear memory "
        f"{fuel['linear_memory'] / 2**20:.1f} MiB; pycounter spawned with fuel={PY_FUEL:,} per call",
        f"workloads: pycounter 'inc' x{sizes.py_fast_calls} (fast), x{sizes.py_harness_msgs} (harness), "
        f"{sizes.py_restarts} restarts, {sizes.py_spawns} live spawns; C counter 'inc' x{sizes.c_harness_msgs} "
        f"(harness), {sizes.c_restarts} restarts, {sizes.c_spawns} spawns (twice: timed by bench_core.spawn_ns, "
        f"then kept live for the RSS delta)",
        f"ratios are medians of per-repetition ratios; whole run {wall_s:.1f} s",
    ]
    if cow is not None:
        compiled = f"compiled in {cow.compiled_s:.1f} s" if cow.compiled_s else "compiled artifact from .build/"
        notes.insert(-1, "copy-on-write baseline: plain wasmtime-py Store + instance + init (its own call path), "
                         f"engine as the harness's but wasmtime's own memories with CoW images; {compiled}; "
                         "ratios over it: per repetition, harness restarts (+ 1 send) over its instantiate + init")
    print()
    print("\n".join(render(rows, args.markdown)))
    print()
    print("\n".join(notes))
    if args.json:
        core.write_json(
            args.json, lines, args.quick, wall_s, repeat=sizes.repeat, sizes=sizes.__dict__,
            component={"path": str(build.path.relative_to(ROOT)), "bytes": build.size, "tool": build.tool,
                       "built_s": round(build.seconds, 3) if build.built else None,
                       "harness_load_s": round(load_s, 3), "harness_cache_hit": component.cache_hit,
                       "image_data_bytes": image.data if image is not None else None},
            fuel=fuel, py_fuel_per_call=PY_FUEL, checks=checks, notes=notes,
            figures={fig.key: {"label": fig.label, "unit": fig.unit, **st} for fig, st in rows})
    return 0


if __name__ == "__main__":
    sys.exit(main())
