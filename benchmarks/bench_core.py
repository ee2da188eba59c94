#!/usr/bin/env python
"""Core benchmarks of theater-harness: per-message cost, restarts, throughput, timers.

Prints one table of wall-clock medians (and, with ``--json FILE``, writes the same
figures as JSON). Every repetition runs every benchmark once, in order, so the figures of
one repetition were measured under the same machine load and the ratios are paired.
This script reads the wall clock (``time.perf_counter_ns``); the runtime itself never does.

    PYTHONPATH=. python benchmarks/bench_core.py                 # full run, ~20 s on an idle 2-core machine
    PYTHONPATH=. python benchmarks/bench_core.py --quick         # smoke run, 1-2 s
    PYTHONPATH=. python benchmarks/bench_core.py --markdown --json bench.json
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
import json
import os
import platform
import random
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # runnable without PYTHONPATH from a source checkout
    sys.path.insert(0, str(ROOT))

import wasmtime  # noqa: E402  (bare wasmtime-py is one of the things measured)
from wasmtime.component import Linker  # noqa: E402

from theater_harness import Runtime  # noqa: E402
from theater_harness.runtime import DEFAULT_FUEL, DEFAULT_MEMORY  # noqa: E402
from theater_harness.wasm import ENGINE, WASMTIME_VERSION, Incarnation, load_component  # noqa: E402

ACTORS = ROOT / "scenarios" / "actors"
COUNTER = ACTORS / "counter.toml"
SLEEPER = ACTORS / "sleeper.toml"
CRASHER = ACTORS / "crasher.toml"
HANDLE_SEND = ("message-server-client", "handle-send")
INIT = ("actor", "init")
SMALL = b"inc"
BIG = b"x" * 4096  # the counter adds 1 for any payload it does not parse as "add:N"


@dataclass(frozen=True)
class Sizes:
    """How much work one repetition of each benchmark does."""

    default_calls: int  # bare wasmtime-py calls with the 3-byte payload
    default_calls_4k: int  # ... with the 4 KiB payload (5-12 ms each)
    fast_calls: int
    fast_calls_4k: int
    harness_msgs: int
    harness_msgs_4k: int
    restarts: int
    spawns: int
    throughput_actors: int
    throughput_msgs: int
    timer_actors: int
    timer_msgs: int  # per actor
    supervised_crashes: int
    repeat: int


FULL = Sizes(default_calls=300, default_calls_4k=12, fast_calls=3000, fast_calls_4k=300,
             harness_msgs=3000, harness_msgs_4k=300, restarts=600, spawns=400,
             throughput_actors=10, throughput_msgs=10_000, timer_actors=50, timer_msgs=200, supervised_crashes=1500,
             repeat=5)
QUICK = Sizes(default_calls=30, default_calls_4k=3, fast_calls=300, fast_calls_4k=30,
              harness_msgs=300, harness_msgs_4k=30, restarts=60, spawns=40,
              throughput_actors=5, throughput_msgs=1000, timer_actors=10, timer_msgs=20, supervised_crashes=150,
              repeat=3)
WARMUP = Sizes(default_calls=5, default_calls_4k=1, fast_calls=50, fast_calls_4k=5,
               harness_msgs=50, harness_msgs_4k=5, restarts=10, spawns=10,
               throughput_actors=2, throughput_msgs=100, timer_actors=3, timer_msgs=5, supervised_crashes=10,
               repeat=1)


class BenchError(RuntimeError):
    """A benchmark did not do the work it meant to: its figure would be meaningless."""


def _check(condition: bool, what: str) -> None:
    if not condition:
        raise BenchError(what)


def _count(state: bytes) -> int:
    return json.loads(state)["count"]


def _clock() -> int:
    return time.perf_counter_ns()


def rss_bytes() -> int:
    """Resident memory of this process (``/proc/self/statm``, its second field, in pages)."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _at_least_one(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def options(doc: str, *, repeat_help: str, quick_help: str = "a fast smoke run with small workloads"
            ) -> argparse.ArgumentParser:
    """The options every benchmark script takes: --repeat, --quick, --json, --markdown."""
    parser = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    parser.add_argument("--repeat", type=_at_least_one, default=None, metavar="N", help=repeat_help)
    parser.add_argument("--quick", action="store_true", help=quick_help)
    parser.add_argument("--json", metavar="FILE", help="also write the figures as JSON to FILE")
    parser.add_argument("--markdown", action="store_true", help="print the tables as markdown")
    return parser


def write_json(path: str, header: list[str], quick: bool, wall_s: float, **figures: Any) -> None:
    """The ``--json`` document: what every benchmark records of its run, then its figures."""
    document = {"header": header, "python": platform.python_version(), "wasmtime": WASMTIME_VERSION,
                "cpu": _cpu_model(), "quick": quick, "wall_s": round(wall_s, 3), **figures}
    Path(path).write_text(json.dumps(document, indent=2) + "\n")


def with_repeat(sizes: Any, repeat: int | None) -> Any:
    """``sizes`` (a dataclass with a ``repeat`` field), with ``--repeat`` if it was given."""
    return sizes if repeat is None else dataclasses.replace(sizes, repeat=repeat)


# --- 1. per-message cost ------------------------------------------------------------------


class BareDefault:
    """wasmtime-py's own call path: ``Func.__call__`` with a plain Linker and Store."""

    def __init__(self) -> None:
        self.component = load_component(ACTORS / "counter.wasm").component
        self.linker = Linker(ENGINE)
        with self.linker.root() as root:
            with root.add_instance("theater:simple/runtime") as runtime:
                runtime.add_func("log", lambda store, msg: None)

    def per_call_ns(self, payload: bytes, calls: int) -> float:
        store = wasmtime.Store(ENGINE)
        store.set_fuel(DEFAULT_FUEL)
        instance = self.linker.instantiate(store, self.component)
        actor = instance.get_export_index(store, "theater:simple/actor")
        server = instance.get_export_index(store, "theater:simple/message-server-client")
        init = instance.get_func(store, instance.get_export_index(store, "init", actor))
        send = instance.get_func(store, instance.get_export_index(store, "handle-send", server))
        state = init(store, None)[0]
        gc.collect()
        start = _clock()
        for _ in range(calls):
            store.set_fuel(DEFAULT_FUEL)  # a fresh budget per call, as the harness gives
            state = send(store, state, (payload,))[0]
        elapsed = _clock() - start
        _check(_count(state) == calls, f"bare default: count {_count(state)} after {calls} calls")
        return elapsed / calls


class BareFast:
    """theater-harness's prepared call path (``Incarnation.call``), without the runtime."""

    def __init__(self) -> None:
        self.component = load_component(ACTORS / "counter.wasm")
        self.init = self.component.exports[INIT]
        self.send = self.component.exports[HANDLE_SEND]

    def incarnation(self, memory_cap: int | None = None) -> Incarnation:
        return Incarnation(self.component, None, _no_host_calls, fuel=DEFAULT_FUEL, memory_cap=memory_cap)

    def per_call_ns(self, payload: bytes, calls: int) -> float:
        inc = self.incarnation()
        ok, (is_ok, (state,)) = inc.call(self.init, (None,))
        _check(ok and is_ok, "bare fast: init failed")
        send, call = self.send, inc.call
        gc.collect()
        start = _clock()
        for _ in range(calls):
            ok, value = call(send, (state, (payload,)))
            state = value[1][0]
        elapsed = _clock() - start
        _check(ok and _count(state) == calls, f"bare fast: count {_count(state)} after {calls} calls")
        return elapsed / calls

    def restart_ns(self, restarts: int) -> float:
        """New incarnation (a new Store) + init + one handle-send, like a supervisor restart."""
        init, send = self.init, self.send
        gc.collect()
        start = _clock()
        for _ in range(restarts):
            inc = self.incarnation(DEFAULT_MEMORY)
            _, (_, (state,)) = inc.call(init, (None,))
            ok, value = inc.call(send, (state, (SMALL,)))
        elapsed = _clock() - start
        _check(ok and value[1][0] == b'{"count":1}', f"restart: handle-send gave {value!r}")
        return elapsed / restarts


def _no_host_calls(*args: Any) -> None:
    raise BenchError("the counter made a host call on the measured path")


def harness_per_msg_ns(payload: bytes, msgs: int, manifest: Path = COUNTER, fuel: int | None = None) -> float:
    """``rt.send`` ``msgs`` times to a counter (the C one, or another ``manifest`` with its
    protocol), then ``rt.run_until_idle()``: wall time per message."""
    rt = Runtime(seed=1)
    counter = rt.spawn(manifest, fuel=fuel)
    gc.collect()
    start = _clock()
    for _ in range(msgs):
        rt.send(counter, payload)
    rt.run_until_idle()
    elapsed = _clock() - start
    _check(_count(rt.actor(counter).state) == msgs, f"harness: count {rt.actor(counter).state!r}")
    return elapsed / msgs


# --- 2. spawns -----------------------------------------------------------------------------


def spawn_ns(spawns: int) -> float:
    """``Runtime.spawn`` of the counter manifest: manifest load, cached component, new
    incarnation, init."""
    rt = Runtime(seed=1)
    gc.collect()
    start = _clock()
    for _ in range(spawns):
        rt.spawn(COUNTER)
    elapsed = _clock() - start
    _check(sum(a.status == "running" for a in rt.actors) == spawns, "spawn: not every counter is running")
    del rt
    gc.collect()  # actors and incarnations refer to each other: free the Stores now
    return elapsed / spawns


# --- 3. throughput -------------------------------------------------------------------------


def messages_per_s(actors: int, msgs: int) -> float:
    """``msgs`` sends spread round-robin over ``actors`` counters, delivered and handled."""
    rt = Runtime(seed=1)
    ids = [rt.spawn(COUNTER) for _ in range(actors)]
    gc.collect()
    start = _clock()
    for i in range(msgs):
        rt.send(ids[i % actors], SMALL)
    rt.run_until_idle()
    elapsed = _clock() - start
    total = sum(_count(rt.actor(a).state) for a in ids)
    _check(total == msgs, f"throughput: {total} of {msgs} messages handled")
    return msgs / elapsed * 1e9


def supervised_cycles_per_s(crashes: int) -> float:
    """A crasher under a declarative one_for_one supervisor fails ``crashes`` times within
    one restart window (intensity 10,000): each cycle is a trapping call, the exit, the
    supervisor's handling and plan, a new incarnation and its init. All of them stay in
    the intensity window, so this also shows what recording a restart costs as the
    window fills."""
    from theater_harness.trees import NodeSpec, Policy

    rt = Runtime(seed=1)
    sup = rt.spawn(NodeSpec("sup", policy=Policy("one_for_one", 10_000, 10_000_000)).manifest_text())
    child = rt.spawn(CRASHER, parent=sup)
    gc.collect()
    start = _clock()
    for _ in range(crashes):
        rt.send(child, "trap")
        rt.run_until_idle()
    elapsed = _clock() - start
    _check(rt.actor(child).incarnation == crashes + 1 and rt.actor(child).alive,
           f"supervised cycles: the crasher has incarnation {rt.actor(child).incarnation}, expected {crashes + 1}")
    return crashes / elapsed * 1e9


# --- 4. timers -----------------------------------------------------------------------------


def timers(actors: int, msgs: int) -> tuple[int, int, int]:
    """``actors`` sleepers, each sent ``msgs`` sleeps of 1-50 ms, run until idle; returns
    (scheduler events, virtual ms elapsed, wall ns)."""
    rt = Runtime(seed=1)
    ids = [rt.spawn(SLEEPER) for _ in range(actors)]
    pick = random.Random(7)  # the same workload every repetition
    for _ in range(msgs):
        for actor in ids:
            rt.send(actor, f"sleep:{pick.randint(1, 50)}")
    gc.collect()
    start = _clock()
    rt.run_until_idle()
    elapsed = _clock() - start
    for actor in ids:
        view = rt.actor(actor)
        _check(view.alive, f"timers: a sleeper ended: {view.exit_reason}")
        wakes = json.loads(view.state)["wakes"]
        _check(wakes == msgs, f"timers: a sleeper woke {wakes} times, expected {msgs}")
    _check(rt.now > 0, "timers: virtual time did not move on this runtime's clock")
    return rt.scheduler.events_run, rt.now, elapsed


# --- the run ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Figure:
    key: str
    label: str
    unit: str  # "us" or "s" (lower is better), "x" (ratio), "/s" (higher is better)
    target: str = ""
    meets: Callable[[float], bool] | None = None


FIGURES = [
    Figure("send_inc_default_us", "handle-send 'inc': bare wasmtime-py Func.__call__", "us"),
    Figure("send_inc_fast_us", "handle-send 'inc': bare fast (Incarnation.call)", "us"),
    Figure("send_inc_harness_us", "handle-send 'inc': harness send + run_until_idle", "us"),
    Figure("send_inc_harness_over_fast", "'inc': ratio harness / bare fast", "x", "<= 1.5x", lambda v: v <= 1.5),
    Figure("send_inc_default_over_fast", "'inc': ratio bare default / bare fast", "x"),
    Figure("send_4k_default_us", "handle-send 4 KiB: bare wasmtime-py Func.__call__", "us"),
    Figure("send_4k_fast_us", "handle-send 4 KiB: bare fast (Incarnation.call)", "us"),
    Figure("send_4k_harness_us", "handle-send 4 KiB: harness send + run_until_idle", "us"),
    Figure("send_4k_harness_over_fast", "4 KiB: ratio harness / bare fast", "x", "<= 1.5x", lambda v: v <= 1.5),
    Figure("send_4k_default_over_fast", "4 KiB: ratio bare default / bare fast", "x"),
    Figure("restarts_per_s", "restarts/s (new incarnation + init + 1 send)", "/s", ">= 3,000",
           lambda v: v >= 3000),
    Figure("spawns_per_s", "spawns/s (Runtime.spawn of counter.toml)", "/s"),
    Figure("supervised_cycles_per_s", "supervised crash + restart cycles/s (one window)", "/s"),
    Figure("messages_per_s", "messages/s through the runtime (counters)", "/s", ">= 10,000",
           lambda v: v >= 10_000),
    Figure("timer_events_per_s", "timers: scheduler events / wall s", "/s"),
    Figure("timer_compression", "timers: virtual ms / wall ms", "x"),
]


def one_round(sizes: Sizes, default: BareDefault, fast: BareFast) -> dict[str, float]:
    """Every benchmark once; per-message figures in us."""
    # Free the previous round's garbage and freeze what survives, so that collections
    # during this round scan only this round's objects.
    gc.unfreeze()
    gc.collect()
    gc.freeze()
    s: dict[str, float] = {}
    for tag, payload, n_default, n_fast, n_harness in (
        ("inc", SMALL, sizes.default_calls, sizes.fast_calls, sizes.harness_msgs),
        ("4k", BIG, sizes.default_calls_4k, sizes.fast_calls_4k, sizes.harness_msgs_4k),
    ):
        d = s[f"send_{tag}_default_us"] = default.per_call_ns(payload, n_default) / 1e3
        f = s[f"send_{tag}_fast_us"] = fast.per_call_ns(payload, n_fast) / 1e3
        h = s[f"send_{tag}_harness_us"] = harness_per_msg_ns(payload, n_harness) / 1e3
        s[f"send_{tag}_harness_over_fast"] = h / f
        s[f"send_{tag}_default_over_fast"] = d / f
    s["restarts_per_s"] = 1e9 / fast.restart_ns(sizes.restarts)
    s["spawns_per_s"] = 1e9 / spawn_ns(sizes.spawns)
    s["supervised_cycles_per_s"] = supervised_cycles_per_s(sizes.supervised_crashes)
    s["messages_per_s"] = messages_per_s(sizes.throughput_actors, sizes.throughput_msgs)
    events, virtual_ms, wall_ns = timers(sizes.timer_actors, sizes.timer_msgs)
    s["timer_events_per_s"] = events / wall_ns * 1e9
    s["timer_compression"] = virtual_ms / (wall_ns / 1e6)
    s["_timer_events"], s["_timer_virtual_ms"] = events, virtual_ms
    return s


def summarize(samples: list[float]) -> dict[str, Any]:
    ordered = sorted(samples)
    out: dict[str, Any] = {"median": statistics.median(ordered), "min": ordered[0], "max": ordered[-1],
                           "samples": samples}
    if len(ordered) >= 2:
        q1, _, q3 = statistics.quantiles(ordered, n=4, method="inclusive")
        out["q1"], out["q3"] = q1, q3
    return out


def _fmt(value: float, unit: str, ms: bool = False) -> str:
    if unit == "x":
        return f"{value:.2f}x"
    if unit == "s":
        return f"{value:,.3f} s"
    if unit == "us":
        return f"{value / 1e3:,.2f} ms" if ms else f"{value:,.1f} us"
    return f"{value:,.0f} /s"


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _loadavg() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "n/a"


def header(sizes: Sizes, quick: bool) -> list[str]:
    return [
        f"theater-harness core benchmarks{' (--quick)' if quick else ''}",
        f"python   {platform.python_implementation()} {platform.python_version()}",
        f"wasmtime wasmtime-py {WASMTIME_VERSION}",
        f"cpu      {_cpu_model()} ({os.cpu_count()} logical CPUs), load average at start {_loadavg()}",
        f"timings  wall-clock medians of {sizes.repeat} repetitions (after one untimed warm-up round); "
        f"spread = min-max; the benchmark reads the wall clock, the runtime never does",
    ]


def render(rows: list[tuple[Figure, dict[str, Any]]], markdown: bool) -> list[str]:
    table = [("figure", "median", "spread (min-max)", "target", "")]
    for fig, st in rows:
        ms = st["median"] >= 1_000  # one unit per row
        spread = f"{_fmt(st['min'], fig.unit, ms)} - {_fmt(st['max'], fig.unit, ms)}"
        verdict = "" if fig.meets is None else ("ok" if fig.meets(st["median"]) else "MISSED")
        table.append((fig.label, _fmt(st["median"], fig.unit, ms), spread, fig.target, verdict))
    if markdown:
        lines = ["| " + " | ".join(table[0]) + " |", "|---|--:|--:|--:|---|"]
        lines += ["| " + " | ".join(cell.strip() for cell in row) + " |" for row in table[1:]]
        return lines
    widths = [max(len(row[i]) for row in table) for i in range(5)]
    align = [str.ljust, str.rjust, str.rjust, str.rjust, str.ljust]
    lines = []
    for n, row in enumerate(table):
        lines.append("  ".join(a(cell, w) for a, cell, w in zip(align, row, widths)).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return lines


def repeat_rounds(sizes: Any, warmup: Any, one_round: Callable[[Any], dict[str, float]]) -> list[dict[str, float]]:
    """An untimed warm-up round (it compiles nothing new and fills every cache), then
    ``sizes.repeat`` timed ones; ``one_round`` freezes the heap, which is left unfrozen
    after, as it was (tests run the scripts in-process)."""
    rounds = []
    try:
        one_round(warmup)
        for n in range(sizes.repeat):
            rounds.append(one_round(sizes))
            print(f"  repetition {n + 1}/{sizes.repeat} done", file=sys.stderr, flush=True)
    finally:
        gc.unfreeze()
    return rounds


def figures_json(rows: list[tuple[Figure, dict[str, Any]]]) -> dict[str, Any]:
    """The ``figures`` of a ``--json`` document: each figure's label, unit, target and statistics."""
    return {fig.key: {"label": fig.label, "unit": fig.unit, "target": fig.target or None,
                      "meets_target": None if fig.meets is None else fig.meets(st["median"]), **st}
            for fig, st in rows}


def main(argv: list[str] | None = None) -> int:
    args = options(__doc__, repeat_help="repetitions per figure (default 5; 3 with --quick)").parse_args(argv)
    sizes = with_repeat(QUICK if args.quick else FULL, args.repeat)

    began = _clock()
    lines = header(sizes, args.quick)
    print("\n".join(lines), flush=True)
    default, fast = BareDefault(), BareFast()
    rounds = repeat_rounds(sizes, WARMUP, lambda size: one_round(size, default, fast))
    rows = [(fig, summarize([r[fig.key] for r in rounds])) for fig in FIGURES]
    wall_s = (_clock() - began) / 1e9

    notes = [
        f"workloads: 'inc' x{sizes.fast_calls} (fast, harness {sizes.harness_msgs}, default "
        f"{sizes.default_calls}); 4 KiB x{sizes.fast_calls_4k} (harness {sizes.harness_msgs_4k}, default "
        f"{sizes.default_calls_4k}); {sizes.restarts} restarts; {sizes.spawns} spawns; "
        f"{sizes.throughput_msgs} messages over {sizes.throughput_actors} counters; "
        f"{sizes.timer_actors} sleepers x {sizes.timer_msgs} sleeps of 1-50 ms "
        f"({rounds[0]['_timer_events']:,.0f} events, {rounds[0]['_timer_virtual_ms']:,.0f} virtual ms)",
        f"ratios are medians of per-repetition ratios; whole run {wall_s:.1f} s",
    ]
    print()
    print("\n".join(render(rows, args.markdown)))
    print()
    print("\n".join(notes))
    if args.json:
        write_json(args.json, lines, args.quick, wall_s, repeat=sizes.repeat, sizes=sizes.__dict__,
                   timer_workload={"events": rounds[0]["_timer_events"],
                                   "virtual_ms": rounds[0]["_timer_virtual_ms"]},
                   figures=figures_json(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
