"""Hypothesis settings profiles for actor tests, registered by the plugin at start-up.

- ``theater``: Hypothesis's defaults without a deadline. Actors are real wasm: an example
  that spawns a tree and runs it can take longer than the 200 ms Hypothesis allows by
  default (and the first one pays for loading the components), which ends in
  ``DeadlineExceeded`` and, when the replay is faster, ``FlakyFailure``. The example
  database stays Hypothesis's default, ``.hypothesis/examples``.
- ``theater-ci``: ``theater`` for CI gates: ``derandomize`` (the same examples on every
  run, chosen from each test's source), no example database, and a failure printed with
  its ``@reproduce_failure`` blob.

Which one is loaded is ``--theater-hypothesis-profile`` / ``theater_hypothesis_profile``:
``auto`` (the default) loads ``theater`` unless a profile was chosen already (by a
conftest's ``settings.load_profile(...)``, by ``--hypothesis-profile``, or Hypothesis's
own ``ci`` profile, which Hypothesis loads by itself on CI); ``none`` loads nothing; any
other value names the profile to load. What a session changed is undone when it ends.
"""

from __future__ import annotations

from typing import Any

import pytest

THEATER = "theater"
THEATER_CI = "theater-ci"
_OURS = (THEATER, THEATER_CI)


def register() -> dict[str, Any]:
    """Register both profiles; returns what ``restore`` needs to undo it."""
    from hypothesis import settings
    from hypothesis.errors import InvalidArgument

    before: dict[str, Any] = {}
    for name in _OURS:
        try:
            before[name] = settings.get_profile(name)
        except InvalidArgument:
            before[name] = None
    undo = {"before": before, "previous": settings.get_current_profile_name()}
    # Based on Hypothesis's own defaults, not on whichever profile is active now.
    settings.register_profile(THEATER, settings.get_profile("default"), deadline=None)
    settings.register_profile(THEATER_CI, settings.get_profile(THEATER), derandomize=True, database=None,
                              print_blob=True)
    return undo


def choose(undo: dict[str, Any], value: str | None) -> None:
    """Load the profile ``value`` asks for (see the module's docstring)."""
    from hypothesis import settings
    from hypothesis.errors import InvalidArgument

    value = (value or "auto").strip()
    if value == "none":
        return
    if value == "auto":
        current = settings.get_current_profile_name()
        if current not in ("default", *_OURS):
            return  # the user's choice, or Hypothesis's "ci"
        value = THEATER if current == "default" else current
    try:
        settings.get_profile(value)  # load_profile would take the name before it fails
    except InvalidArgument:
        raise pytest.UsageError(
            f"--theater-hypothesis-profile / theater_hypothesis_profile: {value!r} is not a registered Hypothesis "
            f"profile; use auto, none, {THEATER}, {THEATER_CI}, or register yours in a conftest.py") from None
    settings.load_profile(value)


def restore(undo: dict[str, Any]) -> None:
    """Put back the profiles as they were before ``register`` (for pytest sessions run in
    the same process, e.g. by ``pytester``)."""
    from hypothesis import settings

    for name, profile in undo["before"].items():
        if profile is not None:
            settings.register_profile(name, profile)
    if settings.get_current_profile_name() != undo["previous"]:
        settings.load_profile(undo["previous"])
