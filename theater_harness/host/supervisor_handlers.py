"""Calls into a parent's `supervisor-handlers` exports when a child ends (Theater's
semantics): handle-child-error for a failure, handle-child-exit after the child's
runtime.shutdown, handle-child-external-stop after a stop. A parent without the export
is skipped and the skip recorded."""

from __future__ import annotations

from typing import Any

CHILD_ERROR = ("supervisor-handlers", "handle-child-error")
CHILD_EXIT = ("supervisor-handlers", "handle-child-exit")
CHILD_EXTERNAL_STOP = ("supervisor-handlers", "handle-child-external-stop")


def _child_error(rt: Any, actor: Any, item: tuple) -> None:
    _, child_id, error = item
    rt._call(actor, CHILD_ERROR, (actor.state, (child_id, error)))


def _child_exit(rt: Any, actor: Any, item: tuple) -> None:
    _, child_id, data = item
    rt._call(actor, CHILD_EXIT, (actor.state, (child_id, data)))


def _child_external_stop(rt: Any, actor: Any, item: tuple) -> None:
    child_id = item[1]
    rt._call(actor, CHILD_EXTERNAL_STOP, (actor.state, (child_id,)))


ITEMS = {
    "child-error": _child_error,
    "child-exit": _child_exit,
    "child-external-stop": _child_external_stop,
}
