"""The failure report of a theater test: everything needed to understand and replay it.

The tree (each actor with its status and incarnations), the fault schedule as a TOML
snippet (for a Hypothesis test: the shrunk one), each fault marked fired, missed (its
target was not running at its time) or pending, the violated invariants with their
evidence (a state digest with a preview of the state beside it), a timeline excerpt
around the first violation (or the last event), where the trace was saved, and the one
command that replays exactly this case.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any


def injected(runtime: Any) -> Any:
    """The faults injected into ``runtime`` so far, as a ``FaultSchedule``."""
    from theater_harness.faults import FaultSchedule

    injector = runtime.faults
    return FaultSchedule(injector.faults if injector is not None else ())


def schedule_toml(runtime: Any) -> str:
    """The faults injected into ``runtime``, as TOML ([[fault]] tables)."""
    return injected(runtime).to_toml()


def fault_outcomes(runtime: Any) -> list[str]:
    """What became of each injected fault, in schedule order: "fired at 120 ms", "missed at
    1500 ms: <why>", or "pending: neither fired nor missed by <now> ms"."""
    injector = runtime.faults
    if injector is None:
        return []
    fired: dict[int, list[int]] = {}
    missed: dict[int, str] = {}
    for record in runtime.trace.dicts():
        if record["kind"] == "fault":
            fired.setdefault(record["fault"], []).append(record["t"])
        elif record["kind"] == "missed":
            missed[record["fault"]] = f"missed at {record['t']} ms: {record['why']}"
    outcomes = []
    for index in range(len(injector.faults)):
        if index in fired:
            times = fired[index]
            outcomes.append(f"fired at {times[0]} ms" + (f" ({len(times)} times)" if len(times) > 1 else ""))
        elif index in missed:
            outcomes.append(missed[index])
        else:
            outcomes.append(f"pending: neither fired nor missed by {runtime.now} ms")
    return outcomes


def marked_schedule_toml(runtime: Any) -> str:
    """``schedule_toml``, each ``[[fault]]`` table marked with a comment: its index and
    what became of it (``fault_outcomes``). Still valid TOML, to copy into a scenario."""
    import tomli_w

    faults = injected(runtime)
    return "\n".join(f"[[fault]]  # #{i} {outcome}\n{tomli_w.dumps(f.to_dict())}"
                     for i, (f, outcome) in enumerate(zip(faults, fault_outcomes(runtime))))


def save_trace(runtime: Any, directory: Path, name: str) -> Path:
    """Write the run's trace JSON under ``directory``; returns the file."""
    directory.mkdir(parents=True, exist_ok=True)
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("_")[-150:] or "trace"
    path = directory / f"{safe}.seed{runtime.seed}.trace.json"
    path.write_text(runtime.trace.to_json(indent=1) + "\n", encoding="utf-8")
    return path


def replay_command(item: Any) -> str:
    """The command that reruns ``item`` with the same session seed (Hypothesis replays
    its shrunk example from its database; under the determinism check, from its pinned seed)."""
    from ._shared import SEED_KEY, SHARD_KEY, option

    check = " --theater-check-determinism" if option(item.config, "theater_check_determinism") else ""
    index, count = item.config.stash.get(SHARD_KEY, (1, 1))
    check += f" --theater-shard {index}/{count}" if count > 1 else ""
    return f"pytest {shlex.quote(item.nodeid)} --theater-seed {item.config.stash[SEED_KEY]}{check}"


def failure_report(item: Any, runtime: Any, trace_path: Path | None, *, violations: list | None = None,
                   policies: dict | None = None, problems: list[str] | None = None) -> str:
    """The report of a failing test (or scenario) run."""
    from theater_harness import report
    from theater_harness.invariants import check_all

    if violations is None:
        violations = check_all(runtime, policies=policies)
    lines = [f"run seed {runtime.seed}, virtual time {runtime.now} ms, trace sha256 {runtime.trace.hash()[:16]}"]
    if runtime.ended is not None:
        lines.append(f"the run ended early: {runtime.ended}")
    lines += ["", "tree:", _indent(report.render_tree(runtime))]
    schedule = marked_schedule_toml(runtime)
    lines += ["", "fault schedule:" if schedule else "fault schedule: (none)"]
    if schedule:
        lines.append(_indent(schedule.rstrip()))
    for problem in problems or ():
        lines.append(f"expectation failed: {problem}")
    if violations:
        lines += ["", f"invariants violated ({len(violations)}):"]
        states = report.States(runtime)  # a state digest in a violation, shown with its state
        for violation in violations[:10]:
            lines.append(_indent(states.annotate(str(violation))))
        if len(violations) > 10:
            lines.append(f"  ... and {len(violations) - 10} more")
    around = violations[0].time_ms if violations else runtime.now
    lines += ["", f"timeline around {around} ms:", report.render_timeline(runtime, around_ms=around, window=16)]
    if trace_path is not None:
        lines += ["", f"trace: {trace_path}"]
    lines += ["", f"replay: {replay_command(item)}"]
    return "\n".join(lines)


def _indent(text: str, prefix: str = "  ") -> str:
    return "\n".join(prefix + line if line else line for line in text.splitlines())
