"""The Hypothesis profiles the plugin registers (theater: no deadline; theater-ci:
derandomized, no database) and which one a session loads."""

from __future__ import annotations

import pytest
from hypothesis import settings

pytest_plugins = ["pytester"]

INNER = ("-p", "no:faulthandler", "-p", "no:cacheprovider")


@pytest.fixture
def no_profile_chosen():
    """Hypothesis's own default profile while the test runs (on CI Hypothesis loads its "ci"
    profile by itself, which the plugin leaves alone), and the one before it afterwards."""
    before = settings.get_current_profile_name()
    settings.load_profile("default")
    yield
    settings.load_profile(before)


def _profile_test(name: str, **expected) -> str:
    checks = "\n".join(f"    assert settings.default.{key} == {value!r}" for key, value in expected.items())
    return f'''
from hypothesis import settings

def test_profile():
    assert settings.get_current_profile_name() == {name!r}
{checks}
'''


def test_the_theater_profile_is_loaded_when_none_was_chosen_and_has_no_deadline(pytester, no_profile_chosen):
    pytester.makepyfile(test_x=_profile_test("theater", deadline=None) + '''
    assert settings(max_examples=100).deadline is None  # as the README's first test writes it
    assert settings.default.database == settings.get_profile("default").database  # .hypothesis/examples
''')
    pytester.runpytest(*INNER).assert_outcomes(passed=1)


def test_a_profile_loaded_by_a_conftest_stays(pytester, no_profile_chosen):
    pytester.makeconftest('''
from hypothesis import settings
settings.register_profile("mine", max_examples=3)
settings.load_profile("mine")
''')
    pytester.makepyfile(test_x=_profile_test("mine", max_examples=3))
    pytester.runpytest(*INNER).assert_outcomes(passed=1)


def test_theater_ci_is_derandomized_without_a_database(pytester, no_profile_chosen):
    pytester.makepyfile(test_x=_profile_test("theater-ci", deadline=None, derandomize=True, database=None))
    pytester.runpytest(*INNER, "--hypothesis-profile", "theater-ci").assert_outcomes(passed=1)
    pytester.makeini("[pytest]\ntheater_hypothesis_profile = theater-ci\n")
    pytester.runpytest(*INNER).assert_outcomes(passed=1)


def test_none_leaves_hypothesis_defaults_and_their_200_ms_deadline(pytester, no_profile_chosen):
    pytester.makepyfile(test_x='''
import datetime
from hypothesis import settings

def test_profile():
    assert settings.get_current_profile_name() == "default"
    assert settings.default.deadline == datetime.timedelta(milliseconds=200)
''')
    pytester.runpytest(*INNER, "--theater-hypothesis-profile", "none").assert_outcomes(passed=1)


def test_an_unknown_profile_is_a_usage_error(pytester):
    pytester.makepyfile(test_x="def test_nothing():\n    pass\n")
    result = pytester.runpytest(*INNER, "--theater-hypothesis-profile", "fast")
    result.stderr.fnmatch_lines(["*--theater-hypothesis-profile / theater_hypothesis_profile: 'fast' is not a "
                                 "registered Hypothesis profile; use auto, none, theater, theater-ci, or register "
                                 "yours in a conftest.py*"])


def test_a_session_puts_back_the_profile_it_found(pytester, no_profile_chosen):
    pytester.makepyfile(test_x="def test_nothing():\n    pass\n")
    pytester.runpytest(*INNER).assert_outcomes(passed=1)
    assert settings.get_current_profile_name() == "default"
