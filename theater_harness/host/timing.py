"""`theater:simple/timing` on the virtual clock: now, sleep, deadline.

``now`` is epoch milliseconds: the runtime's ``epoch_ms`` plus virtual time. ``sleep``
and ``deadline`` suspend the calling actor's call until that virtual time, while
everything else runs on.
"""

from __future__ import annotations

from typing import Any

from .._scheduler import TIMER


def now(rt: Any, actor: Any) -> int:
    return rt.epoch_ms + rt.now


def wait_until(rt: Any, actor: Any, when: int, value: Any = (True, None)) -> Any:
    """``value`` as the answer of ``actor``'s blocking host call, at virtual time ``when``
    (at once if that is not later than now): a wait the caller's call is suspended on."""
    if when <= rt.now:
        return value
    wait = rt.wait(actor)
    timer = rt.scheduler.at(when, wait.finish, value, priority=TIMER)
    wait.on_abandon.append(lambda: rt.scheduler.cancel(timer))
    return wait


def sleep(rt: Any, actor: Any, duration: int) -> tuple[bool, Any]:
    return wait_until(rt, actor, rt.now + duration)


def deadline(rt: Any, actor: Any, timestamp: int) -> tuple[bool, Any]:
    return wait_until(rt, actor, timestamp - rt.epoch_ms)


FUNCTIONS = {"now": now, "sleep": sleep, "deadline": deadline}
