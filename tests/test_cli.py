"""The theater-harness command: run, verify-chain, and their exit statuses."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from conftest import ACTORS, CHAINS, ROOT, SCENARIOS, manifest
from theater_harness.cli import main


def run(capsys, *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    out = capsys.readouterr()
    return status, out.out, out.err


def test_run_the_bundled_scenarios_succeeds(capsys):
    status, out, _ = run(capsys, "run", str(SCENARIOS))
    assert status == 0
    count = len(list(SCENARIOS.glob("*.scenario.toml")))
    assert out.strip().endswith(f"{count} of {count} scenarios ok")
    assert "== counter keeps count" in out


def test_run_a_manifest_prints_the_actor_and_its_chain_summary(capsys):
    status, out, _ = run(capsys, "run", str(manifest("echo")), "--seed", "3")
    assert status == 0
    assert out.startswith(f"== manifest {manifest('echo')} (seed 3)")
    assert "echo" in out and "running" in out and out.rstrip().endswith("ok")


def test_a_manifest_whose_actor_fails_exits_1(capsys, tmp_path):
    text = manifest("crasher").read_text().replace('component = "crasher.wasm"',
                                                  f'component = "{ACTORS / "crasher.wasm"}"')
    path = tmp_path / "crasher.toml"
    path.write_text("init_state = '{\"fail_init\":\"trap\"}'\n" + text)
    status, out, _ = run(capsys, "run", str(path))
    assert status == 1
    assert "FAILED: crasher failed: trap in theater:simple/actor.init" in out


def _scenario(tmp_path, body: str):
    (tmp_path / "actors").symlink_to(ACTORS)
    path = tmp_path / "x.scenario.toml"
    path.write_text(body)
    return path


def test_an_unexpected_failure_in_a_scenario_exits_1_and_says_why(capsys, tmp_path):
    path = _scenario(tmp_path, '''
[[actor]]
name = "c"
manifest = "actors/crasher.toml"

[[message]]
at = 5
to = "c"
send = "err"
''')
    status, out, _ = run(capsys, "run", str(path))
    assert status == 1
    assert "FAILED: actor c: expected running, but it is failed (err in " in out
    assert out.rstrip().endswith("0 of 1 scenarios ok: failed x")


def test_a_wrong_reply_fails_the_scenario(capsys, tmp_path):
    path = _scenario(tmp_path, '''
[[actor]]
name = "c"
manifest = "actors/counter.toml"

[[message]]
at = 1
to = "c"
request = "get"
expect_reply = "99"
''')
    status, out, _ = run(capsys, "run", str(path))
    assert status == 1
    assert "FAILED: message[0] (request 'get' to c at 1 ms): expected reply b'99', got b'0'" in out


@pytest.mark.parametrize("body, message", [
    ('[[actor]]\nname = "a"\n', "x.scenario.toml: field 'actor[0]': give either manifest = \"...\" or "
                                  "supervision = { strategy = ... }"),
    ('[[actor]]\nname = "a"\nmanifest = "actors/counter.toml"\nexpect = "happy"\n',
     "field 'actor[0].expect': 'happy' is not one of running, failed, stopped, any"),
    ('[[actor]]\nname = "a"\nmanifest = "actors/counter.toml"\n[[message]]\nat = 1\nto = "b"\nsend = "x"\n',
     "field 'message[0].to': 'b' is not an actor of this scenario (a)"),
    ('[[actor]]\nname = "a"\nmanifest = "actors/counter.toml"\n[[message]]\nat = -1\nto = "a"\nsend = "x"\n',
     "field 'message[0].at': expected an integer >= 0, got -1"),
    ('[[actor]]\nname = "a"\nmanifest = "actors/counter.toml"\ncolour = "red"\n',
     "field 'actor[0].colour': unknown key 'colour'; known keys: name, manifest, supervision, init_state, parent, "
     "expect, expect_exit, expect_incarnation, restart, recovery"),
    ('name = "no actors"\n', "field 'actor': a scenario needs at least one [[actor]]"),
    ('[[actor]]\nname = "a"\nmanifest = "actors/missing.toml"\n', "missing.toml: manifest file not found"),
    ('[[actor]]\nname = "a"\nmanifest = "actors/counter.toml"\ninit_state = { peer = "${b}" }\n',
     "field 'actor[0].init_state.peer': ${b} names no actor spawned before this point"),
    ("[[actor]\n", "x.scenario.toml: not valid TOML"),
    ('explore = "many"\n[[actor]]\nname = "a"\nmanifest = "actors/counter.toml"\n',
     "field 'explore': expected a number of schedules (explore = 50) or a table: examples, max_faults, kinds"),
])
def test_bad_scenarios_exit_2_naming_file_table_and_key(capsys, tmp_path, body, message):
    path = _scenario(tmp_path, body)
    status, out, err = run(capsys, "run", str(path))
    assert status == 2
    assert err.startswith("error: ") and message in err


def test_a_missing_path_exits_2(capsys, tmp_path):
    status, _, err = run(capsys, "run", str(tmp_path / "nothing"))
    assert status == 2 and "no such file or folder" in err


def test_trace_out_writes_the_canonical_trace(capsys, tmp_path):
    out = tmp_path / "trace.json"
    status, _, _ = run(capsys, "run", str(SCENARIOS / "counter.scenario.toml"), "--seed", "5", "--trace-out", str(out))
    assert status == 0
    trace = json.loads(out.read_text())
    assert trace["seed"] == 5 and trace["scenario"] == "counter keeps count"
    assert trace["records"][0]["kind"] == "spawn"


def test_trace_out_for_a_folder_writes_one_file_per_scenario(capsys, tmp_path):
    status, _, _ = run(capsys, "run", str(SCENARIOS), "--trace-out", str(tmp_path / "traces"))
    assert status == 0
    names = sorted(p.name for p in (tmp_path / "traces").iterdir())
    assert names == sorted(p.name.replace(".scenario.toml", ".trace.json")
                           for p in SCENARIOS.glob("*.scenario.toml"))
    assert "counter.trace.json" in names


def test_verify_chain_accepts_every_real_theater_chain(capsys):
    for path in sorted(CHAINS.glob("*.json")):
        status, out, _ = run(capsys, "verify-chain", str(path))
        assert status == 0, path
        assert out.startswith("valid: ")


def test_verify_chain_names_the_first_bad_event(capsys, tmp_path):
    events = json.loads((CHAINS / "wasi-random-test-chain.json").read_text())
    events[3]["data"][0] ^= 1
    path = tmp_path / "tampered.json"
    path.write_text(json.dumps(events))
    status, out, _ = run(capsys, "verify-chain", str(path))
    assert status == 1
    assert out.strip() == "invalid: event 3 (wasi:random/random@0.2.3/get-random-u64): its hash does not match its content"


def test_verify_chain_on_a_broken_file_exits_2(capsys, tmp_path):
    path = tmp_path / "x.json"
    path.write_text("{not json")
    status, _, err = run(capsys, "verify-chain", str(path))
    assert status == 2 and "not valid JSON" in err


def test_the_module_runs_as_a_command():
    out = subprocess.run([sys.executable, "-m", "theater_harness", "verify-chain",
                          str(CHAINS / "runtime-test-chain.json")], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0 and out.stdout.startswith("valid: 6 events")


@pytest.fixture
def saved_trace(capsys, tmp_path):
    path = tmp_path / "link-faults.trace.json"
    status, _, _ = run(capsys, "run", str(SCENARIOS / "link-faults.scenario.toml"), "--trace-out", str(path))
    assert status == 0
    return path


def test_a_saved_trace_replays_identically(capsys, saved_trace):
    saved = json.loads(saved_trace.read_text())
    assert [f["kind"] for f in saved["faults"]] == ["drop", "delay", "duplicate", "reorder"]
    status, out, _ = run(capsys, "replay", str(saved_trace))
    assert status == 0
    assert out.startswith(f"== replay of {SCENARIOS / 'link-faults.scenario.toml'} (seed 0, 4 faults)")
    assert out.rstrip().endswith(f"identical: the replay gave the saved trace ({len(saved['records'])} records)")


def test_a_replay_names_the_first_record_that_differs(capsys, saved_trace, tmp_path):
    saved = json.loads(saved_trace.read_text())
    saved["records"][7]["t"] += 1
    tampered = tmp_path / "tampered.json"
    tampered.write_text(json.dumps(saved))
    status, out, _ = run(capsys, "replay", str(tampered))
    assert status == 1
    assert out.rstrip().endswith("differs: the replay's trace departs from the saved one at record 7")


def test_replay_with_another_schedule_differs_from_the_saved_run(capsys, saved_trace, tmp_path):
    schedule = tmp_path / "none.toml"
    schedule.write_text("")
    status, out, _ = run(capsys, "replay", str(saved_trace), "--schedule", str(schedule))
    assert status == 1 and "(seed 0, 0 faults)" in out and "differs: " in out


def test_replay_from_a_scenario_seed_and_json_schedule(capsys, tmp_path):
    schedule = tmp_path / "s.json"
    schedule.write_text(json.dumps({"fault": [{"kind": "trap", "target": "counter", "on_call": 1}]}))
    out_trace = tmp_path / "replayed.json"
    status, out, _ = run(capsys, "replay", "--scenario", str(SCENARIOS / "counter.scenario.toml"),
                         "--seed", "9", "--schedule", str(schedule), "--trace-out", str(out_trace))
    assert out.startswith(f"== replay of {SCENARIOS / 'counter.scenario.toml'} (seed 9, 1 faults)")
    trace = json.loads(out_trace.read_text())
    assert trace["seed"] == 9 and trace["faults"] == [{"kind": "trap", "on_call": 1, "target": "counter"}]
    assert any(r["kind"] == "fault" for r in trace["records"])
    assert status in (0, 1)  # the verdict is the scenario's; what matters is that the schedule was applied


@pytest.mark.parametrize("argv, message", [
    (["replay"], "replay needs a saved trace, or --scenario FILE and --seed N"),
    (["replay", "missing.json"], "missing.json: trace file not found"),
    (["show", "missing.json"], "missing.json: trace file not found"),
    (["replay", "--scenario", "s.scenario.toml", "--seed", "1", "--schedule", "missing.toml"],
     "missing.toml: fault schedule file not found"),
])
def test_replay_and_show_refuse_bad_arguments_with_exit_2(capsys, argv, message):
    status, _, err = run(capsys, *argv)
    assert status == 2 and message in err


def test_a_schedule_file_with_an_unknown_key_is_refused(capsys, saved_trace, tmp_path):
    schedule = tmp_path / "s.json"
    schedule.write_text(json.dumps({"faults": [{"kind": "trap", "target": "counter", "on_call": 1}]}))
    status, _, err = run(capsys, "replay", str(saved_trace), "--schedule", str(schedule))
    assert status == 2
    assert f"{schedule}: field 'faults': unknown key 'faults'; a fault schedule holds only 'fault'" in err


def test_a_saved_trace_serves_as_a_schedule_file(capsys, saved_trace):
    status, out, _ = run(capsys, "replay", str(saved_trace), "--schedule", str(saved_trace))
    assert status == 0 and "(seed 0, 4 faults)" in out and "identical: " in out


def test_show_refuses_a_json_file_that_is_not_a_trace(capsys, tmp_path):
    path = tmp_path / "chain.json"
    path.write_text((CHAINS / "runtime-test-chain.json").read_text())
    status, _, err = run(capsys, "show", str(path))
    assert status == 2 and f"{path}: not a theater-harness trace (no 'records')" in err


def test_show_prints_the_tree_and_the_timeline_around_a_time(capsys, saved_trace):
    status, out, _ = run(capsys, "show", str(saved_trace), "--around", "2000", "--window", "6")
    assert status == 0
    lines = out.splitlines()
    assert lines[0] == "== link faults: drop, delay, duplicate, reorder (seed 0)"
    assert lines[1].split()[:3] == ["echo", "413b28dc", "running"]
    assert lines[2].split()[:3] == ["pinger", "ea35cf97", "running"]
    timeline = [line for line in lines if " ms  " in line]
    assert len(timeline) == 6
    assert any("request-failed" in line and line.lstrip().startswith("2000 ms") for line in timeline)


def test_show_html_writes_a_self_contained_page(capsys, saved_trace, tmp_path):
    page = tmp_path / "trace.html"
    status, out, _ = run(capsys, "show", str(saved_trace), "--html", str(page))
    assert status == 0 and out.rstrip().endswith(f"wrote {page}")
    html = page.read_text()
    assert html.startswith("<!DOCTYPE html>") and 'data-actor-id="413b28dc' in html
    assert "<script src=" not in html and "<link " not in html  # nothing fetched from elsewhere


def test_an_explore_scenario_reports_its_runs_and_the_fault_space(capsys):
    status, out, _ = run(capsys, "run", str(SCENARIOS / "explore.scenario.toml"), "--examples", "5", "--coverage")
    assert status == 0
    row = next(line for line in out.splitlines() if line.startswith("explored: "))
    assert row.split()[-5:-3] == ["0", "5"]  # seed 0, 5 runs
    assert " of 576 cells (strategy x restart type x kind x phase) exercised over 5 runs" in out


def test_an_xfail_scenario_that_fails_is_ok_and_says_why(capsys):
    status, out, _ = run(capsys, "run", str(SCENARIOS / "broken-supervisor.scenario.toml"))
    assert status == 0
    assert "  XFAIL (sup_wrong is a mutant: it restarts the wrong sibling)" in out
    assert out.rstrip().endswith("1 of 1 scenarios ok")


def test_an_xfail_scenario_that_passes_fails_the_run(capsys, tmp_path):
    path = tmp_path / "x.scenario.toml"
    path.write_text((SCENARIOS / "counter.scenario.toml").read_text()
                    .replace('name = "counter keeps count"', 'name = "counter keeps count"\nxfail = "should fail"')
                    .replace('"actors/counter.toml"', f'"{manifest("counter")}"'))
    status, out, _ = run(capsys, "run", str(path))
    assert status == 1 and "  XPASS (should fail)" in out
    assert out.rstrip().endswith("0 of 1 scenarios ok: failed counter keeps count")


def test_explore_as_a_number_is_that_many_schedules(tmp_path):
    from theater_harness.scenario import load_scenario

    path = _scenario(tmp_path, 'explore = 7\n[[actor]]\nname = "a"\nmanifest = "actors/counter.toml"\n')
    explore = load_scenario(path).explore
    assert (explore.examples, explore.max_faults, explore.kinds) == (7, 3, None)


def _counts_line(out: str) -> str:
    return next(line.strip() for line in out.splitlines() if line.strip().startswith("messages: "))


def test_the_counts_keep_sends_and_requests_apart_and_count_a_duplicate_once(capsys, tmp_path):
    """Three sends from outside and two from the pinger (one duplicated, one dropped), two
    requests (the pinger's to echo, and one from outside): a request is not a delivered
    send, and a message delivered twice is one message."""
    path = _scenario(tmp_path, '''
end_ms = 3000

[[actor]]
name = "echo"
manifest = "actors/echo.toml"

[[actor]]
name = "pinger"
manifest = "actors/pinger.toml"
init_state = { target = "${echo}" }

[[message]]
at = 10
to = "pinger"
send = "send:one"

[[message]]
at = 20
to = "pinger"
send = "send:two"

[[message]]
at = 30
to = "pinger"
send = "request:three"

[[message]]
at = 40
to = "pinger"
request = "stats"

[[fault]]
kind = "duplicate"
link = ["pinger", "echo"]
on_message = 1

[[fault]]
kind = "drop"
link = ["pinger", "echo"]
on_message = 2
''')
    status, out, _ = run(capsys, "run", str(path))
    assert status == 0
    assert _counts_line(out) == ("messages: 5 sent, 4 delivered (1 of them twice), 1 dropped; "
                                 "requests: 2 made, 2 answered, 0 failed")


def test_the_counts_show_what_was_still_under_way_when_the_run_ended(capsys, tmp_path):
    """A send delayed past the end is in flight; a request its recipient holds is pending."""
    path = _scenario(tmp_path, '''
end_ms = 1000

[runtime]
request_timeout_ms = 5000

[[actor]]
name = "echo"
manifest = "actors/echo.toml"

[[actor]]
name = "keeper"
manifest = "actors/keeper.toml"

[[actor]]
name = "pinger"
manifest = "actors/pinger.toml"
init_state = { target = "${echo}" }

[[message]]
at = 10
to = "pinger"
send = "send:late"

[[message]]
at = 20
to = "pinger"
send = "target:${keeper}"

[[message]]
at = 30
to = "pinger"
send = "request:hold"

[[fault]]
kind = "delay"
link = ["pinger", "echo"]
on_message = 1
delay_ms = 5000
''')
    status, out, _ = run(capsys, "run", str(path))
    assert status == 0
    assert _counts_line(out) == ("messages: 4 sent, 3 delivered, 0 dropped, 1 in flight; "
                                 "requests: 1 made, 0 answered, 0 failed, 1 pending")


def test_the_counts_of_the_link_faults_scenario_put_its_dropped_request_among_the_failed(capsys):
    status, out, _ = run(capsys, "run", str(SCENARIOS / "link-faults.scenario.toml"))
    assert status == 0
    assert _counts_line(out) == ("messages: 11 sent, 11 delivered (1 of them twice), 0 dropped; "
                                 "requests: 2 made, 1 answered, 1 failed (1 of them dropped)")


def test_the_counts_of_a_run_with_a_channel_add_its_messages_apart(capsys, tmp_path):
    """The pinger opens a channel to echo and sends on it; echo echoes it back."""
    path = _scenario(tmp_path, '''
[[actor]]
name = "echo"
manifest = "actors/echo.toml"

[[actor]]
name = "pinger"
manifest = "actors/pinger.toml"
init_state = { target = "${echo}" }

[[message]]
at = 10
to = "pinger"
send = "open:hi"

[[message]]
at = 20
to = "pinger"
send = "chan:ping"
''')
    status, out, _ = run(capsys, "run", str(path))
    assert status == 0
    assert _counts_line(out) == ("messages: 2 sent, 2 delivered, 0 dropped; requests: 0 made, 0 answered, 0 failed; "
                                 "channels: 1 opened, 2 messages sent, 0 dropped")
