"""The schema of Theater manifests (every era) and of their ``[supervision]`` table.

``check_manifest`` validates a parsed manifest document, ``[supervision]`` included, so a
bad policy is refused when the manifest is read, not when its actor first restarts one;
``check_supervision`` gives the table's normalised form (OTP's defaults filled in, each
child's spec over the default's) that ``supervision.spec`` builds its records from.
Today's Theater keys (``package``, ``initial_state``, ``long_description``,
``static_package``, ``permission_policy``, every ``[[handler]]`` type it names and the config
keys it documents) are checked as Theater reads them; the stale ``[actor]`` / ``[handlers]``
layout, which Theater does not parse, is refused with the current form spelled out.
Errors are ManifestErrors naming the file and the field, in TOML's terms ("got the
boolean true").
"""

from __future__ import annotations

import json
import re
from typing import Any

from ..errors import ManifestError
from ..supervision.spec import AUTO_SHUTDOWN, DEFAULT_SHUTDOWN_MS, RECOVERY_MODES, RESTART_TYPES, STRATEGIES
from . import _core

# The handler types theater-harness implements (host functions in theater_harness.host).
PROVIDED_HANDLERS = ("runtime", "message-server", "supervisor", "timing", "random", "store", "timer", "rpc",
                     "filesystem", "http-client", "environment")
# Handler types real Theater has but the harness does not provide: a manifest may declare
# them (their config is kept), but an actor importing their interfaces cannot be spawned.
THEATER_ONLY_TYPES = ("http-framework", "process", "wasi-http", "replay", "tcp", "terminal", "loop", "podman")
# Every handler type a manifest may declare: the names today's Theater accepts (PACKR.md 5),
# the provided ones first.
HANDLER_TYPES = PROVIDED_HANDLERS + THEATER_ONLY_TYPES
_KNOWN = (f"{', '.join(PROVIDED_HANDLERS)} (provided by theater-harness), "
          f"{', '.join(THEATER_ONLY_TYPES)} (Theater's, accepted but not provided)")
COMPONENT_KEYS = ("component", "component_path", "package")  # in order of preference
FIELDS = frozenset({"name", "version", *COMPONENT_KEYS, "description", "long_description", "save_chain",
                    "init_state", "initial_state", "static_package", "permission_policy", "handler", "handlers"})
U64_MAX = (1 << 64) - 1
# The config keys Theater documents for a handler type, by type (PACKR.md 5): "string", "path"
# (a non-empty string without NUL bytes), "bool", "strings" (an array of strings), "string
# table" (a table of strings), or the lowest integer allowed (up to u64). Other keys, and the
# keys of other handler types, are kept as config unchecked. The environment handler's
# ``vars`` is theater-harness's own key (host/environment.py).
HANDLER_CONFIG: dict[str, dict[str, Any]] = {
    "store": {"base_path": "path", "store_id": "string"},
    "filesystem": {"path": "path", "new_dir": "bool", "allowed_commands": "strings"},
    "environment": {"allowed_vars": "strings", "denied_vars": "strings", "allowed_prefixes": "strings",
                    "allow_list_all": "bool", "vars": "string table"},
    "timing": {"max_sleep_duration": 0, "min_sleep_duration": 0},
    "random": {"seed": 0, "max_bytes": 0, "max_int": 0, "allow_crypto_secure": "bool"},
    "replay": {"chain": "path"},
    "tcp": {"listen": "string", "max_connections": 0},
    "terminal": {"raw_mode": "bool"},
    "timer": {"interval_ms": 1},
}
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
    _check_stale_layout(doc, error)

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
    get("long_description", str, "a string")
    get("save_chain", bool, "a boolean (true or false)")
    get("static_package", bool, "a boolean (true or false)")
    _check_init_state(doc.get("init_state"), error)
    get("initial_state", str, "a string (Theater makes it the actor's initial state, a string value)")
    if "initial_state" in doc and "init_state" in doc:
        raise error("initial_state", "both initial_state (Theater's: the initial state as a string value) and "
                                     "init_state (theater-harness's: JSON state bytes) are given; keep one")
    _check_permission_policy(doc.get("permission_policy"), error)
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


def _check_permission_policy(value: Any, error: _core.Error) -> None:
    """``permission_policy``: a table of tables (``[permission_policy.file_system]`` ...)."""
    if value is None:
        return
    if not isinstance(value, dict):
        raise error("permission_policy", "expected a table of policies (e.g. [permission_policy.file_system] "
                                         f"type = \"restrict\"), got {describe(value)}")
    for name, policy in value.items():
        if not isinstance(policy, dict):
            raise error(f"permission_policy.{name}", f"expected a table (e.g. [permission_policy.{name}] "
                                                     f"type = \"restrict\"), got {describe(policy)}")


def _check_handlers(entries: Any, key: str, error: _core.Error) -> None:
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise error(key, f"expected an array of tables ([[{key}]]), got {describe(entries)}")
    known = _KNOWN
    for i, entry in enumerate(entries):
        where = f"{key}[{i}]"
        handler_type = entry.get("type")
        if handler_type is None:
            raise error(f"{where}.type", f"missing; each [[{key}]] table needs type = one of: {known}")
        if not isinstance(handler_type, str):
            raise error(f"{where}.type", f"expected a string (one of: {known}), got {describe(handler_type)}")
        if handler_type not in HANDLER_TYPES:
            raise error(f"{where}.type", f"{json.dumps(handler_type, ensure_ascii=False)[:80]} is not a known "
                                         f"handler type; known types: {known}")
        if key == "handlers":
            if not isinstance(entry.get("config", {}), dict):
                raise error(f"{where}.config",
                            f"expected a table (e.g. config = {{}}), got {describe(entry['config'])}")
            _check_config(handler_type, entry.get("config", {}), f"{where}.config", error)
        else:
            _check_config(handler_type, entry, where, error)


def _check_config(handler_type: str, config: dict, where: str, error: _core.Error) -> None:
    """The config keys Theater documents for ``handler_type``, by type (``HANDLER_CONFIG``)."""
    for key, kind in HANDLER_CONFIG.get(handler_type, {}).items():
        if key not in config:
            continue
        value, field = config[key], f"{where}.{key}"
        if kind == "bool":
            if not isinstance(value, bool):
                raise error(field, f"expected a boolean (true or false), got {describe(value)}")
        elif kind == "strings":
            if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
                raise error(field, f"expected an array of strings, got {describe(value)}"
                                   + ("" if not isinstance(value, list) else " with an item that is not a string"))
        elif kind == "string table":
            if not isinstance(value, dict):
                raise error(field, f'expected a table of strings (e.g. {{ NAME = "value" }}), got {describe(value)}')
            for name, text in value.items():
                if not isinstance(text, str) or "\0" in text or "=" in name or "\0" in name:
                    raise error(f"{field}.{name}", f"expected a string without NUL (and a name without '='), "
                                                   f"got {describe(text)}")
        elif kind in ("string", "path"):
            if not isinstance(value, str) or not value:
                raise error(field, f"expected a non-empty string, got {describe(value)}")
            problem = _core.path_problem(value) if kind == "path" else None
            if problem is not None:
                raise error(field, problem)
        elif not _core.is_int(value) or not kind <= value <= U64_MAX:
            if _core.is_int(value) and value > U64_MAX:
                raise error(field, f"expected an integer from {kind} to {U64_MAX}, got {describe(value)}")
            raise error(field, f"expected an integer >= {kind}, got {describe(value)}")


def _check_stale_layout(doc: dict, error: _core.Error) -> None:
    """Refuse the ``[actor]`` + ``[handlers]`` layout of Theater's CLI README and some of its
    examples: Theater itself does not parse it (PACKR.md 5). The error shows the current form."""
    actor, handlers = doc.get("actor"), doc.get("handlers")
    stale_actor = isinstance(actor, dict) and not any(key in doc for key in ("name", *COMPONENT_KEYS))
    if not stale_actor and not isinstance(handlers, dict):
        return
    actor = actor if isinstance(actor, dict) else {}

    def given(keys: tuple[str, ...], placeholder: str) -> str:
        """The first string of ``keys`` in [actor], then at the top level, as TOML."""
        found = (table.get(key) for table in (actor, doc) for key in keys)
        return _toml_scalar(next((v for v in found if isinstance(v, str) and v), placeholder), placeholder)

    lines = [f"name = {given(('name',), 'my-actor')}", f"version = {given(('version',), '0.1.0')}",
             f"package = {given(('package', 'component', 'component_path'), 'path/to/actor.wasm')}"]
    types = [t for t in (handlers if isinstance(handlers, dict) else {}) if isinstance(t, str)] or ["runtime"]
    for handler_type in types[:12]:
        config = handlers.get(handler_type) if isinstance(handlers, dict) else None
        lines += ["", "[[handler]]", f"type = {_toml_scalar(handler_type, 'runtime')}"]
        for key, value in (config.items() if isinstance(config, dict) else ()):
            if isinstance(value, (str, bool, int, float)) and _BARE_KEY.fullmatch(key):
                lines.append(f"{key} = {_toml_scalar(value, '...')}")
    if len(types) > 12:
        lines += ["", f"# ... and {len(types) - 12} more [[handler]] tables"]
    raise error("actor" if stale_actor else "handlers",
                "this is the stale [actor] / [handlers] layout (Theater's CLI README and some of its examples), "
                "which Theater itself does not parse: it needs name, version and package at the top level and "
                "one [[handler]] table per handler, its config keys inline. Write it as:\n    "
                + "\n    ".join(lines).replace("\n    \n", "\n\n"))


_BARE_KEY = re.compile(r"[A-Za-z0-9_-]{1,64}")


def _toml_scalar(value: Any, placeholder: str) -> str:
    """``value`` written as TOML, short; ``placeholder`` (quoted) for anything else."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)) and len(repr(value)) <= 40 and value == value and abs(value) != float("inf"):
        return repr(value)
    if isinstance(value, str) and value and len(value) <= 200:
        return json.dumps(value, ensure_ascii=False)
    return json.dumps(placeholder)


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
