"""Fuzzing every verb of the command with mutated files and arguments, in this process under
a wall-clock guard: each exits 0, 1 or 2, with a message and no traceback, in time (see
fuzzing.py). Runs are bounded the way a user would bound them: at most 10^8 fuel and 64 MiB
per actor, two explored schedules; the schema's own bounds are the loader fuzzers' job."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fuzzing import ACTORS, CHAINS, INTS, SCENARIOS, STRINGS, fuzz_settings, mutated_file, run_cli, strings_of
from theater_harness import Runtime
from theater_harness.scenario import load_scenario, run_scenario

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

MAX_FUEL, MAX_MEMORY = 10**8, 64 << 20
RUN_SEEDS = [doc for doc in (tomllib.loads(p.read_text()) for p in sorted(SCENARIOS.glob("*.scenario.toml")))
             if "explore" not in doc]  # [explore] drives Hypothesis itself: the loader fuzzer covers it
MANIFEST_SEEDS = [tomllib.loads(p.read_text()) for p in sorted(ACTORS.glob("*.toml"))]


def _bounded(seed=None, **options):
    """A Runtime whose budgets a fuzzed file cannot make endless (a hang fault with 2**62
    fuel is valid input: it would spin for years)."""
    options["fuel"] = min(options.get("fuel", 10_000_000), MAX_FUEL)
    options["memory"] = min(options.get("memory") or MAX_MEMORY, MAX_MEMORY)
    return Runtime(seed, **options)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    work = tmp_path_factory.mktemp("fuzz-cli")
    (work / "actors").symlink_to(ACTORS)
    (work / "supervisors").symlink_to(SCENARIOS / "supervisors")
    return work


@pytest.fixture(scope="module")
def saved_traces(workdir) -> list[dict]:
    out = []
    for name in ("link-faults", "one-for-one", "counter"):
        result = run_scenario(load_scenario(SCENARIOS / f"{name}.scenario.toml"))
        out.append(json.loads(result.runtime.trace.to_json()))
    return out


@pytest.fixture(scope="module")
def bounded_runs():
    with pytest.MonkeyPatch.context() as patch:
        import theater_harness.cli
        import theater_harness.scenario.run

        patch.setattr(theater_harness.scenario.run, "Runtime", _bounded)
        patch.setattr(theater_harness.cli, "Runtime", _bounded)
        yield


@fuzz_settings(150)
@given(data=st.data())
def test_fuzz_run(workdir, bounded_runs, data):
    if data.draw(st.integers(0, 3)):
        path = workdir / "fuzzed.scenario.toml"
        path.write_bytes(data.draw(mutated_file(RUN_SEEDS, toml=True)))
    else:
        path = workdir / "fuzzed-actor.toml"
        text = data.draw(mutated_file(MANIFEST_SEEDS, toml=True))
        path.write_bytes(text.replace(b'"', b'"' + str(ACTORS).encode() + b"/", 0))
    status, _, err = run_cli("run", ["run", str(path), "--examples", "2"])
    assert status != 2 or str(path) in err or "usage: " in err, err


@fuzz_settings(100)
@given(data=st.data())
def test_fuzz_replay(workdir, saved_traces, bounded_runs, data):
    path = workdir / "fuzzed-replay.trace.json"
    path.write_bytes(data.draw(mutated_file(saved_traces, toml=False)))
    status, _, err = run_cli("replay", ["replay", str(path)])
    assert status != 2 or str(path) in err or "scenario" in err, err


@fuzz_settings(250)
@given(data=st.data())
def test_fuzz_show(workdir, saved_traces, data):
    path = workdir / "fuzzed-show.trace.json"
    corpus = sorted(set().union(*(strings_of(t["records"][:60]) for t in saved_traces)))
    path.write_bytes(data.draw(mutated_file(saved_traces, toml=False, corpus=corpus)))
    argv = ["show", str(path), "--html", str(workdir / "fuzzed.html")]
    if data.draw(st.booleans()):
        argv += ["--around", str(data.draw(st.sampled_from(INTS))), "--window", str(data.draw(st.sampled_from(INTS)))]
    status, _, err = run_cli("show", argv)
    assert status != 2 or str(path) in err or "usage: " in err, err


@fuzz_settings(300)
@given(data=st.data())
def test_fuzz_verify_chain(workdir, data):
    path = workdir / "fuzzed-chain.json"
    seeds = [json.loads(p.read_text()) for p in sorted(CHAINS.glob("*.json"))]
    path.write_bytes(data.draw(mutated_file(seeds, toml=False)))
    status, _, err = run_cli("verify-chain", ["verify-chain", str(path)])
    assert status != 2 or str(path) in err, err


SIZES = ["0", "1", "512M", "1.5G", "64KiB", "-1", "abc", "", " ", "1e400", "9" * 400, "9" * 5000, "\0", "1T",
         "18446744073709551616", "0.5", "nan", "inf", "5 M"]


@fuzz_settings(150)
@given(data=st.data())
def test_fuzz_cache_verbs(tmp_path_factory, data):
    """``cache info`` and ``cache prune`` over a cache folder of odd files, with odd settings;
    always in a folder of its own, never the user's cache."""
    base = tmp_path_factory.mktemp("cache")
    folder = base / data.draw(st.sampled_from(["components", "missing/deeper", "a-file"]))
    if folder.name != "deeper":
        folder.parent.mkdir(parents=True, exist_ok=True)
        if folder.name == "a-file":
            folder.write_bytes(b"not a folder")
        else:
            folder.mkdir()
            for name in data.draw(st.lists(st.sampled_from(
                    ["a" * 64 + "-" + "b" * 16 + ".cwasm", "x.cwasm", ".cwasm", "compile-a.lock", "evict.lock",
                     "junk.tmp", "a" * 64 + "-" + "b" * 16 + ".lock", "dir.cwasm", "ünï.cwasm"]), max_size=6)):
                if name == "dir.cwasm":
                    (folder / name).mkdir(exist_ok=True)
                else:
                    (folder / name).write_bytes(b"\0" * data.draw(st.integers(0, 4096)))
    directory = str(folder) + data.draw(st.sampled_from(["", "", "", "/", "/.."]))  # (no NUL: the OS refuses one)
    cap = data.draw(st.sampled_from([None, *SIZES]))
    argv = data.draw(st.sampled_from([["cache", "info"], ["cache", "prune"], ["cache", "prune", "--all"]])) + (
        ["--max-bytes", data.draw(st.sampled_from(SIZES))] if data.draw(st.booleans()) else [])
    if argv[2:3] == ["--all"] and "--max-bytes" in argv:
        argv.remove("--all")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("THEATER_HARNESS_CACHE", directory)
        if cap is None:
            patch.delenv("THEATER_HARNESS_CACHE_MAX", raising=False)
        else:
            patch.setenv("THEATER_HARNESS_CACHE_MAX", cap.replace("\0", ""))
        run_cli("cache", argv)


VERBS = {
    "run": [["run"], ["run", str(SCENARIOS / "counter.scenario.toml")]],
    "replay": [["replay"], ["replay", "--scenario", str(SCENARIOS / "counter.scenario.toml")]],
    "show": [["show"]],
    "verify-chain": [["verify-chain"], ["verify-chain", str(CHAINS / "runtime-test-chain.json")]],
    "cache": [["cache"], ["cache", "info"], ["cache", "prune"]],
}
OPTIONS = ["--seed", "--examples", "--trace-out", "--schedule", "--scenario", "--around", "--window", "--html",
           "--max-bytes", "--coverage", "--all", "--help", "-h", "--nope"]


@fuzz_settings(300)
@given(data=st.data())
def test_fuzz_arguments(workdir, bounded_runs, data):
    """Odd arguments: numbers out of range, paths with NUL bytes, missing files, folders
    where a file is expected, files that cannot be written."""
    verb = data.draw(st.sampled_from(sorted(VERBS)))
    argv = list(data.draw(st.sampled_from(VERBS[verb])))
    values = st.sampled_from([str(i) for i in INTS] + STRINGS + [str(workdir), str(workdir / "nope" / "x.json"),
                                                                 "/proc/version", "/dev/null", str(CHAINS)])
    for _ in range(data.draw(st.integers(0, 3))):
        argv.append(data.draw(st.sampled_from(OPTIONS)))
        if data.draw(st.booleans()):
            argv.append(data.draw(values))
    if "--trace-out" in argv or "--html" in argv:  # keep written files inside the fuzzing folder
        argv = [a if not a.startswith("/") or a.startswith(str(workdir)) or a in ("/proc/version", "/dev/null")
                else str(workdir / "out") for a in argv]
        argv = [str(workdir / "out.json") if a in ("/proc/version", "/dev/null") and i and argv[i - 1] in
                ("--trace-out", "--html") else a for i, a in enumerate(argv)]
    old = os.getcwd()
    os.chdir(workdir)  # relative outputs land here
    try:
        run_cli("arguments", argv)
    finally:
        os.chdir(old)
