"""`theater:simple/environment`: the manifest's and the world's variables (the world's
win), filtered as Theater's handler filters them."""

from __future__ import annotations

import pytest

from conftest import ACTORS
from theater_harness import Runtime
from theater_harness.errors import ManifestError
from theater_harness.host import HOST_FUNCTIONS
from theater_harness.host import environment as env_host
from theater_harness.manifest import parse_manifest
from theater_harness.world import World

F = env_host.FUNCTIONS


def actor_with(rt: Runtime, config: str):
    text = (f'name = "env"\ncomponent = "{ACTORS / "counter.wasm"}"\n[[handler]]\ntype = "runtime"\n'
            f'[[handler]]\ntype = "environment"\n{config}\n')
    return rt._resolve(rt.spawn(text))


def test_registered_with_the_host():
    assert HOST_FUNCTIONS["environment"] is F
    assert list(F) == ["get-var", "list-vars", "exists"]


def test_the_worlds_variables_win_over_the_manifests():
    rt = Runtime(seed=1, world=World(env={"MODE": "test", "TOKEN": "t"}))
    a = actor_with(rt, 'vars = { MODE = "production", REGION = "eu" }')
    assert [F["get-var"](rt, a, n) for n in ("MODE", "REGION", "TOKEN", "HOME")] == ["test", "eu", "t", None]
    assert [F["exists"](rt, a, n) for n in ("MODE", "HOME")] == [True, False]


def test_nothing_comes_from_the_process_environment(monkeypatch):
    monkeypatch.setenv("HARNESS_PROCESS_VAR", "leak")
    rt = Runtime(seed=1)
    a = actor_with(rt, "allow_list_all = true")
    assert F["get-var"](rt, a, "HARNESS_PROCESS_VAR") is None
    assert F["list-vars"](rt, a) == []


def test_list_vars_is_empty_unless_allowed_and_sorted():
    rt = Runtime(seed=1, world=World(env={"B": "2", "A": "1"}))
    assert F["list-vars"](rt, actor_with(rt, "")) == []
    assert F["list-vars"](rt, actor_with(rt, "allow_list_all = true")) == [("A", "1"), ("B", "2")]


@pytest.mark.parametrize("config, visible, listed", [
    ('denied_vars = ["API_KEY"]', ["API_URL", "APP", "HOME"], ["API_URL", "APP", "HOME"]),
    ('allowed_vars = ["HOME", "API_KEY"]\ndenied_vars = ["API_KEY"]', ["HOME"], ["HOME"]),
    ('allowed_prefixes = ["API_"]', ["API_KEY", "API_URL"], ["API_KEY", "API_URL"]),
    # Theater's two checks differ: get-var needs every filter given to pass; list-vars
    # lets allowed_vars alone decide when it is given.
    ('allowed_vars = ["HOME", "API_KEY"]\nallowed_prefixes = ["API_"]', ["API_KEY"], ["API_KEY", "HOME"]),
])
def test_filters_are_theaters(config, visible, listed):
    names = ["API_KEY", "API_URL", "APP", "HOME"]
    rt = Runtime(seed=1, world=World(env={n: n.lower() for n in names}))
    a = actor_with(rt, config + "\nallow_list_all = true")
    assert [n for n in names if F["get-var"](rt, a, n) is not None] == visible
    assert [n for n in names if F["exists"](rt, a, n)] == visible
    assert [n for n, _ in F["list-vars"](rt, a)] == listed


def test_calls_are_recorded_as_world_records():
    rt = Runtime(seed=1, world=World(env={"A": "1"}))
    a = actor_with(rt, "")
    F["get-var"](rt, a, "A")
    F["exists"](rt, a, "B")
    assert [(r["function"], r["args"], r["outcome"], r["result"]) for r in rt.trace.dicts() if r["kind"] == "world"] \
        == [("get-var", ["A"], "ok", "1"), ("exists", ["B"], "ok", False)]


@pytest.mark.parametrize("config, field, message", [
    ("vars = 3", "vars", 'expected a table of strings (e.g. { NAME = "value" }), got the integer 3'),
    ("vars = { A = 1 }", "vars.A", "expected a string without NUL (and a name without '='), got the integer 1"),
    ('denied_vars = "A"', "denied_vars", 'expected an array of strings, got the string "A"'),
    ("allowed_prefixes = [1]", "allowed_prefixes", "expected an array of strings, got an array with an item that "
                                                   "is not a string"),
    ("allow_list_all = 1", "allow_list_all", "expected a boolean (true or false), got the integer 1"),
])
def test_manifest_config_is_checked(config, field, message):
    with pytest.raises(ManifestError) as info:
        parse_manifest(f'name = "a"\ncomponent = "a.wasm"\n[[handler]]\ntype = "environment"\n{config}\n')
    assert (info.value.field, info.value.reason) == (f"handler[0].{field}", message)
