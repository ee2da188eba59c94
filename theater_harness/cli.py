"""The ``theater-harness`` command.

    theater-harness run PATH...        scenario files or folders of them (or one manifest)
                                       (--shard K/N: this machine's part of the campaign)
    theater-harness replay TRACE       rerun a saved run (its scenario, seed and faults); same trace?
    theater-harness show TRACE         a saved run as a tree and a timeline (--html FILE: a web page)
    theater-harness verify-chain FILE  check a Theater chain JSON file
    theater-harness cache info         the compiled-component cache: where, its entries, its cap
    theater-harness cache prune        evict down to the cap (--max-bytes N: to N; --all: everything)
    theater-harness coverage merge F...  add up the shards' fault-space coverage files (-o FILE: write it)

Exit status: 0 when everything went as expected; 1 when an invariant or an expectation
did not hold (an actor failed unexpectedly, ...), a replay differs, or a chain does not
verify; 2 for bad input (a file that cannot be read or written, a manifest, scenario, fault
schedule, trace or chain that is not valid: every file is validated by its schema before
anything runs), with a message naming the file, the table and the key; 3 for a bug in
theater-harness itself ("internal error", with how to report it; never for bad input).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
import traceback
from pathlib import Path

from . import report
from .chain import load_chain_file, verify_chain
from .errors import HarnessError, LocatedError, ScenarioError, SimulationError
from .faults import Fault, FaultSchedule
from .runtime import Runtime
from .schema import _core
from .schema.scenario import MAX_EXAMPLES

OK, FAILED, BAD_INPUT, INTERNAL_ERROR = 0, 1, 2, 3
TRACEBACK_VARIABLE = "THEATER_HARNESS_TRACEBACK"  # set: an internal error also prints its traceback


def _write_text(destination: str | Path, text: str, what: str) -> None:
    """Write a file the command was asked to write (its folder made first), or a clear error."""
    problem = _core.path_problem(destination)
    if problem is not None:
        raise LocatedError(f"cannot write the {what}: {problem}", file=str(destination))
    destination = Path(destination)
    try:
        destination.parent.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        raise LocatedError(f"cannot write the {what}: a file is in the way of its folder "
                           f"{destination.parent}", file=str(destination)) from None
    except OSError as exc:
        raise LocatedError(f"cannot write the {what}: cannot make its folder: {exc}", file=str(destination)) from None
    try:
        destination.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise LocatedError(f"cannot write the {what}: {exc}", file=str(destination)) from None


def _write_trace(runtime: Runtime, destination: str | Path) -> None:
    _write_text(destination, runtime.trace.to_json(indent=1) + "\n", "trace")


def _given_path(text: str | Path, what: str) -> Path:
    """A path the command was given, refused when no file can have it (empty, a NUL byte)."""
    problem = _core.path_problem(text)
    if problem is not None:
        raise LocatedError(f"not a usable {what} path: {problem}", file=str(text))
    return Path(text)


def _run_manifest(path: Path, seed: int, trace_out: Path | None) -> int:
    rt = Runtime(seed)
    actor_id = rt.spawn(path)
    stopped = None
    try:
        rt.run_until_idle()
    except SimulationError as exc:  # its max_events: a failure of this run, reported with its trace
        stopped = f"the run stopped: {exc}"
    print(report.summary(rt, f"== manifest {path} (seed {seed})"))
    if trace_out:
        _write_trace(rt, trace_out)
    view = rt.actor(actor_id)
    failure = (stopped or (f"{view.name} failed: {view.exit_reason}" if view.status == "failed" else None)
               or (f"the run ended early: {rt.ended}" if rt.ended is not None else None))
    if failure:
        print(f"FAILED: {failure}")
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

    paths = [_given_path(p, "scenario") for p in args.paths]
    shard = _shard(args.shard)
    if args.coverage_out is not None:
        _given_path(args.coverage_out, "coverage file")  # refused now, not after the campaign
    try:
        for path in paths:
            if not path.exists():  # (a LocatedError: it quotes a name no terminal can show)
                raise LocatedError("no such file or folder", file=str(path))
        if len(paths) == 1 and paths[0].is_file() and not paths[0].name.endswith(SUFFIX):
            return _run_manifest(paths[0], args.seed if args.seed is not None else 0, args.trace_out)
        files = [f for path in paths for f in find_scenarios(path)]
    except OSError as exc:
        raise LocatedError(f"cannot look for scenarios: {exc}", file=exc.filename) from None
    if not files:
        raise LocatedError(f"no *{SUFFIX} files under {', '.join(map(str, paths))}".encode(
            "utf-8", "backslashreplace").decode("utf-8"))
    scenarios = [load_scenario(f) for f in files]  # all validated before any runs
    rows = []
    coverage = None
    explorations: list[dict] = []  # the campaign, for --coverage-out
    fixed = [s for s in scenarios if s.explore is None]
    rank = {id(s): i for i, s in enumerate(fixed)}
    for scenario in scenarios:
        if scenario.explore is None and rank[id(scenario)] % shard.count != shard.index - 1:
            continue  # a scenario without [explore] runs on one shard: the (i % N + 1)-th
        seed = args.seed if args.seed is not None else (scenario.seed if scenario.seed is not None else 0)
        runs = 1
        where = ""
        if scenario.explore is not None:
            from .fault_space import exploration
            from .scenario.explore import explore

            progress = _Progress(scenario.name, sys.stderr.isatty())
            outcome = explore(scenario, seed, examples=args.examples, progress=progress, shard=shard,
                              rounds=args.rounds)
            progress.close()
            runs = outcome.runs
            explorations.append(exploration(scenario.name, str(scenario.path), _sha256(scenario.path), seed,
                                            outcome.examples, outcome.rounds))
            if not shard.whole:
                where = f", shard {shard}: {outcome.share} of {outcome.examples} schedules"
            if coverage is None:
                coverage = outcome.coverage
            else:
                coverage.add(outcome.coverage)
            result = outcome.failure or run_scenario(scenario, seed, faults=FaultSchedule())
        else:
            result = run_scenario(scenario, seed)
        failed = not result.ok
        print(report.summary(result.runtime, f"== {scenario.name} ({scenario.path}, seed {seed}{where})"))
        for problem in result.problems:
            print(f"  FAILED: {problem}")
        for violation in result.violations[:10]:
            print(f"  VIOLATED: {violation}")
        if failed and len(result.schedule):
            print("  the fault schedule of this run:")
            print("    " + result.schedule.to_toml().rstrip().replace("\n", "\n    "))
        verdict = ("XFAIL" if failed else "XPASS") if scenario.xfail else ("FAILED" if failed else "ok")
        note = f" ({scenario.xfail})" if scenario.xfail else ""
        if verdict == "XPASS" and where:  # this shard's part found nothing: another shard's may
            verdict, note = "ok", f" (xfail, not found in this shard's part: {scenario.xfail})"
        print(f"  {verdict}{note}")
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
    if not shard.whole:
        mine = sum(1 for i in range(len(fixed)) if i % shard.count == shard.index - 1)
        parts = [f"its part of the schedules of {len(explorations)} exploration{'s' * (len(explorations) != 1)}"]
        if fixed:
            parts.append(f"{mine} of the {len(fixed)} scenarios without [explore] (the others on the other shards)")
        print(f"shard {shard}: {', and '.join(parts)}")
    if args.coverage_out:
        from .fault_space import Coverage, FaultSpace, campaign

        written = Coverage(coverage if coverage is not None else FaultSpace(),
                           [campaign(explorations, (shard.index, shard.count))])
        _write_text(args.coverage_out, written.to_json(), "coverage file")
    bad = [r for r in rows if r[4] in ("FAILED", "XPASS")]
    print(f"{len(rows) - len(bad)} of {len(rows)} scenarios ok"
          + ("" if not bad else ": failed " + ", ".join(r[0].name for r in bad)))
    return FAILED if bad else OK


def _shard(text: str | None):
    """``--shard K/N`` as a Shard (1/1 without it), or a clear error naming the option."""
    from .scenario.explore import WHOLE, parse_shard

    if text is None:
        return WHOLE
    try:
        return parse_shard(text, "--shard")
    except ValueError as exc:
        raise HarnessError(str(exc)) from None


def _sha256(path: Path) -> str:
    from .fault_space import file_sha256

    try:
        return file_sha256(path)
    except OSError as exc:
        raise LocatedError(f"cannot read the scenario again (for the coverage file's campaign): {exc}",
                           file=str(path)) from None


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
    def error(field: str | None, message: str) -> ScenarioError:
        return ScenarioError(message, file=path, field=field)

    return _core.read_text(path, error, cannot=f"cannot read the {what} file", not_found=f"{what} file not found")


def cmd_replay(args: argparse.Namespace) -> int:
    from .scenario import load_scenario, run_scenario

    if args.trace is not None:
        saved = report.read_trace(args.trace)  # validated whole: header, faults and records
        scenario_path = args.scenario or saved.scenario_path
        if not scenario_path:
            raise ScenarioError("the trace names no scenario (scenario_path); pass --scenario FILE", file=args.trace)
        seed = saved.seed if args.seed is None else args.seed
        schedule = FaultSchedule(Fault(**values) for values in saved.faults)
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
        _write_trace(result.runtime, args.trace_out)
    if saved is None:
        return OK if result.ok else FAILED
    fresh = json.loads(result.runtime.trace.to_json())
    if fresh == saved.to_dict():
        print(f"identical: the replay gave the saved trace ({len(saved.records)} records)")
        return OK
    first = next((i for i, (a, b) in enumerate(zip(saved.records, fresh["records"])) if a != b),
                 min(len(saved.records), len(fresh["records"])))
    print(f"differs: the replay's trace departs from the saved one at record {first}")
    return FAILED


def cmd_show(args: argparse.Namespace) -> int:
    trace = report.read_trace(args.trace)  # validated whole, so every view below can read it
    title = trace.scenario or Path(args.trace).name
    print(f"== {title} (seed {trace.seed})")
    print(report.render_tree(trace))
    print()
    print(report.render_timeline(trace, around_ms=args.around, window=args.window))
    if args.html:
        _write_text(args.html, report.render_html(trace, title=title), "page")
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


def cmd_coverage_merge(args: argparse.Namespace) -> int:
    from .fault_space import merge_coverage, read_coverage

    names = [str(_given_path(p, "coverage file")) for p in args.files]
    merged = merge_coverage((name, read_coverage(name)) for name in names)  # every file read before any output
    print(f"== fault-space coverage of {len(names)} file{'s' * (len(names) != 1)}: {', '.join(names)}")
    print(merged.space.table())
    for line in merged.describe():
        print(line)
    if args.output:
        _write_text(args.output, merged.to_json(), "merged coverage file")
        print(f"wrote {args.output}")
    if args.complete and not merged.complete:
        print("FAILED: shards are missing (--complete)")
        return FAILED
    return OK


def _cap_text() -> str:
    from .wasm import _cache

    cap, setting = _cap(), os.environ.get(_cache.CAP_VARIABLE, "").strip()
    where = f"{_cache.CAP_VARIABLE}={setting}" if setting else f"the default; {_cache.CAP_VARIABLE} sets it"
    return f"{'no cap' if cap is None else 'cap ' + _cache.format_bytes(cap)} ({where})"


def _cache_error(exc: OSError, directory: Path, doing: str) -> HarnessError:
    from .wasm import _cache

    return _cache.CacheError(f"{exc.filename or directory}: cannot {doing} the compiled-component cache: "
                             f"{exc.strerror or exc}")


def _cache_dir() -> Path:
    """The cache's folder, refused when ``$THEATER_HARNESS_CACHE`` cannot name one."""
    from .wasm import _cache

    directory = _cache.cache_dir()
    problem = _core.path_problem(directory)
    if problem is not None:
        raise _cache.CacheError(f"{_cache.DIR_VARIABLE}: {problem}")
    return directory


def _cap() -> int | None:
    """The cache's cap (``$THEATER_HARNESS_CACHE_MAX``), refused when out of range."""
    from .wasm import _cache

    try:
        return _cache.cap()
    except (OverflowError, ValueError):  # e.g. 400 digits: a float's infinity
        raise _cache.CacheError(f"{_cache.CAP_VARIABLE}: {os.environ.get(_cache.CAP_VARIABLE, '')[:40]!r} is not "
                                f"a size a cache can have; give bytes or a number with K, M or G (512M, 2G), "
                                "or 0 for no cap") from None


def cmd_cache_info(args: argparse.Namespace) -> int:
    from .wasm import _cache, _engine

    directory = _cache_dir()
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

    directory = _cache_dir()
    limit = 0 if args.all else args.max_bytes if args.max_bytes is not None else _cap()
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
        size = _cache.parse_size(text)
    except (ValueError, OverflowError) as exc:
        raise argparse.ArgumentTypeError(str(exc) if isinstance(exc, ValueError) else f"{text[:40]!r} is too large"
                                         ) from None
    if size > _core.INT64_MAX:
        raise argparse.ArgumentTypeError(f"{text[:40]!r} is more than {_core.INT64_MAX} bytes")
    return size


def _integer(low: int, high: int = _core.INT64_MAX):
    """An argparse type: an integer from ``low`` to ``high`` (exit 2 and a message otherwise)."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text[:40]!r} is not an integer") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{value if value.bit_length() <= 128 else 'the number'} is out of "
                                             f"range: give an integer from {low} to {high}")
        return value
    parse.__name__ = "integer"
    return parse


_SEED = _integer(0)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="theater-harness", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run scenario files or folders of *.scenario.toml (or one manifest)")
    run.add_argument("paths", nargs="+", metavar="PATH")
    run.add_argument("--seed", type=_SEED, default=None, help="the runs' seed (default: each scenario's, else 0)")
    run.add_argument("--trace-out", type=Path, default=None,
                     help="write the trace JSON here (a folder when running several scenarios)")
    run.add_argument("--examples", type=_integer(1, MAX_EXAMPLES), default=None,
                     help="schedules to try in [explore] scenarios")
    run.add_argument("--coverage", action="store_true", help="print the fault space the explorations covered")
    run.add_argument("--coverage-out", default=None, metavar="FILE",
                     help="write the fault space the explorations covered, and their campaign, as JSON "
                          "(for theater-harness coverage merge)")
    run.add_argument("--shard", default=None, metavar="K/N",
                     help="run shard K of N of the campaign: each exploration's K-th share of the schedules, and "
                          "every N-th scenario without [explore] (same scenarios, seeds and options on every shard)")
    run.add_argument("--rounds", type=_integer(1, MAX_EXAMPLES), default=1, metavar="R",
                     help="split each exploration into R Hypothesis searches of its own seed (default 1: one "
                          "search); with R >= N shards take whole rounds")
    run.set_defaults(func=cmd_run)
    replay = sub.add_parser("replay", help="rerun a saved trace's scenario, seed and faults; compare the traces")
    replay.add_argument("trace", nargs="?", default=None)
    replay.add_argument("--scenario", default=None, help="the scenario file (default: the one the trace names)")
    replay.add_argument("--seed", type=_SEED, default=None)
    replay.add_argument("--schedule", default=None, help="a fault schedule file (TOML or .json)")
    replay.add_argument("--trace-out", default=None, help="write the replay's trace JSON here")
    replay.set_defaults(func=cmd_replay)
    show = sub.add_parser("show", help="a saved trace as a tree and a timeline")
    show.add_argument("trace")
    show.add_argument("--html", default=None, metavar="FILE", help="also write a self-contained web page")
    show.add_argument("--around", type=_integer(0), default=None, metavar="MS", help="the timeline around this time")
    show.add_argument("--window", type=_integer(1), default=40, help="how many timeline lines (with --around)")
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
    coverage = sub.add_parser("coverage", help="fault-space coverage files: merge")
    coverage_sub = coverage.add_subparsers(dest="coverage_command", required=True)
    merge = coverage_sub.add_parser("merge", help="add up coverage files (a campaign's shards) and print the table")
    merge.add_argument("files", nargs="+", metavar="FILE")
    merge.add_argument("-o", "--output", default=None, metavar="FILE", help="write the merged coverage file here")
    merge.add_argument("--complete", action="store_true", help="exit 1 when a campaign misses a shard")
    merge.set_defaults(func=cmd_coverage_merge)
    return parser


class _Notices(logging.Handler):
    """The harness's notices and warnings (a slow compile, a cache that cannot be
    written), one line each on the stderr of the moment."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            sys.stderr.write(self.format(record) + "\n")
        except Exception:  # pragma: no cover - logging's own convention
            self.handleError(record)


def _internal_error(exc: BaseException) -> int:
    """The last resort: a bug of ours, said as one, with how to report it (never bad input)."""
    where = traceback.extract_tb(exc.__traceback__)[-1:] if exc.__traceback__ else []
    at = f" (at {Path(where[0].filename).name}:{where[0].lineno})" if where else ""
    try:
        text = str(exc)[:300].encode("utf-8", "backslashreplace").decode("utf-8")
    except Exception:  # an exception that cannot even say what it is
        text = "(no message)"
    print(f"internal error: {type(exc).__name__}: {text}{at}\n"
          "This is a bug in theater-harness, not a problem with your input. Please report it with the "
          f"command you ran and the files it read; {TRACEBACK_VARIABLE}=1 prints the traceback to add.",
          file=sys.stderr)
    if os.environ.get(TRACEBACK_VARIABLE):
        traceback.print_exception(exc, file=sys.stderr)
    return INTERNAL_ERROR


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)  # bad arguments: argparse's message and exit 2
    logger, notices = logging.getLogger("theater_harness"), _Notices(logging.INFO)
    logger.addHandler(notices)
    try:
        return args.func(args)
    except HarnessError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return BAD_INPUT
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        return _internal_error(exc)
    finally:
        logger.removeHandler(notices)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
