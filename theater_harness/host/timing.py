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


def _wait_until(rt: Any, actor: Any, when: int) -> Any:
    if when <= rt.now:
        return (True, None)
    wait = rt.wait(actor)
    timer = rt.scheduler.at(when, wait.finish, (True, None), priority=TIMER)
    wait.on_abandon.append(lambda: rt.scheduler.cancel(timer))
    return wait


def sleep(rt: Any, actor: Any, duration: int) -> tuple[bool, Any]:
    return _wait_until(rt, actor, rt.now + duration)


def deadline(rt: Any, actor: Any, timestamp: int) -> tuple[bool, Any]:
    return _wait_until(rt, actor, timestamp - rt.epoch_ms)


FUNCTIONS = {"now": now, "sleep": sleep, "deadline": deadline}
