"""Scenario files' ``[world]``: files (inline, and copied from a folder beside the file),
environment, HTTP routes and stores, checked with errors naming the file and the key,
and the world every run of the scenario starts from (straight, explored, forked)."""

from __future__ import annotations

import textwrap

import pytest

from conftest import ACTORS, SCENARIOS
from theater_harness.errors import ScenarioError
from theater_harness.faults import FaultSchedule
from theater_harness.scenario import load_scenario, run_scenario
from theater_harness.scenario.explore import Runner, explore
from theater_harness.world import Response, Route

USER = f"""
[[actor]]
name = "sup"
supervision = {{ strategy = "one_for_one", intensity = 3 }}

[[actor]]
name = "user"
manifest = "{ACTORS / 'world_user.toml'}"
parent = "sup"
"""


def scenario_file(tmp_path, world: str, rest: str = USER):
    path = tmp_path / "w.scenario.toml"
    path.write_text(textwrap.dedent(world) + rest)
    return path


def test_world_basics_runs_as_its_file_expects():
    result = run_scenario(load_scenario(SCENARIOS / "world-basics.scenario.toml"))
    assert result.problems == [] and result.violations == []
    world = result.runtime.world
    assert world.read("srv/world_user/report.txt") == b"42 visits"
    assert world.read("srv/escape.txt") is None
    assert [(e.time_ms, e.request.method, e.request.uri, e.response and e.response.status)
            for e in world.exchanges] == [
        (100, "POST", "https://api.example.com/sync", 201),
        (200, "GET", "https://api.example.com/items/7", 200),
        (210, "GET", "https://api.example.com/users/7", None)]
    assert world.exchanges[0].request.headers == (("authorization", "Bearer t0k"),)
    labels = world.stores["world-user"].labels
    assert sorted(labels) == ["last-sync", "visits"]
    assert world.stores["world-user"].content[labels["visits"]] == b"42"
    result.runtime.close()


def test_the_world_table_becomes_a_world(tmp_path):
    (tmp_path / "disk" / "srv" / "world_user").mkdir(parents=True)
    (tmp_path / "disk" / "srv" / "world_user" / "config.txt").write_text("from the folder")
    (tmp_path / "disk" / "srv" / "world_user" / "notes.txt").write_text("kept")
    path = scenario_file(tmp_path, '''
        [world]
        files_from = "disk"
        env = { API_TOKEN = "t0k" }

        [world.files]
        "srv/world_user/config.txt" = "inline wins"
        "logs/" = ""

        [[world.http]]
        route = "GET https://x.example/*"
        status = 404
        headers = { server = "sim" }
        body = "none here"
        latency_ms = 7

        [[world.http]]
        route = "* https://y.example/"

        [world.stores.shared]
        motd = "hello"
        ''')
    world = load_scenario(path).world
    assert world.files == {"srv/": None, "srv/world_user/": None, "srv/world_user/config.txt": b"inline wins",
                           "srv/world_user/notes.txt": b"kept", "logs/": None}
    assert world.env == {"API_TOKEN": "t0k"}
    assert world.routes == (Route("GET", "https://x.example/*", Response(404, (("server", "sim"),), b"none here", 7)),
                            Route("*", "https://y.example/", Response()))
    assert world.stores == {"shared": {"motd": b"hello"}}


def test_a_scenario_without_a_world_table_has_none(tmp_path):
    assert load_scenario(scenario_file(tmp_path, "")).world is None


@pytest.mark.parametrize("world, field, message", [
    ("world = 3\n", "world", "expected a table [world]"),
    ("[world]\nfilez = {}\n", "world.filez", "unknown key 'filez'; known keys: files, files_from, env, http, stores"),
    ('[world.files]\n"../etc/passwd" = "x"\n', 'world.files."../etc/passwd"',
     "expected a path from the disk's root such as 'app/config.json'"),
    ("[world.files]\n\"a.txt\" = 1\n", "world.files.\"a.txt\"", "expected the file's text (a string"),
    ('[world.files]\n"a" = "file"\n"a/b" = "under a file"\n', "world.files", "'a' is a file, so it cannot hold 'a/b'"),
    ('[world]\nfiles_from = "nowhere"\n', "world.files_from", "is not a folder"),
    ('[world.env]\n"A=B" = "x"\n', 'world.env."A=B"', "expected a non-empty name without '=' or NUL"),
    ("[world.env]\nA = 1\n", "world.env.A", "expected a string without NUL, got int"),
    ("[[world.http]]\nstatus = 200\n", "world.http[0].route", 'missing: the requests it answers, "METHOD URL-pattern"'),
    ('[[world.http]]\nroute = "get https://x/"\n', "world.http[0].route", 'expected "METHOD URL-pattern"'),
    ('[[world.http]]\nroute = "GET https://x/"\nstatus = 42\n', "world.http[0].status",
     "expected an HTTP status from 100 to 999, got 42"),
    ('[[world.http]]\nroute = "GET https://x/"\nlatency_ms = -1\n', "world.http[0].latency_ms",
     "expected virtual milliseconds (an integer >= 0), got -1"),
    ('[[world.http]]\nroute = "GET https://x/"\nbody = 3\n', "world.http[0].body", "expected bytes or str, got int"),
    ('[[world.http]]\nroute = "GET https://x/"\nlatency = 3\n', "world.http[0].latency", "unknown key 'latency'"),
    ('[[world.http]]\nroute = "GET https://x/"\n[[world.http]]\nroute = "GET https://x/"\n', "world.http[1].route",
     "is the route of an earlier [[world.http]]: the first route that matches a request answers it"),
    ("[world.stores.shared]\nmotd = 3\n", "world.stores.shared.motd", "expected the content (a string), got 3"),
    ('[world.stores.shared]\n"" = "x"\n', "world.stores.shared", "expected a label (a non-empty string)"),
])
def test_a_bad_world_table_names_the_file_and_the_key(tmp_path, world, field, message):
    path = scenario_file(tmp_path, world)
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert (info.value.file, info.value.field) == (str(path), field)
    assert message in info.value.reason


EXPLORED = '''
    end_ms = 600

    [world.files]
    "srv/world_user/config.txt" = "https://api.example.com/sync"

    [world.stores.world-user]
    visits = "41"

    [[world.http]]
    route = "POST https://api.example.com/sync"
    status = 201
    latency_ms = 40

    [[workload]]
    to = "user"
    every_ms = 100
    until_ms = 500
    send = "visit"

    [explore]
    examples = 6
    kinds = ["trap", "stop"]
    fork_at_ms = 250
    '''


def test_a_fork_of_an_explored_run_holds_the_world_as_the_run_left_it(tmp_path):
    scenario = load_scenario(scenario_file(tmp_path, EXPLORED))
    checkpoint = Runner(scenario, 3, scenario.explore.fork_at_ms).checkpoint()
    stored = checkpoint.run(lambda rt: rt.world.stores["world-user"].content[
        rt.world.stores["world-user"].labels["visits"]])
    assert stored == b"44"  # 41 from the world, and the visits at 0, 100 and 200 ms
    assert checkpoint.run(lambda rt: rt.world.read("srv/world_user/config.txt")) == b"https://api.example.com/sync"
    checkpoint.runtime.close()


def test_forked_and_straight_explorations_of_a_world_agree(tmp_path, monkeypatch):
    scenario = load_scenario(scenario_file(tmp_path, EXPLORED))
    forked = explore(scenario, 5)
    monkeypatch.setattr(Runner, "forkable", lambda self, schedule: False)
    straight = explore(scenario, 5)
    assert forked.runs == straight.runs == 6
    assert sorted(map(str, forked.coverage.cells())) == sorted(map(str, straight.coverage.cells()))
    assert forked.failure is None and straight.failure is None


def test_every_run_of_a_scenario_starts_from_its_world(tmp_path):
    scenario = load_scenario(scenario_file(tmp_path, '''
        end_ms = 100

        [world.stores.world-user]
        visits = "7"

        [[message]]
        at = 10
        to = "user"
        send = "visit"
        '''))
    for _ in range(2):
        result = run_scenario(scenario, faults=FaultSchedule([]))
        store = result.runtime.world.stores["world-user"]
        assert store.content[store.labels["visits"]] == b"8"
        result.runtime.close()
    assert scenario.world.stores == {"world-user": {"visits": b"7"}}
