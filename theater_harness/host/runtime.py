"""`theater:simple/runtime`: log, get-chain (component era), self (packr era), shutdown."""

from __future__ import annotations

from typing import Any

from ..limits import LimitExceeded, call_usage, charge_chain, over


def log(rt: Any, actor: Any, msg: str) -> None:
    """A log line, kept on the actor and in the trace; one call may log at most
    ``max_log_lines`` lines of ``max_log_bytes`` bytes in all (UTF-8)."""
    usage = call_usage(actor)
    size = len(msg) if msg.isascii() else len(msg.encode("utf-8", "surrogatepass"))
    usage[0] += size
    usage[1] += 1
    caps = rt._caps
    if usage[0] > caps["max_log_bytes"]:
        raise LimitExceeded(over("runtime.log", usage[0], "bytes in one call", "max_log_bytes", caps["max_log_bytes"]))
    if usage[1] > caps["max_log_lines"]:
        raise LimitExceeded(over("runtime.log", usage[1], "lines in one call", "max_log_lines", caps["max_log_lines"]))
    charge_chain(rt, actor, "runtime.log", size)
    actor.logs.append((rt.now, msg))
    rt.trace.add(rt.now, "log", actor.id, ("msg", msg))


def _u64(digest: bytes) -> int:
    return int.from_bytes(digest[:8], "big")


def get_chain(rt: Any, actor: Any) -> dict:
    """The actor's chain as `types.chain`: each hash shortened to a u64 (its first 8 bytes)."""
    events = []
    for event in actor.chain.events:
        events.append({
            "hash": _u64(event.hash),
            "event": {
                "event-type": event.event_type,
                "parent": None if event.parent_hash is None else _u64(event.parent_hash),
                "data": event.data,
            },
        })
    return {"events": events}


def shutdown(rt: Any, actor: Any, data: bytes | None) -> tuple[bool, Any]:
    """Stop normally once the current call returns; the parent gets handle-child-exit."""
    actor.shutdown_data = (data,)
    return (True, None)


def self_id(rt: Any, actor: Any) -> str:
    """The actor's own id (packr-era Theater's ``runtime.self``)."""
    return actor.id


FUNCTIONS = {"log": log, "get-chain": get_chain, "shutdown": shutdown, "self": self_id}
