"""What every file kind's schema shares: the bounds, values shown safely in messages, the
nesting limit, path sanity, guarded reads and parsers, and typed reads of one table.

Every failure of a read or a parse (a missing file, a NUL byte in its name, bytes that are
not UTF-8, TOML or JSON that does not parse, nesting deep enough to exhaust the parser's
stack, an integer of thousands of digits, NaN or an infinity in JSON) becomes the kind's
own error, through ``error(field, message)``, the one callable each schema passes in.
"""

from __future__ import annotations

import datetime
import json
import math
import re
import sys
from pathlib import Path
from typing import Any, Callable

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

from ..errors import HarnessError

Error = Callable[[str | None, str], HarnessError]  # error(field or None, message)

INT64_MAX = (1 << 63) - 1  # what wasmtime's u64 fuel and the scheduler's times hold, with room to add
MAX_DEPTH = 128  # levels of arrays and tables: serde_json's limit, so what Theater itself would read
MAX_TREE_DEPTH = 100  # levels of a supervision tree (parent -> child)
MAX_PATH_CHARS = 4096  # PATH_MAX on Linux

_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")  # how JSON writes a UTF-16 surrogate
_SURROGATE = re.compile("[\ud800-\udfff]")


# --- values in messages ---------------------------------------------------------------

def show(value: Any, limit: int = 60) -> str:
    """``repr(value)``, short and safe: a huge integer by its size, long text cut."""
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 128:
        return f"an integer of {value.bit_length()} bits"
    if isinstance(value, (dict, list, tuple)):
        noun = "a table" if isinstance(value, dict) else "an array"
        return f"{noun} ({len(value)} {'entry' if len(value) == 1 else 'entries'})"
    if isinstance(value, (datetime.date, datetime.time)):  # datetime is a date too
        return f"the TOML date/time {value.isoformat()}"
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit - 3]}...'" if isinstance(value, str) else text[:limit] + "..."


def is_int(value: Any) -> bool:
    """An integer, not a boolean (TOML and JSON keep them apart; Python does not)."""
    return isinstance(value, int) and not isinstance(value, bool)


def is_number(value: Any) -> bool:
    """An integer or a finite float (no NaN, no infinity), not a boolean."""
    return is_int(value) or (isinstance(value, float) and math.isfinite(value))


# --- nesting, strings -------------------------------------------------------------------

def _too_deep(doc: Any, limit: int) -> bool:
    stack = [(doc, 0)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict):
            items = value.values()
        elif isinstance(value, (list, tuple)):
            items = value
        else:
            continue
        if depth >= limit:
            return True
        stack.extend((item, depth + 1) for item in items if isinstance(item, (dict, list, tuple)))
    return False


def deep_field(doc: Any, limit: int, shown: int = 8) -> str:
    """The field of the first container nested ``limit`` levels deep in ``doc``, its first
    ``shown`` steps and "..." (``actor[0].init_state.a[0][0][0][0]...``)."""
    stack: list[tuple[Any, int, tuple[str, ...]]] = [(doc, 0, ())]
    while stack:
        value, depth, steps = stack.pop()
        items = (value.items() if isinstance(value, dict) else enumerate(value)
                 if isinstance(value, (list, tuple)) else ())
        if items and depth >= limit:
            return "".join(steps[:shown]) + ("..." if len(steps) > shown else "")
        for key, item in items:
            if isinstance(item, (dict, list, tuple)):
                step = f"[{key}]" if isinstance(key, int) else (f".{key}" if steps else str(key))
                stack.append((item, depth + 1, steps + (step,)))
    return ""


def check_depth(doc: Any, error: Error, *, limit: int = MAX_DEPTH) -> None:
    """Refuse arrays and tables nested more than ``limit`` levels (the code that reads them
    recurses, and so does every JSON encoder the value may later meet)."""
    if _too_deep(doc, limit):
        where = deep_field(doc, limit)
        raise error(where or None, f"nested too deeply: at most {limit} levels of arrays and tables")


def has_surrogate(text: str) -> bool:
    return _SURROGATE.search(text) is not None


def check_strings(doc: Any, error: Error, root: str = "") -> None:
    """Refuse text holding a lone UTF-16 surrogate (JSON can write one, ``"\\ud800"``, but no
    UTF-8 output or hash input can hold it); ``root`` names ``doc`` in the field."""
    stack = [(doc, root)]
    while stack:
        value, where = stack.pop()
        if isinstance(value, str):
            if _SURROGATE.search(value):
                raise error(where or None, f"{show(value)} holds a lone UTF-16 surrogate, which is not text")
        elif isinstance(value, dict):
            for key, item in value.items():
                if _SURROGATE.search(key):
                    raise error(where or None, f"the key {show(key)} holds a lone UTF-16 surrogate, which is not text")
                stack.append((item, f"{where}.{key}" if where else key))
        elif isinstance(value, list):
            stack.extend((item, f"{where}[{i}]") for i, item in enumerate(value))


_NAME_BAD = re.compile(r'["\\\x00-\x1f\x7f]')


def name_problem(value: Any) -> str | None:
    """What is wrong with ``value`` as an actor's name, or None. A name is written into the
    TOML of a generated supervisor's manifest, so it holds no quote, backslash or control
    character."""
    if not isinstance(value, str) or not value:
        return f"expected a name (a non-empty string), got {show(value)}"
    if _NAME_BAD.search(value):
        return f"{show(value)} holds a quote, a backslash or a control character; a name may not"
    return None


# --- paths and reads --------------------------------------------------------------------

def path_problem(value: Any) -> str | None:
    """What is wrong with ``value`` as a file path, or None when it can name a file."""
    if not isinstance(value, (str, Path)):
        return f"expected a path (a string), got {show(value)}"
    text = str(value)
    if not text:
        return "the path is empty"
    if "\0" in text:
        return f"the path {show(text)} holds a NUL byte (\\0), which no file name can hold"
    if len(text) > MAX_PATH_CHARS:
        return f"the path is {len(text)} characters long (at most {MAX_PATH_CHARS})"
    return None


def read_text(path: str | Path, error: Error, *, cannot: str, not_found: str | None = None) -> str:
    """The UTF-8 text of a file the user named; ``error(None, ...)`` for every way that fails:
    ``not_found`` when it does not exist (else ``cannot`` with the reason), ``cannot: reason``
    otherwise (a folder, no permission, not UTF-8, ...)."""
    problem = path_problem(path)
    if problem is not None:
        raise error(None, f"{cannot}: {problem}")
    try:
        return Path(path).read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise error(None, not_found or f"{cannot}: {exc}") from None
    except UnicodeDecodeError as exc:
        raise error(None, f"{cannot}: {exc} (the file is not UTF-8 text)") from None
    except (OSError, ValueError) as exc:
        raise error(None, f"{cannot}: {exc}") from None


# --- parsers ------------------------------------------------------------------------------

_TOO_DEEP = f"nested too deeply: at most {MAX_DEPTH} levels of arrays and tables"


def parse_toml(text: str, error: Error) -> dict:
    """TOML text as a dict: ``not valid TOML: ...`` for any failure, the nesting checked."""
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise error(None, f"not valid TOML: {exc}") from None
    except RecursionError:
        raise error(None, f"not valid TOML: {_TOO_DEEP}") from None
    except ValueError as exc:  # e.g. an integer of more than 4300 digits
        raise error(None, f"not valid TOML: {exc}") from None
    check_depth(doc, error)
    return doc


def reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows (NaN and infinities have no JSON form)")


def finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"the number {text[:40]} is out of range for a 64-bit float")
    return value


def parse_json(text: str | bytes, error: Error, root: str = "") -> Any:
    """JSON text as a value: ``not valid JSON: ...`` for any failure (NaN, infinities and
    numbers out of a float's range included), the nesting and the strings checked."""
    try:
        doc = json.loads(text, parse_constant=reject_constant, parse_float=finite_float)
    except json.JSONDecodeError as exc:
        raise error(None, f"not valid JSON: {exc}") from None
    except RecursionError:
        raise error(None, f"not valid JSON: {_TOO_DEEP}") from None
    except (ValueError, TypeError) as exc:  # our hooks, an integer of 4300+ digits, undecodable bytes
        raise error(None, f"not valid JSON: {exc}") from None
    check_depth(doc, error)
    if _SURROGATE_ESCAPE.search(text if isinstance(text, str) else text.decode("utf-8", "replace")):
        check_strings(doc, error, root)
    return doc


# --- typed reads of one table --------------------------------------------------------------

class Fields:
    """Typed reads of the tables of one document; every error goes through ``error`` with
    the field's dotted path (``actor[0].expect``)."""

    def __init__(self, error: Error):
        self.error = error

    @staticmethod
    def at(where: str, key: str) -> str:
        return f"{where}.{key}" if where else key

    def table(self, value: Any, where: str, expected: str = "expected a table") -> dict:
        if not isinstance(value, dict):
            raise self.error(where or None, f"{expected}, got {show(value)}")
        return value

    def unknown(self, table: dict, known: tuple[str, ...] | list[str], where: str, *, name_it: bool = True) -> None:
        extra = sorted((k for k in table if k not in known), key=str)
        if extra:
            key = str(extra[0])
            reason = f"unknown key {show(key)}" if name_it else "unknown key"
            raise self.error(self.at(where, key), f"{reason}; known keys: {', '.join(known)}")

    def integer(self, table: dict, key: str, where: str, *, low: int = 0, high: int = INT64_MAX,
                required: bool = False, missing: str = "missing (a whole number of milliseconds)") -> int | None:
        if key not in table:
            if required:
                raise self.error(self.at(where, key), missing)
            return None
        return self.int_value(table[key], self.at(where, key), low=low, high=high)

    def int_value(self, value: Any, field: str, *, low: int = 0, high: int = INT64_MAX) -> int:
        if not is_int(value) or value < low:
            raise self.error(field, f"expected an integer >= {low}, got {show(value)}")
        if value > high:
            raise self.error(field, f"expected an integer from {low} to {high}, got {show(value)}")
        return value

    def number(self, table: dict, key: str, where: str, *, low: float = 0.0, high: float | None = None,
               default: float = 0.0) -> float:
        value = table.get(key, default)
        if not is_number(value) or value < low or (high is not None and value > high):
            bound = f">= {low}" if high is None else f"from {low} to {high}"
            raise self.error(self.at(where, key), f"expected a finite number {bound}, got {show(value)}")
        return float(value)

    def string(self, table: dict, key: str, where: str, *, required: bool = False, missing: str = "missing",
               nonempty: bool = False) -> str | None:
        if key not in table:
            if required:
                raise self.error(self.at(where, key), missing)
            return None
        value = table[key]
        if not isinstance(value, str) or (nonempty and not value):
            raise self.error(self.at(where, key),
                             f"expected a{' non-empty' if nonempty else ''} string, got {show(value)}")
        return value

    def choice(self, table: dict, key: str, where: str, choices: tuple[str, ...] | list[str] | dict,
               default: str | None = None) -> str | None:
        if key not in table:
            return default
        value = table[key]
        if not isinstance(value, str) or value not in choices:
            raise self.error(self.at(where, key), f"{show(value)} is not one of {', '.join(choices)}")
        return value

    def boolean(self, table: dict, key: str, where: str, default: bool = False) -> bool:
        value = table.get(key, default)
        if not isinstance(value, bool):
            raise self.error(self.at(where, key), f"expected true or false, got {show(value)}")
        return value

    def strings(self, table: dict, key: str, where: str, expected: str) -> list[str]:
        value = table.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.error(self.at(where, key), expected)
        return value

    def path(self, table: dict, key: str, where: str, expected: str) -> str | None:
        """A path written in a file: a non-empty string without NUL bytes."""
        if key not in table:
            return None
        value = table[key]
        if not isinstance(value, str):
            raise self.error(self.at(where, key), f"{expected}, got {show(value)}")
        problem = path_problem(value)
        if problem is not None:
            raise self.error(self.at(where, key), f"{problem}; {expected}")
        return value

    def regexes(self, table: dict, key: str, where: str, expected: str) -> list[re.Pattern]:
        compiled = []
        for i, pattern in enumerate(self.strings(table, key, where, expected)):
            try:
                compiled.append(re.compile(pattern))
            except (re.error, RecursionError, OverflowError, ValueError) as exc:
                raise self.error(f"{self.at(where, key)}[{i}]", f"not a valid regular expression: {exc}") from None
        return compiled


# --- values that become JSON (init_state) ---------------------------------------------------

def json_problem(value: Any, where: str) -> tuple[str, str] | None:
    """(field, what is wrong) for the first part of ``value`` that has no JSON form (a TOML
    date, NaN, an infinity, an integer beyond 64 bits), or None when all of it has one."""
    stack = [(value, where)]
    while stack:
        item, at = stack.pop()
        if isinstance(item, (str, bool)) or item is None:
            continue
        if is_int(item):
            if not -(1 << 63) <= item <= (1 << 64) - 1:
                return at, f"the integer {show(item)} does not fit in 64 bits (Theater's JSON reads no larger)"
        elif isinstance(item, float):
            if not math.isfinite(item):
                return at, f"{item!r} has no JSON form; give a finite number"
        elif isinstance(item, dict):
            stack.extend((v, f"{at}.{k}") for k, v in item.items())
        elif isinstance(item, list):
            stack.extend((v, f"{at}[{i}]") for i, v in enumerate(item))
        else:
            return at, f"the {type(item).__name__} {item} has no JSON form (TOML dates and times have none); " \
                       "write it as a string"
    return None
