"""The schema of Theater manifests (both eras) and of their ``[supervision]`` table.

``check_manifest`` validates a parsed manifest document, ``[supervision]`` included, so a
bad policy is refused when the manifest is read, not when its actor first restarts one;
``check_supervision`` gives the table's normalised form (OTP's defaults filled in, each
child's spec over the default's) that ``supervision.spec`` builds its records from.
Errors are ManifestErrors naming the file and the field, in TOML's terms ("got the
boolean true").
"""

from __future__ import annotations

import json
from typing import Any

from ..errors import ManifestError
from ..supervision.spec import AUTO_SHUTDOWN, DEFAULT_SHUTDOWN_MS, RECOVERY_MODES, RESTART_TYPES, STRATEGIES
from . import _core

HANDLER_TYPES = ("runtime", "message-server", "supervisor", "timing", "random", "store")
# Handler types real Theater has but the harness does not provide: named as such in errors.
THEATER_ONLY_TYPES = ("filesystem", "http-client", "http-framework", "process", "environment")
COMPONENT_KEYS = ("component", "component_path", "package")  # in order of preference
FIELDS = frozenset({"name", "version", *COMPONENT_KEYS, "description", "save_chain", "init_state", "handler",
                    "handlers"})
_SUPERVISION_KEYS = ("strategy", "intensity", "period_ms", "resolution_ms", "permanent_errors", "auto_shutdown",
                     "default", "children")
_CHILD_KEYS = ("restart", "recovery", "shutdown_ms", "shutdown", "backoff", "significant")
_BACKOFF_KEYS = ("min_ms", "max_ms", "random_factor", "reset_after_ms")
MAX_RANDOM_FACTOR = 1000.0  # a restart delay at most 1001 times its base: beyond, the jitter is the policy


def describe(value: Any) -> str:
    """A TOML value for an error message: its kind and, for scalars, the value."""
    for kind, noun in ((bool, "the boolean"), (str, "the string"), (int, "the integer"), (float, "the float")):
        if isinstance(value, kind):
            if kind is int and value.bit_length() > 128:
                return f"an integer of {value.bit_length()} bits"
            if kind is float and value != value:
                return "the float nan"
            text = json.dumps(value, ensure_ascii=False)
            return f"{noun} {text if len(text) <= 60 else text[:56] + '...' + text[0]}"
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "an array"
    return f"the date/time {value}"


def _error(source: str) -> _core.Error:
    def error(field: str | None, message: str) -> ManifestError:
        return ManifestError(message, file=source, field=field)
    return error


def check_manifest(doc: dict, source: str) -> None:
    """Validate a parsed manifest: its fields, its handlers and its ``[supervision]``."""
    error = _error(source)

    def get(key: str, kind: type, expected: str) -> Any:
        value = doc.get(key)
        if value is not None and (not isinstance(value, kind) or (kind is not bool and isinstance(value, bool))):
            raise error(key, f"expected {expected}, got {describe(value)}")
        return value

    if not get("name", str, "a string"):
        raise error("name", 'missing; every manifest needs name = "..."')
    get("version", str, "a string")
    given = [key for key in COMPONENT_KEYS if key in doc]
    if not given:
        raise error("component", 'missing; give component = "path/to/actor.wasm" '
                                 "(older manifests: component_path; newest Theater: package)")
    for key in given:
        value = doc[key]
        if not isinstance(value, str) or not value:
            raise error(key, f"expected a path string, got {describe(value)}")
        problem = _core.path_problem(value)
        if problem is not None:
            raise error(key, problem)
    get("description", str, "a string")
    get("save_chain", bool, "a boolean (true or false)")
    _check_init_state(doc.get("init_state"), error)
    current, older = doc.get("handler"), doc.get("handlers")
    if current is not None and older is not None:
        raise error("handlers", "both [[handler]] (current format) and [[handlers]] (older format) are present; "
                                "keep one, preferably [[handler]] with each handler's config fields inline")
    if older is not None:
        _check_handlers(older, "handlers", error)
    elif current is not None:
        _check_handlers(current, "handler", error)
    if "supervision" in doc:
        check_supervision(doc["supervision"], source)


def _check_init_state(value: Any, error: _core.Error) -> None:
    if value is None or isinstance(value, (dict, list)):
        return  # a table or an array: its conversion to JSON says what it cannot convert
    if not isinstance(value, str):
        raise error("init_state", "expected a path to a JSON file, inline JSON text, or a table, "
                                  f"got {describe(value)}")
    if value.lstrip()[:1] not in ("{", "["):
        problem = _core.path_problem(value.strip() and value)
        if problem is not None:
            raise error("init_state", f"{problem}; expected a path to a JSON file, inline JSON text, or a table")


def _check_handlers(entries: Any, key: str, error: _core.Error) -> None:
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise error(key, f"expected an array of tables ([[{key}]]), got {describe(entries)}")
    known = ", ".join(HANDLER_TYPES)
    for i, entry in enumerate(entries):
        where = f"{key}[{i}]"
        handler_type = entry.get("type")
        if handler_type is None:
            raise error(f"{where}.type", f"missing; each [[{key}]] table needs type = one of: {known}")
        if not isinstance(handler_type, str):
            raise error(f"{where}.type", f"expected a string (one of: {known}), got {describe(handler_type)}")
        if handler_type not in HANDLER_TYPES:
            what = ("is a Theater handler that theater-harness does not provide"
                    if handler_type in THEATER_ONLY_TYPES else "is not a known handler type")
            raise error(f"{where}.type", f"{json.dumps(handler_type, ensure_ascii=False)[:80]} {what}; "
                                         f"known types: {known}")
        if key == "handlers" and not isinstance(entry.get("config", {}), dict):
            raise error(f"{where}.config", f"expected a table (e.g. config = {{}}), got {describe(entry['config'])}")


# --- [supervision] ------------------------------------------------------------------------

def check_supervision(table: Any, source: str) -> dict[str, Any]:
    """A ``[supervision]`` table, validated and normalised: every key with its value or
    OTP's default, ``permanent_errors`` compiled, ``default`` and each of ``children`` a
    child spec dict (a child's over the default's), ``backoff`` a dict or None."""
    f = _core.Fields(_error(source))
    t = f.table(table, "supervision", "expected a table")
    f.unknown(t, _SUPERVISION_KEYS, "supervision", name_it=False)
    compiled = f.regexes(t, "permanent_errors", "supervision", "expected a list of regular expressions (strings)")
    auto_shutdown = f.choice(t, "auto_shutdown", "supervision", AUTO_SHUTDOWN, "never")
    base = {"restart": "permanent", "recovery": "init", "shutdown_ms": DEFAULT_SHUTDOWN_MS, "brutal_kill": False,
            "backoff": None, "significant": False}
    default = _child(f, t.get("default", {}), "supervision.default", base, auto_shutdown)
    children_table = f.table(t.get("children", {}), "supervision.children", "expected a table")
    children = {name: _child(f, spec, f"supervision.children.{name}", default, auto_shutdown)
                for name, spec in children_table.items()}
    resolution = f.integer(t, "resolution_ms", "supervision", low=1)
    resolution = 1000 if resolution is None else resolution
    intensity = f.integer(t, "intensity", "supervision")
    period = f.integer(t, "period_ms", "supervision", low=resolution)
    return {
        "strategy": f.choice(t, "strategy", "supervision", STRATEGIES, "one_for_one"),
        "intensity": 1 if intensity is None else intensity,
        "period_ms": 5000 if period is None else period,
        "resolution_ms": resolution,
        "permanent_errors": tuple(compiled),
        "auto_shutdown": auto_shutdown,
        "default": default,
        "children": children,
    }


def _child(f: _core.Fields, table: Any, where: str, base: dict[str, Any], auto_shutdown: str) -> dict[str, Any]:
    t = f.table(table, where, "expected a table")
    f.unknown(t, _CHILD_KEYS, where, name_it=False)
    shutdown_ms, brutal = base["shutdown_ms"], base["brutal_kill"]
    if "shutdown_ms" in t and "shutdown" in t:
        raise f.error(f"{where}.shutdown",
                      "give either shutdown_ms (a number) or shutdown (\"brutal_kill\" or \"infinity\")")
    if "shutdown_ms" in t:
        shutdown_ms, brutal = f.integer(t, "shutdown_ms", where), False
    elif "shutdown" in t:
        word = f.choice(t, "shutdown", where, ("brutal_kill", "infinity"), "infinity")
        shutdown_ms, brutal = (0, True) if word == "brutal_kill" else (None, False)
    backoff = base["backoff"]
    if "backoff" in t:
        at = f"{where}.backoff"
        b = f.table(t["backoff"], at, "expected a table")
        f.unknown(b, _BACKOFF_KEYS, at, name_it=False)
        low = f.integer(b, "min_ms", at, low=1, required=True, missing="missing (the first restart delay, in ms)")
        high = f.integer(b, "max_ms", at, low=low)
        backoff = {"min_ms": low, "max_ms": low if high is None else high,
                   "random_factor": f.number(b, "random_factor", at, high=MAX_RANDOM_FACTOR),
                   "reset_after_ms": f.integer(b, "reset_after_ms", at, low=1)}
    restart = f.choice(t, "restart", where, RESTART_TYPES, base["restart"])
    significant = f.boolean(t, "significant", where, base["significant"])
    if significant and restart == "permanent":  # OTP's bad_combination, checked as supervisor.erl does
        raise f.error(f"{where}.significant", "a permanent child cannot be significant (it is always restarted); "
                                              "make it transient or temporary, or set significant = false")
    if significant and auto_shutdown == "never":
        raise f.error(f"{where}.significant", "significant children need supervision.auto_shutdown = "
                                              "\"any_significant\" or \"all_significant\" (it is \"never\")")
    return {"restart": restart, "recovery": f.choice(t, "recovery", where, RECOVERY_MODES, base["recovery"]),
            "shutdown_ms": shutdown_ms, "brutal_kill": brutal, "backoff": backoff, "significant": significant}
