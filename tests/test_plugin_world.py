"""The ``world`` fixture, tested with pytester: the outside world of the test's ``theater``
runtime (files, environment, HTTP routes, stores), set up and read back from the test,
live (a change applies to the calls made from then on), validated, and shown in the
failure report."""

from __future__ import annotations

import pytest

from conftest import ACTORS

pytest_plugins = ["pytester"]

# An in-process pytest session re-enables faulthandler when it ends (see test_plugin.py).
INNER = ("-p", "no:faulthandler", "-p", "no:cacheprovider")

PRELUDE = f'''
import pytest
from theater_harness.world import Request, WorldError

USER = "{ACTORS / 'world_user.toml'}"


def ask(theater, actor, question):
    pending = theater.request(actor, question)
    theater.run_until_idle()
    assert pending.ok, pending.error
    return pending.reply.decode()
'''


def run_inner(pytester: pytest.Pytester, body: str, passed: int) -> pytest.RunResult:
    pytester.makepyfile(test_inner=PRELUDE + body)
    result = pytester.runpytest(*INNER, "--theater-seed", "1")
    result.assert_outcomes(passed=passed)
    return result


def test_a_test_sets_up_files_env_routes_and_stores_and_reads_them_back(pytester: pytest.Pytester):
    run_inner(pytester, '''
def test_sync(theater, world):
    world.files["srv/world_user/config.txt"] = "https://api.example.com/sync"
    world.env["API_TOKEN"] = "t0k"
    world.route("POST https://api.example.com/sync", status=201, body="synced", latency_ms=40)
    assert world.store("world-user", visits=b"41") == {"visits": b"41"}
    user = theater.spawn(USER)
    theater.send(user, "visit")
    assert ask(theater, user, "sync") == "201 synced"
    assert ask(theater, user, "save:out.txt:done") == "ok"
    assert theater.now == 40
    assert dict(world.files) == {"srv/world_user/config.txt": b"https://api.example.com/sync",
                                 "srv/world_user/out.txt": b"done"}
    assert world.requests == [Request("POST", "https://api.example.com/sync", (("authorization", "Bearer t0k"),),
                                      b"42")]
    assert [(e.time_ms, e.actor, e.response.status) for e in world.exchanges] == [(0, user, 201)]
    assert world.store("world-user") == {"last-sync": b"synced", "visits": b"42"}
    assert world.store("never-written") == {}
    assert theater.world.read("srv/world_user/out.txt") == b"done"  # the same world
''', passed=1)


def test_a_test_with_a_world_runs_the_same_twice(pytester: pytest.Pytester):
    pytester.makepyfile(test_inner=PRELUDE + '''
def test_sync(theater, world):
    world.files["srv/world_user/config.txt"] = "https://api.example.com/sync"
    world.route("POST https://api.example.com/sync", lambda request: {"status": 201, "latency_ms": 25})
    world.store("world-user", visits="9")
    user = theater.spawn(USER)
    assert ask(theater, user, "sync") == "201 "
''')
    result = pytester.runpytest(*INNER, "--theater-seed", "1", "--theater-check-determinism")
    result.assert_outcomes(passed=1)


def test_a_route_may_be_a_callable_and_routes_answer_in_order(pytester: pytest.Pytester):
    run_inner(pytester, '''
def test_handlers(theater, world):
    seen = []

    def item(request):
        seen.append(request)
        return {"status": 200, "body": request.uri.rsplit("/", 1)[1] * 2}

    world.route("GET https://api.example.com/items/0", 404)
    world.route("GET https://api.example.com/items/*", item)
    world.route("GET https://api.example.com/*", "fallback")
    world.route("* https://down.example.com/*", lambda request: None)
    user = theater.spawn(USER)
    assert ask(theater, user, "fetch:https://api.example.com/items/0") == "404 "
    assert ask(theater, user, "fetch:https://api.example.com/items/7") == "200 77"
    assert ask(theater, user, "fetch:https://api.example.com/other") == "200 fallback"
    assert ask(theater, user, "fetch:https://down.example.com/x") == (
        "error: error sending request for url (https://down.example.com/x): the world has no route for GET")
    assert seen == [Request("GET", "https://api.example.com/items/7")]
''', passed=1)


def test_changes_apply_to_the_calls_made_from_then_on(pytester: pytest.Pytester):
    run_inner(pytester, '''
def test_live(theater, world, sim_clock):
    user = theater.spawn(USER)
    assert ask(theater, user, "env:API_TOKEN") == "(unset)"
    assert ask(theater, user, "fetch:https://api.example.com/") .startswith("error: error sending request")
    assert ask(theater, user, "config").startswith("error: Permission denied: Failed to resolve path")
    sim_clock.run(500)
    world.env["API_TOKEN"] = "late"
    world.route("GET https://api.example.com/", status=503, latency_ms=20)
    world.files["srv/world_user/config.txt"] = "now"
    assert ask(theater, user, "env:API_TOKEN") == "late"
    assert ask(theater, user, "fetch:https://api.example.com/") == "503 "
    assert ask(theater, user, "config") == "now"
    assert sim_clock.now == 520
    del world.env["API_TOKEN"]
    assert ask(theater, user, "env:API_TOKEN") == "(unset)"
''', passed=1)


def test_the_files_are_a_mapping_of_the_disk(pytester: pytest.Pytester):
    run_inner(pytester, '''
def test_files(theater, world):
    world.files["/a/b.txt"] = "hé"
    world.files["logs/"] = None
    world.files["c.bin"] = b"\\x00\\x01"
    assert dict(world.files) == {"a/b.txt": "hé".encode(), "c.bin": b"\\x00\\x01"}
    assert len(world.files) == 2 and "a/b.txt" in world.files and "logs/" not in world.files
    assert world.files.get("missing.txt") is None
    world.files["a/b.txt"] = "replaced"
    del world.files["c.bin"]
    assert dict(world.files) == {"a/b.txt": b"replaced"}
    assert theater.world.disk == {"a": {"b.txt": b"replaced"}, "logs": {}}
    assert theater.world.disk_bytes == len(b"replaced")
    with pytest.raises(KeyError):
        del world.files["c.bin"]
''', passed=1)


def test_bad_input_is_refused_at_once_naming_the_key(pytester: pytest.Pytester):
    run_inner(pytester, '''
def refused(change):
    with pytest.raises(WorldError) as info:
        change()
    return info.value.field, info.value.reason


def test_bad(world):
    def set_env():
        world.env["MODE"] = 1

    def set_file(path, content):
        world.files[path] = content

    assert refused(set_env) == ("env['MODE']", "expected a string without NUL, got int")
    assert refused(lambda: set_file("../x", "a"))[0] == "files['../x']"
    assert refused(lambda: set_file("folder/", "a")) == (
        "files['folder/']", "a key ending in '/' is an empty folder: give it the value None")
    world.files["a"] = "a file"
    assert refused(lambda: set_file("a/b", "x")) == ("files['a/b']", "'a' is a file, so it cannot hold 'a/b'")
    assert refused(lambda: set_file("a/", None)) == ("files['a/']", "'a' is a file, not a folder")
    world.files["d/e"] = "x"
    assert refused(lambda: set_file("d", "x")) == ("files['d']", "'d' is a folder, not a file")
    field, reason = refused(lambda: world.route("get https://x/", 200))
    assert field == "http" and reason.startswith('expected "METHOD URL-pattern"')
    assert refused(lambda: world.route("GET https://x/", status=42)) == (
        "http['GET https://x/'].status", "expected an HTTP status from 100 to 999, got 42")
    assert refused(lambda: world.store("s", {"": b"x"}))[0] == "stores['s']"
    with pytest.raises(TypeError, match="give the response or its fields as keywords, not both"):
        world.route("GET https://x/", 200, latency_ms=5)
    assert dict(world.files) == {"a": b"a file", "d/e": b"x"}
    assert repr(world) == "<world: 2 files, 0 env vars, 0 routes, 0 requests>"
''', passed=1)


def test_a_handler_that_answers_nonsense_fails_its_caller(pytester: pytest.Pytester):
    run_inner(pytester, '''
def test_nonsense(theater, world):
    world.route("GET https://x.example/", lambda request: object())
    user = theater.spawn(USER)
    pending = theater.request(user, "fetch:https://x.example/")
    theater.run_until_idle()
    assert not pending.ok
    reason = theater.actor(user).exit_reason
    assert reason.kind == "host-error"
    assert "field 'http['GET https://x.example/'] (the answer to GET https://x.example/)'" in reason.message
''', passed=1)


def test_the_failure_report_shows_the_world_calls(pytester: pytest.Pytester):
    pytester.makepyfile(test_inner=PRELUDE + '''
def test_fails(theater, world):
    world.route("GET https://api.example.com/*", status=500, body="down", latency_ms=15)
    user = theater.spawn(USER)
    assert ask(theater, user, "fetch:https://api.example.com/items") == "200 []"
''')
    result = pytester.runpytest(*INNER, "--theater-seed", "1")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([
        "timeline around 15 ms:",
        "*0 ms  world  world: store        * new() -> ok \"world-user\"",
        "*0 ms  world  world: http-client  * GET https://api.example.com/items -> ok 500 \"b'down'\", after 15 ms",
    ])
