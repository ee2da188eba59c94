"""The pytest plugin, tested with pytester."""

from __future__ import annotations

import pytest

from pytest_theater.plugin import test_seed as derive_seed

pytest_plugins = ["pytester"]

# An in-process pytest session re-enables faulthandler when it ends, on top of (and in
# place of) wasmtime's trap handlers: later wasm traps in this process would kill it.
INNER = ("-p", "no:faulthandler")


def _test_file(expected_seed: int) -> str:
    return f'''
def test_seeded(theater):
    assert theater.seed == {expected_seed}
    assert theater.now == 0 and theater.actors == []
'''


def test_the_seed_shows_in_the_header_and_derives_from_the_node_id(pytester: pytest.Pytester):
    pytester.makepyfile(test_x=_test_file(derive_seed(42, "test_x.py::test_seeded")))
    result = pytester.runpytest(*INNER, "--theater-seed", "42")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["theater-harness: seed 42 (--theater-seed)"])


def test_the_ini_option_is_the_default_and_the_command_line_wins(pytester: pytest.Pytester):
    pytester.makeini("[pytest]\ntheater_seed = 5\n")
    pytester.makepyfile(test_x=_test_file(derive_seed(5, "test_x.py::test_seeded")))
    pytester.runpytest(*INNER).assert_outcomes(passed=1)
    pytester.makepyfile(test_x=_test_file(derive_seed(6, "test_x.py::test_seeded")))
    pytester.runpytest(*INNER, "--theater-seed", "6").assert_outcomes(passed=1)


def test_a_bad_ini_seed_is_a_usage_error(pytester: pytest.Pytester):
    pytester.makepyfile(test_x=_test_file(0))
    pytester.makeini("[pytest]\ntheater_seed = many\n")
    result = pytester.runpytest(*INNER)
    result.stderr.fnmatch_lines(["*theater_seed (ini) must be an integer, not 'many'*"])


def test_seeds_differ_between_tests_and_between_run_seeds():
    assert derive_seed(1, "a.py::t") != derive_seed(1, "a.py::u")
    assert derive_seed(1, "a.py::t") != derive_seed(2, "a.py::t")
    assert derive_seed(1, "a.py::t") == derive_seed(1, "a.py::t")
