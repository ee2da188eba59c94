"""One record, told in a few words: the detail column of timelines and the tooltips."""

from __future__ import annotations

import json
from typing import Any, Callable

from ._actors import label

# The kinds a timeline shows by default: what changed in the tree, what went wrong, and
# what actors did outside themselves (world and rpc calls). Messages (send, request,
# deliver, reply, channel-*), skipped calls (a declarative supervisor skips one per
# failure) and chain events only on request.
NOTABLE = frozenset({
    "spawn", "start", "exit", "restart", "restart-plan", "not-restarted", "escalate", "auto-shutdown", "backoff",
    "replay", "run-ended", "fault", "missed", "heal", "drop", "log", "request-failed", "external-stop",
    "channel-rejected", "world", "rpc",
})

HEADER_KEYS = ("seq", "t", "kind", "actor")


def fields_of(record: dict) -> dict:
    """The record's own fields: everything but seq, t, kind and actor."""
    return {k: v for k, v in record.items() if k not in HEADER_KEYS}


def _short(value: object) -> str:
    return str(value)[:8]


def _names(names: dict[str, str], ids: list) -> str:
    return ", ".join(label(names, i) for i in ids)


def _spawn(r: dict, names: dict[str, str]) -> str:
    parent = f" under {label(names, r['parent'])}" if r.get("parent") else ""
    return f"{r['actor'][:8]} from manifest {r.get('manifest')!r}{parent}"


def _exit(r: dict, names: dict[str, str]) -> str:
    reason = r.get("reason") or {}
    where = f" in {reason['export']}" if reason.get("export") else ""
    return f"{r.get('status')}: {reason.get('kind')}{where}: {reason.get('message')}"


def _restart_plan(r: dict, names: dict[str, str]) -> str:
    steps = [f"{step} {_names(names, r[step])}" for step in ("stop", "restart", "drop") if r.get(step)]
    return f"{r.get('strategy')} after {label(names, r.get('failed'))} ended: " + ("; ".join(steps) or "nothing to do")


def _replay(r: dict, names: dict[str, str]) -> str:
    divergences = r.get("divergences") or []
    return f"{r['calls']} of {r['of']} calls replayed" + (
        f", {len(divergences)} divergence(s)" if divergences else "")


def _leaves(r: dict) -> str:
    """For a send or request from outside made with a delay: when it was meant to leave."""
    delay = r.get("delay_ms")
    return f", delayed to {r['t'] + delay} ms" if delay.__class__ is int else ""


def _deliver(r: dict, names: dict[str, str]) -> str:
    return f"msg #{r['msg']}" if "msg" in r else f"request {_short(r.get('request'))}"


def _fault(r: dict, names: dict[str, str]) -> str:
    phase = f" ({r['phase']})" if r.get("phase") else ""
    return f"#{r.get('fault')} {r.get('describe', r.get('fault_kind'))}{phase}"


def _missed(r: dict, names: dict[str, str]) -> str:
    """A fault that found no target running: "#2 trap worker at 1500 ms missed: why"."""
    return f"#{r.get('fault')} {r.get('describe', r.get('fault_kind'))} missed: {r.get('why')}"


def _shown(value: Any) -> str:
    """A value of a world record (already a bounded summary), as JSON."""
    return json.dumps(value, ensure_ascii=False)


def _world(r: dict, names: dict[str, str]) -> str:
    """A world call, by its caller: ``worker: read-file("a.txt") -> ok "b'hi'"``; an HTTP
    request as ``GET <uri> -> ok 200 "b'[]'", after 40 ms``."""
    args, result, outcome = r.get("args") or [], r.get("result"), r.get("outcome")
    request = args[0] if len(args) == 1 and isinstance(args[0], dict) else {}
    if r.get("interface") == "http-client" and "uri" in request:
        call = f"{request.get('method')} {request.get('uri')}"
        if outcome == "ok" and isinstance(result, dict):  # the response: its status and body
            outcome, result = f"ok {result.get('status')} {_shown(result.get('body'))}", None
    else:
        call = f"{r.get('function')}({', '.join(_shown(a) for a in args)})"
    answer = outcome if result is None else f"{outcome} {_shown(result)}"
    latency = f", after {r['latency_ms']} ms" if r.get("latency_ms") else ""
    fault = f" [fault #{r['fault']}]" if r.get("fault") is not None else ""
    return f"{label(names, r.get('actor'))}: {call} -> {answer}{latency}{fault}"


def _rpc(r: dict, names: dict[str, str]) -> str:
    """An rpc call at its outcome, by its caller: ``client -> server calc.add: timeout:
    Call timed out (called at 10 ms)`` (when it was called, if not in the same ms)."""
    error = f": {r['error']}" if r.get("error") else ""
    target = label(names, r["to"]) if r.get("to") else "(no actor)"
    called = f" (called at {r.get('issued_ms')} ms)" if r.get("issued_ms") != r["t"] else ""
    return f"{label(names, r.get('actor'))} -> {target} {r.get('function')}: {r.get('outcome')}{error}{called}"


_DETAIL: dict[str, Callable[[dict, dict[str, str]], str]] = {
    "spawn": _spawn,
    "start": lambda r, n: f"incarnation {r.get('incarnation')}",
    "exit": _exit,
    "log": lambda r, n: str(r.get("msg")),
    "request-failed": lambda r, n: f"request {_short(r.get('request'))}: {r.get('error')}",
    "drop": lambda r, n: str(r.get("reason", "")),
    "skip": lambda r, n: f"no {r.get('export')} export: call skipped",
    "tick": lambda r, n: f"timer {r.get('timer')!r}",
    "call": lambda r, n: f"a test calls {r.get('export')}",
    "restart": lambda r, n: f"incarnation {r.get('incarnation')} ({r.get('recovery')}) by "
                            f"{label(n, r.get('supervisor'))}",
    "restart-plan": _restart_plan,
    "escalate": lambda r, n: f"{r['restarts']} restarts > intensity {r['intensity']} in "
                             f"{r['period_ms']} ms: gives up",
    "auto-shutdown": lambda r, n: f"significant child {label(n, r.get('child'))} ended ({r.get('mode')}): "
                                  f"shuts down",
    "not-restarted": lambda r, n: str(r.get("why")),
    "backoff": lambda r, n: f"restart delayed {r.get('delay_ms')} ms by {label(n, r.get('supervisor'))}",
    "replay": _replay,
    "run-ended": lambda r, n: (f"the run ended: {r['reason']['kind']}: {r['reason']['message']}"
                               if r["reason"]["kind"] in ("limit", "system-limit")  # a run-wide bound, the OS
                               else f"the root supervisor gave up: {r['reason']['kind']}: {r['reason']['message']}"),
    "fault": _fault,
    "missed": _missed,
    "heal": lambda r, n: f"fault #{r.get('fault')} healed",
    "send": lambda r, n: f"msg #{r.get('msg')} to {label(n, r.get('to'))} ({r.get('size')} bytes){_leaves(r)}",
    "request": lambda r, n: f"request {_short(r.get('request'))} to {label(n, r.get('to'))} "
                            f"({r.get('size')} bytes){_leaves(r)}",
    "deliver": _deliver,
    "reply": lambda r, n: f"request {_short(r.get('request'))} answered ({r.get('size')} bytes)",
    "event": lambda r, n: f"chain event {r.get('index')}: {r.get('event_type')}",
    "world": _world,
    "rpc": _rpc,
}


def describe(record: dict, names: dict[str, str]) -> str:
    """The detail of one record, naming actors by ``names`` (id -> name)."""
    detail = _DETAIL.get(record["kind"])
    if detail is not None:
        return detail(record, names)
    return ", ".join(f"{k}={v}" for k, v in sorted(fields_of(record).items()))
