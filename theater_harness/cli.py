"""The ``theater-harness`` command.

    theater-harness run PATH [--seed N] [--trace-out FILE]   run a manifest, a scenario, or a folder
    theater-harness verify-chain FILE                         check a Theater chain JSON file

Exit status: 0 when everything went as expected, 1 when an actor failed unexpectedly
(or an expectation of a scenario did not hold, or a chain does not verify), 2 for bad
input (a file that cannot be read, a manifest or scenario that is not valid).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import report
from .chain import load_chain_file, verify_chain
from .errors import HarnessError
from .runtime import Runtime
from .scenario import SUFFIX, find_scenarios, load_scenario, run_scenario

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


def cmd_run(args: argparse.Namespace) -> int:
    path = Path(args.path)
    if not path.exists():
        print(f"error: {path}: no such file or folder", file=sys.stderr)
        return BAD_INPUT
    if path.is_file() and not path.name.endswith(SUFFIX):
        return _run_manifest(path, args.seed if args.seed is not None else 0, args.trace_out)
    files = find_scenarios(path)
    if not files:
        print(f"error: {path}: no *{SUFFIX} files in this folder", file=sys.stderr)
        return BAD_INPUT
    scenarios = [load_scenario(f) for f in files]  # all validated before any runs
    failed = []
    for scenario in scenarios:
        result = run_scenario(scenario, args.seed)
        print(report.summary(result.runtime, f"== {scenario.name} ({scenario.path}, seed {result.seed})"))
        for problem in result.problems:
            print(f"  FAILED: {problem}")
        print("  ok" if result.ok else "  FAILED")
        print()
        if args.trace_out:
            out = Path(args.trace_out)
            _write_trace(result.runtime, out / f"{scenario.path.name.removesuffix(SUFFIX)}.trace.json"
                         if len(scenarios) > 1 else out)
        if not result.ok:
            failed.append(scenario)
    print(f"{len(scenarios) - len(failed)} of {len(scenarios)} scenarios ok"
          + ("" if not failed else ": failed " + ", ".join(s.name for s in failed)))
    return FAILED if failed else OK


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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="theater-harness", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run a manifest, a scenario file, or a folder of *.scenario.toml")
    run.add_argument("path")
    run.add_argument("--seed", type=int, default=None, help="the run's seed (default: the scenario's, else 0)")
    run.add_argument("--trace-out", type=Path, default=None,
                     help="write the trace JSON here (a folder when running several scenarios)")
    run.set_defaults(func=cmd_run)
    verify = sub.add_parser("verify-chain", help="check every hash of a Theater chain JSON file")
    verify.add_argument("file")
    verify.set_defaults(func=cmd_verify_chain)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except HarnessError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return BAD_INPUT


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
