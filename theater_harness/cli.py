"""The ``theater-harness`` command.

    theater-harness run PATH...        scenario files or folders of them (or one manifest)
    theater-harness replay TRACE       rerun a saved run (its scenario, seed and faults); same trace?
    theater-harness show TRACE         a saved run as a tree and a timeline (--html FILE: a web page)
    theater-harness verify-chain FILE  check a Theater chain JSON file
    theater-harness cache info         the compiled-component cache: where, its entries, its cap
    theater-harness cache prune        evict down to the cap (--max-bytes N: to N; --all: everything)

Exit status: 0 when everything went as expected; 1 when an invariant or an expectation
did not hold (an actor failed unexpectedly, ...), a replay differs, or a chain does not
verify; 2 for bad input (a file that cannot be read, a manifest or scenario that is not
valid), with a message naming the file, the table and the key.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from pathlib import Path

from . import report
from .chain import load_chain_file, verify_chain
from .errors import HarnessError, ScenarioError
from .faults import FaultSchedule
from .runtime import Runtime

OK, FAILED, BAD_INPUT = 0, 1, 2


def _write_trace(runtime: Runtime, destination: Path) -> None:
    destination.parent.mkdir(parents=True, exist_ok=True)
    destination.write_text(runtime.trace.to_json(indent=1) + "\n", encoding="utf-8")


def _run_manifest(path: Path, seed: int, trace_out: Path | None) -> int:
    rt = Runtime(seed)
    actor_id = rt.spawn(path)
    rt.run_until_idle()
    print(report.summary(rt, f"== manifest {path} (seed {seed})"))
    if trace_out:
        _write_trace(rt, trace_out)
    view = rt.actor(actor_id)
    if view.status == "failed":
        print(f"FAILED: {view.name} failed: {view.exit_reason}")
        return FAILED
    print("ok")
    return OK


class _Progress:
    """A progress bar on stderr for long explorations (only on a terminal)."""

    def __init__(self, label: str, enabled: bool):
        self.label, self.enabled = label, enabled

    def __call__(self, done: int, total: int) -> None:
        if self.enabled and (done % 5 == 0 or done >= total):
            width = 30
            filled = min(width, width * done // max(total, 1))
            sys.stderr.write(f"\r  {self.label} [{'#' * filled}{'.' * (width - filled)}] {done}/{total}")
            sys.stderr.flush()

    def close(self) -> None:
        if self.enabled:
            sys.stderr.write("\r" + " " * 80 + "\r")


def cmd_run(args: argparse.Namespace) -> int:
    from .scenario import SUFFIX, find_scenarios, load_scenario, run_scenario

    paths = [Path(p) for p in args.paths]
    for path in paths:
        if not path.exists():
            print(f"error: {path}: no such file or folder", file=sys.stderr)
            return BAD_INPUT
    if len(paths) == 1 and paths[0].is_file() and not paths[0].name.endswith(SUFFIX):
        return _run_manifest(paths[0], args.seed if args.seed is not None else 0, args.trace_out)
    files = [f for path in paths for f in find_scenarios(path)]
    if not files:
        print(f"error: no *{SUFFIX} files under {', '.join(map(str, paths))}", file=sys.stderr)
        return BAD_INPUT
    scenarios = [load_scenario(f) for f in files]  # all validated before any runs
    rows = []
    coverage = None
    for scenario in scenarios:
        seed = args.seed if args.seed is not None else (scenario.seed if scenario.seed is not None else 0)
        runs = 1
        if scenario.explore is not None:
            from .scenario.explore import explore

            progress = _Progress(scenario.name, sys.stderr.isatty())
            outcome = explore(scenario, seed, examples=args.examples, progress=progress)
            progress.close()
            runs = outcome.runs
            if coverage is None:
                coverage = outcome.coverage
            else:
                coverage.add(outcome.coverage)
            result = outcome.failure or run_scenario(scenario, seed, faults=FaultSchedule())
        else:
            result = run_scenario(scenario, seed)
        failed = not result.ok
        print(report.summary(result.runtime, f"== {scenario.name} ({scenario.path}, seed {seed})"))
        for problem in result.problems:
            print(f"  FAILED: {problem}")
        for violation in result.violations[:10]:
            print(f"  VIOLATED: {violation}")
        if failed and len(result.schedule):
            print("  the fault schedule of this run:")
            print("    " + result.schedule.to_toml().rstrip().replace("\n", "\n    "))
        verdict = ("XFAIL" if failed else "XPASS") if scenario.xfail else ("FAILED" if failed else "ok")
        print(f"  {verdict}" + (f" ({scenario.xfail})" if scenario.xfail else ""))
        print()
        if args.trace_out:
            out = Path(args.trace_out)
            _write_trace(result.runtime, out / f"{scenario.path.name.removesuffix(SUFFIX)}.trace.json"
                         if len(scenarios) > 1 else out)
        rows.append((scenario, seed, runs, result, verdict))
    _summary_table(rows)
    if coverage is not None and args.coverage:
        print()
        print(coverage.table())
    bad = [r for r in rows if r[4] in ("FAILED", "XPASS")]
    print(f"{len(rows) - len(bad)} of {len(rows)} scenarios ok"
          + ("" if not bad else ": failed " + ", ".join(r[0].name for r in bad)))
    return FAILED if bad else OK


def _summary_table(rows: list) -> None:
    table = [("scenario", "seed", "runs", "virtual ms", "violations", "result")]
    for scenario, seed, runs, result, verdict in rows:
        table.append((scenario.name, str(seed), str(runs), str(result.runtime.now),
                      str(len(result.violations) + len(result.problems)), verdict))
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]
    for i, row in enumerate(table):
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip())
        if i == 0:
            print("  ".join("-" * w for w in widths))


def _read(path: str, what: str) -> str:
    """A file the command was given, or a clear error naming it."""
    try:
        return Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ScenarioError(f"{what} file not found", file=path) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError(f"cannot read the {what} file: {exc}", file=path) from None


def _load_trace(path: str) -> dict:
    try:
        doc = json.loads(_read(path, "trace"))
    except json.JSONDecodeError as exc:
        raise ScenarioError(f"not a trace JSON file: {exc}", file=path) from None
    if not isinstance(doc, dict) or "records" not in doc:
        raise ScenarioError("not a theater-harness trace (no 'records')", file=path)
    return doc


def cmd_replay(args: argparse.Namespace) -> int:
    from .scenario import load_scenario, run_scenario

    if args.trace is not None:
        saved = _load_trace(args.trace)
        scenario_path = args.scenario or saved.get("scenario_path")
        if not scenario_path:
            raise ScenarioError("the trace names no scenario (scenario_path); pass --scenario FILE", file=args.trace)
        seed = saved.get("seed") if args.seed is None else args.seed
        schedule = FaultSchedule.from_dicts(saved.get("faults", []), source=args.trace)
    else:
        if args.scenario is None or args.seed is None:
            raise ScenarioError("replay needs a saved trace, or --scenario FILE and --seed N (and --schedule FILE)")
        scenario_path, seed, saved = args.scenario, args.seed, None
        schedule = FaultSchedule()
    if args.schedule:
        text = _read(args.schedule, "fault schedule")
        schedule = (FaultSchedule.from_json(text, source=args.schedule) if args.schedule.endswith(".json")
                    else FaultSchedule.from_toml(text, source=args.schedule))
    result = run_scenario(load_scenario(scenario_path), seed, faults=schedule)
    print(report.summary(result.runtime, f"== replay of {scenario_path} (seed {seed}, {len(schedule)} faults)"))
    for violation in result.violations[:10]:
        print(f"  VIOLATED: {violation}")
    if args.trace_out:
        _write_trace(result.runtime, Path(args.trace_out))
    if saved is None:
        return OK if result.ok else FAILED
    fresh = json.loads(result.runtime.trace.to_json())
    if fresh == saved:
        print(f"identical: the replay gave the saved trace ({len(saved['records'])} records)")
        return OK
    first = next((i for i, (a, b) in enumerate(zip(saved["records"], fresh["records"])) if a != b),
                 min(len(saved["records"]), len(fresh["records"])))
    print(f"differs: the replay's trace departs from the saved one at record {first}")
    return FAILED


def cmd_show(args: argparse.Namespace) -> int:
    trace = _load_trace(args.trace)
    title = trace.get("scenario") or Path(args.trace).name
    print(f"== {title} (seed {trace.get('seed')})")
    print(report.render_tree(trace))
    print()
    print(report.render_timeline(trace, around_ms=args.around, window=args.window))
    if args.html:
        Path(args.html).write_text(report.render_html(trace, title=title), encoding="utf-8")
        print(f"\nwrote {args.html}")
    return OK


def cmd_verify_chain(args: argparse.Namespace) -> int:
    events = load_chain_file(args.file)
    bad = verify_chain(events)
    if bad is None:
        head = events[-1].hash.hex() if events else "none"
        print(f"valid: {len(events)} events, head {head}")
        return OK
    event = events[bad]
    expected_parent = events[bad - 1].hash.hex() if bad else None
    why = ("its parent_hash is not the previous event's hash" if
           (event.parent_hash.hex() if event.parent_hash else None) != expected_parent
           else "its hash does not match its content")
    print(f"invalid: event {bad} ({event.event_type}): {why}")
    return FAILED


def _cap_text() -> str:
    from .wasm import _cache

    cap, setting = _cache.cap(), os.environ.get(_cache.CAP_VARIABLE, "").strip()
    where = f"{_cache.CAP_VARIABLE}={setting}" if setting else f"the default; {_cache.CAP_VARIABLE} sets it"
    return f"{'no cap' if cap is None else 'cap ' + _cache.format_bytes(cap)} ({where})"


def _cache_error(exc: OSError, directory: Path, doing: str) -> HarnessError:
    from .wasm import _cache

    return _cache.CacheError(f"{exc.filename or directory}: cannot {doing} the compiled-component cache: "
                             f"{exc.strerror or exc}")


def cmd_cache_info(args: argparse.Namespace) -> int:
    from .wasm import _cache, _engine

    directory = _cache.cache_dir()
    cap = _cap_text()
    try:
        entries = _cache.entries(directory)
    except OSError as exc:
        raise _cache_error(exc, directory, "read") from None
    print(f"compiled-component cache: {directory}" + ("" if directory.exists() else " (not created yet)"))
    total = sum(e.size for e in entries)
    print(f"{len(entries)} {'entry' if len(entries) == 1 else 'entries'}, {_cache.format_bytes(total)}; {cap}")
    if not entries:
        return OK
    current = _engine.fingerprint()
    rows = [("last use (UTC)", "size", "wasm sha256", "engine")]
    for entry in entries:  # most recently used first
        digest, _, engine = entry.key.partition("-")
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(entry.last_use_ns // 1_000_000_000))
        rows.append((when, _cache.format_bytes(entry.size), digest[:16],
                     "current" if engine == current else "other (another wasmtime version or engine configuration)"))
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    for row in rows:
        print("  " + "  ".join(cell.ljust(w) for cell, w in zip(row, widths)) + "  " + row[3])
    return OK


def cmd_cache_prune(args: argparse.Namespace) -> int:
    from .wasm import _cache

    directory = _cache.cache_dir()
    limit = 0 if args.all else args.max_bytes if args.max_bytes is not None else _cache.cap()
    if not directory.is_dir():
        print(f"nothing to prune: {directory} does not exist")
        return OK
    try:
        removed = _cache.prune(directory, limit)
        left = _cache.entries(directory)
    except OSError as exc:
        raise _cache_error(exc, directory, "prune") from None
    freed = sum(e.size for e in removed)
    print(f"removed {len(removed)} {'entry' if len(removed) == 1 else 'entries'} ({_cache.format_bytes(freed)}) "
          f"from {directory}; {len(left)} left, {_cache.format_bytes(sum(e.size for e in left))}; {_cap_text()}")
    return OK


def _size(text: str) -> int:
    from .wasm import _cache

    try:
        return _cache.parse_size(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="theater-harness", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run scenario files or folders of *.scenario.toml (or one manifest)")
    run.add_argument("paths", nargs="+", metavar="PATH")
    run.add_argument("--seed", type=int, default=None, help="the runs' seed (default: each scenario's, else 0)")
    run.add_argument("--trace-out", type=Path, default=None,
                     help="write the trace JSON here (a folder when running several scenarios)")
    run.add_argument("--examples", type=int, default=None, help="schedules to try in [explore] scenarios")
    run.add_argument("--coverage", action="store_true", help="print the fault space the explorations covered")
    run.set_defaults(func=cmd_run)
    replay = sub.add_parser("replay", help="rerun a saved trace's scenario, seed and faults; compare the traces")
    replay.add_argument("trace", nargs="?", default=None)
    replay.add_argument("--scenario", default=None, help="the scenario file (default: the one the trace names)")
    replay.add_argument("--seed", type=int, default=None)
    replay.add_argument("--schedule", default=None, help="a fault schedule file (TOML or .json)")
    replay.add_argument("--trace-out", default=None, help="write the replay's trace JSON here")
    replay.set_defaults(func=cmd_replay)
    show = sub.add_parser("show", help="a saved trace as a tree and a timeline")
    show.add_argument("trace")
    show.add_argument("--html", default=None, metavar="FILE", help="also write a self-contained web page")
    show.add_argument("--around", type=int, default=None, metavar="MS", help="the timeline around this time")
    show.add_argument("--window", type=int, default=40, help="how many timeline lines (with --around)")
    show.set_defaults(func=cmd_show)
    verify = sub.add_parser("verify-chain", help="check every hash of a Theater chain JSON file")
    verify.add_argument("file")
    verify.set_defaults(func=cmd_verify_chain)
    cache = sub.add_parser("cache", help="the compiled-component cache: info, prune")
    cache_sub = cache.add_subparsers(dest="cache_command", required=True)
    info = cache_sub.add_parser("info", help="where the cache is, its entries (size, last use) and its cap")
    info.set_defaults(func=cmd_cache_info)
    prune = cache_sub.add_parser("prune", help="evict least recently used entries down to the cap")
    limit = prune.add_mutually_exclusive_group()
    limit.add_argument("--max-bytes", type=_size, default=None, metavar="N",
                       help="down to N bytes instead of the cap (512M, 2G)")
    limit.add_argument("--all", action="store_true", help="remove every entry")
    prune.set_defaults(func=cmd_cache_prune)
    return parser


class _Notices(logging.Handler):
    """The harness's notices and warnings (a slow compile, a cache that cannot be
    written), one line each on the stderr of the moment."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            sys.stderr.write(self.format(record) + "\n")
        except Exception:  # pragma: no cover - logging's own convention
            self.handleError(record)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logger, notices = logging.getLogger("theater_harness"), _Notices(logging.INFO)
    logger.addHandler(notices)
    try:
        return args.func(args)
    except HarnessError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return BAD_INPUT
    finally:
        logger.removeHandler(notices)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
