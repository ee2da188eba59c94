"""World and rpc calls in the reports: on lanes of their own (``world: <interface>``,
``rpc``) in the text timeline, the CLI summary and the HTML page, their caller named."""

from __future__ import annotations

import re

from conftest import SCENARIOS
from theater_harness import report
from theater_harness.scenario import load_scenario, run_scenario

A = "aaaaaaaa-0000-4000-8000-000000000001"
B = "bbbbbbbb-0000-4000-8000-000000000002"

RECORDS = [
    {"seq": 0, "t": 0, "kind": "spawn", "actor": A, "name": "client", "parent": None, "manifest": "client"},
    {"seq": 1, "t": 0, "kind": "start", "actor": A, "incarnation": 1},
    {"seq": 2, "t": 0, "kind": "spawn", "actor": B, "name": "calc", "parent": None, "manifest": "calc"},
    {"seq": 3, "t": 0, "kind": "start", "actor": B, "incarnation": 1},
    {"seq": 4, "t": 5, "kind": "world", "actor": A, "interface": "filesystem", "function": "read-file",
     "args": ["config.txt"], "outcome": "ok", "result": "b'hi'", "latency_ms": 0},
    {"seq": 5, "t": 10, "kind": "world", "actor": A, "interface": "http-client", "function": "send-http",
     "args": [{"method": "GET", "uri": "https://x.example/a", "headers": [], "body": None}], "outcome": "ok",
     "result": {"status": 200, "headers": [], "body": "b'[]'"}, "latency_ms": 40},
    {"seq": 6, "t": 50, "kind": "world", "actor": A, "interface": "store", "function": "store-at-label",
     "args": ["s", "k", "b'v'"], "outcome": "err", "result": "store unavailable", "latency_ms": 0, "fault": 0},
    {"seq": 7, "t": 50, "kind": "world", "actor": B, "interface": "environment", "function": "get-var",
     "args": ["MODE"], "outcome": "ok", "result": None, "latency_ms": 0},
    {"seq": 8, "t": 60, "kind": "rpc", "actor": A, "call": "c1", "to": B, "function": "calc.add", "issued_ms": 60,
     "outcome": "ok"},
    {"seq": 9, "t": 90, "kind": "rpc", "actor": A, "call": "c2", "to": None, "function": "calc.add",
     "issued_ms": 60, "outcome": "timeout", "error": "Call timed out"},
]


def test_the_timeline_puts_each_call_on_its_lane_and_names_its_caller():
    assert report.render_timeline(RECORDS).splitlines() == [
        "     0 ms  spawn  client              aaaaaaaa from manifest 'client'",
        "     0 ms  start  client              incarnation 1",
        "     0 ms  spawn  calc                bbbbbbbb from manifest 'calc'",
        "     0 ms  start  calc                incarnation 1",
        "     5 ms  world  world: filesystem   client: read-file(\"config.txt\") -> ok \"b'hi'\"",
        "    10 ms  world  world: http-client  client: GET https://x.example/a -> ok 200 \"b'[]'\", after 40 ms",
        "    50 ms  world  world: store        client: store-at-label(\"s\", \"k\", \"b'v'\") -> err "
        "\"store unavailable\" [fault #0]",
        "    50 ms  world  world: environment  calc: get-var(\"MODE\") -> ok",
        "    60 ms  rpc    rpc                 client -> calc calc.add: ok",
        "    90 ms  rpc    rpc                 client -> (no actor) calc.add: timeout: Call timed out "
        "(called at 60 ms)",
    ]


def test_world_and_rpc_calls_are_notable_and_may_be_asked_for_alone():
    assert {"world", "rpc"} <= report.NOTABLE
    assert report.render_timeline(RECORDS, kinds=["rpc"]).splitlines() == [
        "    60 ms  rpc  rpc  client -> calc calc.add: ok",
        "    90 ms  rpc  rpc  client -> (no actor) calc.add: timeout: Call timed out (called at 60 ms)",
    ]


def lanes(page: str) -> list[str]:
    """The names of the page's lanes, top to bottom."""
    names = page[page.index('<svg class="names"'):]
    names = names[:names.index("</svg>")]
    return re.findall(r"</title>([^<]*)</text>", names)


def test_the_page_has_a_lane_per_world_interface_and_one_for_rpc_below_the_actors():
    page = report.render_html(RECORDS, title="world")
    assert lanes(page) == ["client", "calc", "world: environment", "world: filesystem", "world: http-client",
                           "world: store", "rpc"]
    svg = page[page.index('<svg xmlns="http://www.w3.org/2000/svg" class="lanes"'):]
    assert re.findall(r'<g class="lane(?: alt)?" data-lane="(world|rpc)"(?: data-interface="([^"]*)")?>', svg) == [
        ("world", "environment"), ("world", "filesystem"), ("world", "http-client"), ("world", "store"), ("rpc", "")]
    marks = re.findall(r'<g class="m (world|world-err|rpc|rpc-err)"', svg)  # lane by lane
    assert marks == ["world", "world", "world", "world-err", "rpc", "rpc-err"]
    # a bar for the time a call took: the HTTP request's 40 ms, the timed-out rpc call's 30 ms
    assert re.findall(r'<rect class="span" data-t="(\d+)" data-dx="[\d.]+" data-t2="(\d+)"', svg) == [
        ("10", "50"), ("60", "90")]
    assert len(re.findall(r'<line class="link call"', svg)) == 6  # each call, up to its caller's lane
    assert "client: store-at-label(&quot;s&quot;, &quot;k&quot;, &quot;b&#x27;v&#x27;&quot;) -&gt; err" in svg


def test_a_run_without_world_or_rpc_calls_has_no_lanes_for_them():
    page = report.render_html(RECORDS[:4], title="none")
    assert lanes(page) == ["client", "calc"]
    assert 'data-lane="world"' not in page and 'data-lane="rpc"' not in page


def test_a_scenario_run_shows_its_world_in_the_page_and_the_summary():
    result = run_scenario(load_scenario(SCENARIOS / "world-basics.scenario.toml"))
    page = report.render_html(result.runtime, title="world-basics")
    assert lanes(page) == ["(outside)", "sup", "user", "world: environment", "world: filesystem", "world: http-client",
                           "world: store"]
    text = report.summary(result.runtime, "world-basics")
    assert ("       100 ms  world           world: http-client user: POST https://api.example.com/sync -> "
            "ok 201 \"b'synced'\", after 40 ms") in text.splitlines()
    assert page == report.render_html(result.runtime, title="world-basics")  # deterministic
    result.runtime.close()
