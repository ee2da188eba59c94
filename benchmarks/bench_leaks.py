#!/usr/bin/env python
"""What a dropped runtime leaves behind: memory mappings, resident memory and live Stores
per 1,000 runtimes dropped (or closed) in one process, and the time per runtime (issue 11,
D5).

Each runtime spawns actors, leaves one parked in a blocking host call (or idle), runs 1 ms
of virtual time and is dropped (``--close``: closed, then dropped). Every case runs in a
fresh child process; it samples ``/proc/self/maps`` (what ``vm.max_map_count`` bounds),
the resident memory (``/proc/self/statm``) and the live Stores every ``--every`` runtimes,
and stops at the first failure (a spawn that raises, an actor that could not start), saying
after how many runtimes. The figures per 1,000 are the growth from the sample after
warm-up to the last, scaled. ``--source DIR`` runs another checkout (e.g. the code before
a fix, from ``git archive``) for a before / after table.

    python benchmarks/bench_leaks.py                    # 20,000 runtimes per case, ~1 min
    python benchmarks/bench_leaks.py --runtimes 100000 --cases sleeping
    python benchmarks/bench_leaks.py --quick            # a smoke run, a few seconds
    python benchmarks/bench_leaks.py --source /tmp/before --markdown
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
FOREVER = "sleep:1000000000"


# --- what one child process measures ------------------------------------------------------


def _maps() -> int:
    with open("/proc/self/maps", "rb") as f:
        return sum(1 for _ in f)


def _rss_kib() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024


def _cases(actors: Path) -> dict[str, Any]:
    sleeper, pinger, counter = (str(actors / f"{n}.toml") for n in ("sleeper", "pinger", "counter"))

    def sleeping(rt: Any) -> list[str]:
        a = rt.spawn(sleeper)
        rt.send(a, FOREVER)
        return [a]

    def requesting(rt: Any) -> list[str]:  # a request to a probe that never replies
        probe = rt.probe()
        a = rt.spawn(pinger, init_state={"target": probe.id})
        rt.send(a, "request:hello")
        return [a]

    def channel(rt: Any) -> list[str]:  # a channel opened to a probe that never accepts
        probe = rt.probe()
        a = rt.spawn(pinger, init_state={"target": probe.id})
        rt.send(a, "open:hello")
        return [a]

    def idle(rt: Any) -> list[str]:
        return [rt.spawn(counter)]

    return {"sleeping": sleeping, "requesting": requesting, "channel": channel, "idle": idle}


def child(case: str, runtimes: int, every: int, close: bool) -> dict[str, Any]:
    from theater_harness import Runtime
    from theater_harness.wasm import _memory

    try:
        from theater_harness.wasm import live_stores
    except ImportError:  # a checkout from before live_stores(): count linear memories instead
        live_stores = _memory.live_memories
    make = _cases(ROOT / "scenarios" / "actors")[case]
    samples: list[list[int]] = []
    failure = None
    started = time.perf_counter()
    done = 0
    for i in range(1, runtimes + 1):
        try:
            rt = Runtime(seed=i)
            ids = make(rt)
            rt.advance(1)
            dead = [a for a in ids if not rt.actor(a).alive]
            if dead:
                reason = rt.actor(dead[0]).exit_reason
                raise RuntimeError(f"an actor could not start: {reason}")
            if close:
                rt.close()
            del rt
        except Exception as exc:  # noqa: BLE001 - reported, the measurement stops
            failure = f"{type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc).strip() else ''}"
            break
        done = i
        if i % every == 0:
            samples.append([i, _maps(), _rss_kib(), live_stores()])
    seconds = time.perf_counter() - started
    return {"case": case, "close": close, "runtimes": done, "failure": failure, "samples": samples,
            "us_per_runtime": seconds / max(done, 1) * 1e6}


# --- the parent -------------------------------------------------------------------------------


def _run_child(source: Path, case: str, runtimes: int, every: int, close: bool) -> dict[str, Any]:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(source)] + [p for p in [os.environ.get("PYTHONPATH")] if p]))
    args = [sys.executable, str(Path(__file__).resolve()), "--child", case, "--runtimes", str(runtimes),
            "--every", str(every)] + (["--close"] if close else [])
    proc = subprocess.run(args, env=env, capture_output=True, text=True, cwd=str(source), check=False)
    if proc.returncode != 0:
        raise SystemExit(f"bench_leaks: the {case} child failed:\n{proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def summarize(result: dict[str, Any], warm_up: int) -> dict[str, Any]:
    samples = result["samples"]
    after = [s for s in samples if s[0] >= warm_up] or samples
    first, last = after[0], after[-1]
    span = max(last[0] - first[0], 1)
    return {
        "case": result["case"] + (" (closed)" if result["close"] else ""),
        "runtimes": result["runtimes"],
        "failure": result["failure"],
        "maps_per_1000": (last[1] - first[1]) * 1000 / span,
        "rss_kib_per_1000": (last[2] - first[2]) * 1000 / span,
        "maps_last": last[1], "rss_mib_last": last[2] / 1024, "stores_peak": max(s[3] for s in samples),
        "us_per_runtime": result["us_per_runtime"],
    }


def render(rows: list[dict[str, Any]], markdown: bool) -> list[str]:
    head = ["case", "runtimes", "mappings / 1,000", "RSS / 1,000", "mappings at end", "RSS at end",
            "live Stores (peak)", "us / runtime", "failure"]
    body = [[r["case"], f"{r['runtimes']:,}", f"{r['maps_per_1000']:+,.0f}", f"{r['rss_kib_per_1000']:+,.0f} KiB",
             f"{r['maps_last']:,}", f"{r['rss_mib_last']:.0f} MiB", f"{r['stores_peak']:,}",
             f"{r['us_per_runtime']:.0f}", r["failure"] or ""] for r in rows]
    if markdown:
        lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
        return lines + ["| " + " | ".join(row) + " |" for row in body]
    widths = [max(len(str(x)) for x in col) for col in zip(head, *body)]
    return ["  ".join(str(x).ljust(w) for x, w in zip(row, widths)).rstrip() for row in [head] + body]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runtimes", type=int, default=None, help="runtimes per case (default 20,000; --quick 2,000)")
    parser.add_argument("--every", type=int, default=1000, help="sample every N runtimes")
    parser.add_argument("--cases", default="sleeping,requesting,channel,idle", help="comma-separated cases")
    parser.add_argument("--close", action="store_true", help="close() each runtime before dropping it")
    parser.add_argument("--source", type=Path, default=ROOT, help="the checkout to measure (default: this one)")
    parser.add_argument("--quick", action="store_true", help="a smoke run: 2,000 runtimes per case")
    parser.add_argument("--json", metavar="FILE", help="also write the figures as JSON to FILE")
    parser.add_argument("--markdown", action="store_true", help="print the table as markdown")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    runtimes = args.runtimes or (2_000 if args.quick else 20_000)
    if args.child:
        print(json.dumps(child(args.child, runtimes, args.every, args.close)))
        return 0
    warm_up = min(4_000, runtimes // 2)
    rows = []
    for case in args.cases.split(","):
        result = _run_child(args.source.resolve(), case, runtimes, args.every, args.close)
        rows.append(summarize(result, warm_up))
    print(f"bench_leaks: {runtimes:,} runtimes per case, source {args.source}, Python {sys.version.split()[0]}, "
          f"growth measured from runtime {warm_up:,} on")
    print("\n".join(render(rows, args.markdown)))
    if args.json:
        Path(args.json).write_text(json.dumps({"runtimes": runtimes, "rows": rows}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
