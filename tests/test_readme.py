"""The README's examples are true: its first test passes under pytest, its scenario is the
bundled file, and its set-up commands are what CI runs."""

from __future__ import annotations

import re

import pytest

from conftest import ROOT, SCENARIOS

pytest_plugins = ["pytester"]

README = (ROOT / "README.md").read_text(encoding="utf-8")


def _block(language: str, first_line: str) -> str:
    """The fenced ``language`` block whose first line is ``first_line``, without it."""
    for body in re.findall(rf"```{language}\n(.*?)```", README, flags=re.S):
        head, _, rest = body.partition("\n")
        if head == first_line:
            return rest
    raise AssertionError(f"README has no ```{language} block starting with {first_line!r}")


def test_the_first_test_passes(pytester: pytest.Pytester):
    pytester.makepyfile(test_counter_tree=_block("python", "# test_counter_tree.py"))
    result = pytester.runpytest("-p", "no:faulthandler", "-p", "no:cacheprovider", "--theater-seed", "1")
    result.assert_outcomes(passed=2)


def test_the_scenario_shown_is_the_bundled_file():
    shown = _block("toml", "# scenarios/one-for-one.scenario.toml")
    assert shown == (SCENARIOS / "one-for-one.scenario.toml").read_text(encoding="utf-8")


def test_the_set_up_commands_are_the_ones_ci_runs():
    setup = _block("sh", "pip install -e . && theater-harness run scenarios/      # the main job, on the bundled examples")
    assert setup.strip() == "pip install -e '.[test]' && pytest                        # the tests"
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    for line in ("pip install -e .\n", "theater-harness run scenarios/\n", "coverage run -m pytest\n"):
        assert line in ci


def test_the_runtime_example_runs_as_written(monkeypatch, tmp_path, capsys):
    monkeypatch.chdir(tmp_path)  # it names the bundled examples, wherever it runs
    first = "from theater_harness import Runtime"
    exec(compile(first + "\n" + _block("python", first), "README.md", "exec"), {})
    printed = capsys.readouterr().out.splitlines()
    assert printed[0].startswith("trap in theater:simple/message-server-client.handle-send: wasm trap: ")
    assert re.fullmatch(r"[0-9a-f]{64}", printed[1])


def test_the_cache_commands_shown_exist():
    from theater_harness.cli import main

    for line in _block("sh", "theater-harness run scenarios/                           # every *.scenario.toml "
                             "under it").splitlines():
        words = line.split("#")[0].split()
        if words[:2] == ["theater-harness", "cache"]:
            with pytest.raises(SystemExit) as done:
                main([*words[1:3], "--help"])
            assert done.value.code == 0


def test_the_world_tests_pass(pytester: pytest.Pytester):
    pytester.makepyfile(test_world_user=_block("python", "# test_world_user.py"),
                        test_store_durability=_block("python", "# test_store_durability.py"))
    result = pytester.runpytest("-p", "no:faulthandler", "-p", "no:cacheprovider", "--theater-seed", "1")
    result.assert_outcomes(passed=4)
