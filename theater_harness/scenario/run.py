"""Running a scenario: spawn its tree, deliver its workload, apply its faults, run its
clock, then check its expectations and its invariants."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from ..errors import HarnessError, ScenarioError, SimulationError
from ..faults import FaultSchedule
from ..runtime import Runtime
from ..trees import NodeSpec
from ..values import Value, render, to_value
from .load import Scenario, shared_faker

_REF = re.compile(r"\$\{([^}]*)\}")


@dataclass
class ScenarioResult:
    """One run of a scenario: the runtime, and what did not go as expected."""

    scenario: Scenario
    runtime: Runtime
    seed: int
    ids: dict[str, str]
    problems: list[str]  # expectations of the file that did not hold
    violations: list = field(default_factory=list)  # invariants that did not hold
    schedule: FaultSchedule = field(default_factory=FaultSchedule)

    @property
    def ok(self) -> bool:
        return not self.problems and not self.violations


def _substitute(value: Any, ids: dict[str, str], scenario: Scenario, where: str) -> Any:
    """Replace ``${name}`` with that actor's id, in strings nested anywhere in ``value``."""
    if isinstance(value, str):
        def ref(match: re.Match) -> str:
            if match[1] not in ids:
                raise ScenarioError(f"${{{match[1]}}} names no actor spawned before this point "
                                    f"(spawned so far: {', '.join(ids) or 'none'})", file=scenario.path, field=where)
            return ids[match[1]]
        return _REF.sub(ref, value)
    if isinstance(value, dict):
        return {k: _substitute(v, ids, scenario, f"{where}.{k}") for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute(v, ids, scenario, f"{where}[{i}]") for i, v in enumerate(value)]
    return value


def _supervisor_manifest(scenario: Scenario, index: int) -> str:
    """The manifest of a supervisor the scenario declares inline (generated)."""
    actor = scenario.actors[index]
    children = tuple(NodeSpec(c.name, manifest="-", restart=c.restart or "permanent", recovery=c.recovery or "init",
                              significant=c.significant)
                     for c in scenario.actors if c.parent == actor.name)
    return NodeSpec(actor.name, policy=actor.policy, children=children).manifest_text()


def run_scenario(scenario: Scenario, seed: int | None = None, *, faults: FaultSchedule | None = None,
                 check_invariants: bool = True) -> ScenarioResult:
    """Run ``scenario`` once, with its own fault schedule or the given one."""
    seed = seed if seed is not None else (scenario.seed if scenario.seed is not None else 0)
    schedule = faults if faults is not None else scenario.faults
    started = start_scenario(scenario, seed, schedule)
    return finish_scenario(started, schedule, check_invariants=check_invariants)


@dataclass
class Started:
    """A scenario's runtime with its actors spawned and its messages scheduled (the run
    before its end: ``finish_scenario`` runs it on and checks it)."""

    scenario: Scenario
    seed: int
    runtime: Runtime
    ids: dict[str, str]
    pending: list


def start_scenario(scenario: Scenario, seed: int, schedule: FaultSchedule, *, injector: bool = False) -> Started:
    """Spawn ``scenario``'s actors and schedule its messages. ``injector``: a fault injector
    from time 0 even for an empty schedule (it counts calls and messages from the start,
    so that a schedule added later, ``Runtime.inject``, counts as one given at the start)."""
    rt = Runtime(seed, faults=schedule if (len(schedule) or injector) else None, world=scenario.world,
                 **scenario.options)
    rt.trace.meta.update({"scenario": scenario.name, "scenario_path": str(scenario.path),
                          "faults": schedule.to_dicts()})
    ids: dict[str, str] = {}
    for i, spec in enumerate(scenario.actors):
        init_state = _substitute(spec.init_state, ids, scenario, f"actor[{i}].init_state")
        if isinstance(init_state, str):
            init_state = init_state.encode("utf-8")
        source = _supervisor_manifest(scenario, i) if spec.policy is not None else spec.manifest
        try:
            ids[spec.name] = rt.spawn(source, init_state=init_state, name=spec.name,
                                      parent=ids[spec.parent] if spec.parent else None)
        except HarnessError as exc:
            raise ScenarioError(str(exc), file=scenario.path, field=f"actor[{i}]") from None
    return Started(scenario, seed, rt, ids, _deliver(scenario, rt, ids, seed))


def finish_scenario(started: Started, schedule: FaultSchedule, *, check_invariants: bool = True) -> ScenarioResult:
    """Run a started scenario to its end and check its expectations and invariants."""
    scenario, rt, ids, pending = started.scenario, started.runtime, started.ids, started.pending
    stopped = None
    try:
        if scenario.end_ms is not None:
            rt.run(until=max(scenario.end_ms, rt.now))
        else:
            rt.run_until_idle()
    except SimulationError as exc:  # the run's max_events: a failure of this run, reported with its trace
        stopped = f"the run stopped: {exc}"
    problems = _expectations(scenario, rt, ids, pending, schedule)
    result = ScenarioResult(scenario, rt, started.seed, ids, ([stopped] if stopped else []) + problems,
                            schedule=schedule)
    if check_invariants:
        result.violations = check(scenario, rt)
    return result


def check(scenario: Scenario, runtime: Runtime) -> list:
    """The scenario's invariants over a run."""
    from ..invariants import check_all

    if "all" in scenario.invariants:
        return check_all(runtime, policies=scenario.policies)
    found = check_all(runtime, policies=scenario.policies, only=scenario.invariants)
    return sorted(found, key=lambda v: v.time_ms)


def _deliver(scenario: Scenario, rt: Runtime, ids: dict[str, str], seed: int) -> list:
    pending = []
    for step in scenario.steps:
        target = ids[step.target]
        delay = step.at - rt.now
        if delay < 0:
            raise ScenarioError(f"at = {step.at} ms is before the actors finished spawning ({rt.now} ms)",
                                file=scenario.path, field=f"{step.where}.at")
        if step.action == "call":
            args = _substitute(list(step.args), ids, scenario, f"{step.where}.args")
            pending.append((step, _call(scenario, rt, target, step.export, args, delay, step.where)))
            continue
        payload = _substitute(step.payload, ids, scenario, step.where)
        if step.action == "send":
            rt.send(target, payload, delay_ms=delay)
        elif step.action == "request":
            pending.append((step, rt.request(target, payload, delay_ms=delay)))
        else:
            rt.scheduler.at(step.at, rt.stop, target)
    fake = None
    for load in scenario.workloads:
        if load.faker is not None and fake is None:
            fake = shared_faker()
            fake.seed_instance(seed)
        if load.call is not None:  # the same arguments every time; the results are not checked
            args = _substitute(list(load.args), ids, scenario, f"{load.where}.args")
            for at in range(load.from_ms, load.until_ms + 1, load.every_ms):
                _call(scenario, rt, ids[load.to], load.call, args, max(0, at - rt.now), load.where)
            continue
        for at in range(load.from_ms, load.until_ms + 1, load.every_ms):
            payload = load.send if load.send is not None else str(getattr(fake, load.faker)())
            rt.send(ids[load.to], _substitute(payload, ids, scenario, load.where), delay_ms=max(0, at - rt.now))
    return pending


def _call(scenario: Scenario, rt: Runtime, target: str, export: str, args: list, delay: int, where: str) -> Any:
    """``rt.call_later``; an export the actor lacks (checked when the file was read, but a
    manifest may have changed since) is the file's error."""
    try:
        return rt.call_later(target, export, *args, delay_ms=delay)
    except HarnessError as exc:
        raise ScenarioError(str(exc), file=scenario.path, field=f"{where}.call") from None


def wave(value: Any) -> str:
    """A call's result (or argument) as WAVE text, as ``expect_result`` is written: a typed
    value by ``values.render``; a plain Python one (a component actor's) made a value first."""
    try:
        return render(value if isinstance(value, Value) else to_value(value))
    except (TypeError, ValueError):  # no typed form: shown as Python has it
        return repr(value)


def _expectations(scenario: Scenario, rt: Runtime, ids: dict[str, str], pending: list,
                  schedule: FaultSchedule) -> list[str]:
    problems: list[str] = []
    if schedule is not scenario.faults and scenario.explore is not None:
        return problems  # exploring: the file's expectations were written for the run without faults
    if rt.ended is not None:
        ender = next((a for a in scenario.actors if ids[a.name] == rt.ended.actor), None)
        if ender is None or ender.expect not in ("failed", "any"):
            problems.append(f"the run ended early: {rt.ended}")
    for spec in scenario.actors:
        view = rt.actor(ids[spec.name])
        status = "running" if view.alive else view.status
        if spec.expect != "any" and status != spec.expect:
            why = f" ({view.exit_reason})" if view.exit_reason else ""
            problems.append(f"actor {spec.name}: expected {spec.expect}, but it is {status}{why}")
        elif spec.expect_exit and (view.exit_reason is None or view.exit_reason.kind != spec.expect_exit):
            got = view.exit_reason.kind if view.exit_reason else "no exit"
            problems.append(f"actor {spec.name}: expected exit {spec.expect_exit}, got {got}")
        if spec.expect_incarnation is not None and view.incarnation != spec.expect_incarnation:
            problems.append(f"actor {spec.name}: expected incarnation {spec.expect_incarnation}, "
                            f"it is at {view.incarnation}")
    for step, req in pending:
        if step.action == "call":
            problem = _call_problem(scenario, ids, step, req)
            if problem is not None:
                problems.append(problem)
            continue
        label = f"{step.where} (request {step.payload!r} to {step.target} at {step.at} ms)"
        expected = None
        if step.expect_reply is not None:
            expected = _substitute(step.expect_reply, ids, scenario, f"{step.where}.expect_reply").encode()
        if not req.done:
            problems.append(f"{label}: no reply by the end of the run")
        elif step.expect_error and req.ok:
            problems.append(f"{label}: expected an error, got reply {req.reply!r}")
        elif not step.expect_error and not req.ok:
            problems.append(f"{label}: failed: {req.error}")
        elif expected is not None and req.reply != expected:
            problems.append(f"{label}: expected reply {expected!r}, got {req.reply!r}")
    return problems


def _call_problem(scenario: Scenario, ids: dict[str, str], step: Any, call: Any) -> str | None:
    """What a call step expected and did not get, or None."""
    label = (f"{step.where} (call {step.export}({', '.join(wave(a) for a in step.args)}) to {step.target} "
             f"at {step.at} ms)")
    if not call.done:
        return f"{label}: no result by the end of the run"
    if step.expect_error:
        return f"{label}: expected an error, got result {wave(call.result)}" if call.ok else None
    if not call.ok:
        return f"{label}: failed: {call.error}"
    if step.expect_result is not None:
        expected = _substitute(step.expect_result, ids, scenario, f"{step.where}.expect_result")
        got = wave(call.result)
        if got != expected:
            return f"{label}: expected result {expected}, got {got}"
    return None
