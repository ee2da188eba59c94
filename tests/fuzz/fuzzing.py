"""Structure-aware fuzzing of the files users give the harness: Hypothesis strategies that
mutate real documents (the bundled scenarios, manifests, saved traces, Theater's chains,
fault schedules), the property every loader and every CLI verb must keep, and the budget.

The mutations work on the parsed document (change a value's type, drop, duplicate or rename
a key, nest deeply, huge and boundary numbers, NaN and infinities, NUL bytes, strings from
elsewhere in the file) and then, sometimes, on its bytes (truncation, another encoding,
invalid UTF-8, a duplicated or lost line, brackets nested past any parser's stack).

The property: the input either loads or raises the harness's own error (a HarnessError)
naming the file; the command exits 0, 1 or 2, never shows a traceback, and ends within
``CLI_TIMEOUT_S``.

Budget: each target's ``max_examples`` is small in the normal test run (about a minute for
all of them); ``THEATER_FUZZ_EXAMPLES=N`` gives every target N examples (open-ended:
``THEATER_FUZZ_EXAMPLES=100000 pytest tests/fuzz``). ``THEATER_FUZZ_STATS=FILE`` appends
each process's counts (inputs and outcomes per target) to FILE as JSON lines.
"""

from __future__ import annotations

import atexit
import contextlib
import datetime
import io
import json
import math
import os
import signal
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any, Callable

import tomli_w
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from theater_harness.errors import HarnessError

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = ROOT / "scenarios"
ACTORS = SCENARIOS / "actors"
CHAINS = ROOT / "tests" / "data" / "theater-chains"
CLI_TIMEOUT_S = 60  # a command that has not ended by then hangs

STATS: dict[str, Counter] = defaultdict(Counter)


def fuzz_settings(default_examples: int) -> settings:
    """A target's settings: ``default_examples`` (or ``$THEATER_FUZZ_EXAMPLES``), no deadline
    (a run of real wasm is slow for Hypothesis's taste), no health check about slow data."""
    env = os.environ.get("THEATER_FUZZ_EXAMPLES", "").strip()
    return settings(max_examples=int(env) if env else default_examples, deadline=None,
                    suppress_health_check=list(HealthCheck))


def _dump_stats() -> None:
    path = os.environ.get("THEATER_FUZZ_STATS")
    if path and STATS:
        with open(path, "a", encoding="utf-8") as out:
            out.write(json.dumps({"pid": os.getpid(), "stats": {k: dict(v) for k, v in STATS.items()}}) + "\n")


atexit.register(_dump_stats)


# --- the documents to start from -------------------------------------------------------------

def strings_of(doc: Any) -> list[str]:
    """Every string and key in ``doc``: what a mutation swaps a value for (kinds, names, ...)."""
    found: set[str] = set()
    stack = [doc]
    while stack:
        value = stack.pop()
        if isinstance(value, str):
            found.add(value)
        elif isinstance(value, dict):
            found.update(k for k in value if isinstance(k, str))
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
    return sorted(found)


# --- values that break things ------------------------------------------------------------------

INTS = [0, -1, 1, 7, 999, 1000, 2**31 - 1, 2**32, 2**53 + 1, 2**63 - 1, 2**63, 2**64 - 1, 2**64, -(2**63),
        -(2**63) - 1, 10**30, 10**4000]
FLOATS = [0.0, -0.0, 0.5, 1.5, 1e308, 5e-324, math.nan, math.inf, -math.inf]
STRINGS = ["", " ", "\0", "a\0b", "x" * 5000, "\u00e9t\u00e9", "\u2028", "\n", '"', "\\", "${nope}", "${a}",
           "examples:", "examples:counter.toml", "examples:nope.toml", "/", "..", ".", "/dev/null", "actors",
           "actors/counter.toml", "actors/missing.toml", "trap", "all", "one_for_one", "permanent", "{", "[1,"]


def _deep(depth: int, leaf: Any = 1, table: bool = False) -> Any:
    value = leaf
    for _ in range(depth):
        value = {"a": value} if table else [value]
    return value


def odd_values(corpus: list[str], *, toml: bool) -> st.SearchStrategy[Any]:
    """A value of any type, mostly boundary and broken ones; strings also from ``corpus``."""
    scalars = [st.sampled_from(INTS), st.integers(), st.sampled_from(FLOATS), st.floats(allow_nan=True),
               st.booleans(), st.sampled_from(STRINGS), st.text(max_size=20)]
    if corpus:
        scalars.append(st.sampled_from(corpus))
    if toml:
        scalars.append(st.sampled_from([datetime.date(1979, 5, 27), datetime.datetime(1979, 5, 27, 7, 32),
                                        datetime.time(7, 32)]))
    else:
        scalars.append(st.none())
        scalars.append(st.sampled_from(["\ud800", "a\udfffb"]))  # lone surrogates: JSON can write them
    scalar = st.one_of(*scalars)
    deep = st.builds(_deep, st.sampled_from([2, 64, 127, 128, 129, 200]), scalar, st.booleans())
    nested = st.recursive(scalar, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                          st.dictionaries(st.sampled_from(corpus or ["k"]), inner,
                                                                          max_size=3)), max_leaves=6)
    return st.one_of(scalar, scalar, nested, deep, st.just([]), st.just({}))


# --- structural mutations ----------------------------------------------------------------------

def _slots(doc: Any) -> list[tuple[Any, Any]]:
    """(container, key or index) of every value below the root, in a stable order."""
    out, stack = [], [doc]
    while stack:
        value = stack.pop()
        items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
        for key, item in items:
            out.append((value, key))
            if isinstance(item, (dict, list)):
                stack.append(item)
    return out


def _copy(doc: Any) -> Any:
    if isinstance(doc, dict):
        return {k: _copy(v) for k, v in doc.items()}
    if isinstance(doc, list):
        return [_copy(v) for v in doc]
    return doc


@st.composite
def mutated(draw: Callable, seed: Any, *, toml: bool, corpus: list[str] | None = None, max_ops: int = 3) -> Any:
    """``seed`` (a parsed document) after one to ``max_ops`` structural mutations."""
    doc = _copy(seed)
    corpus = corpus if corpus is not None else strings_of(seed)
    values = odd_values(corpus, toml=toml)
    for _ in range(draw(st.integers(1, max_ops))):
        slots = _slots(doc)
        op = draw(st.sampled_from(["replace", "replace", "replace", "drop", "duplicate", "rename", "add", "wrap",
                                   "copy-from"]))
        if not slots or op == "add":
            target = doc if not slots else draw(st.sampled_from([c for c, _ in slots if isinstance(c, dict)] or [doc]))
            if isinstance(target, dict):
                target[draw(st.sampled_from(corpus or ["extra"]) | st.text(max_size=8))] = draw(values)
            continue
        container, key = slots[draw(st.integers(0, len(slots) - 1))]
        if op == "replace":
            container[key] = draw(values)
        elif op == "drop":
            del container[key]
        elif op == "duplicate":
            if isinstance(container, list):
                container.insert(key, _copy(container[key]))
            else:
                container[draw(st.sampled_from(corpus or ["dup"]))] = _copy(container[key])
        elif op == "rename" and isinstance(container, dict):
            container[draw(st.sampled_from(corpus or ["renamed"]))] = container.pop(key)
        elif op == "wrap":
            container[key] = _deep(draw(st.sampled_from([1, 2, 127, 128, 129])), container[key],
                                   draw(st.booleans()))
        elif op == "copy-from":
            other_container, other_key = slots[draw(st.integers(0, len(slots) - 1))]
            container[key] = _copy(other_container[other_key])
    return doc


def to_toml(doc: Any) -> str | None:
    """The document as TOML, or None when TOML cannot hold it (a null, a non-table root)."""
    if not isinstance(doc, dict):
        return None
    try:
        return tomli_w.dumps(doc)
    except (TypeError, ValueError, RecursionError):
        return None


def to_json(doc: Any) -> str:
    try:
        return json.dumps(doc, default=str)  # NaN and Infinity are written as such: JSON has neither
    except (TypeError, ValueError, RecursionError):
        return json.dumps(str(doc)[:200])


# --- byte-level mutations ----------------------------------------------------------------------

INSERTS = [b"\0", b"\xff\xfe", b"\xc3", b"[[[[", b"[" * 100_000, b"{" * 5000, b'"', b"\n[[actor]]\n",
           b"\n[runtime]\nfuel = 0\n", b" = ", b"9" * 5000, b"nan", b"\n\n", b"\\u0000", b'"\\ud800"',
           b"\r\n", b"\t", b"#", b"\xef\xbb\xbf"]


@st.composite
def mangled(draw: Callable, text: str) -> bytes:
    """``text`` as UTF-8, and sometimes broken at the byte level."""
    data = text.encode("utf-8", "surrogatepass")
    op = draw(st.sampled_from(["none", "none", "none", "truncate", "insert", "utf16", "latin1", "dup-line",
                               "drop-line", "bom"]))
    if op == "truncate" and data:
        data = data[:draw(st.integers(0, len(data) - 1))]
    elif op == "insert":
        at = draw(st.integers(0, len(data)))
        data = data[:at] + draw(st.sampled_from(INSERTS)) + data[at:]
    elif op == "utf16":
        data = text.encode("utf-16", "surrogatepass")
    elif op == "latin1":
        data = text.encode("latin-1", "replace") + b"\xe9"
    elif op in ("dup-line", "drop-line"):
        lines = data.split(b"\n")
        i = draw(st.integers(0, len(lines) - 1))
        lines[i:i + 1] = [lines[i], lines[i]] if op == "dup-line" else []
        data = b"\n".join(lines)
    elif op == "bom":
        data = b"\xef\xbb\xbf" + data
    return data


@st.composite
def mutated_file(draw: Callable, seeds: list[Any], *, toml: bool, corpus: list[str] | None = None) -> bytes:
    """The bytes of a mutated copy of one of ``seeds`` (documents), as TOML or JSON."""
    seed = draw(st.sampled_from(seeds))
    doc = draw(mutated(seed, toml=toml, corpus=corpus)) if draw(st.integers(0, 9)) else seed
    text = to_toml(doc) if toml else to_json(doc)
    if text is None:
        text = to_toml(seed) or ""
    return draw(mangled(text))


# --- the property ------------------------------------------------------------------------------

def expect_loads_or_names(target: str, call: Callable[[], Any], *names: str) -> str:
    """Run a loader: it returns, or raises a HarnessError whose message names one of
    ``names`` (the file). Anything else propagates (Hypothesis shrinks and reports it)."""
    try:
        call()
    except HarnessError as exc:
        message = str(exc)
        assert any(name in message for name in names), f"the error does not name {names}: {message}"
        STATS[target]["error"] += 1
        return "error"
    STATS[target]["ok"] += 1
    return "ok"


class Hang(BaseException):
    """The guard's alarm: a command that did not end in time (not an Exception, so that no
    handler of the command swallows it)."""


@contextlib.contextmanager
def guard(seconds: float):
    """Raise Hang in the main thread if the block runs longer than ``seconds`` (wall time)."""
    def alarm(signum: int, frame: Any) -> None:
        raise Hang(f"still running after {seconds} s")

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def run_cli(target: str, argv: list[str], *, timeout: float = CLI_TIMEOUT_S) -> tuple[int, str, str]:
    """``theater-harness argv`` in this process, under the guard; checks the property and
    returns (status, stdout, stderr)."""
    from theater_harness.cli import main

    out, err = io.StringIO(), io.StringIO()
    started = time.monotonic()
    with guard(timeout), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            status = main(argv)
        except SystemExit as exc:  # argparse: a bad option
            status = exc.code
    elapsed = time.monotonic() - started
    text = err.getvalue()
    assert status in (0, 1, 2), f"exit {status} for {argv!r}:\n{text[-2000:]}"
    assert "Traceback" not in text + out.getvalue(), f"a traceback for {argv!r}:\n{text[-2000:]}"
    if status == 2:
        assert text.startswith("error: ") or "usage: " in text, f"exit 2 without a message for {argv!r}: {text!r}"
    STATS[target][f"exit {status}"] += 1
    STATS[target]["max seconds"] = max(STATS[target]["max seconds"], math.ceil(elapsed))
    return status, out.getvalue(), text
