"""Same seed and inputs, byte-identical trace: in one process, across processes, across
string-hash seeds."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from conftest import ROOT, manifest
from theater_harness import Runtime


def workload(seed: int) -> Runtime:
    """A run touching every source of nondeterminism the runtime must control: ids, the
    random imports, timers, requests, failures, and several actors at the same instant."""
    rt = Runtime(seed=seed)
    echo = rt.spawn(manifest("echo"))
    pinger = rt.spawn(manifest("pinger"), init_state={"target": echo})
    sleepers = [rt.spawn(manifest("sleeper"), name=f"sleeper{i}") for i in range(3)]
    user = rt.spawn(manifest("random_user"))
    crasher = rt.spawn(manifest("crasher"), init_state={"fail_at": 3, "mode": "trap"})
    for i, sleeper in enumerate(sleepers):
        rt.send(sleeper, f"sleep:{100 * (3 - i)}")
    for t in range(5):
        rt.send(pinger, f"request:r{t}", delay_ms=t * 10)
        rt.send(crasher, f"m{t}", delay_ms=t * 10)
        rt.request(user, "uuid", delay_ms=t)
        rt.request(user, "bytes:16", delay_ms=t)
    rt.run_until_idle()
    return rt


def test_the_same_seed_gives_byte_identical_traces():
    first, second = workload(11).trace.to_json(), workload(11).trace.to_json()
    assert first == second
    records = json.loads(first)["records"]
    assert len(records) > 100
    assert {"spawn", "exit", "request", "reply", "event", "log"} <= {r["kind"] for r in records}


def test_a_different_seed_gives_a_different_trace():
    assert workload(11).trace.hash() != workload(12).trace.hash()


def test_the_trace_hash_does_not_depend_on_the_process_or_its_string_hash_seed():
    expected = workload(11).trace.hash()
    script = "import sys; sys.path[:0] = sys.argv[1:3]; from test_determinism import workload; " \
             "print(workload(11).trace.hash())"
    for hash_seed in ("0", "12345"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        out = subprocess.run([sys.executable, "-c", script, str(ROOT), str(ROOT / "tests")],
                             env=env, capture_output=True, text=True, check=True)
        assert out.stdout.strip() == expected


def test_the_trace_json_is_canonical():
    rt = workload(11)
    text = rt.trace.to_json()
    assert text == json.dumps(json.loads(text), sort_keys=True, separators=(",", ":"))
    assert text.isascii()
    assert json.loads(text)["seed"] == 11


def test_every_actor_chain_in_a_run_verifies():
    from theater_harness import verify_chain

    rt = workload(11)
    for view in rt.actors:
        assert verify_chain(view.chain) is None, view.name


def test_no_record_field_shadows_the_record_keys():
    from theater_harness.faults import FaultSchedule, fault

    rt = workload(11)
    rt.inject(FaultSchedule([fault("trap", "echo", at_ms=rt.now)]))
    rt.send("echo", "x")
    rt.run_until_idle()
    for record in rt.trace:
        assert not set(record.fields) & {"seq", "t", "kind", "actor"}, record
