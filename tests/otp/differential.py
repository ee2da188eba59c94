"""The differential test against real Erlang/OTP, from the command line.

    python tests/otp/differential.py generate --count 600 --seed 2026   # re-record golden.jsonl
    python tests/otp/differential.py check --live 5000 --seed 7          # thousands, live
    python tests/otp/differential.py check                               # the goldens, no Erlang
    python tests/otp/differential.py show g0042                          # one golden, both sides

``generate`` and ``check --live`` need Erlang/OTP's ``escript`` (Debian: erlang-nox).
OTP runs in real time, so schedules run in batches of ``--batch`` at once, each batch
taking about ten seconds however many it holds.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # tests/, for `otp`

from otp.schedules import (GOLDEN, disagreement, draw_schedules, harness_events, load_goldens,  # noqa: E402
                           normalize, run_otp, write_goldens)


def _batches(items: list, size: int):
    for start in range(0, len(items), size):
        yield items[start:start + size]


def generate(args: argparse.Namespace) -> int:
    schedules = draw_schedules(args.count, args.seed)
    results = []
    for batch in _batches(schedules, args.batch):
        otp = run_otp(batch)
        results += [(s, otp[s.id]) for s in batch]
    write_goldens(results, args.out)
    print(f"{len(results)} schedules (seed {args.seed}) recorded from real OTP into {args.out}")
    return 0


def check(args: argparse.Namespace) -> int:
    started = time.monotonic()
    if args.live:
        schedules = draw_schedules(args.live, args.seed, prefix="x")
        cases = []
        for batch in _batches(schedules, args.batch):
            otp = run_otp(batch)
            cases += [(s, otp[s.id]) for s in batch]
        source = f"{len(cases)} fresh schedules (seed {args.seed}) run live through OTP"
    else:
        cases = load_goldens(args.goldens)
        source = f"{len(cases)} goldens of {args.goldens}"
    failures = [text for s, events in cases if (text := disagreement(s, events)) is not None]
    for text in failures[:args.show]:
        print(text, end="\n\n")
    agree = len(cases) - len(failures)
    print(f"{source}: {agree} of {len(cases)} agree with the harness ({time.monotonic() - started:.1f} s)")
    return 1 if failures else 0


def show(args: argparse.Namespace) -> int:
    cases = {s.id: (s, events) for s, events in load_goldens(args.goldens)}
    if args.id not in cases:
        print(f"no golden {args.id!r} in {args.goldens}", file=sys.stderr)
        return 2
    schedule, events = cases[args.id]
    print(schedule.describe())
    ours = normalize(schedule, harness_events(schedule))
    theirs = normalize(schedule, events)
    width = max(map(len, theirs), default=0)
    print(f"\n{'real OTP':<{width}}  theater-harness")
    for i in range(max(len(ours), len(theirs))):
        a = theirs[i] if i < len(theirs) else ""
        b = ours[i] if i < len(ours) else ""
        print(f"{a:<{width}}  {b}{'' if a == b else '   <--'}")
    return 0 if ours == theirs else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    gen = commands.add_parser("generate", help="draw schedules, run them through real OTP, write the goldens")
    gen.add_argument("--count", type=int, default=600)
    gen.add_argument("--seed", type=int, default=2026)
    gen.add_argument("--batch", type=int, default=1000)
    gen.add_argument("--out", type=Path, default=GOLDEN)
    chk = commands.add_parser("check", help="compare the harness with the goldens, or with live OTP")
    chk.add_argument("--live", type=int, default=0, metavar="N", help="N fresh schedules through live OTP")
    chk.add_argument("--seed", type=int, default=1)
    chk.add_argument("--batch", type=int, default=1000)
    chk.add_argument("--goldens", type=Path, default=GOLDEN)
    chk.add_argument("--show", type=int, default=5, help="how many disagreements to print")
    one = commands.add_parser("show", help="one golden: its schedule, OTP's events and the harness's")
    one.add_argument("id")
    one.add_argument("--goldens", type=Path, default=GOLDEN)
    args = parser.parse_args(argv)
    return {"generate": generate, "check": check, "show": show}[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
