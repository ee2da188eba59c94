"""Campaigns across machines: ``--shard K/N`` for the command's explorations, ``--theater-shard
K/N`` for the plugin's Hypothesis tests and explored scenarios, coverage files and
``theater-harness coverage merge``: the shards of a campaign run, between them, exactly the
unsharded run's schedules and cover exactly its fault space."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

import theater_harness.scenario.explore as explore_module
from conftest import ACTORS, SCENARIOS
from theater_harness.cli import main
from theater_harness.fault_space import (Coverage, CoverageFileError, FaultSpace, coverage_from_json, merge_coverage,
                                         read_coverage)
from theater_harness.scenario import load_scenario
from theater_harness.scenario.explore import WHOLE, Shard, explore, parse_shard, plan, round_sizes

pytest_plugins = ["pytester"]

INNER = ("-p", "no:faulthandler", "-p", "no:cacheprovider")  # as in test_plugin.py


def small_explore(directory: Path, examples: int = 12, name: str = "small") -> Path:
    """scenarios/explore.scenario.toml with fewer examples, its manifests absolute."""
    text = (SCENARIOS / "explore.scenario.toml").read_text()
    text = text.replace('manifest = "actors/', f'manifest = "{ACTORS}/').replace("examples = 40",
                                                                                f"examples = {examples}")
    text = text.replace('name = "explored: generated fault schedules keep the tree healthy"', f'name = "{name}"')
    path = directory / f"{name}.scenario.toml"
    path.write_text(text)
    return path


def broken_explore(directory: Path) -> Path:
    """An exploration that fails: sup_wrong restarts the wrong sibling."""
    path = directory / "broken.scenario.toml"
    path.write_text(f'''
name = "broken"
end_ms = 1000

[[actor]]
name = "sup"
manifest = "{ACTORS}/sup_wrong.toml"

[[actor]]
name = "ledger"
manifest = "{ACTORS}/counter.toml"
parent = "sup"
expect = "any"

[[actor]]
name = "payments"
manifest = "{ACTORS}/crasher.toml"
parent = "sup"
expect = "any"

[policy.sup]
strategy = "one_for_one"
intensity = 5

[explore]
examples = 30
max_faults = 3
kinds = ["stop", "trap"]
''')
    return path


@pytest.fixture
def runs(monkeypatch):
    """The fault schedules exploring ran (TOML text, in order), and whether each failed."""
    ran: list[tuple[str, bool]] = []
    real = explore_module.run_scenario

    def spy(scenario, seed, *, faults=None):
        result = real(scenario, seed, faults=faults)
        ran.append((faults.to_toml(), result.ok))
        return result

    monkeypatch.setattr(explore_module, "run_scenario", spy)
    return ran


# --- K/N ------------------------------------------------------------------------------------


@pytest.mark.parametrize("text, shard", [("1/1", WHOLE), ("2/4", Shard(2, 4)), (" 3 / 3 ", Shard(3, 3)),
                                         ("007/10", Shard(7, 10))])
def test_a_shard_is_k_of_n(text, shard):
    assert parse_shard(text) == shard
    assert str(Shard(2, 4)) == "2/4" and WHOLE.whole and not Shard(1, 2).whole


@pytest.mark.parametrize("text", ["0/4", "5/4", "4", "1/0", "-1/2", "a/b", "", "1/2/3", "1.0/2", "2 4"])
def test_a_bad_shard_names_the_option_and_the_value(text):
    with pytest.raises(ValueError) as caught:
        parse_shard(text, "--shard")
    assert str(caught.value) == f"--shard takes K/N with 1 <= K <= N, got {text!r}"


@pytest.mark.parametrize("text", ["2/4", " 3 / 3 ", "0/4", "5/4", "4", "a/b", "", "1/1000001", "1/" + "9" * 30])
def test_the_plugin_reads_k_n_as_the_command_does(text):
    from pytest_theater import shards

    try:
        expected = parse_shard(text, shards.OPTION)
    except ValueError as exc:
        with pytest.raises(pytest.UsageError) as caught:
            shards.parse(text)
        assert str(caught.value) == str(exc)
    else:
        assert shards.parse(text) == (expected.index, expected.count)
    assert shards.shard_seed(7, (2, 4)) == explore_module.derived_seed(7, "shard 2 of 4")


def test_a_shard_count_is_bounded():
    with pytest.raises(ValueError, match=r"--shard takes K/N with N at most 1000000, got '1/1000001'"):
        parse_shard("1/1000001")
    with pytest.raises(ValueError, match="1 <= K <= N, got '1/" + "9" * 20):
        parse_shard("1/" + "9" * 30)


@given(examples=st.integers(1, 200), rounds=st.integers(1, 20), count=st.integers(1, 12))
def test_the_shards_of_a_campaign_run_each_schedule_exactly_once(examples, rounds, count):
    sizes = round_sizes(examples, rounds)
    assert sum(sizes) == examples and len(sizes) == min(rounds, examples) and max(sizes) - min(sizes) <= 1
    owners = Counter()
    for k in range(1, count + 1):
        for part in plan(examples, rounds, Shard(k, count)):
            assert part.examples == sizes[part.round - 1]
            owners.update((part.round, i) for i in range(part.offset, part.examples, part.stride))
    assert owners == Counter((r + 1, i) for r, size in enumerate(sizes) for i in range(size))


def test_shards_take_whole_rounds_when_there_are_enough():
    assert plan(10, 4, Shard(2, 2)) == [explore_module.Part(2, 3, 1, 0), explore_module.Part(4, 2, 1, 0)]
    assert plan(10, 1, Shard(2, 3)) == [explore_module.Part(1, 10, 3, 1)]  # one round: every third schedule
    assert plan(10, 1, WHOLE) == [explore_module.Part(1, 10, 1, 0)]


# --- exploring a shard ---------------------------------------------------------------------------


@pytest.mark.parametrize("rounds", [1, 3])
def test_the_shards_run_exactly_the_unsharded_schedules_and_cover_the_same_cells(tmp_path, runs, rounds):
    scenario = load_scenario(small_explore(tmp_path))
    whole = explore(scenario, 5, rounds=rounds)
    unsharded, runs[:] = list(runs), []
    assert whole.failure is None and whole.runs == 12 == len(unsharded)
    for count in (2, 3):
        together, space = [], FaultSpace()
        for k in range(1, count + 1):
            part = explore(scenario, 5, shard=Shard(k, count), rounds=rounds)
            assert part.runs == part.share == len(runs) and part.examples == 12
            together += runs
            runs[:] = []
            space.add(part.coverage)
        assert Counter(together) == Counter(unsharded)  # each schedule once, none left out
        assert space.counts == whole.coverage.counts and space.missed == whole.coverage.missed
        assert space.runs == whole.runs and space.table() == whole.coverage.table()


def test_one_round_on_one_shard_is_the_search_as_it_always_was(tmp_path, runs):
    from hypothesis import HealthCheck, Phase, find, settings
    from hypothesis.errors import NoSuchExample

    from theater_harness.strategies import fault_schedules

    scenario = load_scenario(small_explore(tmp_path))
    explore(scenario, 9)
    ran, runs[:] = [text for text, _ in runs], []
    options = scenario.explore
    strategy = fault_schedules(scenario.tree(), max_faults=options.max_faults, kinds=options.kinds,
                               horizon_ms=scenario.end_ms)
    seen = []
    import random
    with pytest.raises(NoSuchExample), explore_module._seed_only():
        find(strategy, lambda s: seen.append(s.to_toml()) and False, random=random.Random(9),
             settings=settings(max_examples=12, deadline=None, database=None, phases=[Phase.generate, Phase.shrink],
                               suppress_health_check=list(HealthCheck)))
    assert ran == seen


def test_the_schedules_of_a_seed_do_not_depend_on_the_modules_the_process_imported(tmp_path, runs, monkeypatch):
    """Hypothesis draws constants from the local modules imported so far; exploring does not."""
    from hypothesis.internal.conjecture import providers

    scenario = load_scenario(small_explore(tmp_path, examples=150))
    explore(scenario, 3)
    before, runs[:] = list(runs), []
    (tmp_path / "lots_of_constants.py").write_text(
        "VALUES = [" + ", ".join(str(n) for n in range(1, 6000, 7)) + "]\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    import lots_of_constants  # noqa: F401  (a local module, full of integers a fault's time could take)

    assert len(providers._get_local_constants().integers) >= 800  # Hypothesis would draw from them
    explore(scenario, 3)
    assert runs == before
    with explore_module._seed_only():
        assert not providers._get_local_constants().integers
    assert len(providers._get_local_constants().integers) >= 800  # and does again, outside exploring


def test_the_shard_that_owns_the_first_failure_finds_and_shrinks_it_as_the_unsharded_run(tmp_path, runs):
    scenario = load_scenario(broken_explore(tmp_path))
    whole = explore(scenario, 0)
    unsharded, runs[:] = list(runs), []
    assert whole.failure is not None
    first = next(i for i, (_, ok) in enumerate(unsharded) if not ok)
    for count in (2, 3):
        for k in range(1, count + 1):
            part = explore(scenario, 0, shard=Shard(k, count))
            if first % count == k - 1:  # the owner: its share up to the failure, then every run the unsharded made
                assert runs == [r for i, r in enumerate(unsharded[:first]) if i % count == k - 1] + unsharded[first:]
                assert part.failure.schedule == whole.failure.schedule
            runs[:] = []


# --- the command ---------------------------------------------------------------------------------


def run(capsys, *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    out = capsys.readouterr()
    return status, out.out, out.err


def _table(out: str) -> str:
    """The coverage table in a command's output."""
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("fault kind"))
    end = next(i for i, line in enumerate(lines) if "missed" in line and i > start)
    return "\n".join(lines[start:end + 1])


def test_shard_1_of_1_prints_exactly_what_the_unsharded_run_prints(capsys, tmp_path):
    path = str(small_explore(tmp_path))
    plain = run(capsys, "run", path, "--coverage")
    assert plain[0] == 0
    assert run(capsys, "run", path, "--coverage", "--shard", "1/1") == plain
    assert run(capsys, "run", path, "--coverage", "--rounds", "1") == plain


@pytest.mark.parametrize("value", ["0/2", "3/2", "two/4", "2"])
def test_a_bad_shard_exits_2_naming_the_option(capsys, tmp_path, value):
    status, out, err = run(capsys, "run", str(small_explore(tmp_path)), "--shard", value)
    assert status == 2 and out == ""
    assert err == f"error: --shard takes K/N with 1 <= K <= N, got {value!r}\n"


def test_shards_write_coverage_files_that_merge_into_the_unsharded_coverage(capsys, tmp_path):
    path = str(small_explore(tmp_path))
    status, whole_out, _ = run(capsys, "run", path, "--coverage", "--coverage-out", str(tmp_path / "whole.json"))
    assert status == 0
    files = []
    for k in (1, 2, 3):
        files.append(str(tmp_path / "shards" / f"{k}.json"))
        status, out, _ = run(capsys, "run", path, "--shard", f"{k}/3", "--coverage-out", files[-1])
        assert status == 0
        assert f", seed 0, shard {k}/3: 4 of 12 schedules)" in out
        assert f"shard {k}/3: its part of the schedules of 1 exploration" in out
    status, out, _ = run(capsys, "coverage", "merge", *files, "-o", str(tmp_path / "merged.json"))
    assert status == 0
    assert _table(out) == _table(whole_out)  # the table the unsharded run printed
    whole, merged = read_coverage(tmp_path / "whole.json"), read_coverage(tmp_path / "merged.json")
    assert merged.space.to_dict() == whole.space.to_dict()
    assert merged.space.cells() == whole.space.cells() and whole.space.cells()
    (campaign,) = merged.campaigns
    assert campaign["id"] == whole.campaigns[0]["id"] and campaign["included"] == [1, 2, 3]
    assert re.search(rf"campaign {campaign['id']} \(1 exploration: small \(seed 0, 12 examples\)\), "
                     r"shards 1-3 of 3: the whole campaign", out)
    assert merged.complete and f"wrote {tmp_path / 'merged.json'}" in out


def test_merge_says_which_shards_are_missing_and_complete_makes_it_fail(capsys, tmp_path):
    path = str(small_explore(tmp_path, examples=6))
    for k in (1, 3):
        run(capsys, "run", path, "--shard", f"{k}/4", "--coverage-out", str(tmp_path / f"{k}.json"))
    files = [str(tmp_path / "1.json"), str(tmp_path / "3.json")]
    status, out, _ = run(capsys, "coverage", "merge", *files)
    assert status == 0
    assert "shards 1, 3 of 4; missing 2, 4, so not the whole campaign" in out
    status, out, _ = run(capsys, "coverage", "merge", *files, "--complete")
    assert status == 1 and out.rstrip().endswith("FAILED: shards are missing (--complete)")


def test_merge_refuses_to_count_a_shard_twice_or_two_splits_of_one_campaign(capsys, tmp_path):
    path = str(small_explore(tmp_path, examples=4))
    run(capsys, "run", path, "--shard", "1/2", "--coverage-out", str(tmp_path / "a.json"))
    run(capsys, "run", path, "--shard", "1/2", "--coverage-out", str(tmp_path / "b.json"))
    run(capsys, "run", path, "--coverage-out", str(tmp_path / "whole.json"))
    status, out, err = run(capsys, "coverage", "merge", str(tmp_path / "a.json"), str(tmp_path / "b.json"))
    assert status == 2 and out == ""
    assert re.fullmatch(rf"error: {tmp_path / 'b.json'}: shard 1/2 of campaign [0-9a-f]{{16}} is in "
                        rf"{tmp_path / 'a.json'} too: it would be counted twice\n", err)
    status, _, err = run(capsys, "coverage", "merge", str(tmp_path / "whole.json"), str(tmp_path / "a.json"))
    assert status == 2 and "is split into 2 shards here and into 1 in" in err


def test_different_campaigns_merge_side_by_side(capsys, tmp_path):
    one, two = tmp_path / "one", tmp_path / "two"
    one.mkdir()
    two.mkdir()
    run(capsys, "run", str(small_explore(one, examples=4)), "--coverage-out", str(tmp_path / "a.json"))
    run(capsys, "run", str(small_explore(two, examples=5)), "--seed", "2", "--coverage-out", str(tmp_path / "b.json"))
    status, out, _ = run(capsys, "coverage", "merge", str(tmp_path / "a.json"), str(tmp_path / "b.json"), "--complete")
    assert status == 0
    assert out.count("unsharded") == 2 and "exercised over 9 runs" in out


@pytest.mark.parametrize("doc, message", [
    ("[]", "expected a JSON object (a coverage file)"),
    ('{"format": "x"}', "field 'format': not a coverage file"),
    (None, ""),
])
def test_a_bad_coverage_file_exits_2_naming_the_file_and_the_field(capsys, tmp_path, doc, message):
    path = tmp_path / "bad.json"
    if doc is None:  # a good file with one bad cell
        good = Coverage(FaultSpace()).to_dict()
        good["cells"] = [{"strategy": "one_for_one", "restart": "permanent", "kind": "nope", "phase": "init",
                          "faults": 1}]
        doc, message = json.dumps(good), "field 'cells[0].kind': 'nope' is not one of stop, kill"
    path.write_text(doc)
    status, out, err = run(capsys, "coverage", "merge", str(path))
    assert status == 2 and out == ""
    assert err.startswith(f"error: {path}: {message}")
    status, _, err = run(capsys, "coverage", "merge", str(tmp_path / "absent.json"))
    assert status == 2 and err == f"error: {tmp_path / 'absent.json'}: coverage file not found\n"


def test_a_coverage_file_round_trips(tmp_path):
    space = FaultSpace()
    from theater_harness.fault_space import Cell, campaign, exploration

    space.counts.update({Cell("one_for_one", "transient", "trap", "running"): 3, Cell("root", "permanent", "kill",
                                                                                       "init"): 1})
    space.missed.update({"hang": 2})
    space.runs = 7
    coverage = Coverage(space, [campaign([exploration("s", "s.scenario.toml", "0" * 64, 1, 10)], (2, 5))])
    again = coverage_from_json(coverage.to_json(), "x.json")
    assert again.to_dict() == coverage.to_dict() and again.space.table() == space.table()
    with pytest.raises(CoverageFileError, match="campaigns\\[0\\].included': expected an array of distinct"):
        doc = coverage.to_dict()
        doc["campaigns"][0]["included"] = [6]
        coverage_from_json(json.dumps(doc), "x.json")
    with pytest.raises(CoverageFileError, match="a second entry for kill in init"):
        doc = coverage.to_dict()
        doc["cells"].append(dict(doc["cells"][0]))
        coverage_from_json(json.dumps(doc), "x.json")
    assert merge_coverage([("a", coverage)]).to_dict() == coverage.to_dict()


def test_scenarios_without_explore_are_shared_out_between_the_shards(capsys, tmp_path):
    for name in ("a", "b", "c"):
        (tmp_path / f"{name}.scenario.toml").write_text(f'''
name = "{name}"
[[actor]]
name = "c"
manifest = "{ACTORS}/counter.toml"
''')
    small_explore(tmp_path, examples=4, name="x")
    ran = {}
    for k in (1, 2):
        status, out, _ = run(capsys, "run", str(tmp_path), "--shard", f"{k}/2")
        assert status == 0
        ran[k] = set(re.findall(r"^== (\w+) \(", out, re.M))
        assert "x" in ran[k]  # every shard explores its part
    assert ran[1] - {"x"} == {"a", "c"} and ran[2] - {"x"} == {"b"}
    assert out.rstrip().endswith("shard 2/2: its part of the schedules of 1 exploration, and 1 of the 3 "
                                 "scenarios without [explore] (the others on the other shards)\n2 of 2 scenarios ok")


def test_an_xfail_exploration_a_shard_does_not_break_is_not_an_xpass(capsys, tmp_path):
    path = broken_explore(tmp_path)
    path.write_text(path.read_text().replace('name = "broken"', 'name = "broken"\nxfail = "a mutant"'))
    verdicts = []
    for k in (1, 2, 3, 4, 5, 6):
        status, out, _ = run(capsys, "run", str(path), "--shard", f"{k}/6", "--examples", "6")
        assert status == 0
        verdicts.append(re.search(r"^  (XFAIL|ok) ", out, re.M)[1])
    assert "XFAIL" in verdicts and "ok" in verdicts  # some shard's part found it, some did not
    assert "(xfail, not found in this shard's part: a mutant)" in out or "XFAIL (a mutant)" in out


# --- the plugin ----------------------------------------------------------------------------------


HYPOTHESIS_TESTS = '''
import pathlib
from hypothesis import given, settings, strategies as st
from hypothesis.stateful import RuleBasedStateMachine, rule
from theater_harness.strategies import fault_schedules
from theater_harness.trees import NodeSpec, Policy, TreeSpec

OUT = pathlib.Path({out!r})
TREE = TreeSpec(NodeSpec("root", policy=Policy("one_for_one"), children=(
    NodeSpec("w0", manifest={counter!r}), NodeSpec("w1", manifest={counter!r}))))


def note(name, value):
    with open(OUT / name, "a") as f:
        f.write(repr(value).replace("\\n", " ") + "\\n")


@settings(max_examples=20, database=None)
@given(fault_schedules(TREE, max_faults=3))
def test_schedules(schedule):
    note("schedules", schedule.to_dicts())


@settings(max_examples=20, database=None)
@given(st.integers(0, 10**12))
def test_numbers(n):
    note("numbers", n)


class Machine(RuleBasedStateMachine):
    @rule(n=st.integers(0, 10**12))
    def step(self, n):
        note("machine", n)


Machine.TestCase.settings = settings(max_examples=5, stateful_step_count=4, database=None)
TestMachine = Machine.TestCase
'''


def _draws(pytester: pytest.Pytester, out: Path, *args: str) -> dict[str, list[str]]:
    for old in out.iterdir():
        old.unlink()
    result = pytester.runpytest(*INNER, *args)
    result.assert_outcomes(passed=3)
    return {p.name: p.read_text().splitlines() for p in sorted(out.iterdir())}


@pytest.mark.parametrize("profile", ["theater", "theater-ci"])
def test_hypothesis_tests_search_from_a_seed_of_their_shard(pytester: pytest.Pytester, tmp_path, profile):
    out = tmp_path / "draws"
    out.mkdir()
    pytester.makepyfile(test_x=HYPOTHESIS_TESTS.format(out=str(out), counter=str(ACTORS / "counter.toml")))
    common = ("--theater-seed", "11", "--theater-hypothesis-profile", profile)
    one = _draws(pytester, out, *common, "--theater-shard", "1/2")
    two = _draws(pytester, out, *common, "--theater-shard", "2/2")
    assert _draws(pytester, out, *common, "--theater-shard", "1/2") == one  # a shard is reproducible
    assert set(one) == set(two) == {"machine", "numbers", "schedules"}
    for name in one:
        assert one[name] != two[name]
        # the searches are different: they share at most what every search starts with
        assert len(set(one[name]) & set(two[name])) <= len(set(one[name])) // 2, name
    other_seed = _draws(pytester, out, "--theater-seed", "12", "--theater-hypothesis-profile", profile,
                        "--theater-shard", "1/2")
    assert other_seed["numbers"] != one["numbers"]


def test_an_explicit_hypothesis_seed_is_the_shards_base(pytester: pytest.Pytester, tmp_path):
    out = tmp_path / "draws"
    out.mkdir()
    pytester.makepyfile(test_x=HYPOTHESIS_TESTS.format(out=str(out), counter=str(ACTORS / "counter.toml")))
    base = ("--theater-seed", "11", "--hypothesis-seed", "4")
    one = _draws(pytester, out, *base, "--theater-shard", "1/2")
    two = _draws(pytester, out, *base, "--theater-shard", "2/2")
    unsharded = _draws(pytester, out, *base)
    assert one["numbers"] != two["numbers"] and unsharded["numbers"] not in (one["numbers"], two["numbers"])
    assert _draws(pytester, out, "--theater-seed", "99", "--hypothesis-seed", "4", "--theater-shard", "1/2") == one


def test_the_plugin_refuses_a_bad_shard_or_a_shard_without_a_shared_seed(pytester: pytest.Pytester):
    pytester.makepyfile(test_x="def test_nothing():\n    pass\n")
    result = pytester.runpytest(*INNER, "--theater-shard", "3/2", "--theater-seed", "1")
    result.stderr.fnmatch_lines(["*--theater-shard / theater_shard takes K/N with 1 <= K <= N, got '3/2'*"])
    result = pytester.runpytest(*INNER, "--theater-shard", "2/4")
    result.stderr.fnmatch_lines(["*--theater-shard 2/4: give every shard the same session seed (--theater-seed N*"])
    pytester.makeini("[pytest]\ntheater_shard = 2/4\ntheater_seed = 3\n")
    result = pytester.runpytest(*INNER)
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["theater-harness: seed 3 (rerun with --theater-seed 3), shard 2/4 *"])


def _session_coverage(pytester: pytest.Pytester, tmp_path: Path, name: str, *args: str) -> tuple[Coverage, int]:
    out, junit = tmp_path / f"{name}.json", tmp_path / f"{name}.xml"
    result = pytester.runpytest(*INNER, "--theater-seed", "21", "--theater-coverage-out", str(out),
                                f"--junitxml={junit}", *args)
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["*theater-harness fault space*"])
    tried = sum(int(p.get("value")) for p in ET.parse(junit).iter("property")
                if p.get("name") == "theater_schedules_tried")
    return read_coverage(out), tried


def test_explored_scenarios_split_between_shards_cover_the_unsharded_fault_space(pytester: pytest.Pytester,
                                                                                   tmp_path):
    small_explore(pytester.path, examples=9, name="first")
    small_explore(pytester.path, examples=7, name="second")
    whole, whole_tried = _session_coverage(pytester, tmp_path, "whole")
    assert whole_tried == 16 == whole.space.runs
    parts = [_session_coverage(pytester, tmp_path, f"shard{k}", "--theater-shard", f"{k}/3") for k in (1, 2, 3)]
    assert sum(tried for _, tried in parts) == 16
    merged = merge_coverage((f"shard{k}", coverage) for k, (coverage, _) in enumerate(parts, 1))
    assert merged.space.to_dict() == whole.space.to_dict() and merged.space.cells()
    (campaign,) = merged.campaigns
    assert campaign["id"] == whole.campaigns[0]["id"] and merged.complete
    assert [e["file"] for e in campaign["explorations"]] == ["first.scenario.toml", "second.scenario.toml"]


def test_under_xdist_the_controller_writes_every_workers_coverage(pytester: pytest.Pytester, tmp_path):
    small_explore(pytester.path, examples=5, name="first")
    small_explore(pytester.path, examples=4, name="second")
    alone, _ = _session_coverage(pytester, tmp_path, "alone")
    both, _ = _session_coverage(pytester, tmp_path, "xdist", "-n", "2")
    assert both.to_dict() == alone.to_dict() and both.space.runs == 9


def test_a_failure_on_a_shard_replays_with_its_shard(pytester: pytest.Pytester):
    pytester.makepyfile(test_x=f'''
def test_fails(theater):
    theater.spawn({str(ACTORS / "counter.toml")!r})
    assert False
''')
    result = pytester.runpytest(*INNER, "--theater-seed", "5", "--theater-shard", "2/3")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["replay: pytest test_x.py::test_fails --theater-seed 5 --theater-shard 2/3"])


def test_the_determinism_check_runs_a_shards_examples_twice(pytester: pytest.Pytester):
    pytester.makepyfile(test_x=f'''
from hypothesis import given, settings, strategies as st
from theater_harness import Runtime

@settings(max_examples=5, database=None)
@given(st.integers(1, 20))
def test_counts(n):
    rt = Runtime()
    counter = rt.spawn({str(ACTORS / "counter.toml")!r})
    for _ in range(n):
        rt.send(counter, b"inc")
    rt.run_until_idle()
''')
    result = pytester.runpytest(*INNER, "--theater-seed", "2", "--theater-shard", "2/3", "--theater-check-determinism")
    result.assert_outcomes(passed=1)


def test_a_coverage_file_that_cannot_be_written_is_refused_before_the_campaign(capsys, tmp_path):
    status, out, err = run(capsys, "run", str(small_explore(tmp_path)), "--coverage-out", "")
    assert status == 2 and out == ""
    assert err == "error: not a usable coverage file path: the path is empty\n"


def test_bench_shards_measures_what_it_says(tmp_path):
    import sys

    from conftest import ROOT

    if str(ROOT / "benchmarks") not in sys.path:
        sys.path.insert(0, str(ROOT / "benchmarks"))
    import bench_shards

    sizes = bench_shards.Sizes(files=2, examples=3, cli_examples=6, repeat=1)
    base = tmp_path / "bench"
    base.mkdir()
    dirs = bench_shards.Dirs(base, sizes)
    assert [load_scenario(p).seed for p in sorted(dirs.selection.iterdir())] == [0, 1]
    _, _, whole = bench_shards.cli_whole(dirs, sizes, 2)
    wall, cpu, merged = bench_shards.cli_shards(dirs, sizes, 2)
    assert wall > 0 and cpu > 0 and merged.complete
    assert merged.space.to_dict() == whole.space.to_dict() and whole.space.runs == 6
