"""The pytest plugin, tested with pytester: fixtures, marker, options and their ini
twins, xdist seed agreement, --theater-seed last, the failure report and its replay
command, scenario files as tests, JUnit properties."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest

from conftest import ACTORS
from pytest_theater.plugin import test_seed as derive_seed

pytest_plugins = ["pytester"]

# An in-process pytest session re-enables faulthandler when it ends, on top of (and in
# place of) wasmtime's trap handlers: later wasm traps in this process would kill it.
INNER = ("-p", "no:faulthandler", "-p", "no:cacheprovider")

COUNTER = ACTORS / "counter.toml"
CRASHER = ACTORS / "crasher.toml"


def _seeded_test(expected_seed: int) -> str:
    return f'''
def test_seeded(theater):
    assert theater.seed == {expected_seed}
    assert theater.now == 0 and theater.actors == []
'''


def test_the_seed_shows_in_the_header_and_derives_from_the_node_id(pytester: pytest.Pytester):
    pytester.makepyfile(test_x=_seeded_test(derive_seed(42, "test_x.py::test_seeded")))
    result = pytester.runpytest(*INNER, "--theater-seed", "42")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["theater-harness: seed 42 (rerun with --theater-seed 42)"])


def test_the_ini_option_is_the_default_and_the_command_line_wins(pytester: pytest.Pytester):
    pytester.makeini("[pytest]\ntheater_seed = 5\n")
    pytester.makepyfile(test_x=_seeded_test(derive_seed(5, "test_x.py::test_seeded")))
    pytester.runpytest(*INNER).assert_outcomes(passed=1)
    pytester.makepyfile(test_x=_seeded_test(derive_seed(6, "test_x.py::test_seeded")))
    pytester.runpytest(*INNER, "--theater-seed", "6").assert_outcomes(passed=1)


def test_a_bad_seed_is_a_usage_error(pytester: pytest.Pytester):
    pytester.makepyfile(test_x=_seeded_test(0))
    pytester.makeini("[pytest]\ntheater_seed = many\n")
    result = pytester.runpytest(*INNER)
    result.stderr.fnmatch_lines(["*--theater-seed / theater_seed must be an integer or 'last', not 'many'*"])


def test_without_a_seed_each_session_draws_one_and_last_reuses_it(pytester: pytest.Pytester):
    pytester.makepyfile(test_x="def test_nothing(theater):\n    pass\n")
    first = pytester.runpytest("-p", "no:faulthandler")
    (seed,) = re.findall(r"theater-harness: seed (\d+)", first.stdout.str())
    again = pytester.runpytest("-p", "no:faulthandler", "--theater-seed", "last")
    assert re.findall(r"theater-harness: seed (\d+)", again.stdout.str()) == [seed]


def test_last_without_a_previous_session_is_a_usage_error(pytester: pytest.Pytester):
    pytester.makepyfile(test_x="def test_nothing():\n    pass\n")
    result = pytester.runpytest("-p", "no:faulthandler", "--theater-seed", "last")
    result.stderr.fnmatch_lines(["*--theater-seed last: no previous session's seed in the pytest cache*"])


def test_the_marker_sets_the_seed_and_the_runtime_options(pytester: pytest.Pytester):
    pytester.makepyfile(test_x='''
import pytest

@pytest.mark.theater(seed=7, fuel=1234, memory=1048576, request_timeout_ms=50)
def test_marked(theater):
    assert (theater.seed, theater.fuel, theater.memory, theater.request_timeout_ms) == (7, 1234, 1048576, 50)

@pytest.mark.theater(fuels=1)
def test_misspelt(theater):
    pass
''')
    result = pytester.runpytest(*INNER)
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(["*@pytest.mark.theater: *unexpected keyword argument 'fuels'*"])


def test_the_fixtures_together(pytester: pytest.Pytester):
    pytester.makepyfile(test_x=f'''
def test_tree_clock_probe_faults(theater, sim_clock, spawn_tree, probe, fault_schedule):
    tree = spawn_tree({{"name": "root", "supervision": {{"strategy": "one_for_one", "intensity": 5}},
                       "children": [{{"name": "w", "manifest": {str(CRASHER)!r}}},
                                    {{"name": "p", "manifest": {str(ACTORS / "pinger.toml")!r},
                                     "init_state": {{"target": probe.id}}}}]}})
    assert set(tree) == {{"root", "w", "p"}} and tree["w"].parent == tree.ids["root"]
    fault_schedule.add("trap", "w", at_ms=100)
    theater.send(tree.ids["w"], "hello", delay_ms=150)
    theater.send(tree.ids["p"], "send:ping", delay_ms=200)
    assert probe.expect_msg(within=500).payload == b"ping"
    assert sim_clock.now == 200
    assert tree["w"].incarnation == 2  # trapped by the fault, restarted by its supervisor
    assert [f.kind for f in fault_schedule.schedule] == ["trap"]
    sim_clock.advance(50)
    assert sim_clock.now == 250
''')
    pytester.runpytest(*INNER).assert_outcomes(passed=1)


FAILING = f'''
from theater_harness.invariants import assert_holds

def test_fails(theater, fault_schedule):
    sup = theater.spawn({str(ACTORS / "sup_wrong.toml")!r})
    for _ in range(2):
        theater.send(sup, "spawn:crasher.toml")
    theater.run_until_idle()
    a, b = theater.actor(sup).children
    fault_schedule.add("trap", b, at_ms=10)
    theater.send(b, "work", delay_ms=20)
    theater.run(until=100)
    assert_holds(theater, policies={{"sup_wrong": {{"strategy": "one_for_one"}}}})
'''


def test_a_failing_test_gets_the_report_and_its_replay_command_reproduces_it(pytester: pytest.Pytester, tmp_path):
    pytester.makepyfile(test_x=FAILING)
    traces = tmp_path / "traces"
    result = pytester.runpytest(*INNER, "--theater-seed", "99", "--theater-trace-dir", str(traces))
    result.assert_outcomes(failed=1)
    out = result.stdout.str()
    assert "theater-harness" in out
    for expected in ("tree:", "sup_wrong", "fault schedule:", '[[fault]]', 'kind = "trap"', "invariants violated",
                     "strategy_conformance", "timeline around", "replay: pytest test_x.py::test_fails --theater-seed 99"):
        assert expected in out, expected
    (digest,) = re.findall(r"trace sha256 ([0-9a-f]{16})", out)
    (saved,) = traces.iterdir()
    assert saved.name.startswith("test_x.py_test_fails.seed")
    replay = pytester.runpytest(*INNER, "test_x.py::test_fails", "--theater-seed", "99")
    replay.assert_outcomes(failed=1)
    assert re.findall(r"trace sha256 ([0-9a-f]{16})", replay.stdout.str()) == [digest]


def test_the_trace_dir_ini_twin(pytester: pytest.Pytester, tmp_path):
    pytester.makepyfile(test_x=FAILING)
    pytester.makeini(f"[pytest]\ntheater_trace_dir = {tmp_path / 'from-ini'}\n")
    pytester.runpytest(*INNER).assert_outcomes(failed=1)
    assert len(list((tmp_path / "from-ini").iterdir())) == 1


def test_seed_and_schedule_go_into_junit_xml(pytester: pytest.Pytester, tmp_path):
    pytester.makepyfile(test_x=FAILING)
    junit = tmp_path / "junit.xml"
    pytester.runpytest(*INNER, "--theater-seed", "3", f"--junitxml={junit}")
    properties = {p.get("name"): p.get("value") for p in ET.parse(junit).iter("property")}
    assert properties["theater_seed"] == str(derive_seed(3, "test_x.py::test_fails"))
    assert 'kind = "trap"' in properties["theater_schedule"]


def test_xdist_workers_agree_on_the_session_seed(pytester: pytest.Pytester, tmp_path):
    out = tmp_path / "seeds"
    out.mkdir()
    pytester.makepyfile(test_x="".join(f'''
def test_{i}(theater):
    import os, pathlib
    pathlib.Path({str(out)!r}, "{i}").write_text(f"{{theater.seed}} {{os.environ.get('PYTEST_XDIST_WORKER')}}")
''' for i in range(6)))
    result = pytester.runpytest("-p", "no:faulthandler", "-n", "2")
    result.assert_outcomes(passed=6)
    (session,) = map(int, re.findall(r"theater-harness: seed (\d+)", result.stdout.str()))
    written = {p.name: p.read_text().split() for p in out.iterdir()}
    assert {w for _, w in written.values()} == {"gw0", "gw1"}  # both workers ran tests
    for i in range(6):
        assert int(written[str(i)][0]) == derive_seed(session, f"test_x.py::test_{i}")


def test_check_determinism_runs_scenarios_twice(pytester: pytest.Pytester):
    pytester.makefile(".scenario.toml", stable=f'''
[[actor]]
name = "c"
manifest = {str(COUNTER)!r}
[[message]]
at = 5
to = "c"
send = "inc"
''')
    result = pytester.runpytest(*INNER, "--theater-check-determinism", "-v")
    result.assert_outcomes(passed=1)
    pytester.makeini("[pytest]\ntheater_check_determinism = true\n")
    pytester.runpytest(*INNER).assert_outcomes(passed=1)


SCENARIO_FAILING = f'''
name = "wrong sibling"
end_ms = 500

[[actor]]
name = "sup"
manifest = {str(ACTORS / "sup_wrong.toml")!r}

[[actor]]
name = "a"
manifest = {str(CRASHER)!r}
parent = "sup"
expect = "any"

[[actor]]
name = "b"
manifest = {str(CRASHER)!r}
parent = "sup"
expect = "any"

[policy.sup]
strategy = "one_for_one"

[[message]]
at = 150
to = "b"
send = "work"

[[fault]]
kind = "trap"
target = "b"
at_ms = 100
'''


def test_scenario_files_are_collected_and_report_their_failure(pytester: pytest.Pytester):
    pytester.makefile(".scenario.toml", broken=SCENARIO_FAILING)
    result = pytester.runpytest(*INNER, "--theater-seed", "1")
    result.assert_outcomes(failed=1)
    out = result.stdout.str()
    for expected in ("scenario 'wrong sibling'", "strategy_conformance", "fault schedule:", "at_ms = 100",
                     "replay: pytest 'broken.scenario.toml::wrong sibling' --theater-seed 1"):
        assert expected in out, expected


def test_a_scenario_marked_xfail_is_an_expected_failure(pytester: pytest.Pytester):
    pytester.makefile(".scenario.toml", broken=SCENARIO_FAILING.replace(
        'end_ms = 500', 'end_ms = 500\nxfail = "sup_wrong restarts the wrong sibling"'))
    pytester.runpytest(*INNER).assert_outcomes(xfailed=1)


def test_an_invalid_scenario_is_a_collection_error_naming_file_and_key(pytester: pytest.Pytester):
    pytester.makefile(".scenario.toml", bad='[[actor]]\nname = "a"\nmanifest = "x.toml"\nexpect = "happy"\n')
    result = pytester.runpytest(*INNER)
    result.assert_outcomes(errors=1)
    assert "bad.scenario.toml: field 'actor[0].expect': 'happy' is not one of running" in result.stdout.str()


def test_explored_scenarios_take_their_example_count_from_the_option(pytester: pytest.Pytester):
    pytester.makefile(".scenario.toml", explored=f'''
end_ms = 2000

[[actor]]
name = "root"
supervision = {{ strategy = "one_for_one", intensity = 100 }}

[[actor]]
name = "w"
manifest = {str(COUNTER)!r}
parent = "root"

[explore]
examples = 1000
max_faults = 2
kinds = ["trap", "stop"]
''')
    result = pytester.runpytest(*INNER, "--theater-examples", "7", "--junitxml=j.xml")
    result.assert_outcomes(passed=1)
    properties = {p.get("name"): p.get("value") for p in ET.parse(pytester.path / "j.xml").iter("property")}
    assert properties["theater_schedules_tried"] == "7"
    result.stdout.fnmatch_lines(["*theater-harness fault space*", "*cells (strategy x restart type x kind x phase)*"])


def _plugin_imports() -> dict[str, set[str]]:
    """Each module of pytest_theater, and the modules of it that it imports (lazily or not)."""
    import ast

    from conftest import ROOT

    package = ROOT / "pytest_theater"
    names = {path.stem for path in package.glob("*.py")}
    graph: dict[str, set[str]] = {}
    for name in names:
        found = set()
        for node in ast.walk(ast.parse((package / f"{name}.py").read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.level == 1:
                found |= {node.module} if node.module else {alias.name for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("pytest_theater."):
                found.add(node.module.split(".")[1])
            elif isinstance(node, ast.Import):
                found |= {a.name.split(".")[1] for a in node.names if a.name.startswith("pytest_theater.")}
        graph[name] = found & names
    return graph


def test_the_plugin_modules_import_each_other_in_no_circle():
    graph = _plugin_imports()
    assert graph["_shared"] == set()  # the shared pieces' one home imports none of the others
    assert "plugin" not in graph["collect"] | graph["report"]
    done: set[str] = set()

    def visit(name: str, path: tuple[str, ...]) -> None:
        assert name not in path, f"import circle: {' -> '.join(path + (name,))}"
        if name not in done:
            for imported in sorted(graph[name]):
                visit(imported, path + (name,))
            done.add(name)

    for name in sorted(graph):
        visit(name, ())
