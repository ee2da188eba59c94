"""Scenario files call any export: ``call`` + ``args`` in ``[[message]]`` (checked with
``expect_result``, the result's WAVE text, or ``expect_error``) and in ``[[workload]]``;
validated up front (errors name the file, the table and the key), run with
``Runtime.call_later``."""

from __future__ import annotations

import pytest

from conftest import ACTORS
from theater_harness import ScenarioError
from theater_harness.cli import main
from theater_harness.scenario import load_scenario, run_scenario
from theater_harness.scenario.load import Step, Workload
from theater_harness.values import render

ACTORS_TOML = '''
[[actor]]
name = "c"
manifest = "actors/packr_counter.toml"

[[actor]]
name = "legacy"
manifest = "actors/counter.toml"
'''
COUNTER_EXPORTS = ("counter.add, counter.get, theater:simple/actor.init, "
                   "theater:simple/message-server-client.handle-channel-close, "
                   "theater:simple/message-server-client.handle-channel-message, "
                   "theater:simple/message-server-client.handle-channel-open, "
                   "theater:simple/message-server-client.handle-request, theater:simple/message-server-client.handle-send")


def scenario(tmp_path, body: str, actors: str = ACTORS_TOML):
    if not (tmp_path / "actors").exists():
        (tmp_path / "actors").symlink_to(ACTORS)
    path = tmp_path / "x.scenario.toml"
    path.write_text(actors + body)
    return path


def message(body: str) -> str:
    return f'\n[[message]]\nat = 10\nto = "c"\n{body}'


def problems(tmp_path, body: str, **kwargs) -> list[str]:
    result = run_scenario(load_scenario(scenario(tmp_path, body, **kwargs)))
    assert not result.violations
    return result.problems


# --- the file: valid -----------------------------------------------------------------------------

def test_a_call_step_is_read_with_its_args_and_expectation(tmp_path):
    loaded = load_scenario(scenario(tmp_path, message('call = "counter.add"\nargs = [5]\nexpect_result = "5"\n')))
    assert loaded.steps == (Step(10, "call", "c", expect_error=False, where="message[0]", export="counter.add",
                                 args=(5,), expect_result="5"),)


def test_args_default_to_none_and_take_any_toml_value_with_a_typed_form(tmp_path):
    path = scenario(tmp_path, message('call = "counter.get"\n')
                    + message('call = "counter.add"\n'
                              'args = [18446744073709551615, -9223372036854775808, 1.5, nan, "x", [true], {n = 1}]\n'))
    first, second = load_scenario(path).steps
    assert first.args == ()
    assert second.args[:3] == (18446744073709551615, -9223372036854775808, 1.5)
    assert second.args[4:] == ("x", [True], {"n": 1})


def test_a_theater_export_is_called_by_its_full_name(tmp_path):
    loaded = load_scenario(scenario(tmp_path, message(
        'call = "theater:simple/message-server-client.handle-send"\nargs = [[105, 110, 99]]\n')))
    assert loaded.steps[0].export == "theater:simple/message-server-client.handle-send"


def test_a_workload_calls_an_export(tmp_path):
    path = scenario(tmp_path, '\n[[workload]]\nto = "c"\nevery_ms = 100\nuntil_ms = 300\ncall = "counter.add"\n'
                              'args = [2]\n')
    assert load_scenario(path).workloads == (Workload("c", 100, 0, 300, where="workload[0]", call="counter.add",
                                                      args=(2,)),)


# --- the file: invalid, errors naming file, table and key ------------------------------------

@pytest.mark.parametrize("body, field, message_text", [
    (message('send = "inc"\ncall = "counter.add"\n'), "message[0]",
     "give exactly one of 'send' or 'request' (the payload text) or 'call' (an export, e.g. call = \"counter.add\")"),
    (message('call = 5\n'), "message[0].call", "expected a non-empty string, got 5"),
    (message('call = ""\n'), "message[0].call", "expected a non-empty string, got ''"),
    (message('call = "counter.mul"\n'), "message[0].call",
     f"'c' (packr_counter.toml) has no export 'counter.mul'; it exports {COUNTER_EXPORTS}"),
    (message('call = "counter.add"\narg = [1]\n'), "message[0].arg",
     "unknown key 'arg'; known keys: at, to, send, request, call, args, expect_reply, expect_result, expect_error"),
    (message('call = "counter.add"\nargs = 5\n'), "message[0].args",
     "expected an array of the call's arguments (args = [5]; [] for none), got 5"),
    (message('call = "counter.add"\nargs = [1, 1979-05-27]\n'), "message[0].args[1]",
     "the TOML date/time 1979-05-27 has no typed value; write it as a string"),
    (message('call = "counter.add"\nargs = [{n = 18446744073709551616}]\n'), "message[0].args[0].n",
     "the integer 18446744073709551616 does not fit in 64 bits (s64 or u64)"),
    (message('call = "counter.add"\nargs = [-9223372036854775809]\n'), "message[0].args[0]",
     "the integer -9223372036854775809 does not fit in 64 bits (s64 or u64)"),
    (message('call = "counter.get"\nexpect_result = 6\n'), "message[0].expect_result",
     "expected a string, the result's WAVE text (expect_result = \"6\"), got 6"),
    (message('call = "counter.get"\nexpect_reply = "6"\n'), "message[0].expect_reply",
     "expect_reply applies to a request; a call's result is checked with expect_result (its WAVE text, e.g. \"6\")"),
    (message('call = "counter.get"\nexpect_result = "6"\nexpect_error = true\n'), "message[0]",
     "give expect_result or expect_error = true, not both"),
    (message('call = "counter.get"\nexpect_error = "yes"\n'), "message[0].expect_error", "expected true or false"),
    (message('request = "get"\nexpect_result = "6"\n'), "message[0].expect_result",
     "expect_result applies to a call (call = \"iface.fn\" (an export, e.g. \"counter.add\")), not a request"),
    (message('send = "inc"\nargs = [1]\n'), "message[0].args",
     "args applies to a call (call = \"iface.fn\" (an export, e.g. \"counter.add\")), not a send"),
    ('\n[[message]]\nat = 1\nto = "legacy"\ncall = "counter.add"\n', "message[0].call",
     "'legacy' (counter.toml) has no export 'counter.add'; it exports theater:simple/actor.init, "
     "theater:simple/message-server-client.handle-channel-close, "
     "theater:simple/message-server-client.handle-channel-message, "
     "theater:simple/message-server-client.handle-channel-open, "
     "theater:simple/message-server-client.handle-request, theater:simple/message-server-client.handle-send"),
    ('\n[[workload]]\nto = "c"\nevery_ms = 10\nuntil_ms = 20\nsend = "inc"\ncall = "counter.add"\n', "workload[0]",
     "give one of send = \"payload\", faker = \"<provider>\" (e.g. \"word\") or call = \"iface.fn\" (an export, "
     "e.g. \"counter.add\") with args"),
    ('\n[[workload]]\nto = "c"\nevery_ms = 10\nuntil_ms = 20\nsend = "inc"\nargs = [1]\n', "workload[0].args",
     "args apply to a call (call = \"iface.fn\" (an export, e.g. \"counter.add\"))"),
    ('\n[[workload]]\nto = "c"\nevery_ms = 10\nuntil_ms = 20\ncall = "counter.add"\nargs = [[1979-05-27]]\n',
     "workload[0].args[0][0]", "the TOML date/time 1979-05-27 has no typed value; write it as a string"),
    ('\n[[workload]]\nto = "c"\nevery_ms = 10\nuntil_ms = 20\ncall = "add"\n', "workload[0].call",
     f"'c' (packr_counter.toml) has no export 'add'; it exports {COUNTER_EXPORTS}"),
])
def test_an_invalid_call_names_the_file_the_table_and_the_key(tmp_path, body, field, message_text):
    path = scenario(tmp_path, body)
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert str(info.value) == f"{path}: field '{field}': {message_text}"


def test_a_generated_supervisor_has_no_exports_to_call(tmp_path):
    path = scenario(tmp_path, '\n[[message]]\nat = 1\nto = "sup"\ncall = "counter.get"\n',
                    actors='[[actor]]\nname = "sup"\nsupervision = { strategy = "one_for_one" }\n')
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert str(info.value) == (f"{path}: field 'message[0].call': 'sup' is a supervisor the harness generates: it "
                               "has no exports of its own to call (call a child, or give the supervisor a manifest)")


def test_an_actor_whose_module_cannot_be_read_cannot_be_called(tmp_path):
    (tmp_path / "gone.toml").write_text('name = "gone"\nversion = "0.1.0"\npackage = "gone.wasm"\n')
    path = scenario(tmp_path, '\n[[message]]\nat = 1\nto = "g"\ncall = "counter.get"\n',
                    actors='[[actor]]\nname = "g"\nmanifest = "gone.toml"\n')
    with pytest.raises(ScenarioError, match=r"field 'message\[0\]\.call': cannot read the actor of 'g' to check its "
                                            r"exports: .*gone\.wasm: actor file not found"):
        load_scenario(path)


def test_the_cli_refuses_an_invalid_call_before_any_run(capsys, tmp_path):
    path = scenario(tmp_path, message('call = "counter.add"\nargs = 5\n'))
    status = main(["run", str(path)])
    captured = capsys.readouterr()
    assert (status, captured.out) == (2, "")
    assert captured.err == (f"error: {path}: field 'message[0].args': expected an array of the call's arguments "
                            "(args = [5]; [] for none), got 5\n")


# --- the run ------------------------------------------------------------------------------------

def test_calls_meet_their_expected_results(tmp_path):
    body = (message('call = "counter.add"\nargs = [5]\nexpect_result = "5"\n')
            + message('call = "counter.add"\nargs = [-7]\nexpect_result = "-2"\n')
            + message('call = "counter.get"\nexpect_result = "-2"\n'))
    assert problems(tmp_path, body) == []


def test_a_wrong_result_is_a_problem_naming_the_step_the_call_and_both_results(tmp_path):
    body = message('call = "counter.add"\nargs = [5]\nexpect_result = "6"\n')
    assert problems(tmp_path, body) == ["message[0] (call counter.add(5) to c at 10 ms): expected result 6, got 5"]


def test_expect_error_is_met_by_a_call_that_fails_and_only_by_one(tmp_path):
    body = '\n[[stop]]\nat = 5\nactor = "c"\n' + message('call = "counter.get"\nexpect_error = true\n')
    actors = '[[actor]]\nname = "c"\nmanifest = "actors/packr_counter.toml"\nexpect = "stopped"\n'
    assert problems(tmp_path, body, actors=actors) == []
    ok = message('call = "counter.add"\nargs = [3]\nexpect_error = true\n')
    assert problems(tmp_path, ok) == ["message[0] (call counter.add(3) to c at 10 ms): expected an error, got result 3"]


def test_a_call_that_fails_unexpectedly_says_why(tmp_path):
    body = '\n[[stop]]\nat = 5\nactor = "c"\n' + message('call = "counter.get"\n')
    actors = '[[actor]]\nname = "c"\nmanifest = "actors/packr_counter.toml"\nexpect = "stopped"\n'
    [problem] = problems(tmp_path, body, actors=actors)
    assert problem.startswith("message[0] (call counter.get() to c at 10 ms): failed: actor ")
    assert problem.endswith(" (c) is not running: it is stopped")


def test_a_call_still_pending_at_the_end_of_the_run(tmp_path):
    body = message('call = "counter.get"\nexpect_result = "0"\n')
    assert problems(tmp_path, body, actors="end_ms = 5\n" + ACTORS_TOML) == [
        "message[0] (call counter.get() to c at 10 ms): no result by the end of the run"]


def test_a_workload_of_calls_drives_the_typed_state(tmp_path):
    body = ('\n[[workload]]\nto = "c"\nevery_ms = 100\nuntil_ms = 300\ncall = "counter.add"\nargs = [2]\n'
            '\n[[message]]\nat = 500\nto = "c"\ncall = "counter.get"\nexpect_result = "8"\n')
    result = run_scenario(load_scenario(scenario(tmp_path, body)))
    assert result.ok, result.problems
    assert render(result.runtime.actor("c").state.value) == '{count: 8, last: ""}'


def test_an_actor_reference_in_args_must_name_an_actor(tmp_path):
    path = scenario(tmp_path, message('call = "counter.add"\nargs = ["${nobody}"]\n'))
    with pytest.raises(ScenarioError) as info:
        run_scenario(load_scenario(path))
    assert str(info.value) == (f"{path}: field 'message[0].args[0]': ${{nobody}} names no actor spawned before this "
                               "point (spawned so far: c, legacy)")


def test_the_cli_prints_a_call_problem_as_it_prints_the_others(capsys, tmp_path):
    path = scenario(tmp_path, message('call = "counter.add"\nargs = [5]\nexpect_result = "{count: 5}"\n'))
    status = main(["run", str(path)])
    out = capsys.readouterr().out
    assert status == 1
    assert "  FAILED: message[0] (call counter.add(5) to c at 10 ms): expected result {count: 5}, got 5\n" in out
    assert out.rstrip().endswith("0 of 1 scenarios ok: failed x")
