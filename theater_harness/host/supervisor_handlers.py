"""A child ended: its parent hears of it (Theater's semantics), then the parent's
declared policy, if any, applies.

The parent's ``handle-child-error`` is called for a failure (error-type ``internal``, data
= the JSON of the exit), ``handle-child-exit`` after the child's ``runtime.shutdown``, and
``handle-child-external-stop`` after a stop; a parent without the export is skipped and
the skip recorded. The supervision policy runs after the handler has returned.
"""

from __future__ import annotations

import json
from typing import Any

from ..exit import NORMAL
from ..supervision.supervisor import child_ended

CHILD_ERROR = ("supervisor-handlers", "handle-child-error")
CHILD_EXIT = ("supervisor-handlers", "handle-child-exit")
CHILD_EXTERNAL_STOP = ("supervisor-handlers", "handle-child-external-stop")


def handler_key(reason: Any) -> tuple[str, str]:
    """Which handler export a parent gets for ``reason``."""
    if reason.abnormal:
        return CHILD_ERROR
    return CHILD_EXIT if reason.kind == NORMAL else CHILD_EXTERNAL_STOP


def handler_call(child: Any, reason: Any) -> tuple[tuple[str, str], tuple]:
    """Which handler export a parent gets for ``reason``, and its params."""
    if reason.abnormal:
        data = json.dumps({"actor": child.id, "name": child.name, "incarnation": reason.incarnation,
                           "exit": reason.to_dict()}, sort_keys=True, separators=(",", ":")).encode()
        return CHILD_ERROR, (child.id, {"error-type": "internal", "data": data})
    if reason.kind == NORMAL:
        return CHILD_EXIT, (child.id, child.shutdown_data[0] if child.shutdown_data else None)
    return CHILD_EXTERNAL_STOP, (child.id,)


def _child_ended(rt: Any, parent: Any, item: tuple) -> None:
    _, child_id, reason = item
    child = rt._actors[child_id]
    if reason.incarnation <= child.end_settled:
        return  # a group restart of its declarative parent flushed this end (OTP's unlink_flush)
    child.end_settled = reason.incarnation
    key = handler_key(reason)
    # A parent without the export (a declarative supervisor's) only has the skip recorded:
    # the params, the exit's JSON among them, are built only for a parent that gets them.
    params = handler_call(child, reason)[1] if parent.component.has_export(*key) else ()

    def then(result: Any) -> None:
        if result is not None:  # the parent is still there (a failing handler ends it)
            child_ended(rt, parent, child, reason)

    rt._call(parent, key, (parent.state, params), then)


ITEMS = {"child-ended": _child_ended}
