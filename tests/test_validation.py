"""Issue 11: every input file is validated up front by its schema, and bad input is an
error naming the file, the field and what would be valid (the CLI exits 2), never a
crash. One test per defect, named after it (E1 ... E12)."""

from __future__ import annotations

import json
import math

import pytest

from conftest import ACTORS, CHAINS, SCENARIOS
from theater_harness import HarnessError, ManifestError, Runtime, ScenarioError
from theater_harness.chain import load_chain_file
from theater_harness.cli import main
from theater_harness.errors import ChainFileError, TraceFileError
from theater_harness.faults import FaultSchedule
from theater_harness.manifest import parse_manifest
from theater_harness.scenario import load_scenario, run_scenario
from theater_harness.supervision import parse_supervision
from theater_harness.trees import tree_from

ACTOR = '[[actor]]\nname = "a"\nmanifest = "actors/counter.toml"\n'
MINIMAL_MANIFEST = 'name = "a"\ncomponent = "a.wasm"\n'
TOO_DEEP = "nested too deeply: at most 128 levels of arrays and tables"
KINDS = ("trap, err, init-trap, init-err, hang, slow, memory, host-error, stop, kill, corrupt-state, drop, delay, "
         "duplicate, reorder, partition, heal, store-unavailable, store-slow, store-lost-write, store-corrupt-read, "
         "fs-full, fs-io-error, fs-slow, http-timeout, http-refused, http-5xx, http-slow, http-lost-response, "
         "rpc-drop, rpc-delay, rpc-target-down")


def cli(capsys, *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    out = capsys.readouterr()
    return status, out.out, out.err


def scenario(tmp_path, body: str):
    if not (tmp_path / "actors").exists():
        (tmp_path / "actors").symlink_to(ACTORS)
    path = tmp_path / "x.scenario.toml"
    path.write_text(body)
    return path


@pytest.fixture
def saved(capsys, tmp_path) -> dict:
    """A real saved trace (link faults), as parsed JSON."""
    path = tmp_path / "saved.trace.json"
    assert cli(capsys, "run", str(SCENARIOS / "link-faults.scenario.toml"), "--trace-out", str(path))[0] == 0
    return json.loads(path.read_text())


# --- E1: deep nesting --------------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["scenario", "manifest", "fault schedule (TOML)", "fault schedule (JSON)",
                                  "tree", "chain", "trace"])
def test_e1_deep_nesting_is_an_error_naming_the_file_not_a_recursion_error(tmp_path, kind):
    toml, json_text = "x = " + "[" * 5000 + "]" * 5000 + "\n", "[" * 100_000 + "]" * 100_000
    path = tmp_path / "deep"
    if kind == "scenario":
        path.write_text(toml)
        with pytest.raises(ScenarioError) as info:
            load_scenario(path)
    elif kind == "manifest":
        with pytest.raises(ManifestError) as info:
            parse_manifest(toml, source=str(path))
    elif kind.startswith("fault schedule"):
        with pytest.raises(ScenarioError) as info:
            if "JSON" in kind:
                FaultSchedule.from_json(json_text, source=str(path))
            else:
                FaultSchedule.from_toml(toml, source=str(path))
    elif kind == "tree":
        with pytest.raises(ScenarioError) as info:
            tree_from(toml, source=str(path))
    elif kind == "chain":
        path.write_text(json_text)
        with pytest.raises(ChainFileError) as info:
            load_chain_file(path)
    else:
        from theater_harness import report

        path.write_text(json_text)
        with pytest.raises(TraceFileError) as info:
            report.read_trace(path)
    form = "JSON" if kind in ("chain", "trace", "fault schedule (JSON)") else "TOML"
    assert str(info.value) == f"{path}: not valid {form}: {TOO_DEEP}"


def test_e1_nesting_that_parses_but_is_too_deep_names_the_field(tmp_path):
    path = scenario(tmp_path, ACTOR + "init_state = { a = " + "[" * 130 + "]" * 130 + " }\n")
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert str(info.value) == f"{path}: field 'actor[0].init_state.a[0][0][0][0]...': {TOO_DEEP}"


def test_e1_deeply_nested_keys_are_refused_too(tmp_path):
    path = scenario(tmp_path, ACTOR + "[policy." + ".".join(["p"] * 200) + "]\n")
    with pytest.raises(ScenarioError, match=f"{TOO_DEEP}$"):
        load_scenario(path)


def test_e1_the_command_exits_2_for_a_deep_chain(capsys, tmp_path):
    path = tmp_path / "chain.json"
    path.write_text("[" * 100_000 + "]" * 100_000)
    status, _, err = cli(capsys, "verify-chain", str(path))
    assert (status, err) == (2, f"error: {path}: not valid JSON: {TOO_DEEP}\n")


# --- E2: a fault kind that is a list or a table --------------------------------------------------

@pytest.mark.parametrize("kind, shown", [(["trap"], "an array (1 entry)"), ({"a": 1}, "a table (1 entry)"),
                                         (7, "7"), (None, "None")])
def test_e2_a_fault_kind_that_is_not_a_string_is_not_a_fault_kind(kind, shown):
    with pytest.raises(ScenarioError) as info:
        FaultSchedule.from_dicts([{"kind": kind, "target": "a"}], source="faults.toml")
    assert str(info.value) == f"faults.toml: field 'fault[0].kind': {shown} is not a fault kind; kinds: {KINDS}"


def test_e2_a_fault_kind_in_toml_that_is_an_array():
    with pytest.raises(ScenarioError) as info:
        FaultSchedule.from_toml('[[fault]]\nkind = ["trap"]\ntarget = "a"\n', source="s.toml")
    assert str(info.value) == f"s.toml: field 'fault[0].kind': an array (1 entry) is not a fault kind; kinds: {KINDS}"


@pytest.mark.parametrize("kinds", ['[["trap"]]', '[{ a = 1 }]', "[1]", "[]", '"trap"'])
def test_e2_explore_kinds_that_are_not_fault_kinds(tmp_path, kinds):
    path = scenario(tmp_path, f"[explore]\nkinds = {kinds}\n" + ACTOR)
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert str(info.value) == f"{path}: field 'explore.kinds': expected a list of fault kinds from: {KINDS}"


# --- E3: show and replay of a malformed trace ------------------------------------------------------

def _record(saved: dict, kind: str) -> int:
    return next(i for i, r in enumerate(saved["records"]) if r["kind"] == kind)


E3_CASES = [
    # (what, how to break the saved trace, field, message)
    ("no format", lambda d: d.pop("format"), None,
     "not a trace: expected a dict with format 'theater-harness-trace/1' and a 'records' list, got format None"),
    ("records not a list", lambda d: d.update(records={"a": 1}), None,
     "not a trace: expected a dict with format 'theater-harness-trace/1' and a 'records' list, got format "
     "'theater-harness-trace/1'"),
    ("a record that is a number", lambda d: d["records"].__setitem__(3, 5), "records[3]",
     "record 3 is not a trace record (a dict with 't' and 'kind'), got 5"),
    ("a record without t", lambda d: d["records"][3].pop("t"), "records[3]",
     "record 3 is not a trace record (a dict with 't' and 'kind'): no t, got a table (7 entries)"),
    ("t as text", lambda d: d["records"][3].update(t="3"), "records[3].t",
     "expected a virtual time (an integer from 0 to 9223372036854775807), got '3'"),
    ("a negative t", lambda d: d["records"][3].update(t=-1), "records[3].t",
     "expected a virtual time (an integer from 0 to 9223372036854775807), got -1"),
    ("kind a list", lambda d: d["records"][3].update(kind=["spawn"]), "records[3].kind",
     "expected a record kind (a non-empty string), got an array (1 entry)"),
    ("seq as text", lambda d: d["records"][3].update(seq="3"), "records[3].seq",
     "expected an integer from 0 to 9223372036854775807, got '3'"),
    ("actor a number", lambda d: d["records"][3].update(actor=5), "records[3].actor",
     "expected an actor id (a string) or null, got 5"),
    ("msg a list", lambda d: d["records"][8].update(msg=[1]), "records[8].msg",
     "expected a message id (a string or a number), got an array (1 entry)"),
    ("a spawn of no actor", lambda d: d["records"][0].pop("actor"), "records[0].actor",
     "a spawn record names the actor it spawned"),
    ("a spawn under itself", lambda d: d["records"][0].update(parent=d["records"][0]["actor"]), "records[0].parent",
     "actor '413b28dc-d422-48a2-922e-621db9c99158' is spawned under itself"),
    ("a spawn twice", lambda d: d["records"].insert(1, dict(d["records"][0])), "records[1].actor",
     "actor '413b28dc-d422-48a2-922e-621db9c99158' is spawned twice"),
    ("supervision a list", lambda d: d["records"][0].update(supervision=[]), "records[0].supervision",
     "expected a table or null, got an array (0 entries)"),
    ("a name that is a number", lambda d: d["records"][0].update(name=5), "records[0].name",
     "expected a string or null, got 5"),
    ("incarnation as text", lambda d: d["records"][1].update(incarnation="1"), "records[1].incarnation",
     "expected an integer from 0 to 9223372036854775807, got '1'"),
    ("a state that is a list", lambda d: d["records"][1].update(state=[1]), "records[1].state",
     "expected a state digest (a string) or null, got an array (1 entry)"),
    ("an exit reason that is text", lambda d: d["records"].append(
        {"seq": 72, "t": 2500, "kind": "exit", "actor": d["records"][0]["actor"], "status": "failed",
         "reason": "trap"}), "records[72].reason", "expected an exit reason (a table), got 'trap'"),
    ("an exit status of null", lambda d: d["records"].append(
        {"seq": 72, "t": 2500, "kind": "exit", "actor": d["records"][0]["actor"], "status": None}),
     "records[72].status", "expected a status (a string), got None"),
    ("a run-ended without a reason", lambda d: d["records"].append({"seq": 72, "t": 2500, "kind": "run-ended"}),
     "records[72].reason", "missing; a 'run-ended' record has reason"),
    ("an escalate without its counts", lambda d: d["records"].append(
        {"seq": 72, "t": 2500, "kind": "escalate", "restarts": 3}), "records[72].intensity",
     "missing; a 'escalate' record has restarts, intensity, period_ms"),
    ("a replay record without calls", lambda d: d["records"].append({"seq": 72, "t": 2500, "kind": "replay"}),
     "records[72].calls", "missing; a 'replay' record has calls, of"),
    ("a restart plan of a number", lambda d: d["records"].append(
        {"seq": 72, "t": 2500, "kind": "restart-plan", "stop": 5}), "records[72].stop",
     "expected a list of actor ids, got 5"),
    ("a seed as text", lambda d: d.update(seed="0"), "seed", "expected an integer of 64 bits or null, got '0'"),
]


@pytest.mark.parametrize("what, breaks, field, message", E3_CASES, ids=[c[0] for c in E3_CASES])
@pytest.mark.parametrize("verb", ["show", "replay"])
def test_e3_show_and_replay_of_a_malformed_trace_exit_2_naming_the_field(capsys, tmp_path, saved, verb, what,
                                                                        breaks, field, message):
    breaks(saved)
    path = tmp_path / "broken.trace.json"
    path.write_text(json.dumps(saved))
    argv = ["show", str(path), "--html", str(tmp_path / "page.html")] if verb == "show" else ["replay", str(path)]
    status, out, err = cli(capsys, *argv)
    where = f"field '{field}': " if field else ""
    assert (status, out, err) == (2, "", f"error: {path}: {where}{message}\n")


def test_e3_the_report_functions_refuse_a_malformed_trace_as_a_value_error():
    from theater_harness import report

    with pytest.raises(ValueError) as info:
        report.render_tree({"format": "theater-harness-trace/1", "records": [{"t": 0, "kind": "spawn", "actor": 5}]})
    assert isinstance(info.value, TraceFileError)
    assert str(info.value) == "<trace>: field 'records[0].actor': expected an actor id (a string) or null, got 5"


# --- E4: init_state of the wrong type --------------------------------------------------------------

@pytest.mark.parametrize("value, shown", [("5", "5"), ("1979-05-27", "the TOML date/time 1979-05-27"),
                                          ("true", "True"), ("1.5", "1.5")])
def test_e4_a_scenario_init_state_that_is_not_a_table_array_or_string(tmp_path, value, shown):
    path = scenario(tmp_path, ACTOR + f"init_state = {value}\n")
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert str(info.value) == (f"{path}: field 'actor[0].init_state': expected a table or an array (sent as JSON, "
                               f"merged over the manifest's state) or a string (sent as it is), got {shown}")


def test_e4_a_date_inside_a_scenario_init_state_names_where(tmp_path):
    path = scenario(tmp_path, ACTOR + "init_state = { born = [1979-05-27] }\n")
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert str(info.value) == (f"{path}: field 'actor[0].init_state.born[0]': the date 1979-05-27 has no JSON form "
                               "(TOML dates and times have none); write it as a string")


def test_e4_nan_in_a_scenario_init_state(tmp_path):
    path = scenario(tmp_path, ACTOR + "init_state = { x = nan }\n")
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert str(info.value) == f"{path}: field 'actor[0].init_state.x': nan has no JSON form; give a finite number"


# --- E5: a Faker provider that needs arguments -------------------------------------------------------

def test_e5_a_faker_provider_that_needs_arguments(tmp_path):
    path = scenario(tmp_path, ACTOR + '[[workload]]\nto = "a"\nevery_ms = 100\nuntil_ms = 200\nfaker = "enum"\n')
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert str(info.value) == (f"{path}: field 'workload[0].faker': the Faker provider 'enum' needs arguments "
                               "(enum_cls); a workload calls it with none: pick one that needs none "
                               "(e.g. word, sentence, name)")


@pytest.mark.parametrize("name", ["seed_instance", "__class__", "add_provider", "random", "_Generator__config"])
def test_e5_what_is_not_a_provider_is_refused(tmp_path, name):
    path = scenario(tmp_path, ACTOR + f'[[workload]]\nto = "a"\nevery_ms = 100\nuntil_ms = 200\nfaker = "{name}"\n')
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert str(info.value) == (f"{path}: field 'workload[0].faker': {name!r} is not a Faker provider "
                               "(e.g. word, sentence, name)")


# --- E6: an empty manifest path ----------------------------------------------------------------------

def test_e6_an_empty_manifest_path(tmp_path):
    path = scenario(tmp_path, '[[actor]]\nname = "a"\nmanifest = ""\n')
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert str(info.value) == (f"{path}: field 'actor[0].manifest': the path is empty; expected a path to a "
                               "manifest, relative to the scenario file")


def test_e6_the_command_exits_2(capsys, tmp_path):
    path = scenario(tmp_path, '[[actor]]\nname = "a"\nmanifest = ""\n')
    status, _, err = cli(capsys, "run", str(path))
    assert status == 2 and err.startswith(f"error: {path}: field 'actor[0].manifest': the path is empty")


# --- E7: a NUL byte in a path --------------------------------------------------------------------------

NUL = "the path 'a\\x00b' holds a NUL byte (\\0), which no file name can hold"


def test_e7_nul_in_a_scenario_manifest(tmp_path):
    path = scenario(tmp_path, '[[actor]]\nname = "a"\nmanifest = "a\\u0000b"\n')
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert str(info.value) == f"{path}: field 'actor[0].manifest': {NUL}; expected a path to a manifest, " \
                              "relative to the scenario file"


@pytest.mark.parametrize("key", ["component", "component_path", "package"])
def test_e7_nul_in_a_manifest_component(key):
    with pytest.raises(ManifestError) as info:
        parse_manifest(f'name = "x"\n{key} = "a\\u0000b"\n')
    assert str(info.value) == f"<inline manifest>: field '{key}': {NUL}"


def test_e7_nul_in_a_manifest_init_state_path():
    with pytest.raises(ManifestError) as info:
        parse_manifest(MINIMAL_MANIFEST + 'init_state = "a\\u0000b"\n')
    assert str(info.value) == (f"<inline manifest>: field 'init_state': {NUL}; expected a path to a JSON file, "
                               "inline JSON text, or a table")


def test_e7_nul_in_a_tree_manifest():
    with pytest.raises(ScenarioError) as info:
        tree_from({"name": "w", "manifest": "a\0b"}, source="t")
    assert str(info.value) == f"t: field 'tree.manifest': {NUL}; expected a path to a manifest"


def test_e7_nul_in_the_path_given_to_a_loader():
    with pytest.raises(ScenarioError) as info:
        load_scenario("a\0b")
    assert str(info.value) == f"'a\\x00b': cannot read the scenario: {NUL}"


@pytest.mark.parametrize("argv, message", [
    (["run", "a\0b"], f"'a\\x00b': not a usable scenario path: {NUL}"),
    (["show", "a\0b"], f"'a\\x00b': cannot read the trace file: {NUL}"),
    (["replay", "a\0b"], f"'a\\x00b': cannot read the trace file: {NUL}"),
    (["verify-chain", "a\0b"], f"'a\\x00b': cannot read chain file: {NUL}"),
    (["replay", "--scenario", str(SCENARIOS / "counter.scenario.toml"), "--seed", "1", "--schedule", "a\0b"],
     f"'a\\x00b': cannot read the fault schedule file: {NUL}"),
    (["run", str(SCENARIOS / "counter.scenario.toml"), "--trace-out", "a\0b"],
     f"'a\\x00b': cannot write the trace: {NUL}"),
])
def test_e7_nul_in_a_path_on_the_command_line_exits_2(capsys, argv, message):
    status, _, err = cli(capsys, *argv)
    assert (status, err.splitlines()[-1]) == (2, f"error: {message}")


def test_e7_nul_in_a_trace_scenario_path(capsys, tmp_path, saved):
    saved["scenario_path"] = "a\0b"
    path = tmp_path / "t.json"
    path.write_text(json.dumps(saved))
    status, _, err = cli(capsys, "replay", str(path))
    assert (status, err) == (2, f"error: {path}: field 'scenario_path': {NUL}\n")


# --- E8: a workload too big to hold --------------------------------------------------------------------

def test_e8_a_workload_until_the_end_of_time_is_refused_naming_the_bound(tmp_path):
    path = scenario(tmp_path, ACTOR + '[[workload]]\nto = "a"\nevery_ms = 1\nuntil_ms = 9223372036854775807\n'
                                      'send = "inc"\n')
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert str(info.value) == (f"{path}: field 'workload[0]': the scenario would send 9223372036854775808 messages; "
                               "at most 100000 (a run holds them all): raise every_ms or lower until_ms")


def test_e8_the_bound_counts_every_workload_and_message(tmp_path):
    load = '[[workload]]\nto = "a"\nevery_ms = 1\nuntil_ms = 49999\nsend = "inc"\n'
    path = scenario(tmp_path, ACTOR + load + load)
    assert sum(1 for w in load_scenario(path).workloads) == 2  # exactly 100000: allowed
    path = scenario(tmp_path, ACTOR + load + load + '[[message]]\nat = 1\nto = "a"\nsend = "x"\n')
    with pytest.raises(ScenarioError, match="the scenario would send 100001 messages; at most 100000"):
        load_scenario(path)


def test_e8_horizons_beyond_64_bits_are_refused(tmp_path):
    path = scenario(tmp_path, "end_ms = 9223372036854775808\n" + ACTOR)
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert str(info.value) == (f"{path}: field 'end_ms': expected an integer from 0 to 9223372036854775807, "
                               "got 9223372036854775808")


@pytest.mark.parametrize("table, message", [
    ("explore = 2000000", "field 'explore.examples': expected an integer from 1 to 1000000, got 2000000"),
    ("[explore]\nmax_faults = 5000", "field 'explore.max_faults': expected an integer from 1 to 1000, got 5000"),
])
def test_e8_explorations_are_bounded_too(tmp_path, table, message):
    path = scenario(tmp_path, table + "\n" + ACTOR)
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert str(info.value) == f"{path}: {message}"


# --- E9: tree_from with unchecked values -----------------------------------------------------------------

@pytest.mark.parametrize("supervision, field, message", [
    ({"intensity": [1]}, "intensity", "expected an integer >= 0, got an array (1 entry)"),
    ({"intensity": "x"}, "intensity", "expected an integer >= 0, got 'x'"),
    ({"intensity": math.inf}, "intensity", "expected an integer >= 0, got inf"),
    ({"intensity": 2**64}, "intensity", "expected an integer from 0 to 9223372036854775807, got 18446744073709551616"),
    ({"period_ms": 1.5}, "period_ms", "expected an integer >= 1000, got 1.5"),
    ({"period_ms": 500}, "period_ms", "expected an integer >= 1000, got 500"),
    ({"permanent_errors": 5}, "permanent_errors", "expected a list of regular expressions"),
    ({"permanent_errors": ["("]}, "permanent_errors[0]",
     "not a valid regular expression: missing ), unterminated subpattern at position 0"),
    ({"strategy": ["one_for_one"]}, "strategy",
     "an array (1 entry) is not one of one_for_one, one_for_all, rest_for_one"),
    ({"colour": "red"}, "colour",
     "unknown key 'colour'; known keys: strategy, intensity, period_ms, permanent_errors, auto_shutdown"),
])
def test_e9_tree_from_checks_the_policy_before_converting_it(supervision, field, message):
    with pytest.raises(ScenarioError) as info:
        tree_from({"name": "r", "supervision": supervision})
    assert str(info.value) == f"<tree>: field 'tree.supervision.{field}': {message}"


@pytest.mark.parametrize("node, field, message", [
    ({"name": "w", "manifest": 5}, "tree.manifest", "expected a path to a manifest, got 5"),
    ({"name": "w", "manifest": "x.toml", "init_state": 5}, "tree.init_state",
     "expected a table (merged over the manifest's state) or an array, got 5"),
    ({"name": 'a"b', "manifest": "x.toml"}, "tree.name",
     "'a\"b' holds a quote, a backslash or a control character; a name may not"),
    ({"name": "r", "supervision": {}, "children": [{"name": "w", "manifest": "x.toml", "significant": True,
                                                    "restart": "transient"}]},
     "tree.children[0].significant", "significant children need their supervisor's auto_shutdown = "
                                     "\"any_significant\" or \"all_significant\" (it is \"never\")"),
])
def test_e9_tree_from_checks_every_node(node, field, message):
    with pytest.raises(ScenarioError) as info:
        tree_from(node)
    assert str(info.value) == f"<tree>: field '{field}': {message}"


def test_e9_a_tree_deeper_than_the_bound():
    node = {"name": "w0", "manifest": "x.toml"}
    for i in range(1, 120):
        node = {"name": f"s{i}", "supervision": {}, "children": [node]}
    with pytest.raises(ScenarioError, match=r"the tree is deeper than 100 levels|nested too deeply"):
        tree_from(node)


# --- E10: a trace whose seed is text or whose scenario_path is a number --------------------------------------

@pytest.mark.parametrize("key, value, message", [
    ("seed", "7", "expected an integer of 64 bits or null, got '7'"),
    ("seed", 2**70, "expected an integer of 64 bits or null, got 1180591620717411303424"),
    ("scenario_path", 5, "expected a string or null, got 5"),
    ("scenario_path", "", "the path is empty"),
    ("scenario", ["x"], "expected a string or null, got an array (1 entry)"),
])
def test_e10_replay_of_a_trace_with_a_bad_header_exits_2(capsys, tmp_path, saved, key, value, message):
    saved[key] = value
    path = tmp_path / "t.json"
    path.write_text(json.dumps(saved))
    status, _, err = cli(capsys, "replay", str(path))
    assert (status, err) == (2, f"error: {path}: field '{key}': {message}\n")


def test_e10_replay_of_a_trace_with_bad_faults_names_them(capsys, tmp_path, saved):
    saved["faults"][1]["kind"] = ["delay"]
    path = tmp_path / "t.json"
    path.write_text(json.dumps(saved))
    status, _, err = cli(capsys, "replay", str(path))
    assert (status, err) == (2, f"error: {path}: field 'faults[1].kind': an array (1 entry) is not a fault kind; "
                                f"kinds: {KINDS}\n")


# --- E11: a backoff random_factor that is NaN or infinite ------------------------------------------------------

@pytest.mark.parametrize("value, shown", [("nan", "nan"), ("inf", "inf"), ("-inf", "-inf"), ("1e6", "1000000.0"),
                                          ("-0.5", "-0.5")])
def test_e11_backoff_random_factor_must_be_finite_and_bounded(value, shown):
    with pytest.raises(ManifestError) as info:
        text = f"[supervision.default]\nbackoff = {{ min_ms = 1, random_factor = {value} }}\n"
        parse_manifest(MINIMAL_MANIFEST + text, source="sup.toml")
    assert str(info.value) == ("sup.toml: field 'supervision.default.backoff.random_factor': expected a finite "
                               f"number from 0.0 to 1000.0, got {shown}")


def test_e11_a_nan_random_factor_is_refused_before_any_restart(tmp_path):
    with pytest.raises(ManifestError, match="random_factor': expected a finite number from 0.0 to 1000.0, got nan"):
        parse_supervision({"default": {"backoff": {"min_ms": 1, "random_factor": math.nan}}}, "s")
    sup = tmp_path / "sup.toml"
    sup.write_text(f'name = "s"\ncomponent = "{ACTORS / "echo.wasm"}"\n[[handler]]\ntype = "runtime"\n'
                   '[[handler]]\ntype = "message-server"\n[[handler]]\ntype = "supervisor"\n'
                   "[supervision.default]\nbackoff = { min_ms = 1, random_factor = nan }\n")
    path = scenario(tmp_path, f'[[actor]]\nname = "s"\nmanifest = "{sup}"\n')
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)  # up front: the scenario names the manifest, so it is read with it
    assert str(info.value) == (f"{path}: field 'actor[0].manifest': {sup}: field "
                               "'supervision.default.backoff.random_factor': expected a finite number from 0.0 to "
                               "1000.0, got nan")


# --- E12: integers beyond what wasmtime takes -------------------------------------------------------------

def test_e12_fuel_beyond_64_bits_is_refused_in_a_scenario(tmp_path):
    path = scenario(tmp_path, "[runtime]\nfuel = 18446744073709551616\n" + ACTOR)
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert str(info.value) == (f"{path}: field 'runtime.fuel': expected an integer from 1 to 9223372036854775807, "
                               "got 18446744073709551616")


@pytest.mark.parametrize("kwargs, message", [
    ({"fuel": 2**64}, "fuel must be an integer from 1 to 9223372036854775807, not 18446744073709551616"),
    ({"memory": 2**63}, "memory must be an integer from 65536 to 9223372036854775807, not 9223372036854775808"),
    ({"request_timeout_ms": 2**200}, "request_timeout_ms must be an integer from 1 to 9223372036854775807, "
                                     "not an integer of 201 bits"),
])
def test_e12_runtime_options_beyond_64_bits_are_refused(kwargs, message):
    with pytest.raises(HarnessError) as info:
        Runtime(**kwargs)
    assert str(info.value) == message


def test_e12_the_largest_fuel_still_runs_the_actors(tmp_path):
    path = scenario(tmp_path, "[runtime]\nfuel = 9223372036854775807\n" + ACTOR +
                    '[[message]]\nat = 1\nto = "a"\nrequest = "inc"\nexpect_reply = "1"\n')
    result = run_scenario(load_scenario(path))
    assert result.ok and result.runtime.actor(result.ids["a"]).status == "running"


# --- the command: exit statuses and messages --------------------------------------------------------------

def test_an_unwritable_output_file_exits_2_naming_it(capsys, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    status, _, err = cli(capsys, "run", str(SCENARIOS / "counter.scenario.toml"), "--trace-out",
                         str(blocker / "trace.json"))
    assert status == 2
    assert err.splitlines()[-1] == (f"error: {blocker / 'trace.json'}: cannot write the trace: a file is in the way "
                                    f"of its folder {blocker}")
    status, _, err = cli(capsys, "show", str(CHAINS / "runtime-test-chain.json"), "--html", str(tmp_path))
    assert status == 2  # not a trace: refused before anything is written


@pytest.mark.parametrize("argv, message", [
    (["run", "x", "--seed", "-1"], "argument --seed: -1 is out of range: give an integer from 0 to "
                                   "9223372036854775807"),
    (["run", "x", "--examples", "0"], "argument --examples: 0 is out of range: give an integer from 1 to 1000000"),
    (["show", "x", "--window", "0"], "argument --window: 0 is out of range: give an integer from 1 to "
                                     "9223372036854775807"),
    (["cache", "prune", "--max-bytes", "9" * 400], f"argument --max-bytes: '{'9' * 40}' is too large"),
])
def test_out_of_range_options_exit_2_with_argparse_s_message(capsys, argv, message):
    with pytest.raises(SystemExit) as done:
        main(argv)
    assert done.value.code == 2
    assert capsys.readouterr().err.splitlines()[-1].endswith(f"error: {message}")


def test_a_cache_cap_too_large_for_a_float_exits_2(capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("THEATER_HARNESS_CACHE", str(tmp_path))
    monkeypatch.setenv("THEATER_HARNESS_CACHE_MAX", "9" * 400)
    status, _, err = cli(capsys, "cache", "info")
    assert (status, err) == (2, f"error: THEATER_HARNESS_CACHE_MAX: '{'9' * 40}' is not a size a cache can have; "
                                "give bytes or a number with K, M or G (512M, 2G), or 0 for no cap\n")


def test_a_bug_is_an_internal_error_exit_3_without_a_traceback(capsys, monkeypatch):
    import theater_harness.cli as cli_module

    def broken(args):
        raise RuntimeError("something we did not expect")

    monkeypatch.setattr(cli_module, "cmd_verify_chain", broken)
    monkeypatch.delenv("THEATER_HARNESS_TRACEBACK", raising=False)
    status, _, err = cli(capsys, "verify-chain", str(CHAINS / "runtime-test-chain.json"))
    assert status == 3 and "Traceback" not in err
    assert err == ("internal error: RuntimeError: something we did not expect (at test_validation.py:"
                   f"{broken.__code__.co_firstlineno + 1})\nThis is a bug in theater-harness, not a problem with "
                   "your input. Please report it with the command you ran and the files it read; "
                   "THEATER_HARNESS_TRACEBACK=1 prints the traceback to add.\n")
